-- test_flow_engine.lua: the flow engine end to end through the CLI: retries and backoff, timeouts, parameters of
-- every type with precedence and nested overrides, cancellation by SIGINT, crash detection after kill -9, the run
-- ledger commands, and exit codes.
package.path = (os.getenv("MERCADO_SOURCE_ROOT") or ".") .. "/tests/lib/?.lua;" .. package.path
local T = require "testlib"
local json = require "mercado.json"
local sys = require "mercado.sys"

local FLOWS = T.root .. "/tests/fixtures/flows/"

local function last_run(dir, flow)
  local runs = sys.glob(dir .. "/output/runs/*" .. (flow and ("-" .. flow .. "-") or "") .. "*/run.json")
  table.sort(runs)
  return json.decode(T.read(runs[#runs]))
end

-- Retries: fails twice then succeeds -> Completed with 3 attempts; delays 5 then 10 (backoff 2).
do
  local dir = T.tmpdir("retry")
  local code = T.mercado({ "run", FLOWS .. "retry.lua", "-q" }, { dir = dir })
  T.eq(code, 0, "retry flow exit code")
  local rec = last_run(dir)
  T.eq(rec.state, "Completed", "retry run state")
  local task = rec.tasks[1]
  T.eq(task.state, "Completed", "flaky task state")
  T.eq(#task.attempts, 3, "attempts recorded")
  T.eq(task.attempts[1].state, "Failed", "attempt 1 failed")
  T.contains(task.attempts[2].error.message, "failure number 2", "attempt 2 error message")
  T.contains(task.attempts[1].error.traceback, "stack traceback", "attempt error has a traceback")
  local sleeps = json.decode(T.read(dir .. "/output/sleeps.json"))
  T.eq(#sleeps, 2, "two retry delays")
  T.eq(sleeps[1], 5.0, "first delay = retry_delay")
  T.eq(sleeps[2], 10.0, "second delay = retry_delay * backoff")
end

-- Always fails -> Failed after retries + 1 attempts, with the last error; exit 1.
do
  local dir = T.tmpdir("fail")
  local code, _, err = T.mercado({ "run", FLOWS .. "retry.lua", "-p", "fail_times=10", "-p", "retries=3" }, { dir = dir })
  T.eq(code, 1, "failing flow exit code")
  local rec = last_run(dir)
  T.eq(rec.state, "Failed", "failing run state")
  T.eq(#rec.tasks[1].attempts, 4, "retries + 1 attempts")
  T.contains(rec.tasks[1].attempts[4].error.message, "failure number 4", "last error kept")
  T.contains(rec.error.message, "failure number 4", "run error is the last error")
  T.contains(err, "failure number 4", "error shown on the terminal")
  local sleeps = json.decode(T.read(dir .. "/output/sleeps.json"))
  T.eq(#sleeps, 3, "three delays before giving up")
  T.eq(sleeps[3], 20.0, "third delay")
end

-- Real delays are respected (generous bounds): 2 retries of 0.2 s.
do
  local dir = T.tmpdir("delay")
  local t0 = sys.monotonic()
  local code = T.mercado({ "run", FLOWS .. "retry.lua", "-p", "fake_clock=false", "-p", "delay=0.2", "-p", "backoff=1", "-q" }, { dir = dir })
  local elapsed = sys.monotonic() - t0
  T.eq(code, 0, "real-delay flow exit code")
  T.check(elapsed >= 0.4, "two 0.2 s delays took %.3f s", elapsed)
end

-- Timeout: a task spinning in pure Lua is interrupted; Failed/TimedOut; exit 1 within a few seconds.
do
  local dir = T.tmpdir("timeout")
  local t0 = sys.monotonic()
  local code = T.mercado({ "run", FLOWS .. "timeout.lua", "-q" }, { dir = dir, timeout = 30 })
  local elapsed = sys.monotonic() - t0
  T.eq(code, 1, "timed-out flow exit code")
  T.check(elapsed < 10, "timeout interrupted the loop in %.1f s", elapsed)
  local rec = last_run(dir)
  T.eq(rec.tasks[1].state, "Failed", "timed-out task state")
  T.eq(rec.tasks[1].reason, "TimedOut", "timed-out task reason")
  T.eq(rec.tasks[1].attempts[1].error.kind, "timeout", "attempt error kind")
  T.eq(rec.reason, "TimedOut", "run reason")
end

-- Parameters: types, defaults, file then -p precedence, nested overrides, errors naming the parameter.
do
  local dir = T.tmpdir("params")
  T.write(dir .. "/p.json", json.encode { n = 7, x = "0.25", tags = { "q", "r" }, flag = true, child = { k = 11 } })
  local code, _, err = T.mercado({ "run", FLOWS .. "params.lua", "--params", "p.json", "-p", "n=9", "-p", "stores=102, 103",
    "-p", "mode=exact", "-p", "name=os.execute('touch " .. dir .. "/pwned')", "-q" }, { dir = dir })
  T.eq(code, 0, "params flow exit code: " .. tostring(err))
  local p = json.decode(T.read(dir .. "/output/params.json"))
  T.eq(p.n, 9, "-p wins over the params file")
  T.eq(math.type(p.n), "integer", "int parameter is an integer")
  T.eq(p.x, 0.25, "number from the params file (string literal)")
  T.eq(p.flag, true, "bool from the params file")
  T.eq(p.mode, "exact", "enum from -p")
  T.eq(p.dir, "data", "path default")
  T.eq(#p.stores, 2, "list of ints")
  T.eq(p.stores[2], 103, "list item parsed and trimmed")
  T.eq(p.tags[2], "r", "list from the params file")
  T.eq(p.name, "os.execute('touch " .. dir .. "/pwned')", "code-looking value kept as data")
  T.check(sys.stat(dir .. "/pwned") == nil, "the value was never run")
  T.eq(json.decode(T.read(dir .. "/output/child.json")).k, 11, "nested override from the params file wins over the parent's value")
  local code2 = T.mercado({ "run", FLOWS .. "params.lua", "-p", "child.k=12", "-q" }, { dir = dir })
  T.eq(code2, 0, "nested -p exit code")
  T.eq(json.decode(T.read(dir .. "/output/child.json")).k, 12, "-p child.k applies to the subflow")
  local cases = {
    { { "n=1" }, "parameter 'n' = '1': below the minimum" },
    { { "n=51" }, "above the maximum" },
    { { "n=abc" }, "expected an integer" },
    { { "n=4.5" }, "expected an integer" },
    { { "x=nan" }, "expected a number" },
    { { "flag=maybe" }, "expected true/false" },
    { { "mode=slow" }, "expected one of fast, exact" },
    { { "stores=1,x" }, "parameter 'stores'" },
    { { "bogus=1" }, "unknown parameter 'bogus' for flow 'params' (known: dir, flag, mode, n, name, stores, tags, x)" },
    { { "child.bogus=1" }, "unknown parameter 'bogus' for flow 'child'" },
    { { "other.k=1" }, "flow 'params' has no subflow 'other'" },
    { { "child.k=-1" }, "parameter 'k' = '-1': below the minimum" },
    { { "noequals" }, "expected name=value" },
  }
  for _, c in ipairs(cases) do
    local args = { "run", FLOWS .. "params.lua" }
    for _, v in ipairs(c[1]) do args[#args + 1] = "-p"; args[#args + 1] = v end
    local rc, _, e = T.mercado(args, { dir = dir })
    T.eq(rc, 2, "exit code for -p " .. c[1][1])
    T.contains(e, c[2], "message for -p " .. c[1][1])
  end
  T.write(dir .. "/bad.json", "{ not json")
  local rc, _, e = T.mercado({ "run", FLOWS .. "params.lua", "--params", "bad.json" }, { dir = dir })
  T.eq(rc, 2, "bad params file exit code")
  T.contains(e, "bad.json", "bad params file named")
end

-- SIGINT during a task: Cancelled, exit 130, the earlier output intact, later outputs never written.
do
  local dir = T.tmpdir("sigint")
  local pid, outp, errp = T.mercado({ "run", FLOWS .. "slow.lua", "-q" }, { dir = dir, background = true })
  T.check(T.wait_for(dir .. "/output/in_task", 20), "the slow task started")
  sys.kill(pid, "INT")
  local how, code = sys.wait(pid, 20)
  T.eq(how, "exited", "process exited after SIGINT")
  T.eq(code, 130, "exit code after SIGINT")
  local rec = last_run(dir)
  T.eq(rec.state, "Cancelled", "run state after SIGINT")
  T.eq(rec.tasks[2].state, "Cancelled", "task state after SIGINT")
  T.eq(json.decode(T.read(dir .. "/output/first.json")).ok, true, "earlier output intact")
  T.check(sys.stat(dir .. "/output/never.json") == nil, "no output after the cancelled task")
  os.remove(outp); os.remove(errp)
  -- the same while the task spins in pure Lua (the hook interrupts it)
  local pid2 = T.mercado({ "run", FLOWS .. "slow.lua", "-p", "busy=true", "-q" }, { dir = dir, background = true })
  os.remove(dir .. "/output/in_task")
  T.check(T.wait_for(dir .. "/output/in_task", 20), "the busy task started")
  sys.kill(pid2, "INT")
  local how2, code2 = sys.wait(pid2, 20)
  T.eq(how2 .. code2, "exited130", "busy task cancelled by SIGINT")
end

-- kill -9 during a run: the next `mercado runs` shows it Crashed.
do
  local dir = T.tmpdir("crash")
  local pid = T.mercado({ "run", FLOWS .. "slow.lua", "-q" }, { dir = dir, background = true })
  T.check(T.wait_for(dir .. "/output/in_task", 20), "the slow task started")
  sys.kill(pid, "KILL")
  sys.wait(pid, 20)
  local rec = last_run(dir)
  T.eq(rec.state, "Running", "record left Running by the killed process")
  local code, out = T.mercado({ "runs" }, { dir = dir })
  T.eq(code, 0, "runs exit code")
  T.contains(out, "Crashed", "runs lists the run as Crashed")
  rec = last_run(dir)
  T.eq(rec.state, "Crashed", "record marked Crashed")
  T.eq(rec.tasks[2].state, "Crashed", "running task marked Crashed")
  local code2, out2 = T.mercado({ "runs", "show", rec.run_id }, { dir = dir })
  T.eq(code2, 0, "runs show exit code")
  T.contains(out2, "Crashed", "runs show state")
  local code3, out3 = T.mercado({ "logs", rec.run_id, "--level", "info" }, { dir = dir })
  T.eq(code3, 0, "logs exit code")
  T.contains(out3, "started", "log has the start event")
end

-- Ledger commands and exit codes.
do
  local dir = T.tmpdir("ledger")
  T.mercado({ "run", FLOWS .. "retry.lua", "-q" }, { dir = dir })
  local code, out = T.mercado({ "runs", "--flow", "retry", "--last", "1" }, { dir = dir })
  T.eq(code, 0, "runs --flow exit code")
  T.contains(out, "Completed", "runs lists the completed run")
  local rec = last_run(dir)
  local _, show = T.mercado({ "runs", "show", rec.run_id }, { dir = dir })
  T.contains(show, "attempt 3", "runs show lists attempts")
  T.contains(show, "failure number 1", "runs show lists attempt errors")
  local _, logs = T.mercado({ "logs", rec.run_id, "--level", "warning" }, { dir = dir })
  T.contains(logs, "retrying in", "warnings in logs")
  T.not_contains(logs, "completed in", "--level filters info events")
  local jsonl = T.read(dir .. "/output/runs/" .. rec.run_id .. "/log.jsonl")
  for line in jsonl:gmatch("[^\n]+") do
    local ok, ev = pcall(json.decode, line)
    T.check(ok and ev.run_id == rec.run_id and ev.ts and ev.level, "log.jsonl line is a JSON event: %s", line)
  end
  -- pruning keeps the newest runs
  T.mercado({ "run", FLOWS .. "retry.lua", "-q" }, { dir = dir })
  T.mercado({ "run", FLOWS .. "retry.lua", "-q" }, { dir = dir })
  local before = #sys.glob(dir .. "/output/runs/*")
  local pc, po = T.mercado({ "runs", "prune", "--keep", "1" }, { dir = dir })
  T.eq(pc, 0, "runs prune exit code")
  T.contains(po, "removed " .. (before - 1) .. " runs", "prune reports what it removed")
  T.eq(#sys.glob(dir .. "/output/runs/*"), 1, "one run kept")
  T.eq(T.mercado({ "runs", "prune" }, { dir = dir }), 2, "prune without a limit is a usage error")
  T.eq(T.mercado({ "run", "no_such_flow" }, { dir = dir }), 2, "unknown flow exit code")
  T.eq(T.mercado({ "frobnicate" }, { dir = dir }), 2, "unknown command exit code")
  T.eq(T.mercado({ "run", "--help" }, { dir = dir }), 0, "run --help exit code")
  local rc, o = T.mercado({ "version" }, { dir = dir })
  T.eq(rc, 0, "version exit code")
  T.contains(o, "mercado", "version output")
  local rc2, o2 = T.mercado({ "-e", "print(require('cjson').encode({1}), require('lfs').currentdir() ~= nil)" }, { dir = dir })
  T.eq(rc2, 0, "-e exit code")
  T.contains(o2, "[1]\ttrue", "cjson and lfs available without LUA_CPATH")
  T.eq(T.mercado({ "-e", "error('boom')" }, { dir = dir }), 1, "-e error exit code")
  -- a read-only output directory is refused before any work
  os.execute("mkdir -p '" .. dir .. "/ro' && chmod 555 '" .. dir .. "/ro'")
  if sys.access(dir .. "/ro", "w") == nil then
    local rc3, _, e3 = T.mercado({ "run", FLOWS .. "retry.lua", "--output", "ro/out" }, { dir = dir })
    T.eq(rc3, 2, "unwritable output exit code")
    T.contains(e3, "ro/out", "unwritable output named")
  end
end

T.done()
