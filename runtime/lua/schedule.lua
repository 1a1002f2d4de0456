-- schedule.lua: `mercado schedule`, a long-running process that runs flows on cron expressions and fixed intervals
-- listed in a Lua config file. Each run is an ordinary `mercado run FLOW -p ... --output DIR` child process, so it
-- lands in the run history like any other. One run at a time; never two runs of one flow at once (a flock under
-- <output>/schedule/locks/, released by the kernel if its holder dies, plus the ledger's active-run markers);
-- ticks missed while busy or suspended run once. SIGTERM/SIGINT: stop after the running flow; a second signal
-- cancels the flow (SIGINT to it) and exits 130; a third kills it.
-- Testing aids (hidden): --simulate-from TIME --simulate-until TIME [--simulate-scale N] [--dry-run] replace the
-- clock by a virtual one (sleeping advances it at once; a child's real run time, times N, advances it too), so a
-- simulated week runs in seconds; --dry-run logs what would run without starting anything.
local sys = require "mercado.sys"
local cron = require "mercado.cron"
local json = require "mercado.json"
local util = require "mercado.util"
local log = require "mercado.log"
local notify = require "mercado.notify"
local decl = require "mercado.params_decl"

local schedule = {}

local EXIT_OK, EXIT_INTERRUPTED = 0, 130
schedule.DEFAULT_CONFIG = "mercado_schedule.lua"

local usage = decl.usage

-- ---- time ----

local function days_from_civil(y, m, d)
  y = m <= 2 and y - 1 or y
  local era = (y >= 0 and y or y - 399) // 400
  local yoe = y - era * 400
  local doy = (153 * (m + (m > 2 and -3 or 9)) + 2) // 5 + d - 1
  return era * 146097 + yoe * 365 + yoe // 4 - yoe // 100 + doy - 719468
end

-- "2026-03-02", "2026-03-02T09:30", "2026-03-02 09:30:15", with "Z" for UTC -> seconds; local time otherwise.
function schedule.parse_time(s)
  local y, mo, d, rest = s:match("^(%d%d%d%d)%-(%d%d)%-(%d%d)(.*)$")
  if not y then return nil end
  local h, mi, sec, z = 0, 0, 0, nil
  if rest ~= "" and rest ~= "Z" then
    local hh, mm, tail = rest:match("^[T ](%d%d):(%d%d)(.*)$")
    if not hh then return nil end
    h, mi = tonumber(hh), tonumber(mm)
    local ss, tail2 = tail:match("^:(%d%d)(.*)$")
    if ss then sec, tail = tonumber(ss), tail2 end
    if tail ~= "" and tail ~= "Z" then return nil end
    z = tail == "Z"
  else
    z = rest == "Z"
  end
  y, mo, d = tonumber(y), tonumber(mo), tonumber(d)
  if mo < 1 or mo > 12 or d < 1 or d > 31 or h > 23 or mi > 59 or sec > 59 then return nil end
  if z then return days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec end
  return os.time { year = y, month = mo, day = d, hour = h, min = mi, sec = sec }
end

-- "2026-03-02 09:30:00 Mon +0100" (local) or "... UTC"
local function fmt_time(t, utc)
  t = math.floor(t)
  if utc then return os.date("!%Y-%m-%d %H:%M:%S %a UTC", t) end
  return os.date("%Y-%m-%d %H:%M:%S %a %z", t)
end
schedule.fmt_time = fmt_time

-- ---- config ----

local TOP_KEYS = { output = true, tz = true, notify = true, quiet = true, jobs = true }
local JOB_KEYS = { name = true, flow = true, cron = true, every = true, tz = true, params = true, run_at_start = true }

local function known(keys)
  local names = {}
  for k in pairs(keys) do names[#names + 1] = k end
  table.sort(names)
  return table.concat(names, ", ")
end

local function parse_tz(v, where)
  if v == nil then return nil end
  if type(v) == "string" and v:lower() == "utc" then return true end
  if type(v) == "string" and v:lower() == "local" then return false end
  usage("%s: tz must be \"local\" or \"UTC\" (got %s); set TZ in the environment for another zone", where, tostring(v))
end

-- A parameter value as the text `-p name=value` takes (lists: comma-separated, "\," and "\\" escaped).
local function param_text(v, where)
  local t = type(v)
  if t == "boolean" then return tostring(v) end
  if math.type(v) == "integer" then return string.format("%d", v) end
  if t == "number" then
    if v ~= v or v == math.huge or v == -math.huge then usage("%s: not a finite number", where) end
    for _, f in ipairs { "%.15g", "%.16g", "%.17g" } do
      local s = f:format(v)
      if tonumber(s) == v then return s end
    end
  end
  if t == "string" then return v end
  if t == "table" then
    local items = {}
    for i, x in ipairs(v) do
      if type(x) == "table" then usage("%s: list items must be strings, numbers or booleans", where) end
      items[i] = (param_text(x, where):gsub("[\\,]", "\\%0"))
    end
    return table.concat(items, ",")
  end
  usage("%s: a string, number, boolean or list expected (got %s)", where, t)
end

local function is_list(v)
  return type(v) == "table" and (v[1] ~= nil or next(v) == nil)
end

-- params = {name = value, subflow = {name = value}} -> overrides {{"name", "text"}, {"subflow.name", "text"}}
local function param_overrides(params, where)
  local out = {}
  if params == nil then return out end
  if type(params) ~= "table" or (params[1] ~= nil) then usage("%s: params must be a table of name = value", where) end
  for _, k in ipairs(util.sorted_keys(params)) do
    if type(k) ~= "string" then usage("%s: parameter names must be strings", where) end
    local v = params[k]
    if type(v) == "table" and not is_list(v) then -- a subflow's parameters
      for _, sk in ipairs(util.sorted_keys(v)) do
        local sv = v[sk]
        if type(sk) ~= "string" or (type(sv) == "table" and not is_list(sv)) then
          usage("%s: params.%s: subflow parameters must be name = value", where, k)
        end
        out[#out + 1] = { k .. "." .. sk, param_text(sv, where .. ": params." .. k .. "." .. sk) }
      end
    else
      out[#out + 1] = { k, param_text(v, where .. ": params." .. k) }
    end
  end
  return out
end

-- Validates one job entry; returns the job record the loop uses.
local function check_job(cfg_utc, i, j, cli)
  local where = string.format("jobs[%d]", i)
  if type(j) ~= "table" then usage("%s: a table expected", where) end
  for k in pairs(j) do
    if not JOB_KEYS[k] then usage("%s: unknown key '%s' (known: %s)", where, tostring(k), known(JOB_KEYS)) end
  end
  if type(j.flow) ~= "string" or j.flow == "" then usage("%s: 'flow' must name a flow", where) end
  local name = j.name or j.flow:gsub("%.lua$", ""):match("[^/]*$")
  if type(name) ~= "string" or not name:match("^[%w_%-%.]+$") then
    usage("%s: 'name' must be a word (letters, digits, '_', '-', '.')", where)
  end
  where = string.format("jobs[%d] (%s)", i, name)
  local job = { index = i, name = name, flow = j.flow, run_at_start = j.run_at_start == true }
  if j.run_at_start ~= nil and type(j.run_at_start) ~= "boolean" then usage("%s: run_at_start must be true or false", where) end
  if (j.cron == nil) == (j.every == nil) then usage("%s: give exactly one of 'cron' (an expression) or 'every' (an interval)", where) end
  if j.cron ~= nil then
    if type(j.cron) ~= "string" then usage("%s: cron must be a string such as \"0 6 * * *\"", where) end
    local c, cerr = cron.parse(j.cron)
    if not c then usage("%s: cron \"%s\": %s", where, j.cron, cerr) end
    job.cron, job.cron_text = c, j.cron
    local utc = parse_tz(j.tz, where)
    if utc == nil then job.utc = cfg_utc else job.utc = utc end
  else
    if type(j.every) ~= "string" then usage("%s: every must be a string such as \"2m\" (units s, m, h, d)", where) end
    local secs, ierr = cron.interval(j.every)
    if not secs then usage("%s: every: %s", where, ierr) end
    if j.tz ~= nil then usage("%s: tz applies to cron entries only (intervals count from the epoch)", where) end
    job.every, job.every_text = secs, j.every
  end
  local overrides = param_overrides(j.params, where)
  local def, ferr = cli.find_flow(j.flow)
  if not def then usage("%s: %s", where, ferr) end
  local lookup = function(sub)
    local d, e = cli.find_flow(sub)
    if not d then usage("%s", e) end
    return d
  end
  local ok, rerr = pcall(decl.resolve, def, nil, overrides, lookup)
  if not ok then
    if type(rerr) == "table" and rerr.kind == "cancelled" then error(rerr, 0) end
    usage("%s: %s", where, tostring(type(rerr) == "table" and rerr.message or rerr))
  end
  job.def_name = def.name
  job.args = {}
  for _, o in ipairs(overrides) do
    job.args[#job.args + 1] = "-p"
    job.args[#job.args + 1] = o[1] .. "=" .. o[2]
  end
  return job
end

-- schedule.load(path, cli) -> config {output, quiet, notify (absolute path or nil), jobs = {...}}; raises usage
-- errors (exit 2) naming the file, the entry and the field.
function schedule.load(path, cli)
  local raw = notify.load_config(path, "schedule config")
  local function bad(fmt, ...) usage("schedule config %s: " .. fmt, path, ...) end
  for k in pairs(raw) do
    if not TOP_KEYS[k] then bad("unknown key '%s' (known: %s)", tostring(k), known(TOP_KEYS)) end
  end
  local cfg = { output = raw.output or "output", quiet = raw.quiet == true, path = path }
  if type(cfg.output) ~= "string" or cfg.output == "" then bad("output must be a directory name") end
  if raw.quiet ~= nil and type(raw.quiet) ~= "boolean" then bad("quiet must be true or false") end
  local ok, utc = pcall(parse_tz, raw.tz, "tz")
  if not ok then bad("%s", tostring(utc)) end
  cfg.utc = utc or false
  if raw.notify ~= nil then
    if type(raw.notify) ~= "string" then bad("notify must name a notification config file") end
    local nok, nerr = pcall(notify.check_config, raw.notify)
    if not nok then bad("notify: %s", tostring(type(nerr) == "table" and nerr.message or nerr)) end
    cfg.notify = sys.realpath(raw.notify)
  end
  if type(raw.jobs) ~= "table" or #raw.jobs == 0 then bad("jobs must be a non-empty list of {flow = ..., cron = ... | every = ...}") end
  local jobs, names = {}, {}
  for k in pairs(raw.jobs) do
    if math.type(k) ~= "integer" or k < 1 or k > #raw.jobs then bad("jobs must be a list (found key '%s')", tostring(k)) end
  end
  for i, j in ipairs(raw.jobs) do
    local jok, job = pcall(check_job, cfg.utc, i, j, cli)
    if not jok then
      if type(job) == "table" and job.kind == "cancelled" then error(job, 0) end
      bad("%s", tostring(type(job) == "table" and job.message or job))
    end
    if names[job.name] then bad("jobs[%d]: the name '%s' is used twice (give one a distinct 'name')", i, job.name) end
    names[job.name] = true
    jobs[i] = job
  end
  cfg.jobs = jobs
  return cfg
end

-- ---- fire times ----

-- The first fire time of job strictly after t (math.huge when it never fires again).
local function next_after(job, t)
  if job.every then return (math.floor(t) // job.every + 1) * job.every end
  return job.cron:next(t, job.utc and "utc" or "local") or math.huge
end
schedule.next_after = next_after

-- Fire times after `scheduled` up to `now` (the ticks a run coalesces), capped at 1000.
local function missed_ticks(job, scheduled, now)
  if job.every then return math.floor((math.floor(now) - scheduled) // job.every) end
  local n, t = 0, scheduled
  while n < 1000 do
    t = next_after(job, t)
    if t > now then break end
    n = n + 1
  end
  return n
end

local function describe(job)
  local start = job.run_at_start and ", and at start" or ""
  if job.every then return string.format("every %s%s", job.every_text, start) end
  return string.format("cron \"%s\" (%s)%s", job.cron_text, job.utc and "UTC" or "local time", start)
end

-- ---- the clock ----

-- The real clock: sleeping is sliced so signals are seen within a quarter second.
local function real_clock(stopped)
  return {
    simulated = false,
    now = sys.now,
    sleep = function(d)
      local until_ = sys.monotonic() + d
      while not stopped() do
        local left = until_ - sys.monotonic()
        if left <= 0 then break end
        sys.sleep(math.min(left, 0.25))
      end
    end,
    advance = function() end,
  }
end

local function virtual_clock(from, scale)
  local now = from
  return {
    simulated = true,
    now = function() return now end,
    sleep = function(d) now = now + math.max(d, 0) end,
    advance = function(real) now = now + real * scale end,
  }
end

-- ---- running one job ----

-- Whether the ledger has a live run of the flow (this host), e.g. a manual `mercado run` or a monitor's subflow.
local function active_run(output, flow)
  local safe = flow:gsub("[^%w_]", "_")
  for _, marker in ipairs(util.glob(util.join(output, "runs", ".active"), "*-" .. safe .. "-*")) do
    local id = util.basename(marker)
    if id:match("^%d+T%d+%-" .. safe:gsub("%p", "%%%0") .. "%-%d+$") then
      local ok, m = pcall(json.decode, util.read_file(marker) or "")
      if ok and type(m) == "table" and m.host == sys.hostname() and m.pid then
        local start = sys.proc_start(m.pid)
        if start ~= nil and (m.proc_start == nil or start == m.proc_start) then return id, m.pid end
      end
    end
  end
  return nil
end

-- The run record the child with this pid created for the flow.
local function child_run(output, flow, pid)
  local safe = flow:gsub("[^%w_]", "_")
  local dirs = util.glob(util.join(output, "runs"), "*-" .. safe .. "-" .. pid)
  table.sort(dirs)
  for _, d in ipairs(dirs) do
    local text = util.read_file(util.join(d, "run.json"))
    local ok, rec = pcall(json.decode, text or "")
    if ok and type(rec) == "table" and (rec.parent_run_id == nil or rec.parent_run_id == json.null) then return rec end
  end
  return nil
end

local function find_in_path(prog)
  for dir in (os.getenv("PATH") or "/usr/bin:/bin"):gmatch("[^:]+") do
    local p = util.join(dir, prog)
    if sys.access(p, "r") and (sys.stat(p) or {}).type == "file" then return p end
  end
  return nil
end

-- ---- the scheduler ----

local Scheduler = {}
Scheduler.__index = Scheduler

function Scheduler:say(level, msg, data, job)
  self.logger.path = util.join(self.dir, os.date("log-%Y-%m-%d.jsonl"))
  self.logger:emit(level, msg, "schedule", data, job and job.name)
end

function Scheduler:signals()
  return sys.signals() - self.signals0
end

-- Runs the job's flow as a child process and waits for it, handling signals; returns the exit code to leave with
-- (nil: keep going).
function Scheduler:fire(job, scheduled, missed)
  local when = fmt_time(scheduled, job.utc)
  local data = { job = job.name, flow = job.flow, scheduled = scheduled, missed = missed }
  local note = missed > 0 and string.format(" (%d missed tick%s coalesced into this run)", missed, missed > 1 and "s" or "") or ""
  if self.dry_run then
    data.action = "would_run"
    self:say("info", string.format("%s: would run %s%s", when, job.flow, note), data, job)
    return nil
  end
  local active, apid = active_run(self.output, job.def_name)
  if active then
    data.action, data.active_run = "skipped", active
    self:say("warning", string.format("%s: skipped: %s is already running (run %s, pid %d)", when, job.flow, active, apid), data, job)
    return nil
  end
  local lock, lerr = sys.try_lock(util.join(self.dir, "locks", job.def_name .. ".lock"))
  if not lock then
    data.action = "skipped"
    self:say("warning", string.format("%s: skipped: %s is already running (lock %s)", when, job.flow, lerr), data, job)
    return nil
  end
  local argv = {}
  if self.setsid then argv[1] = self.setsid end
  for _, a in ipairs { self.exe, "run", job.flow } do argv[#argv + 1] = a end
  for _, a in ipairs(job.args) do argv[#argv + 1] = a end
  argv[#argv + 1] = "--output"
  argv[#argv + 1] = self.output
  if self.quiet then argv[#argv + 1] = "-q" end
  local t0 = sys.monotonic()
  local pid, serr = sys.spawn(argv, { env = self.child_env })
  if not pid then
    lock:release()
    data.action = "failed"
    self:say("error", string.format("%s: cannot start %s: %s", when, job.flow, tostring(serr)), data, job)
    return nil
  end
  data.action, data.pid = "started", pid
  self:say("info", string.format("%s: started %s (pid %d)%s", when, job.flow, pid, note), data, job)
  local stage, how, code = 0, nil, nil
  while true do
    how, code = sys.wait(pid, 0.2)
    if how ~= "running" then break end
    local n = self:signals()
    if n >= 1 and stage < 1 then
      stage = 1
      self:say("warning", string.format("signal received: stopping after %s finishes (send it again to cancel the flow)", job.flow), nil, job)
    end
    if n >= 2 and stage < 2 then
      stage = 2
      sys.kill(pid, "INT")
      self:say("warning", string.format("second signal: cancelling %s (SIGINT to pid %d)", job.flow, pid), nil, job)
    end
    if n >= 3 and stage < 3 then
      stage = 3
      sys.kill(pid, "KILL")
      self:say("error", string.format("third signal: killing %s (pid %d)", job.flow, pid), nil, job)
    end
  end
  lock:release()
  local elapsed = sys.monotonic() - t0
  self.clock.advance(elapsed)
  local rec = child_run(self.output, job.def_name, pid)
  data.action, data.pid = "finished", pid
  data.run_id = rec and rec.run_id
  data.state = rec and rec.state
  data.exit = how == "exited" and code or nil
  data.signal = how == "signaled" and code or nil
  data.duration_seconds = elapsed
  local what = rec and string.format("run %s %s", rec.run_id, tostring(rec.state):lower()) or "run"
  if how == "exited" and code == 0 then
    self:say("info", string.format("%s: %s in %s", job.flow, what, util.format_duration(elapsed)), data, job)
  else
    local err = rec and type(rec.error) == "table" and rec.error.message
    self:say("error", string.format("%s: %s (%s %s)%s", job.flow, what, how == "exited" and "exit status" or "signal",
      tostring(code), err and (": " .. tostring(err)) or ""), data, job)
  end
  if stage >= 2 then return EXIT_INTERRUPTED end
  return nil
end

-- The earliest due job (next fire time <= now), ties broken by config order.
function Scheduler:due(now)
  local best
  for _, job in ipairs(self.jobs) do
    if job.next_fire <= now and (not best or job.next_fire < best.next_fire) then best = job end
  end
  return best
end

function Scheduler:run()
  local clock = self.clock
  local start = clock.now()
  for _, job in ipairs(self.jobs) do
    job.next_fire = job.run_at_start and math.floor(start) or next_after(job, start)
  end
  self:say("info", string.format("scheduler started: %d job%s, output %s, config %s%s", #self.jobs,
    #self.jobs == 1 and "" or "s", self.output, self.config_path, clock.simulated and
    (" (simulated clock from " .. fmt_time(start) .. " to " .. fmt_time(self.sim_until) .. ")") or ""),
    { action = "start", pid = sys.getpid() })
  for _, job in ipairs(self.jobs) do
    self:say("info", string.format("%s (%s): next at %s", job.flow, describe(job),
      job.next_fire == math.huge and "never" or fmt_time(job.next_fire, job.utc)), nil, job)
  end
  while true do
    if self:signals() > 0 then
      self:say("info", "scheduler stopped by signal", { action = "stop" })
      return EXIT_OK
    end
    local now = clock.now()
    if clock.simulated and now >= self.sim_until then
      self:say("info", "simulation reached " .. fmt_time(self.sim_until), { action = "stop" })
      return EXIT_OK
    end
    local job = self:due(now)
    if job then
      local scheduled = job.next_fire
      local missed = missed_ticks(job, scheduled, now)
      job.next_fire = next_after(job, now)
      local code = self:fire(job, scheduled, missed)
      if code then return code end
    else
      local wake = math.huge
      for _, j in ipairs(self.jobs) do wake = math.min(wake, j.next_fire) end
      if wake == math.huge and not clock.simulated then
        self:say("warning", "no job will ever fire again; waiting for a signal")
        wake = now + 3600
      end
      if clock.simulated then wake = math.min(wake, self.sim_until) end
      clock.sleep(math.max(wake - now, clock.simulated and 0 or 0.01))
    end
  end
end

-- ---- the command ----

local SPEC = {
  config = { key = "config" }, c = { key = "config" }, list = { key = "list", flag = true },
  ["simulate-from"] = { key = "sim_from" }, ["simulate-until"] = { key = "sim_until" },
  ["simulate-scale"] = { key = "sim_scale" }, ["dry-run"] = { key = "dry_run", flag = true },
}

local function list(cfg, now)
  local out = io.stdout
  for _, job in ipairs(cfg.jobs) do
    out:write(string.format("%s  flow %s, %s%s\n", job.name, job.flow, describe(job),
      #job.args > 0 and (", " .. table.concat(job.args, " ")) or ""))
    local t = now
    for _ = 1, 5 do
      t = next_after(job, t)
      if t == math.huge then out:write("  (never fires)\n") break end
      out:write("  ", fmt_time(t, job.utc and job.cron ~= nil), "\n")
    end
  end
  return EXIT_OK
end

-- schedule.main(args, cli) -> exit code. cli = {usage_error, parse_args, find_flow}.
function schedule.main(args, cli)
  local opts, pos = cli.parse_args(args, SPEC, "schedule")
  if #pos > 0 then return cli.usage_error("unexpected argument " .. pos[1], "schedule") end
  local path = opts.config or (os.getenv("MERCADO_SCHEDULE") ~= "" and os.getenv("MERCADO_SCHEDULE")) or schedule.DEFAULT_CONFIG
  if not util.exists(path) then
    return cli.usage_error(string.format("no schedule config %s (pass --config FILE or set MERCADO_SCHEDULE)", path), "schedule")
  end
  local sim_from, sim_until
  if opts.sim_from or opts.sim_until then
    sim_from = opts.sim_from and schedule.parse_time(opts.sim_from)
    sim_until = opts.sim_until and schedule.parse_time(opts.sim_until)
    if not sim_from then return cli.usage_error("--simulate-from needs a time YYYY-MM-DD[THH:MM[:SS]][Z]", "schedule") end
    if opts.list then sim_until = sim_until or sim_from end
    if not sim_until or sim_until < sim_from then
      return cli.usage_error("--simulate-until needs a time after --simulate-from", "schedule")
    end
  end
  local scale = tonumber(opts.sim_scale or "1")
  if not scale or scale < 0 then return cli.usage_error("--simulate-scale needs a number >= 0", "schedule") end
  local cfg = schedule.load(path, cli)
  if opts.list then return list(cfg, sim_from or sys.now()) end
  local ok, oerr = sys.mkdirs(util.join(cfg.output, "schedule", "locks"))
  if not ok then return cli.usage_error("cannot create the scheduler's directory: " .. tostring(oerr)) end
  require("mercado.runs").reap_crashed(cfg.output)
  sys.signal_mode("count")
  local self = setmetatable({
    jobs = cfg.jobs, output = cfg.output, quiet = cfg.quiet, config_path = path,
    dir = util.join(cfg.output, "schedule"), exe = sys.exe_path(), dry_run = opts.dry_run,
    signals0 = sys.signals(), sim_until = sim_until, setsid = find_in_path("setsid"),
    child_env = cfg.notify and { MERCADO_NOTIFY = cfg.notify } or nil,
  }, Scheduler)
  self.logger = log.new { flow = "schedule" }
  self.clock = sim_from and virtual_clock(sim_from, scale) or real_clock(function() return self:signals() > 0 end)
  if not self.setsid then
    self:say("warning", "setsid not found: a Ctrl-C in this terminal also reaches the running flow")
  end
  return self:run()
end

return schedule
