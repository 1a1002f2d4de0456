-- lib/report_inputs.lua: the report's view of an output directory: reads the JSON files the other flows wrote,
-- once each, and remembers what it found (ok, missing, unreadable, unexpected shape) so the report can say which
-- inputs were used and why a section is empty. Nothing here raises for a bad input file.
local json = require "mercado.json"
local sys = require "mercado.sys"

local inputs = {}

local Source = {}
Source.__index = Source

-- A source over output directory dir.
function inputs.open(dir)
  return setmetatable({ dir = dir, cache = {}, status = {}, order = {} }, Source)
end

local function note(src, rel, st)
  if not src.status[rel] then src.order[#src.order + 1] = rel end
  src.status[rel] = st
end

local function read_all(path)
  local f, err = io.open(path, "rb")
  if not f then return nil, err end
  local text = f:read("a")
  f:close()
  return text
end

-- src:get(rel) -> the decoded JSON value of <dir>/<rel>, or nil and why ("missing", "unreadable (...)").
function Source:get(rel)
  if self.cache[rel] ~= nil then return self.cache[rel] end
  local st = self.status[rel]
  if st and st.state ~= "ok" then return nil, st.why end
  local path = self.dir .. "/" .. rel
  local info = sys.stat(path)
  if not info then
    note(self, rel, { state = "missing", why = "missing" })
    return nil, "missing"
  end
  local text, err = read_all(path)
  local ok, value = false, err
  if text then ok, value = pcall(json.decode, text) end
  if not ok or type(value) ~= "table" then
    local why = "unreadable (" .. (ok and "not a JSON object" or tostring(value):gsub("^.-:%d+: ", "")) .. ")"
    note(self, rel, { state = "unreadable", why = why })
    return nil, why
  end
  self.cache[rel] = value
  note(self, rel, { state = "ok", generated_at = type(value.generated_at) == "string" and value.generated_at or nil,
    mtime = info.mtime })
  return value
end

-- Marks a file that was read but did not have the expected shape.
function Source:bad_shape(rel, why)
  local st = self.status[rel] or {}
  st.state, st.why = "unexpected shape", "has an unexpected shape (" .. why .. ")"
  note(self, rel, st)
  return st.why
end

-- The newest existing file matching Lua pattern `pattern` in directory sub (e.g. "summary", "^top_(%d+)_products%.json$"),
-- as a relative path; nil and the pattern described when none matches.
function Source:newest(sub, pattern, describe)
  local best, best_t
  for _, path in ipairs(require("mercado.util").glob(self.dir .. "/" .. sub, "*.json") or {}) do
    local name = path:match("[^/]+$")
    if name:match(pattern) then
      local info = sys.stat(path)
      local t = info and info.mtime or 0
      if not best or t > best_t or (t == best_t and name < best) then best, best_t = name, t end
    end
  end
  if best then return sub .. "/" .. best end
  return nil, describe
end

-- Every file looked at, in order: {rel, state, why, generated_at, mtime}.
function Source:report()
  local out = {}
  for _, rel in ipairs(self.order) do
    local st = self.status[rel]
    out[#out + 1] = { rel = rel, state = st.state, why = st.why, generated_at = st.generated_at, mtime = st.mtime }
  end
  return out
end

-- Shape checks used by the sections: each raises a short message that Source:bad_shape records.
function inputs.array(t, key)
  local v = type(t) == "table" and t[key] or nil
  if type(v) ~= "table" then error({ shape = string.format("'%s' is not a list", key) }) end
  return v
end

function inputs.object(t, key)
  local v = type(t) == "table" and t[key] or nil
  if type(v) ~= "table" then error({ shape = string.format("'%s' is not an object", key) }) end
  return v
end

function inputs.number(t, key)
  local v = type(t) == "table" and t[key] or nil
  if type(v) ~= "number" then error({ shape = string.format("'%s' is not a number", key) }) end
  return v
end

function inputs.string(t, key)
  local v = type(t) == "table" and t[key] or nil
  if type(v) ~= "string" then error({ shape = string.format("'%s' is not a string", key) }) end
  return v
end

return inputs
