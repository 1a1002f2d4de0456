-- test_pg_source.lua: source = "postgres" gives the same outputs as source = "csv" on the same files, file by
-- file, byte for byte apart from timestamps, run ids and the metadata's description of the input (a path list for
-- CSV, table counts for PostgreSQL). Runs every analysis flow present on generated data with injected faults (so
-- both sources must agree on the rejected rows too), with and without a selection; then the source's errors.
-- Needs tests/pg/run's server (MERCADO_PG_TEST).
package.path = (os.getenv("MERCADO_SOURCE_ROOT") or ".") .. "/tests/lib/?.lua;" .. package.path
local T = require "testlib"
local pg = require "mercado.pg"
local sys = require "mercado.sys"
local json = require "mercado.json"

local CONNINFO = assert(os.getenv("MERCADO_PG_TEST"), "MERCADO_PG_TEST (conninfo) is not set: use tests/pg/run")
local PASSWORD = assert(CONNINFO:match("password=(%S+)"), "the test conninfo needs a password")
local DBNAME = "mercado_source_test"
local DB = CONNINFO:gsub("dbname=%S+", "dbname=" .. DBNAME)
local work = T.tmpdir("pgsource")

local function ok(name) print("ok " .. name) end

local function admin_exec(sql)
  local a = assert(pg.connect(CONNINFO))
  a:exec(sql)
  a:close()
end
admin_exec("DROP DATABASE IF EXISTS " .. DBNAME)
admin_exec("CREATE DATABASE " .. DBNAME)

-- The analysis flows that read the data set (recommendations joins when it lands).
local FLOWS = {}
for _, name in ipairs { "executive_summary", "analytics", "clustering", "recommendations" } do
  if sys.stat(T.root .. "/flows/" .. name .. ".lua") then FLOWS[#FLOWS + 1] = name end
end

local DATA = work .. "/data"
local EXTRA_ROWS -- rows of the store file appended after the first load (clean generated lines)
do
  local code, _, err = T.mercado({ "gen", "--baskets", "5000", "--seed", "3", "--out", DATA, "--dirty", "0.01" })
  assert(code == 0, "mercado gen: " .. tostring(err))
  code, _, err = T.mercado({ "run", "data_loading", "-p", "data_dir=" .. DATA, "-p", "conninfo=" .. DB, "--output",
    work .. "/load", "-q" }, { dir = work })
  assert(code == 0, "data_loading: " .. tostring(err))
  -- a store file appended later whose name sorts first: its child table is the newest, yet its rows must come
  -- first, as the CSV source reads them
  code, _, err = T.mercado({ "gen", "--baskets", "1000", "--seed", "9", "--out", work .. "/extra" })
  assert(code == 0, "mercado gen: " .. tostring(err))
  local lines = {}
  for line in io.lines(work .. "/extra/transactions/102_Tran.csv") do
    lines[#lines + 1] = (line:gsub("|102|", "|100|"))
  end
  EXTRA_ROWS = #lines
  T.write(DATA .. "/transactions/100_Tran.csv", table.concat(lines, "\n") .. "\n")
  code, _, err = T.mercado({ "run", "data_loading", "-p", "data_dir=" .. DATA, "-p", "conninfo=" .. DB, "-p",
    "mode=append", "--output", work .. "/load", "-q" }, { dir = work })
  assert(code == 0, "data_loading append: " .. tostring(err))
end

local function run(flow, out, source, extra)
  local args = { "run", flow, "--output", out, "-q", "-p", "source=" .. source }
  if source == "csv" then args[#args + 1], args[#args + 2] = "-p", "data_dir=" .. DATA
  else args[#args + 1], args[#args + 2] = "-p", "conninfo=" .. DB end
  for _, a in ipairs(extra or {}) do args[#args + 1] = a end
  local code, _, err = T.mercado(args, { dir = work, timeout = 300 })
  T.eq(code, 0, string.format("%s (source=%s) exit code: %s", flow, source, tostring(err)))
  return code, err
end

-- Every file under dir except the run records, sorted.
local function files_under(dir)
  local p = io.popen(string.format("cd '%s' && find . -path ./runs -prune -o -type f -print | LC_ALL=C sort", dir))
  local out = {}
  for line in p:lines() do out[#out + 1] = line:sub(3) end
  p:close()
  return out
end

-- Blanks the values that differ between any two runs: timestamps and run ids, and (in metadata) the input block.
local VOLATILE = { generated_at = true, execution_timestamp = true, run_id = true }
local function normalise(rel, text)
  if not rel:match("%.json$") then return text end
  text = text:gsub('("([%w_]+)": )("[^"\n]*")', function(prefix, key)
    return VOLATILE[key] and (prefix .. '"*"') or nil
  end)
  if rel:match("^metadata/") then
    local v = json.decode(text)
    v.input = nil
    return json.encode(v, { indent = 2 })
  end
  return text
end

local function compare(a, b, what)
  local fa, fb = files_under(a), files_under(b)
  T.eq(table.concat(fb, " "), table.concat(fa, " "), what .. ": the same files")
  local same = 0
  for _, rel in ipairs(fa) do
    local ta, tb = T.read(a .. "/" .. rel), T.read(b .. "/" .. rel)
    local same_text = tb and normalise(rel, ta) == normalise(rel, tb)
    if T.check(same_text, "%s: %s differs between csv and postgres", what, rel) then
      same = same + 1
    end
  end
  return same, #fa
end

-- ---- every flow, whole data set ------------------------------------------------------------------------------

-- recommendations mines at a support that keeps it quick on 5000 baskets (still about a hundred rules)
local EXTRA = { recommendations = { "-p", "min_support=0.02" } }

do
  for _, flow in ipairs(FLOWS) do
    run(flow, work .. "/csv", "csv", EXTRA[flow])
    local _, err = run(flow, work .. "/pg", "postgres", EXTRA[flow])
    T.not_contains(err or "", PASSWORD, flow .. ": no password in the log")
  end
  local same, n = compare(work .. "/csv", work .. "/pg", "whole data set")
  -- the summary and analytics flows alone write 7 + 7 dashboard files and a metadata file each
  T.check(n >= 16, "enough files compared (%d)", n)
  T.eq(same, n, "identical files")
  -- the comparison can fail: a timestamp is blanked, a value is not
  local probe = work .. "/csv/summary/basic_metrics.json"
  local text = T.read(probe)
  T.check(normalise("summary/basic_metrics.json", text) ~= normalise("summary/basic_metrics.json",
    (text:gsub("%d", "9", 1))), "the comparison sees a changed digit")
  local meta = json.decode(T.read(work .. "/pg/metadata/executive_summary_pipeline_generate_executive_summary.json"))
  local manifest = json.decode(T.read(DATA .. "/dirty_manifest.json"))
  T.eq(meta.input.transactions.kept, manifest.total.kept + EXTRA_ROWS, "postgres input: kept rows")
  local rejected = 0
  for _, k in pairs(manifest.total.rejected) do rejected = rejected + k end
  T.eq(meta.input.transactions.rejected_total, rejected, "postgres input: the loader's rejects carried along")
  ok(string.format("csv and postgres give identical outputs (%s; %d files)", table.concat(FLOWS, ", "), n))
end

-- ---- with a selection ----------------------------------------------------------------------------------------

do
  local sel = { "-p", "stores=102,107", "-p", "date_from=2013-02-01", "-p", "date_to=2013-04-30" }
  for _, flow in ipairs { "executive_summary", "analytics" } do
    run(flow, work .. "/csv_sel", "csv", sel)
    run(flow, work .. "/pg_sel", "postgres", sel)
  end
  local same, n = compare(work .. "/csv_sel", work .. "/pg_sel", "selection")
  T.eq(same, n, "identical files with a selection")
  local full = json.decode(T.read(work .. "/csv/summary/basic_metrics.json"))
  local part = json.decode(T.read(work .. "/pg_sel/summary/basic_metrics.json"))
  T.check(part.total_transactions < full.total_transactions, "the selection selected (%d of %d)",
    part.total_transactions, full.total_transactions)
  ok("csv and postgres agree with stores and a date range selected")
end

-- ---- errors --------------------------------------------------------------------------------------------------

do
  admin_exec("DROP DATABASE IF EXISTS mercado_source_empty")
  admin_exec("CREATE DATABASE mercado_source_empty")
  local code, _, err = T.mercado({ "run", "executive_summary", "--output", work .. "/empty", "-p", "source=postgres",
    "-p", "conninfo=" .. CONNINFO:gsub("dbname=%S+", "dbname=mercado_source_empty") }, { dir = work })
  T.eq(code, 1, "empty database: exit 1")
  T.contains(err, "load the data first", "empty database: says what to do")
  admin_exec("DROP DATABASE mercado_source_empty")

  local wrong = "N0tThePassw0rd" .. sys.getpid()
  code, _, err = T.mercado({ "run", "executive_summary", "--output", work .. "/wrong", "-p", "source=postgres",
    "-p", "conninfo=" .. DB:gsub("password=%S+", "password=" .. wrong) }, { dir = work })
  T.eq(code, 1, "wrong password: exit 1")
  T.contains(err, "password authentication failed", "wrong password: the server's reason")
  T.not_contains(err, wrong, "wrong password: not in the log")
  ok("postgres source: empty database and wrong password give clear errors")
end

-- ---- a table the old loader wrote (no source_file/source_row): read in table order --------------------------

do
  local c = assert(pg.connect(DB))
  c:exec([[CREATE TABLE old_tx AS SELECT transaction_date, store_id, customer_id, products FROM transactions;
    DROP TABLE transactions CASCADE; ALTER TABLE old_tx RENAME TO transactions]])
  c:close()
  run("executive_summary", work .. "/pg_old", "postgres")
  local want = T.read(work .. "/csv/summary/basic_metrics.json")
  T.eq(T.read(work .. "/pg_old/summary/basic_metrics.json"), want, "old-schema table: same totals")
  T.eq(normalise("summary/top_10_products.json", T.read(work .. "/pg_old/summary/top_10_products.json")),
    normalise("summary/top_10_products.json", T.read(work .. "/csv/summary/top_10_products.json")),
    "old-schema table: same top products")
  ok("postgres source reads a table without the loader's bookkeeping columns")
end

admin_exec("DROP DATABASE IF EXISTS " .. DBNAME)
T.done()
