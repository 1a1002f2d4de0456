-- test_hostile_input.lua: hostile input for the CSV reader, through the real executive_summary flow and through
-- colstore.read_csv (in child processes, so a hang or a crash fails the test instead of killing it). Cases: paths
-- with spaces, non-ASCII names and glob characters, a file that is only a BOM, binary garbage with NULs, a
-- directory, a symlink loop and a FIFO named like a transactions file, a dangling symlink, an empty file and a
-- single 1 GB line without a newline. Each gives either a clean reject count (and then the outputs equal those of
-- the clean data) or a clear error naming the file, never a crash or a hang; a failed run leaves no output file.
-- The flow cases run at the same time (their failed load is retried once after 5 s). MERCADO_BIG_LINE_BYTES sets
-- the size of the long line (default 1e9; 0 skips it).
package.path = (os.getenv("MERCADO_SOURCE_ROOT") or ".") .. "/tests/?.lua;" .. (os.getenv("MERCADO_SOURCE_ROOT") or ".")
  .. "/tests/lib/?.lua;" .. package.path
local T = require "testlib"
local R = require "reliability.rlib"
local json = require "mercado.json"
local sys = require "mercado.sys"

local FIXTURE = T.root .. "/tests/fixtures/summary"
local READ_CSV = T.root .. "/tests/reliability/fixtures/read_csv.lua"
local BIG = math.tointeger(tonumber(os.getenv("MERCADO_BIG_LINE_BYTES") or "1000000000"))
local dir = T.tmpdir("hostile")

-- A copy of the summary fixture (8 good baskets in 102_Tran.csv and 103_Tran.csv) at dir/rel.
local function copy_fixture(rel)
  assert(R.sh("mkdir -p " .. R.q(dir .. "/" .. rel) .. " && cp -R " .. R.q(FIXTURE) .. "/. " .. R.q(dir .. "/" .. rel)))
  return rel
end

-- Deterministic binary garbage: every byte value, NULs and newlines included.
local function garbage(n, seed)
  math.randomseed(seed)
  local parts = {}
  for i = 1, n do parts[i] = string.char(math.random(0, 255)) end
  return table.concat(parts)
end

local BOM = "\239\187\191"

-- Each flow case: a data directory built by `make`, the expected exit code and what is expected of the run.
local cases = {
  { name = "plain", make = function() return copy_fixture("plain") end, code = 0 },
  { name = "spaces and non-ASCII", out = "salida con espacios/ñandú",
    make = function() return copy_fixture("datos de ventas/ñandú") end, code = 0, same = true },
  { name = "glob characters", out = "salida [1] *", make = function() return copy_fixture("ventas [2013] *copia*") end,
    code = 0, same = true },
  { name = "a BOM-only file beside good ones", code = 0, same = true, empty_file = "104_Tran.csv",
    make = function()
      local d = copy_fixture("bom")
      T.write(dir .. "/" .. d .. "/transactions/104_Tran.csv", BOM)
      return d
    end },
  { name = "only a BOM-only file", code = 1, message = { "no baskets" },
    make = function()
      local d = copy_fixture("bom_only")
      assert(R.sh("rm " .. R.q(dir .. "/" .. d) .. "/transactions/*"))
      T.write(dir .. "/" .. d .. "/transactions/104_Tran.csv", BOM)
      return d
    end },
  { name = "binary garbage", code = 0, same = true, garbage_file = "105_Tran.csv",
    make = function()
      local d = copy_fixture("garbage")
      T.write(dir .. "/" .. d .. "/transactions/105_Tran.csv", garbage(200000, 7))
      return d
    end },
  { name = "a directory named like a CSV", code = 1, message = { "x_Tran.csv", "directory" },
    make = function()
      local d = copy_fixture("dir")
      sys.mkdirs(dir .. "/" .. d .. "/transactions/x_Tran.csv")
      return d
    end },
  { name = "a symlink loop", code = 1, message = { "y_Tran.csv", "symbolic links" },
    make = function()
      local d = copy_fixture("loop")
      assert(R.sh("ln -s y_Tran.csv " .. R.q(dir .. "/" .. d .. "/transactions/y_Tran.csv")))
      return d
    end },
  { name = "a FIFO", code = 1, message = { "z_Tran.csv" },
    make = function()
      local d = copy_fixture("fifo")
      assert(R.sh("mkfifo " .. R.q(dir .. "/" .. d .. "/transactions/z_Tran.csv")))
      return d
    end },
  { name = "a dangling symlink", code = 1, message = { "w_Tran.csv", "No such file" },
    make = function()
      local d = copy_fixture("dangling")
      assert(R.sh("ln -s /nonexistent/file " .. R.q(dir .. "/" .. d .. "/transactions/w_Tran.csv")))
      return d
    end },
}
if BIG and BIG > 0 then
  -- a sparse file: one line of BIG NUL bytes, no newline, created instantly and removed by T.done()
  cases[#cases + 1] = { name = "a single " .. BIG .. "-byte line", code = 0, same = true, big_line = "106_Tran.csv",
    sample_rss = true,
    make = function()
      local d = copy_fixture("bigline")
      assert(R.sh("truncate -s " .. BIG .. " " .. R.q(dir .. "/" .. d .. "/transactions/106_Tran.csv")))
      return d
    end }
else
  print("skip: the long-line case (MERCADO_BIG_LINE_BYTES=0)")
end

-- Run every case at the same time.
local t0 = sys.monotonic()
local jobs = {}
for i, c in ipairs(cases) do
  c.data = c.make()
  c.out = c.out or ("out_" .. i)
  local pid, o, e = R.spawn(T.bin, { "run", "executive_summary", "-p", "data_dir=" .. c.data, "--output", c.out, "-q" },
    { dir = dir })
  jobs[i] = { pid = pid, outp = o, errp = e, sample_rss = c.sample_rss, timeout = c.big_line and 120 or 30 }
end
R.finish_all(jobs)
local elapsed = sys.monotonic() - t0

local function summary_files(out)
  local files = {}
  for _, rel in ipairs(R.files(dir .. "/" .. out, true)) do
    if rel:match("^summary/") then -- compared byte for byte, apart from the time they were written
      files[rel] = T.read(dir .. "/" .. out .. "/" .. rel):gsub('"generated_at": "[^"]*"', '"generated_at": "-"')
    end
  end
  return files
end

local function metadata(out)
  return R.read_json(dir .. "/" .. out .. "/metadata/executive_summary_pipeline_generate_executive_summary.json") or {}
end

local function input_file(meta, base)
  local tx = ((meta.input or {}).transactions or {})
  for _, f in ipairs(tx.files or {}) do
    if tostring(f.file):match("/" .. base:gsub("%.", "%%.") .. "$") then return f, tx end
  end
  return nil, tx
end

local reference = summary_files(cases[1].out)
T.check(next(reference) ~= nil, "the plain run wrote summary files (exit %s: %s)", tostring(jobs[1].code), jobs[1].err)

-- Checks every flow case; the big files are removed afterwards even when a check raises.
local function check_flow_case(i, c)
  local j, what = jobs[i], "flow, " .. c.name
  T.eq(j.how, "exited", what .. ": the process exited by itself (no crash, no hang)")
  local out = dir .. "/" .. c.out
  if not T.eq(j.code, c.code, what .. ": exit code (stderr: " .. tostring(j.err) .. ")") then -- luacheck: ignore
    -- the other checks of this case would only repeat the failure
  elseif c.code == 0 then
    local problems = R.check_tree(out)
    T.check(#problems == 0, "%s: unreadable outputs:\n%s", what, table.concat(problems, "\n"))
    if c.out:find("[^%w_]") then -- the ledger commands find runs under an output path with spaces or [ * ?
      local rc, listing = T.mercado({ "runs", "--output", c.out }, { dir = dir })
      T.check(rc == 0 and listing:find("executive_summary", 1, true) and listing:find("Completed", 1, true),
        "%s: `mercado runs --output %s` lists the run:\n%s", what, c.out, tostring(listing))
    end
    if c.same then
      local got = summary_files(c.out)
      for rel, text in pairs(reference) do T.eq(got[rel], text, what .. ": " .. rel .. " equals the clean data's") end
    end
    local meta = metadata(c.out)
    if c.empty_file then
      local f = input_file(meta, c.empty_file)
      T.check(f and f.lines_read == 0 and f.kept == 0, "%s: %s read as 0 lines", what, c.empty_file)
    end
    if c.garbage_file or c.big_line then
      local f, tx = input_file(meta, c.garbage_file or c.big_line)
      local rejected = 0
      for _, n in pairs(f and f.rejected or {}) do rejected = rejected + n end
      T.check(f and f.kept == 0 and f.lines_read > 0 and f.lines_read == rejected,
        "%s: every line of the bad file is rejected and counted: %s", what, json.encode(f or json.null))
      if c.big_line then
        T.eq(f and f.lines_read, 1, what .. ": one line read")
        T.eq(f and f.rejected and f.rejected.field_count, 1, what .. ": rejected for its field count")
      end
      T.eq(tx.lines_read, tx.kept + tx.rejected_total, what .. ": lines read = kept + rejected")
      local rf = tostring(tx.rejects_file)
      T.check(sys.stat(rf:sub(1, 1) == "/" and rf or (dir .. "/" .. rf)) ~= nil, "%s: the rejects file %s exists", what, rf)
    end
    if c.sample_rss then
      local gib = j.peak_kib / 1048576
      print(string.format("ok %s: peak resident memory %.2f GiB (%.1f x the line)", c.name, gib, j.peak_kib * 1024 / BIG))
      T.check(j.peak_kib * 1024 < 4 * BIG + (512 << 20), "%s: peak memory %.2f GiB is more than 4 x the line", what, gib)
    end
  else
    for _, m in ipairs(c.message or {}) do T.contains(j.err, m, what .. ": the error says") end
    local left = R.files(out, true)
    T.check(#left == 0, "%s: the failed run left outputs: %s", what, table.concat(left, ", "))
    T.check(#R.check_tree(out) == 0, "%s: the run ledger parses", what)
  end
end
for i, c in ipairs(cases) do
  local ok, e = pcall(check_flow_case, i, c)
  T.check(ok, "flow, %s: the checks raised: %s", c.name, tostring(e))
end
print(string.format("ok %d flow cases in %.1f s", #cases, elapsed))
-- the long line and its copy in the rejects file go now, not at the end of the test
if BIG and BIG > 0 then os.remove(dir .. "/" .. cases[#cases].data .. "/transactions/106_Tran.csv") end
R.sh("rm -rf " .. R.q(dir) .. "/out_*/runs/*/rejects")

-- colstore.read_csv directly, each in a child process.
local rdir = dir .. "/read"
sys.mkdirs(rdir .. "/datos de ventas/ñandú")
sys.mkdirs(rdir .. "/ventas [2013]")
local GOOD = T.read(FIXTURE .. "/transactions/102_Tran.csv")
T.write(rdir .. "/datos de ventas/ñandú/102_Tran.csv", GOOD)
T.write(rdir .. "/ventas [2013]/102_Tran.csv", GOOD)
T.write(rdir .. "/good.csv", GOOD)
T.write(rdir .. "/bom.csv", BOM)
T.write(rdir .. "/bom_crlf.csv", BOM .. "\r\n")
T.write(rdir .. "/empty.csv", "")
T.write(rdir .. "/garbage.csv", garbage(100000, 11))
T.write(rdir .. "/nul.csv", "2013-01-01|102|1|10\0 11\n2013-01-01|102\0|1|10\n")
sys.mkdirs(rdir .. "/x_Tran.csv")
R.sh("cd " .. R.q(rdir) .. " && ln -s y_Tran.csv y_Tran.csv && ln -s /nonexistent w_Tran.csv && mkfifo z_Tran.csv")

local good_rows = select(2, GOOD:gsub("\n", ""))
local reads = {
  { "spaces and non-ASCII path", { "datos de ventas/ñandú/102_Tran.csv" }, rows = good_rows },
  { "a path with glob characters", { "ventas [2013]/102_Tran.csv" }, rows = good_rows },
  { "only a BOM", { "bom.csv" }, rows = 0, lines = 0 },
  { "a BOM and an empty line", { "bom_crlf.csv" }, rows = 0, lines = 0 },
  { "an empty file", { "empty.csv" }, rows = 0, lines = 0 },
  { "binary garbage", { "garbage.csv" }, rows = 0, all_rejected = true },
  { "NULs inside fields", { "nul.csv" }, rows = 0, lines = 2, all_rejected = true },
  { "a directory", { "x_Tran.csv" }, error = { "x_Tran.csv", "directory" } },
  { "a directory beside a good file", { "good.csv", "x_Tran.csv" }, error = { "x_Tran.csv", "directory" } },
  { "a symlink loop", { "y_Tran.csv" }, error = { "y_Tran.csv", "symbolic links" } },
  { "a FIFO", { "z_Tran.csv" }, error = { "z_Tran.csv" } },
  { "a dangling symlink", { "w_Tran.csv" }, error = { "w_Tran.csv", "No such file" } },
}
jobs = {}
for i, r in ipairs(reads) do
  local pid, o, e = R.spawn(T.bin, { "exec", READ_CSV, "rejects_" .. i .. ".txt", table.unpack(r[2]) }, { dir = rdir })
  jobs[i] = { pid = pid, outp = o, errp = e, timeout = 20 }
end
R.finish_all(jobs)
for i, r in ipairs(reads) do
  local j, what = jobs[i], "read_csv, " .. r[1]
  T.check(j.how == "exited" and j.code == 0, "%s: the reader returned (%s %s): %s", what, tostring(j.how),
    tostring(j.code), j.err)
  local ok, res = pcall(json.decode, j.out or "")
  res = ok and type(res) == "table" and res or {}
  if r.error then
    T.eq(res.ok, false, what .. ": refused")
    for _, m in ipairs(r.error) do T.contains(res.error, m, what .. ": the error says") end
    T.check(sys.stat(rdir .. "/rejects_" .. i .. ".txt") == nil, "%s: no rejects file for a refused read", what)
  else
    T.eq(res.ok, true, what .. ": read (" .. tostring(res.error) .. ")")
    T.eq(res.rows, r.rows, what .. ": rows kept")
    if r.lines then T.eq(res.lines_read, r.lines, what .. ": lines read") end
    T.eq(res.lines_read, (res.kept or -1) + (res.rejected_total or -1), what .. ": lines read = kept + rejected")
    if r.all_rejected then
      T.check((res.rejected_total or 0) > 0 and res.rejected_total == res.lines_read, "%s: every line rejected", what)
      T.check(sys.stat(rdir .. "/rejects_" .. i .. ".txt") ~= nil, "%s: rejected lines written", what)
    end
  end
end

T.done()
