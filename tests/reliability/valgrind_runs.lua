-- valgrind_runs.lua: complete mercado runs for tests/reliability/valgrind.sh, which points MERCADO_BIN at a
-- wrapper running each one under memcheck and checks the logs. Each scenario also checks its exit code and a
-- piece of its output, so a run that stopped early does not pass for a clean one. Scenarios: a flow with retries
-- (succeeding and failing), executive_summary and analytics on tests/fixtures/summary, runs/runs show/logs, flows,
-- the REPL on stdin and Ctrl-C in it, gen with dirty rows, master on the generated data, -e (success and error), a
-- parameter error, a run cancelled by SIGINT, the CSV reader's reject and error paths, and a write failing on a
-- file-size limit.
package.path = (os.getenv("MERCADO_SOURCE_ROOT") or ".") .. "/tests/?.lua;" .. (os.getenv("MERCADO_SOURCE_ROOT") or ".")
  .. "/tests/lib/?.lua;" .. package.path
local T = require "testlib"
local R = require "reliability.rlib"
local json = require "mercado.json"
local sys = require "mercado.sys"

local FLOWS = T.root .. "/tests/fixtures/flows/"
local dir = T.tmpdir("valgrind")
local T0 = sys.monotonic()

local function mercado(args, want, what, opts)
  opts = opts or {}
  opts.dir = dir
  opts.timeout = opts.timeout or 300
  local t0 = sys.monotonic()
  local code, out, err = T.mercado(args, opts)
  T.eq(code, want, what .. " exit code (stderr: " .. tostring(err) .. ")")
  print(string.format("  %-28s %5.1f s", what, sys.monotonic() - t0))
  return out or "", err or ""
end

-- flows with retries
mercado({ "run", FLOWS .. "retry.lua", "-q" }, 0, "retry flow")
mercado({ "run", FLOWS .. "retry.lua", "-q", "-p", "fail_times=5", "-p", "retries=1" }, 1, "failing retry flow")
-- the summary pipelines on the hand-worked fixture
local data = T.root .. "/tests/fixtures/summary"
mercado({ "run", "executive_summary", "-p", "data_dir=" .. data, "-q" }, 0, "executive_summary")
mercado({ "run", "analytics", "-p", "data_dir=" .. data, "-q" }, 0, "analytics")
T.eq((R.read_json(dir .. "/output/summary/basic_metrics.json") or {}).total_transactions, 8, "basic_metrics written")
-- the ledger commands
local listing = mercado({ "runs" }, 0, "runs")
T.contains(listing, "analytics", "runs lists the analytics run")
local id = listing:match("\n(%S+%-analytics%-%S+)")
local shown = mercado({ "runs", "show", tostring(id) }, 0, "runs show")
T.contains(shown, "Completed", "runs show")
mercado({ "logs", tostring(id), "--level", "debug" }, 0, "logs")
mercado({ "flows" }, 0, "flows")
mercado({ "flows", "executive_summary" }, 0, "flows executive_summary")
-- the REPL on standard input
local out = mercado({ "repl" }, 0, "repl", { stdin = "x = 6 * 7\nx\nerror('boom')\n#cs.column('int32', {1, 2, 3})\n"
  .. "json.encode({a = 1})\nfunction f(a)\n  return a + 1\nend\nf(x)\n", env = { HOME = dir } })
T.contains(out, "42", "repl value")
T.contains(out, "43", "repl multi-line function")
-- Ctrl-C in the REPL interrupts a running statement; the next lines still run
do
  local pid, o, e = T.mercado({ "repl" }, { dir = dir, background = true, env = { HOME = dir },
    stdin = "y = 5\nio.open('repl_busy', 'w'):close()\nwhile true do end\nprint('after', y)\n" })
  T.check(T.wait_for(dir .. "/repl_busy", 60), "the REPL reached the busy loop")
  sys.sleep(0.2)
  sys.kill(pid, "INT")
  local how, code = sys.wait(pid, 60)
  T.eq(how .. tostring(code), "exited0", "REPL after Ctrl-C")
  T.contains(T.read(o), "after\t5", "REPL state after Ctrl-C")
  os.remove(o); os.remove(e)
end
-- generated data (dirty rows, a duplicate file) through the master flow
mercado({ "gen", "--baskets", "1500", "--seed", "5", "--out", "gen", "--dirty", "0.02" }, 0, "gen")
local _, merr = mercado({ "run", "master", "-p", "data_dir=gen", "-p", "sync=false", "-p", "n_clusters=3", "-p", "min_support=0.05",
  "--output", "master_out", "-q" }, 0, "master")
T.not_contains(merr, "ERROR", "master errors")
-- -e, an error in -e, a usage error
T.contains(mercado({ "-e", "print(require('mercado.json').encode({1, 2.5, 'x'}))" }, 0, "-e"), '[1,2.5,"x"]', "-e output")
mercado({ "-e", "error('boom')" }, 1, "-e error")
mercado({ "run", "executive_summary", "-p", "top_n=0" }, 2, "parameter error")
-- a run cancelled by SIGINT while its task sleeps
do
  local pid, o, e = T.mercado({ "run", FLOWS .. "slow.lua", "-q", "--output", "slow_out" }, { dir = dir, background = true })
  T.check(T.wait_for(dir .. "/slow_out/in_task", 60), "the slow task started")
  sys.kill(pid, "INT")
  local how, code = sys.wait(pid, 60)
  T.eq(how .. tostring(code), "exited130", "cancelled run exit")
  os.remove(o); os.remove(e)
end
-- the CSV reader: rejected rows (NULs, garbage) and refused inputs (a directory, a missing file)
T.write(dir .. "/bad.csv", "2013-01-01|102|1|10\0 11\n\255\254garbage|||\n2013-01-02|102|1|10 11\n")
sys.mkdirs(dir .. "/adir_Tran.csv")
local reader = T.root .. "/tests/reliability/fixtures/read_csv.lua"
local res = json.decode(mercado({ "exec", reader, "rej.txt", "bad.csv" }, 0, "read_csv rejects"))
T.eq(res.kept, 1, "read_csv kept rows")
T.eq(res.rejected_total, 2, "read_csv rejected rows")
res = json.decode(mercado({ "exec", reader, "rej2.txt", "bad.csv", "adir_Tran.csv" }, 0, "read_csv directory"))
T.contains(res.error, "directory", "read_csv refuses a directory")
res = json.decode(mercado({ "exec", reader, "rej3.txt", "missing.csv" }, 0, "read_csv missing file"))
T.contains(res.error, "missing.csv", "read_csv names a missing file")
-- an output write failing on a file-size limit (SIGXFSZ ignored: write() fails with EFBIG)
do
  local writer = T.root .. "/tests/reliability/fixtures/writer.lua"
  local pid, o, e = R.spawn(T.bin, { "run", writer, "-q", "--output", "fsize_out", "-p", "files=1", "-p", "items=10",
    "-p", "big_bytes=8000000" }, { dir = dir, prologue = "ulimit -f 8192 && trap '' XFSZ" })
  local code, _, err = R.finish(pid, o, e, 300)
  T.eq(code, 1, "write past the file-size limit exit code")
  T.contains(err, "File too large", "write past the file-size limit")
end

print(string.format("ok valgrind scenarios in %.1f s", sys.monotonic() - T0))
T.done()
