-- lib/report_block.lua: the guard every part of the report goes through: reads the input file a part needs and
-- draws it, or returns a "not available: <file> <why>" note when the file is missing, unreadable or shaped
-- differently than expected, so one bad input never stops the report.
local html = require "lib.report_html"

local block = {}

local function clean(msg)
  if type(msg) == "table" then return msg.shape or msg.message or tostring(msg) end
  return (tostring(msg):gsub("^[^\n]-%.lua:%d+: ", ""))
end

-- block.draw(env, rel, fn, what, label) -> html: fn(value) for the decoded file rel (a relative path; nil when the
-- file could not be located, then `what` says what was looked for); label names the part in a note.
-- env: {src = report_inputs source, log = ctx.log}.
function block.draw(env, rel, fn, what, label)
  if not rel then return html.unavailable(what or "input", "missing", label) end
  local value, why = env.src:get(rel)
  if not value then return html.unavailable(rel, why, label) end
  local ok, res = pcall(fn, value)
  if ok then return res end
  local msg = clean(res)
  if env.log then env.log.warning("report: %s: %s", rel, type(res) == "table" and msg or tostring(res)) end
  return html.unavailable(rel, env.src:bad_shape(rel, msg), label)
end

-- block.try(env, what, fn, ...) -> html: fn(...) protected; an error becomes a note naming `what`.
function block.try(env, what, fn, ...)
  local ok, res = pcall(fn, ...)
  if ok then return res end
  if env.log then env.log.warning("report: %s: %s", what, tostring(type(res) == "table" and clean(res) or res)) end
  return html.unavailable(what, "could not be drawn (" .. clean(res) .. ")")
end

-- block.value(env, rel, fn) -> fn(value) or nil, why: for a single number or text taken from a file (KPI cards).
function block.value(env, rel, fn)
  if not rel then return nil, "missing" end
  local value, why = env.src:get(rel)
  if not value then return nil, rel .. " " .. why end
  local ok, res = pcall(fn, value)
  if ok then return res end
  return nil, rel .. " " .. env.src:bad_shape(rel, clean(res))
end

return block
