-- runs.lua: the run ledger under <output>/runs/. Each run has a directory <run_id>/ with run.json (rewritten
-- atomically at every state change, so a crash leaves a readable record) and log.jsonl. A marker in runs/.active/
-- names the runs in progress; a marker whose process is gone means the run crashed, and the next mercado start
-- marks it Crashed.
local json = require "mercado.json"
local sys = require "mercado.sys"
local util = require "mercado.util"

local runs = {}

-- Ledger records are rewritten at every state change: atomic against a dying process, without an fsync each time.
local NOSYNC = { sync = false }

local Run = json.shape { "run_id", "flow", "state", "reason", "parent_run_id", "params", "start", "end",
  "duration_seconds", "tasks", "error", "output_dir", "mercado_version", "host", "pid", "command" }
local Task = json.shape { "name", "kind", "state", "reason", "start", "end", "duration_seconds", "attempts", "run_id" }
local Attempt = json.shape { "attempt", "start", "end", "duration_seconds", "state", "error" }
local ErrorRec = json.shape { "kind", "message", "traceback" }
runs.Task, runs.Attempt, runs.ErrorRec = Task, Attempt, ErrorRec

function runs.dir(output) return util.join(output, "runs") end

-- A sortable, unique id: UTC time, flow name, pid.
function runs.new_id(flow)
  local now = sys.now()
  local stamp = os.date("!%Y%m%dT%H%M%S", math.floor(now)) .. string.format("%03d", math.floor((now % 1) * 1000))
  return string.format("%s-%s-%d", stamp, flow:gsub("[^%w_]", "_"), sys.getpid())
end

-- Creates the run directory and its first record; returns the record (a table the flow engine updates and saves).
function runs.create(output, flow, params, parent, command)
  local id = runs.new_id(flow)
  local dir = util.join(runs.dir(output), id)
  local ok, err = sys.mkdirs(dir)
  if not ok then return nil, err end
  ok, err = sys.mkdirs(util.join(runs.dir(output), ".active"))
  if not ok then return nil, err end
  local rec = Run {
    run_id = id, flow = flow, state = "Pending", parent_run_id = parent, params = params,
    start = sys.isotime(sys.now()), tasks = json.array(), output_dir = output,
    mercado_version = sys.version(), host = sys.hostname(), pid = sys.getpid(), command = command,
  }
  local marker = json.encode { pid = sys.getpid(), proc_start = sys.proc_start(sys.getpid()), host = sys.hostname() }
  ok, err = sys.write_atomic(util.join(runs.dir(output), ".active", id), marker, NOSYNC)
  if not ok then return nil, err end
  return rec, dir
end

function runs.save(output, rec)
  local path = util.join(runs.dir(output), rec.run_id, "run.json")
  return sys.write_atomic(path, json.encode(rec, { indent = 2 }), NOSYNC)
end

-- Marks a finished run: removes its active marker after the final record is saved.
function runs.finish(output, rec)
  local ok, err = runs.save(output, rec)
  os.remove(util.join(runs.dir(output), ".active", rec.run_id))
  return ok, err
end

function runs.load(output, id)
  local text, err = util.read_file(util.join(runs.dir(output), id, "run.json"))
  if not text then return nil, err end
  local ok, rec = pcall(json.decode, text)
  if not ok then return nil, "unreadable run record " .. id .. ": " .. tostring(rec) end
  return util.strip_nulls(rec)
end

-- Marks runs whose process died (kill -9, power loss) as Crashed. Cheap: only active markers are read.
function runs.reap_crashed(output)
  local active = util.join(runs.dir(output), ".active")
  if not util.is_dir(active) then return 0 end
  local reaped = 0
  for _, marker in ipairs(util.glob(active, "*")) do
    local id = util.basename(marker)
    local text = util.read_file(marker)
    local ok, m = pcall(json.decode, text or "")
    local alive = false
    if ok and type(m) == "table" then
      if m.host ~= sys.hostname() then
        alive = true -- another machine's run: we cannot tell, leave it
      else
        local start = sys.proc_start(m.pid)
        alive = start ~= nil and (m.proc_start == nil or start == m.proc_start)
      end
    end
    if not alive then
      local rec = runs.load(output, id)
      if rec then
        rec = Run(rec)
        rec.state = "Crashed"
        rec.reason = "the process running it stopped without finishing (killed or crashed)"
        rec["end"] = rec["end"] or sys.isotime(sys.now())
        for _, t in ipairs(rec.tasks or {}) do
          if t.state == "Running" or t.state == "Retrying" or t.state == "Pending" then t.state = "Crashed" end
        end
        runs.save(output, rec)
      end
      os.remove(marker)
      reaped = reaped + 1
    end
  end
  return reaped
end

-- Lists run records, newest first. filter: {flow =, last =}.
function runs.list(output, filter)
  filter = filter or {}
  local dirs = util.glob(runs.dir(output), "*")
  table.sort(dirs, function(a, b) return a > b end)
  local out = {}
  for _, d in ipairs(dirs) do
    local rec = runs.load(output, util.basename(d))
    if rec and (not filter.flow or rec.flow == filter.flow) then
      out[#out + 1] = rec
      if filter.last and #out >= filter.last then break end
    end
  end
  return out
end

-- Removes a directory tree (files and subdirectories, no symlink is followed).
local function remove_tree(path)
  local lfs = require "lfs"
  local attr = lfs.symlinkattributes(path)
  if not attr then return true end
  if attr.mode == "directory" then
    for name in lfs.dir(path) do
      if name ~= "." and name ~= ".." then
        local ok, err = remove_tree(path .. "/" .. name)
        if not ok then return nil, err end
      end
    end
    return lfs.rmdir(path)
  end
  return os.remove(path)
end

-- Deletes finished runs: all but the newest `keep`, and (if given) those started more than `days` days ago.
-- Runs still in progress are never removed. Returns the number removed.
function runs.prune(output, keep, days)
  local dirs = util.glob(runs.dir(output), "*")
  table.sort(dirs, function(a, b) return a > b end)
  local cutoff = days and (sys.now() - days * 86400) or nil
  local removed, kept = 0, 0
  for _, d in ipairs(dirs) do
    local id = util.basename(d)
    local active = sys.stat(util.join(runs.dir(output), ".active", id)) ~= nil
    local rec = runs.load(output, id)
    local old = false
    if cutoff and rec and rec.start then
      local y, mo, dd, h, mi, se = rec.start:match("^(%d+)-(%d+)-(%d+)T(%d+):(%d+):(%d+)")
      if y then old = os.time { year = y, month = mo, day = dd, hour = h, min = mi, sec = se } < cutoff end
    end
    if not active and ((keep and kept >= keep) or old) then
      local ok, err = remove_tree(d)
      if not ok then return nil, err end
      removed = removed + 1
    elseif not active then
      kept = kept + 1
    end
  end
  return removed
end

-- Reads a run's log events (decoded), optionally at or above a level.
function runs.events(output, id, min_level)
  local levels = { debug = 10, info = 20, warning = 30, error = 40 }
  local path = util.join(runs.dir(output), id, "log.jsonl")
  local f, err = io.open(path, "r")
  if not f then return nil, err end
  local out = {}
  for line in f:lines() do
    local ok, ev = pcall(json.decode, line)
    if ok then util.strip_nulls(ev) end
    if ok and type(ev) == "table" and (not min_level or (levels[ev.level] or 0) >= levels[min_level]) then
      out[#out + 1] = ev
    end
  end
  f:close()
  return out
end

return runs
