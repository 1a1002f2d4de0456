-- test_notify.lua: flow notifications end to end: events in the run log without any config; a JSONL channel and
-- shell-command channels that receive the event JSON on stdin (checked against run.json); event and subflow filters;
-- a failing, a slow and a misconfigured channel never fail the flow; MERCADO_NOTIFY; the scheduler's notify setting.
package.path = (os.getenv("MERCADO_SOURCE_ROOT") or ".") .. "/tests/lib/?.lua;" .. package.path
local T = require "testlib"
local json = require "mercado.json"
local sys = require "mercado.sys"

local FLOWS = {
  ["ok.lua"] = [[
local flow = require "mercado.flow"
return flow.define { name = "ok", description = "test: succeeds",
  params = { n = { type = "int", default = 2 }, conninfo = { type = "string", default = "host=db password=hunter2" } },
  run = function(ctx, p) return p.n end }
]],
  ["bad.lua"] = [[
local flow = require "mercado.flow"
return flow.define { name = "bad", description = "test: fails",
  run = function(ctx) ctx:task("explode", {}, function() error("boom at the task") end) end }
]],
  ["parent.lua"] = [[
local flow = require "mercado.flow"
return flow.define { name = "parent", description = "test: calls child", subflows = { "child" },
  run = function(ctx) ctx:flow("child", {}) end }
]],
  ["child.lua"] = [[
local flow = require "mercado.flow"
return flow.define { name = "child", description = "test: a subflow", run = function() end }
]],
}

local function setup(tag)
  local dir = T.tmpdir(tag)
  assert(sys.mkdirs(dir .. "/flows"))
  for name, text in pairs(FLOWS) do T.write(dir .. "/flows/" .. name, text) end
  return dir
end

local function lines(path)
  local out = {}
  for l in (T.read(path) or ""):gmatch("[^\n]+") do out[#out + 1] = json.decode(l) end
  return out
end

local function runs_of(dir, flow)
  local recs = {}
  for _, f in ipairs(sys.glob(dir .. "/output/runs/*-" .. flow .. "-*/run.json")) do recs[#recs + 1] = json.decode(T.read(f)) end
  table.sort(recs, function(a, b) return a.start < b.start end)
  return recs
end

local function log_events(dir, rec)
  return lines(dir .. "/output/runs/" .. rec.run_id .. "/log.jsonl")
end

local function find_event(events, pred)
  for _, e in ipairs(events) do if pred(e) then return e end end
  return nil
end

-- No config: the events are still in the run log, nothing else is written.
do
  local dir = setup("none")
  local code = T.mercado({ "run", "flows/ok.lua", "-q" }, { dir = dir })
  T.eq(code, 0, "no config: exit code")
  local rec = runs_of(dir, "ok")[1]
  local ev = log_events(dir, rec)
  local s = find_event(ev, function(e) return e.event == "flow_start" end)
  local f = find_event(ev, function(e) return e.event == "flow_success" end)
  T.check(s and s.data.run_id == rec.run_id and s.data.flow == "ok", "flow_start in the run log")
  T.check(f and f.data.state == "Completed" and f.data.run_id == rec.run_id, "flow_success in the run log")
  T.check(sys.stat(dir .. "/output/logs") == nil, "no channel output without a config")
end

-- A config in the working directory with every kind of channel.
local NOTIFY = [[
return { channels = {
  { type = "jsonl" },
  { type = "jsonl", name = "top", path = "{output}/top/%Y.jsonl", subflows = false },
  { type = "command", name = "cmd",
    command = 'cat >> "$MERCADO_OUTPUT/cmd.jsonl"; echo "$MERCADO_EVENT|$MERCADO_FLOW|$MERCADO_RUN_ID|$MERCADO_STATE|$MERCADO_MESSAGE" >> "$MERCADO_OUTPUT/cmd_env.txt"' },
  { type = "command", name = "failing", command = "echo oops >&2; exit 3", events = { "flow_success" } },
  { type = "command", name = "slow", command = "exec sleep 30", timeout = 0.5, events = { "flow_start" } },
  { type = "command", name = "failures", command = 'cat >> "$MERCADO_OUTPUT/failures.jsonl"', events = { "flow_failure" } },
} }
]]

do
  local dir = setup("channels")
  T.write(dir .. "/mercado_notify.lua", NOTIFY)
  local t0 = sys.monotonic()
  local code, _, err = T.mercado({ "run", "flows/ok.lua" }, { dir = dir })
  T.eq(code, 0, "failing channels do not fail the flow")
  T.check(sys.monotonic() - t0 < 15, "the slow channel was bounded by its timeout")
  local rec = runs_of(dir, "ok")[1]
  T.eq(rec.state, "Completed", "run state with failing channels")
  local got = lines(dir .. "/output/cmd.jsonl")
  T.eq(#got, 2, "the command received two events")
  T.eq(got[1] and got[1].event, "flow_start", "first event")
  T.eq(got[2] and got[2].event, "flow_success", "second event")
  for _, e in ipairs(got) do
    T.eq(e.run_id, rec.run_id, e.event .. " run_id matches run.json")
    T.eq(e.flow, "ok", e.event .. " flow")
    T.eq(e.output_dir, "output", e.event .. " output_dir")
  end
  T.eq(got[1].timestamp, rec.start, "flow_start timestamp is the run's start")
  T.eq(got[2].timestamp, rec["end"], "flow_success timestamp is the run's end")
  T.eq(got[1].params.n, 2, "flow_start carries the parameters")
  T.eq(got[1].params.conninfo, "host=db password=***", "secrets are masked in events")
  T.eq(got[2].state, "Completed", "flow_success state")
  T.near(got[2].duration_seconds, rec.duration_seconds, 1e-9, "flow_success duration is the run's")
  local env = T.read(dir .. "/output/cmd_env.txt") or ""
  T.contains(env, "flow_start|ok|" .. rec.run_id .. "||mercado: ok started (run " .. rec.run_id .. ")", "command env at start")
  T.contains(env, "flow_success|ok|" .. rec.run_id .. "|Completed|mercado: ok completed in", "command env at the end")
  local files = sys.glob(dir .. "/output/logs/mercado_runs_*.jsonl")
  T.eq(#files, 1, "one JSONL file per day")
  T.contains(files[1] or "", os.date("mercado_runs_%Y-%m-%d.jsonl"), "the JSONL file is named by the local date")
  local jl = lines(files[1] or "")
  T.eq(#jl, 2, "the JSONL channel has both events")
  T.eq(json.encode(jl[1]), json.encode(got[1]), "the JSONL line equals the command's input")
  T.check(sys.stat(dir .. "/output/failures.jsonl") == nil, "the failure-only channel got nothing")
  local find = io.popen("find '" .. dir .. "/output' -type f")
  for f in find:lines() do T.not_contains(T.read(f) or "", "hunter2", "password in " .. f) end
  find:close()
  local ev = log_events(dir, rec)
  local w1 = find_event(ev, function(e) return e.level == "warning" and tostring(e.message):find("'failing' failed", 1, true) end)
  local w2 = find_event(ev, function(e) return e.level == "warning" and tostring(e.message):find("'slow' failed", 1, true) end)
  T.check(w1 and w1.message:find("exited with status 3", 1, true), "the failing command is logged as a warning")
  T.check(w2 and w2.message:find("timed out after 0.5 s", 1, true), "the slow command is logged as a warning")
  T.contains(err, "notification channel 'failing' failed", "the warning reaches the terminal")
  T.contains(T.read(dir .. "/output/runs/" .. rec.run_id .. "/notify.log") or "", "oops", "command output kept in notify.log")
  T.check(find_event(ev, function(e) return e.event == "flow_success" and e.message:find("notified (jsonl, top, cmd)", 1, true) end),
    "the log says which channels were notified")

  -- a failing flow: flow_failure with the error
  code = T.mercado({ "run", "flows/bad.lua", "-q" }, { dir = dir })
  T.eq(code, 1, "failing flow exit code")
  local brec = runs_of(dir, "bad")[1]
  local fails = lines(dir .. "/output/failures.jsonl")
  T.eq(#fails, 1, "the failure channel got one event")
  T.eq(fails[1] and fails[1].event, "flow_failure", "failure event name")
  T.eq(fails[1] and fails[1].run_id, brec.run_id, "failure event run_id")
  T.contains(fails[1] and fails[1].error, "boom at the task", "failure event error")
  T.eq(fails[1] and fails[1].error_type, "error", "failure event error_type")
  T.eq(fails[1] and fails[1].state, "Failed", "failure event state")

  -- subflows: every channel but "top" sees the child's events, with parent_run_id
  code = T.mercado({ "run", "flows/parent.lua", "-q" }, { dir = dir })
  T.eq(code, 0, "parent flow exit code")
  local prec, crec = runs_of(dir, "parent")[1], runs_of(dir, "child")[1]
  jl = lines(sys.glob(dir .. "/output/logs/mercado_runs_*.jsonl")[1])
  local child_events = {}
  for _, e in ipairs(jl) do if e.flow == "child" then child_events[#child_events + 1] = e end end
  T.eq(#child_events, 2, "subflow events in the default channel")
  T.eq(child_events[1] and child_events[1].parent_run_id, prec.run_id, "subflow event names its parent run")
  T.eq(child_events[1] and child_events[1].run_id, crec.run_id, "subflow event run_id")
  local top = lines(sys.glob(dir .. "/output/top/*.jsonl")[1] or "")
  local flows = {}
  for _, e in ipairs(top) do flows[#flows + 1] = e.flow .. ":" .. e.event end
  T.eq(table.concat(flows, ","), "ok:flow_start,ok:flow_success,bad:flow_start,bad:flow_failure,parent:flow_start,parent:flow_success",
    "subflows = false keeps only top-level events")
end

-- A broken or missing config never fails the flow; MERCADO_NOTIFY picks or disables the file.
do
  local dir = setup("broken")
  T.write(dir .. "/mercado_notify.lua", "return { channels = { { type = 'jsonl' } }") -- syntax error
  local code, _, err = T.mercado({ "run", "flows/ok.lua" }, { dir = dir })
  T.eq(code, 0, "broken config: the flow still succeeds")
  T.contains(err, "notifications not sent", "broken config: a warning")
  T.contains(err, "mercado_notify.lua", "broken config: the file is named")
  T.write(dir .. "/mercado_notify.lua", "return { channels = { { type = 'sms' } } }")
  code, _, err = T.mercado({ "run", "flows/ok.lua" }, { dir = dir })
  T.eq(code, 0, "invalid channel: the flow still succeeds")
  T.contains(err, "channels[1]: type must be \"jsonl\" or \"command\"", "invalid channel: what is wrong")
  T.write(dir .. "/mercado_notify.lua", "io.open('pwned', 'w') return { channels = {} }")
  code, _, err = T.mercado({ "run", "flows/ok.lua" }, { dir = dir })
  T.eq(code, 0, "sandboxed config: the flow still succeeds")
  T.contains(err, "global 'io'", "the config cannot use io")
  T.check(sys.stat(dir .. "/pwned") == nil, "the config wrote nothing")
  code, _, err = T.mercado({ "run", "flows/ok.lua" }, { dir = dir, env = { MERCADO_NOTIFY = "nope.lua" } })
  T.eq(code, 0, "missing MERCADO_NOTIFY file: the flow still succeeds")
  T.contains(err, "MERCADO_NOTIFY names nope.lua, which does not exist", "missing MERCADO_NOTIFY file: a warning")
  T.write(dir .. "/mercado_notify.lua", NOTIFY)
  T.write(dir .. "/other.lua", "return { channels = { { type = 'jsonl', path = '{output}/other.jsonl' } } }")
  code = T.mercado({ "run", "flows/ok.lua", "-q" }, { dir = dir, env = { MERCADO_NOTIFY = "other.lua" } })
  T.eq(code, 0, "MERCADO_NOTIFY: exit code")
  T.eq(#lines(dir .. "/output/other.jsonl"), 2, "MERCADO_NOTIFY names the config in effect")
  T.check(sys.stat(dir .. "/output/cmd.jsonl") == nil, "the working directory's config is not used then")
  code = T.mercado({ "run", "flows/ok.lua", "-q" }, { dir = dir, env = { MERCADO_NOTIFY = "" } })
  T.eq(code, 0, "MERCADO_NOTIFY empty: exit code")
  T.check(sys.stat(dir .. "/output/cmd.jsonl") == nil, "an empty MERCADO_NOTIFY disables notifications")
end

-- The scheduler's `notify` setting reaches its runs; a bad notification config is refused at start (exit 2).
do
  local dir = setup("schedule")
  assert(sys.mkdirs(dir .. "/conf"))
  T.write(dir .. "/conf/n.lua", "return { channels = { { type = 'jsonl', path = '{output}/events.jsonl' } } }")
  T.write(dir .. "/s.lua", "return { output = 'output', notify = 'conf/n.lua', jobs = { { flow = 'flows/ok.lua', every = '1h' } } }")
  local code, _, err = T.mercado({ "schedule", "--config", "s.lua", "--simulate-from", "2026-01-01T00:30Z",
    "--simulate-until", "2026-01-01T01:30Z" }, { dir = dir, env = { TZ = "UTC" } })
  T.eq(code, 0, "scheduler with notify: exit code " .. tostring(err))
  local ev = lines(dir .. "/output/events.jsonl")
  T.eq(#ev, 2, "the scheduled run's events reached the scheduler's channel")
  T.eq(ev[1] and ev[1].run_id, runs_of(dir, "ok")[1].run_id, "event of the scheduled run")
  T.write(dir .. "/conf/n.lua", "return { channels = { { type = 'command' } } }")
  code, _, err = T.mercado({ "schedule", "--config", "s.lua", "--list" }, { dir = dir })
  T.eq(code, 2, "bad notification config: exit 2")
  T.contains(err, "notify: notification config conf/n.lua: channels[1]: command must be a shell command", "bad notify message")
end

T.done()
