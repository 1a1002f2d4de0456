-- notify.lua: flow event notifications. flow.lua calls notify.emit at every flow start and end (subflows too); the
-- event always lands in the run's log.jsonl, and in the channels of a notification config when one exists:
--   $MERCADO_NOTIFY (a path; empty disables), else ./mercado_notify.lua if present. The file is Lua returning
--   { channels = { {type = "jsonl", path = ...}, {type = "command", command = ..., timeout = 10}, ... } }
-- A jsonl channel appends one JSON event per line; a command channel runs `/bin/sh -c COMMAND` with the event JSON
-- on stdin (and MERCADO_EVENT, MERCADO_FLOW, MERCADO_RUN_ID, MERCADO_STATE, MERCADO_MESSAGE in its environment),
-- its output going to <output>/runs/<run_id>/notify.log. A failing or slow channel is logged as a warning and never
-- fails the flow. Config files are loaded in a sandbox (no io, os, require or load); notify.load_config is shared
-- with the scheduler.
local json = require "mercado.json"
local sys = require "mercado.sys"
local util = require "mercado.util"

local notify = {}

notify.EVENTS = { flow_start = true, flow_success = true, flow_failure = true }
notify.DEFAULT_FILE = "mercado_notify.lua"
notify.DEFAULT_JSONL = "{output}/logs/mercado_runs_%Y-%m-%d.jsonl"
local DEFAULT_TIMEOUT = 10

local Event = json.shape { "timestamp", "event", "flow", "run_id", "parent_run_id", "state", "reason", "params",
  "duration_seconds", "error", "error_type", "output_dir", "host" }

local function fail(fmt, ...) error(setmetatable({ kind = "usage", message = string.format(fmt, ...) },
  { __tostring = function(e) return e.message end }), 0) end

local function copy(t)
  local c = {}
  for k, v in pairs(t) do c[k] = v end
  return c
end

-- notify.load_config(path, what) -> the table a Lua config file returns, run in a sandbox: standard functions,
-- string/math/table, and getenv(name); no io, os, require, load or dofile; 5 s at most. Raises a usage error
-- naming the file.
function notify.load_config(path, what)
  local text, rerr = util.read_file(path)
  if not text then fail("cannot read the %s %s: %s", what, path, tostring(rerr)) end
  local env = {
    pairs = pairs, ipairs = ipairs, next = next, select = select, type = type, tostring = tostring,
    tonumber = tonumber, error = error, assert = assert, pcall = pcall,
    string = copy(string), math = copy(math), table = copy(table), getenv = os.getenv,
  }
  local chunk, cerr = load(text, "@" .. path, "t", env)
  if not chunk then fail("%s %s: %s", what, path, tostring(cerr)) end
  local ok, res = sys.call({ timeout = 5 }, chunk)
  if not ok then
    if type(res) == "table" and res.kind == "cancelled" then error(res, 0) end
    fail("%s %s: %s", what, path, tostring(type(res) == "table" and res.message or res))
  end
  if type(res) ~= "table" then fail("%s %s must return a table (got %s)", what, path, type(res)) end
  return res
end

local CHANNEL_KEYS = { type = true, name = true, events = true, subflows = true, path = true, command = true,
  timeout = true }

-- Checks one channel entry; returns it normalised ({type, name, events = set, subflows, path|command, timeout}).
local function check_channel(where, i, ch)
  local at = string.format("%s: channels[%d]", where, i)
  if type(ch) ~= "table" then fail("%s: a table expected", at) end
  for k in pairs(ch) do
    if not CHANNEL_KEYS[k] then
      fail("%s: unknown key '%s' (known: type, name, events, subflows, path, command, timeout)", at, tostring(k))
    end
  end
  local out = { type = ch.type, subflows = ch.subflows ~= false, timeout = ch.timeout or DEFAULT_TIMEOUT }
  if ch.type ~= "jsonl" and ch.type ~= "command" then fail("%s: type must be \"jsonl\" or \"command\"", at) end
  out.name = ch.name or ch.type
  if type(out.name) ~= "string" then fail("%s: name must be a string", at) end
  if ch.subflows ~= nil and type(ch.subflows) ~= "boolean" then fail("%s: subflows must be true or false", at) end
  if type(out.timeout) ~= "number" or out.timeout <= 0 then fail("%s: timeout must be a number of seconds > 0", at) end
  if ch.events ~= nil then
    if type(ch.events) ~= "table" or #ch.events == 0 then fail("%s: events must be a list of event names", at) end
    out.events = {}
    for _, e in ipairs(ch.events) do
      if not notify.EVENTS[e] then fail("%s: unknown event '%s' (flow_start, flow_success, flow_failure)", at, tostring(e)) end
      out.events[e] = true
    end
  end
  if ch.type == "jsonl" then
    out.path = ch.path or notify.DEFAULT_JSONL
    if type(out.path) ~= "string" or out.path == "" then fail("%s: path must be a file name", at) end
    local ok, perr = pcall(os.date, (out.path:gsub("{output}", "")), 0)
    if not ok then fail("%s: path '%s': %s", at, out.path, tostring(perr)) end
    if ch.command ~= nil then fail("%s: a jsonl channel takes a path, not a command", at) end
  else
    if type(ch.command) ~= "string" or ch.command == "" then fail("%s: command must be a shell command", at) end
    out.command = ch.command
    if ch.path ~= nil then fail("%s: a command channel takes a command, not a path", at) end
  end
  return out
end

-- notify.check_config(path) -> {channels = {...}} validated; raises a usage error naming the file and the entry.
function notify.check_config(path)
  local cfg = notify.load_config(path, "notification config")
  for k in pairs(cfg) do
    if k ~= "channels" then fail("notification config %s: unknown key '%s' (expected channels)", path, tostring(k)) end
  end
  if type(cfg.channels) ~= "table" then fail("notification config %s: 'channels' must be a list", path) end
  local channels = {}
  for i, ch in ipairs(cfg.channels) do channels[i] = check_channel("notification config " .. path, i, ch) end
  return { channels = channels, path = path }
end

-- The config in effect, cached per path and modification time: false when there is none.
local cache = { key = nil, value = false }

local function current_config()
  local path = os.getenv("MERCADO_NOTIFY")
  local explicit = path ~= nil
  if path == "" then return false end
  path = path or notify.DEFAULT_FILE
  local st = sys.stat(path)
  if not st then
    if explicit then return nil, "MERCADO_NOTIFY names " .. path .. ", which does not exist" end
    return false
  end
  local key = path .. "\0" .. tostring(st.mtime) .. "\0" .. tostring(st.size)
  if cache.key ~= key then
    local ok, cfg = pcall(notify.check_config, path)
    if not ok then
      if type(cfg) == "table" and cfg.kind == "cancelled" then error(cfg, 0) end
      return nil, tostring(type(cfg) == "table" and cfg.message or cfg)
    end
    cache.key, cache.value = key, cfg
  end
  return cache.value
end

-- A one-line human summary, for MERCADO_MESSAGE (mail subjects, chat messages).
local function summary(ev)
  if ev.event == "flow_start" then return string.format("mercado: %s started (run %s)", ev.flow, ev.run_id) end
  if ev.event == "flow_success" then
    return string.format("mercado: %s completed in %.1f s (run %s)", ev.flow, ev.duration_seconds or 0, ev.run_id)
  end
  return string.format("mercado: %s %s%s (run %s)", ev.flow, (ev.state or "failed"):lower(),
    ev.error and (": " .. tostring(ev.error)) or "", ev.run_id)
end

local function send_jsonl(ch, ev, line)
  local path = os.date(ch.path):gsub("{output}", ((ev.output_dir or "output"):gsub("%%", "%%%%")))
  local ok, err = sys.mkdirs(util.dirname(path))
  if ok then ok, err = sys.append(path, line .. "\n") end
  if not ok then return nil, err end
  return true
end

local function send_command(ch, ev, line)
  local out = ev.output_dir and ev.run_id and util.join(ev.output_dir, "runs", ev.run_id, "notify.log") or "/dev/null"
  local pid, err = sys.spawn({ "/bin/sh", "-c", ch.command }, {
    stdin = line .. "\n", stdout = out, stderr = out,
    env = { MERCADO_EVENT = ev.event, MERCADO_FLOW = ev.flow, MERCADO_RUN_ID = ev.run_id, MERCADO_STATE = ev.state or "",
      MERCADO_MESSAGE = summary(ev), MERCADO_OUTPUT = ev.output_dir or "" },
  })
  if not pid then return nil, "cannot start the command: " .. tostring(err) end
  local how, code = sys.wait(pid, ch.timeout)
  if how == "running" then
    sys.kill(pid, "TERM")
    if sys.wait(pid, 1) == "running" then
      sys.kill(pid, "KILL")
      sys.wait(pid)
    end
    return nil, string.format("timed out after %s s and was stopped (output in %s)", tostring(ch.timeout), out)
  end
  if how == "exited" and code == 0 then return true end
  if how == "exited" then return nil, string.format("exited with status %d (output in %s)", code, out) end
  return nil, string.format("%s by signal %s (output in %s)", tostring(how), tostring(code), out)
end

-- Sends ev to the channels that want it; returns the names of those that took it, after logging failures.
local function deliver(cfg, ev, logger)
  local line = json.encode(ev)
  local sent = {}
  for _, ch in ipairs(cfg.channels) do
    if (not ch.events or ch.events[ev.event]) and (ch.subflows or ev.parent_run_id == nil) then
      local ok, res, err = pcall(ch.type == "jsonl" and send_jsonl or send_command, ch, ev, line)
      if not ok then
        if type(res) == "table" and (res.kind == "cancelled" or res.kind == "timeout") then error(res, 0) end
        err = tostring(type(res) == "table" and res.message or res)
      end
      if ok and res then sent[#sent + 1] = ch.name
      else logger:emit("warning", string.format("notification channel '%s' failed for %s: %s", ch.name, ev.event, err), "notify") end
    end
  end
  return sent
end

-- notify.emit(event, logger): event = {event, flow, run_id, parent_run_id, timestamp, params, state, reason,
-- duration_seconds, error, error_type, output_dir}. Logs it and sends it to the configured channels; never raises
-- (except the running task's own cancellation or timeout).
function notify.emit(event, logger)
  local ev = Event(copy(event))
  ev.host = sys.hostname()
  local cfg, cerr = current_config()
  if cfg == nil then
    logger:emit("warning", "notifications not sent: " .. tostring(cerr), "notify")
    cfg = false
  end
  local sent = cfg and deliver(cfg, ev, logger) or {}
  if #sent > 0 then
    logger:emit("info", string.format("%s notified (%s)", ev.event, table.concat(sent, ", ")), ev.event, ev)
  else
    logger:emit("debug", ev.event, ev.event, ev)
  end
end

return notify
