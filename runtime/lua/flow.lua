-- flow.lua: the flow engine. A flow is a Lua file returning flow.define{name, description, params, run, subflows}.
-- flow.run executes it as a recorded run: resolved parameters, tasks with retries, backoff, jitter and timeouts,
-- states (Pending, Running, Retrying, Completed, Failed, Cancelled, Crashed), a JSON-lines log and run.json.
local json = require "mercado.json"
local sys = require "mercado.sys"
local log = require "mercado.log"
local runs = require "mercado.runs"
local decl = require "mercado.params_decl"
local util = require "mercado.util"
local notify = require "mercado.notify"

local flow = {}

-- The clock the engine sleeps and stamps with; tests replace it to check retry delays without waiting.
flow.clock = { now = sys.now, sleep = sys.sleep, monotonic = sys.monotonic }

local FLOW_MT = { __name = "mercado.Flow" }

-- flow.define{...} -> a flow definition (validated: a name, a run function, typed parameters).
function flow.define(def)
  if type(def) ~= "table" then error("flow.define: a table expected", 2) end
  if type(def.name) ~= "string" or not def.name:match("^[%w_%-]+$") then
    error("flow.define: 'name' must be a word (letters, digits, '_' or '-')", 2)
  end
  if type(def.run) ~= "function" then error("flow.define: flow '" .. def.name .. "' needs a run function", 2) end
  def.params = def.params or {}
  decl.validate(def.name, def.params)
  def.description = def.description or ""
  def.subflows = def.subflows or {}
  return setmetatable(def, FLOW_MT)
end

function flow.is_flow(v) return getmetatable(v) == FLOW_MT end

local function error_record(err)
  if type(err) == "table" then
    return runs.ErrorRec { kind = err.kind or "error", message = tostring(err.message or err), traceback = err.traceback }
  end
  return runs.ErrorRec { kind = "error", message = tostring(err) }
end

-- Params as recorded: secrets (params declared secret = true, passwords in conninfo) never reach the ledger.
local function recorded_params(def, values)
  local out = json.object()
  for k, v in pairs(values) do
    local spec = def.params[k] or {}
    if spec.secret and v ~= nil and v ~= "" then out[k] = "***"
    else out[k] = util.scrub_secrets(v) end
  end
  return out
end

local Ctx = {}
Ctx.__index = Ctx

-- Saves the run record; a failure to record is reported once, never fatal for the flow.
function Ctx:save()
  local ok, err = runs.save(self.output, self.record)
  if not ok and not self.save_failed then
    self.save_failed = true
    self.logger:emit("warning", "cannot record the run: " .. tostring(err))
  end
end

local function retry_delay(opts, attempt)
  local d = (opts.retry_delay or 0) * (opts.retry_backoff or 1) ^ (attempt - 1)
  if opts.retry_jitter and opts.retry_jitter > 0 then
    d = d * (1 + opts.retry_jitter * (2 * math.random() - 1))
  end
  return math.max(d, 0)
end

local TASK_OPTS = { retries = true, retry_delay = true, retry_backoff = true, retry_jitter = true, timeout = true,
  retry_on = true, log_result = true }

-- ctx:task(name, opts, fn, ...) -> fn's results. Runs fn with retries and a timeout; a final failure raises the
-- error (a table {kind, message, traceback, task}) so the flow fails unless it catches it.
function Ctx:task(name, opts, fn, ...)
  if type(opts) == "function" then return self:task(name, {}, opts, fn, ...) end
  opts = opts or {}
  for k in pairs(opts) do
    if not TASK_OPTS[k] then error(string.format("task '%s': unknown option '%s'", name, tostring(k)), 2) end
  end
  local retries = opts.retries or 0
  local rec = runs.Task { name = name, kind = "task", state = "Pending", attempts = json.array() }
  local tasks = self.record.tasks
  tasks[#tasks + 1] = rec
  local logger = self.logger
  local started = flow.clock.now()
  rec.start = sys.isotime(started)
  for attempt = 1, retries + 1 do
    local a = runs.Attempt { attempt = attempt, start = sys.isotime(flow.clock.now()), state = "Running" }
    rec.attempts[#rec.attempts + 1] = a
    rec.state = "Running"
    self:save()
    logger:emit(attempt == 1 and "debug" or "info", attempt == 1 and "started" or ("attempt " .. attempt .. " of " .. (retries + 1)),
      "task", { state = "Running", attempt = attempt }, name)
    local t0 = flow.clock.monotonic()
    local prev_task = logger.task
    logger.task = name
    local res = table.pack(sys.call({ timeout = opts.timeout }, fn, ...))
    logger.task = prev_task
    local elapsed = flow.clock.monotonic() - t0
    a["end"] = sys.isotime(flow.clock.now())
    a.duration_seconds = elapsed
    if res[1] then
      a.state = "Completed"
      rec.state = "Completed"
      rec["end"] = a["end"]
      rec.duration_seconds = flow.clock.now() - started
      self:save()
      logger:emit("info", string.format("completed in %s%s", util.format_duration(elapsed),
        attempt > 1 and (" (attempt " .. attempt .. ")") or ""), "task", { state = "Completed", attempts = attempt }, name)
      return table.unpack(res, 2, res.n)
    end
    local err = res[2]
    if type(err) ~= "table" then err = { kind = "error", message = tostring(err) } end
    local kind = err.kind or "error"
    if kind == "cancelled" then sys.clear_interrupt(false) end
    if kind == "timeout" then err.message = string.format("timed out after %s s", tostring(opts.timeout)) end
    a.error = error_record(err)
    a.state = kind == "cancelled" and "Cancelled" or "Failed"
    local can_retry = attempt <= retries and kind ~= "cancelled"
    if can_retry and opts.retry_on then
      local ok, verdict = pcall(opts.retry_on, err)
      can_retry = ok and verdict and true or false
    end
    if not can_retry then
      rec.state = kind == "cancelled" and "Cancelled" or "Failed"
      rec.reason = kind == "timeout" and "TimedOut" or nil
      rec["end"] = a["end"]
      rec.duration_seconds = flow.clock.now() - started
      self:save()
      logger:emit(kind == "cancelled" and "warning" or "error",
        string.format("%s: %s", rec.state == "Cancelled" and "cancelled" or (rec.reason or "failed"), tostring(err.message)),
        "task", { state = rec.state, attempts = attempt }, name)
      err.task = err.task or name
      error(setmetatable(err, getmetatable(err) or { __tostring = function(e) return tostring(e.message) end }), 0)
    end
    local delay = retry_delay(opts, attempt)
    rec.state = "Retrying"
    self:save()
    logger:emit("warning", string.format("attempt %d failed (%s); retrying in %s", attempt, tostring(err.message),
      util.format_duration(delay)), "task", { state = "Retrying", attempt = attempt, delay = delay }, name)
    local ok, serr = sys.call(nil, flow.clock.sleep, delay)
    if not ok then -- cancelled while waiting
      sys.clear_interrupt(false)
      rec.state = "Cancelled"
      rec["end"] = sys.isotime(flow.clock.now())
      self:save()
      error(serr, 0)
    end
  end
end

-- ctx:try_task(...) -> true, results... | false, err: like task, but a failure is returned, not raised
-- (a cancellation still propagates).
function Ctx:try_task(name, opts, fn, ...)
  local res = table.pack(pcall(self.task, self, name, opts, fn, ...))
  if not res[1] and type(res[2]) == "table" and res[2].kind == "cancelled" then error(res[2], 0) end
  return table.unpack(res, 1, res.n)
end

-- ctx:flow(name_or_def, params) -> the subflow's results. Runs it as its own recorded run (parent_run_id set),
-- recorded as a task here; -p name.param=value overrides from the command line apply on top of params.
function Ctx:flow(target, params)
  local def = target
  if type(target) == "string" then def = self.loader(target) end
  local name = def.name
  local values = {}
  for k, spec in pairs(def.params) do values[k] = spec.default end
  for k, v in pairs(params or {}) do
    local spec = def.params[k]
    if not spec then error(string.format("subflow '%s' has no parameter '%s'", name, k), 2) end
    values[k] = v
  end
  for k, v in pairs(self.nested[name] or {}) do values[k] = v end
  local rec = runs.Task { name = "flow:" .. name, kind = "flow", state = "Running", attempts = json.array(),
    start = sys.isotime(flow.clock.now()) }
  local tasks = self.record.tasks
  tasks[#tasks + 1] = rec
  self:save()
  local result = flow.run(def, {
    values = values, output = self.output, parent = self, loader = self.loader, shared = self.shared,
  })
  rec.run_id = result.run_id
  rec.state = result.state
  rec.reason = result.reason
  rec["end"] = sys.isotime(flow.clock.now())
  rec.duration_seconds = result.duration
  self:save()
  if result.state ~= "Completed" then
    local err = result.error or { kind = "error", message = "subflow " .. name .. " " .. result.state }
    err.task = "flow:" .. name
    error(setmetatable(err, getmetatable(err) or { __tostring = function(e) return tostring(e.message) end }), 0)
  end
  return table.unpack(result.values or {}, 1, result.values and result.values.n or 0)
end

-- Resolves a path under the run's output directory (creating its directory).
function Ctx:output_path(rel)
  local path = util.join(self.output, rel)
  local ok, err = sys.mkdirs(util.dirname(path))
  if not ok then error(err, 0) end
  return path
end

-- Returns path after a successful atomic write, else raises "cannot write PATH: reason" (the previous file stays).
local function written(path, ok, err)
  if not ok then
    local reason = tostring(err):match(": ([^:]+)$") or tostring(err)
    error(string.format("cannot write %s: %s", path, reason), 0)
  end
  return path
end

-- Writes text to <output>/<rel> atomically.
function Ctx:write_text(rel, text)
  local path = self:output_path(rel)
  return written(path, sys.write_atomic(path, text))
end

-- Writes a value as JSON (indent 2, the dashboard's format) to <output>/<rel> atomically, encoded straight into
-- the file's buffer (no Lua string of the whole text).
function Ctx:write_json(rel, value)
  local path = self:output_path(rel)
  return written(path, json.write(path, value, { indent = 2 }))
end

local function describe_params(values)
  local parts = {}
  for _, k in ipairs(util.sorted_keys(values)) do
    local v = values[k]
    if type(v) == "table" then v = table.concat(v, ",") end
    parts[#parts + 1] = k .. "=" .. tostring(v)
  end
  return table.concat(parts, " ")
end

-- flow.run(def, opts) -> {run_id, state, reason, error, values, duration}
-- opts: values (resolved params), nested (subflow overrides), output (dir), parent (ctx), loader (name -> def),
-- shared (a table passed to subflows, e.g. loaded data), command (for the record).
function flow.run(def, opts)
  local output = opts.output or "output"
  local parent = opts.parent
  local values = opts.values or {}
  local rec, dir = runs.create(output, def.name, recorded_params(def, values), parent and parent.record.run_id,
    opts.command)
  if not rec then error({ kind = "usage", message = "cannot create the run record under " .. output .. ": " .. tostring(dir) }, 0) end
  local logger = log.new { run_id = rec.run_id, flow = def.name, path = util.join(dir, "log.jsonl") }
  local ctx = setmetatable({
    run_id = rec.run_id, flow_name = def.name, params = values, output = output, record = rec, logger = logger,
    log = logger:functions(), nested = opts.nested or (parent and parent.nested) or {},
    loader = opts.loader or (parent and parent.loader), shared = opts.shared or {}, parent = parent,
    run_dir = dir,
  }, Ctx)
  rec.state = "Running"
  ctx:save()
  logger:emit("info", string.format("run %s started%s", rec.run_id,
    next(values) and (" with " .. util.scrub_secrets(describe_params(values))) or ""), "flow", { state = "Running" })
  notify.emit({ event = "flow_start", flow = def.name, run_id = rec.run_id, parent_run_id = rec.parent_run_id,
    timestamp = rec.start, params = rec.params, output_dir = output }, logger)
  local t0 = flow.clock.monotonic()
  -- print() inside the flow goes to the log
  local saved_print = print
  print = function(...)
    local parts = table.pack(...)
    for i = 1, parts.n do parts[i] = tostring(parts[i]) end
    logger:emit("info", table.concat(parts, "\t", 1, parts.n))
  end
  local res = table.pack(sys.call(nil, def.run, ctx, values))
  print = saved_print
  local duration = flow.clock.monotonic() - t0
  rec["end"] = sys.isotime(flow.clock.now())
  rec.duration_seconds = duration
  local result = { run_id = rec.run_id, duration = duration }
  if res[1] then
    rec.state = "Completed"
    result.values = table.pack(table.unpack(res, 2, res.n))
  else
    local err = res[2]
    if type(err) ~= "table" then err = { kind = "error", message = tostring(err) } end
    if err.kind == "cancelled" then sys.clear_interrupt(false) end
    rec.state = err.kind == "cancelled" and "Cancelled" or "Failed"
    rec.reason = err.kind == "timeout" and "TimedOut" or nil
    rec.error = error_record(err)
    result.error = err
  end
  result.state, result.reason = rec.state, rec.reason
  runs.finish(output, rec)
  local msg = string.format("run %s %s in %s", rec.run_id, rec.state:lower(), util.format_duration(duration))
  if rec.error then msg = msg .. ": " .. tostring(rec.error.message) end
  logger:emit(rec.state == "Completed" and "info" or rec.state == "Cancelled" and "warning" or "error", msg, "flow",
    { state = rec.state })
  if rec.error and rec.error.traceback and rec.error.kind == "error" then
    logger:emit("debug", rec.error.traceback, "flow")
  end
  notify.emit({ event = rec.state == "Completed" and "flow_success" or "flow_failure", flow = def.name,
    run_id = rec.run_id, parent_run_id = rec.parent_run_id, timestamp = rec["end"], state = rec.state,
    reason = rec.reason, duration_seconds = duration, error = rec.error and rec.error.message,
    error_type = rec.error and rec.error.kind, output_dir = output }, logger)
  return result
end

return flow
