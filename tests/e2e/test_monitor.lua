-- test_monitor.lua: flows/data_monitor.lua end to end with real files (and a real PostgreSQL when one can be
-- started): the first check records the state (hashes checked against sha256sum) and triggers nothing; additions,
-- modifications and deletions are reported and trigger master exactly once per change; a touched but unchanged
-- file is no change; auto_trigger=false and save_state=false; an unavailable master is reported, not fatal; with
-- source=postgres new and deleted rows are detected, data_loading runs before master only when files changed, and
-- the rows it loads are not taken for a new change. master and data_loading are stubs that record their calls.
package.path = (os.getenv("MERCADO_SOURCE_ROOT") or ".") .. "/tests/lib/?.lua;" .. package.path
local T = require "testlib"
local json = require "mercado.json"
local sys = require "mercado.sys"

local STUBS = {
  ["master.lua"] = [[
local flow = require "mercado.flow"
local sys = require "mercado.sys"
return flow.define { name = "master", description = "test stub",
  params = { source = { type = "string", default = "csv" }, data_dir = { type = "path", default = "data" },
    n_clusters = { type = "int", default = 4 } },
  run = function(ctx, p) sys.append(ctx.output .. "/triggered.txt", "master " .. p.source .. " " .. p.data_dir .. "\n") end }
]],
  ["data_loading.lua"] = [[
local flow = require "mercado.flow"
local sys = require "mercado.sys"
return flow.define { name = "data_loading", description = "test stub: pretends to load 5 rows",
  params = { conninfo = { type = "string", default = "" }, data_dir = { type = "path", default = "data" } },
  run = function(ctx, p)
    local pg = require "mercado.pg"
    local conn <close> = assert(pg.connect(p.conninfo))
    conn:exec("INSERT INTO transactions SELECT DATE '2013-07-01', 102, g, '1 2' FROM generate_series(1, 5) g")
    sys.append(ctx.output .. "/triggered.txt", "data_loading " .. p.data_dir .. "\n")
  end }
]],
  ["probe.lua"] = [[
local flow = require "mercado.flow"
return flow.define { name = "probe", description = "test: runs data_monitor and writes what it returns",
  params = { data_dir = { type = "path", default = "data" }, auto_trigger = { type = "bool", default = true },
    save_state = { type = "bool", default = true }, source = { type = "string", default = "csv" },
    conninfo = { type = "string", default = "" }, tag = { type = "string", default = "r" } },
  subflows = { "data_monitor" },
  run = function(ctx, p)
    local res = ctx:flow("data_monitor", { data_dir = p.data_dir, auto_trigger = p.auto_trigger,
      save_state = p.save_state, source = p.source, conninfo = p.conninfo })
    ctx:write_json("probe/" .. p.tag .. ".json", res)
  end }
]],
}

local function setup(tag)
  local dir = T.tmpdir(tag)
  assert(sys.mkdirs(dir .. "/stubs"))
  for name, text in pairs(STUBS) do T.write(dir .. "/stubs/" .. name, text) end
  assert(sys.mkdirs(dir .. "/data/transactions"))
  assert(sys.mkdirs(dir .. "/data/products"))
  T.write(dir .. "/data/transactions/102_Tran.csv", "2013-01-01|102|530|20 3 1\n2013-01-02|102|531|4\n")
  T.write(dir .. "/data/transactions/103_Tran.csv", "2013-01-01|103|7|5 6\n")
  T.write(dir .. "/data/products/Categories.csv", "1|FRUTAS\n2|VERDURAS")
  T.write(dir .. "/data/products/ProductCategory.csv", "v.Code_pr|v.code\n20|1\n3|2\n")
  return dir
end

local function env_for(dir, stubs)
  return { MERCADO_FLOWS = dir .. "/" .. (stubs or "stubs") .. ":" .. T.root .. "/flows" }
end

local counter = 0
-- Runs the probe; returns the monitor's result, the exit code and stderr.
local function check(dir, params, opts)
  counter = counter + 1
  local tag = "r" .. counter
  local args = { "run", "probe", "-q", "-p", "tag=" .. tag }
  for k, v in pairs(params or {}) do args[#args + 1] = "-p"; args[#args + 1] = k .. "=" .. tostring(v) end
  local code, _, err = T.mercado(args, { dir = dir, env = env_for(dir, opts and opts.stubs), timeout = 120 })
  local text = T.read(dir .. "/output/probe/" .. tag .. ".json")
  return text and json.decode(text), code, err
end

local function triggered_lines(dir)
  local out = {}
  for l in (T.read(dir .. "/output/triggered.txt") or ""):gmatch("[^\n]+") do out[#out + 1] = l end
  return out
end

local function sha256sum(path)
  local p = io.popen("sha256sum '" .. path .. "'")
  local line = p:read("l")
  p:close()
  return line and line:match("^(%x+)")
end

local function list(t) return table.concat(t or {}, ",") end

local STATE = "/output/metadata/data_monitor_state.json"

-- ---- CSV files ----

do
  local dir = setup("csv")
  local r, code, err = check(dir)
  T.eq(code, 0, "first check exit code: " .. tostring(err))
  T.check(r and r.changes.first_run and r.changes.has_changes, "first check is reported as the first run")
  T.eq(list(r and r.changes.added), "products/Categories.csv,products/ProductCategory.csv,transactions/102_Tran.csv,transactions/103_Tran.csv",
    "first check: every file is new")
  T.eq(#(r and r.triggered or { 1 }), 0, "first check triggers nothing")
  T.eq(#triggered_lines(dir), 0, "master not run on the first check")
  local state = json.decode(T.read(dir .. STATE))
  for _, rel in ipairs { "transactions/102_Tran.csv", "transactions/103_Tran.csv", "products/Categories.csv" } do
    local f = state.files[rel]
    local st = sys.stat(dir .. "/data/" .. rel)
    T.check(f and f.sha256 == sha256sum(dir .. "/data/" .. rel), "state hash of %s matches sha256sum", rel)
    T.check(f and f.size == st.size and f.mtime == st.mtime, "state size and mtime of %s", rel)
  end
  T.eq(state.source, "csv", "state records the source")
  T.eq(r.current_state.files["transactions/102_Tran.csv"].sha256, state.files["transactions/102_Tran.csv"].sha256,
    "the flow returns the state it saved")

  r = check(dir)
  T.eq(r.changes.has_changes, false, "no change: has_changes")
  T.eq(#r.triggered, 0, "no change: nothing triggered")

  local f = io.open(dir .. "/data/transactions/102_Tran.csv", "ab")
  f:write("2013-01-03|102|532|7 8\n")
  f:close()
  r = check(dir)
  T.eq(list(r.changes.modified), "transactions/102_Tran.csv", "modified file reported")
  T.eq(#r.changes.added + #r.changes.deleted, 0, "only the modification")
  T.eq(#r.triggered, 1, "a modification triggers once")
  T.eq(r.triggered[1] and r.triggered[1].flow, "master", "master triggered")
  T.eq(r.triggered[1] and r.triggered[1].state, "Completed", "triggered master completed")
  T.check(r.triggered[1] and r.triggered[1].run_id and sys.stat(dir .. "/output/runs/" .. r.triggered[1].run_id .. "/run.json"),
    "the triggered run is in the history")
  T.eq(list(triggered_lines(dir)), "master csv data", "master ran once, with the monitor's source and data_dir")
  T.eq(json.decode(T.read(dir .. STATE)).files["transactions/102_Tran.csv"].sha256,
    sha256sum(dir .. "/data/transactions/102_Tran.csv"), "the new hash is saved")

  r = check(dir)
  T.eq(r.changes.has_changes, false, "the same change is not reported twice")
  T.eq(#triggered_lines(dir), 1, "and does not trigger again")

  T.write(dir .. "/data/transactions/104_Tran.csv", "2013-02-01|104|9|1\n")
  r = check(dir)
  T.eq(list(r.changes.added), "transactions/104_Tran.csv", "new file reported")
  T.eq(#triggered_lines(dir), 2, "a new file triggers once")

  os.remove(dir .. "/data/transactions/103_Tran.csv")
  r = check(dir)
  T.eq(list(r.changes.deleted), "transactions/103_Tran.csv", "deleted file reported")
  T.eq(#r.triggered, 1, "a deletion triggers")
  T.eq(#triggered_lines(dir), 3, "a deletion triggers once")

  local before = json.decode(T.read(dir .. STATE)).files["transactions/102_Tran.csv"]
  os.execute("touch -d '2030-01-01 00:00:00' '" .. dir .. "/data/transactions/102_Tran.csv'")
  r = check(dir)
  T.eq(r.changes.has_changes, false, "a touched file with the same content is no change")
  local after = json.decode(T.read(dir .. STATE)).files["transactions/102_Tran.csv"]
  T.check(after.mtime ~= before.mtime and after.sha256 == before.sha256, "the touch updated the recorded mtime only")
  T.eq(#triggered_lines(dir), 3, "a touch triggers nothing")

  T.write(dir .. "/data/products/Categories.csv", "1|FRUTAS\n2|VERDURAS\n3|PAN")
  r = check(dir, { auto_trigger = false })
  T.eq(list(r.changes.modified), "products/Categories.csv", "catalog change reported without auto_trigger")
  T.eq(#r.triggered, 0, "auto_trigger=false triggers nothing")
  r = check(dir)
  T.eq(r.changes.has_changes, false, "the change was recorded by the check that saw it")
  T.eq(#triggered_lines(dir), 3, "so it never triggers later")

  local saved = T.read(dir .. STATE)
  T.write(dir .. "/data/transactions/105_Tran.csv", "2013-02-01|105|9|1\n")
  r = check(dir, { save_state = false, auto_trigger = false })
  T.eq(list(r.changes.added), "transactions/105_Tran.csv", "save_state=false still reports")
  T.eq(T.read(dir .. STATE), saved, "save_state=false leaves the state file alone")

  -- an unavailable master (it does not load) is reported; the monitor itself completes
  assert(sys.mkdirs(dir .. "/stubs_broken"))
  T.write(dir .. "/stubs_broken/probe.lua", STUBS["probe.lua"])
  T.write(dir .. "/stubs_broken/master.lua", "this is not lua")
  local code2
  r, code2, err = check(dir, nil, { stubs = "stubs_broken" })
  T.eq(code2, 0, "unavailable master: the monitor completes")
  T.eq(r.triggered[1] and r.triggered[1].state, "Unavailable", "unavailable master recorded")
  T.contains(err, "cannot trigger flow 'master': it is not available", "unavailable master: a clear message")

  -- a corrupt state file: starts over as a first check
  T.write(dir .. STATE, "{ not json")
  r, code2, err = check(dir)
  T.eq(code2, 0, "corrupt state: exit code")
  T.check(r.changes.first_run, "corrupt state: a first check")
  T.contains(err, "is unreadable", "corrupt state: a warning")
  T.eq(#triggered_lines(dir), 3, "corrupt state: nothing triggered")

  -- a missing data directory fails with its name
  local code3, _, err3 = T.mercado({ "run", "data_monitor", "-p", "data_dir=nowhere" }, { dir = dir, env = env_for(dir) })
  T.eq(code3, 1, "missing data directory: exit code")
  T.contains(err3, "data directory nowhere does not exist", "missing data directory: message")
end

-- ---- PostgreSQL ----

local function start_pg()
  local conninfo = os.getenv("MERCADO_PG_TEST")
  if conninfo and conninfo ~= "" then return conninfo, nil end
  local server = T.root .. "/tests/pg/pg_server.sh"
  if not sys.stat("/usr/lib/postgresql/15/bin/initdb") and not os.getenv("PG_BIN") then return nil end
  local pgdir = T.tmpdir("pgserver")
  os.execute("rm -rf '" .. pgdir .. "'")
  local p = io.popen("'" .. server .. "' start '" .. pgdir .. "' 2>&1")
  local out = p:read("a")
  p:close()
  local line = out:match("(host=%S+ port=%d+ user=%S+ dbname=%S+ password=%x+)")
  if not line then
    io.stderr:write("cannot start PostgreSQL: ", out, "\n")
    return nil
  end
  return line, function() os.execute("'" .. server .. "' stop '" .. pgdir .. "' >/dev/null 2>&1") end
end

local conninfo, stop_pg = start_pg()
if not conninfo then
  print("skip: no PostgreSQL to test source=postgres")
else
  local ok, perr = pcall(function()
    local pg = require "mercado.pg"
    local schema = "monitor_test_" .. sys.getpid()
    local admin <close> = assert(pg.connect(conninfo))
    admin:exec("CREATE SCHEMA " .. schema)
    local ci = conninfo .. " options='-csearch_path=" .. schema .. "'"
    local conn <close> = assert(pg.connect(ci))
    conn:exec([[CREATE TABLE categories(category_id INT PRIMARY KEY, category_name TEXT);
      CREATE TABLE product_categories(product_id INT, category_id INT);
      CREATE TABLE transactions(transaction_date DATE, store_id INT, customer_id INT, products TEXT);
      INSERT INTO categories VALUES (1, 'FRUTAS'), (2, 'VERDURAS');
      INSERT INTO product_categories VALUES (20, 1), (3, 2), (3, 2);
      INSERT INTO transactions VALUES ('2013-01-01', 102, 1, '20 3'), ('2013-01-02', 102, 2, '3'), ('2013-06-30', 103, 3, '20');]])
    local dir = setup("pg")
    local P = { source = "postgres", conninfo = ci }
    local r, code, err = check(dir, P)
    T.eq(code, 0, "pg first check exit code: " .. tostring(err))
    T.check(r.changes.first_run, "pg: first check")
    local db = r.current_state.database
    T.check(db and db.transactions_count == 3 and db.categories_count == 2 and db.products_count == 3 and
      db.last_transaction_date == "2013-06-30", "pg: counts and last date recorded: %s", json.encode(db))
    T.eq(#triggered_lines(dir), 0, "pg: first check triggers nothing")
    T.not_contains(T.read(dir .. STATE), "password", "pg: no conninfo in the state file")

    conn:exec("INSERT INTO transactions VALUES ('2013-07-01', 102, 4, '1'), ('2013-07-02', 102, 5, '2')")
    r = check(dir, P)
    local d = r.changes.database
    T.check(d and d.new_transactions == 2 and d.date_changed and d.last_transaction_date == "2013-07-02" and
      d.previous_last_date == "2013-06-30", "pg: new rows and the new last date: %s", json.encode(d))
    T.eq(list(triggered_lines(dir)), "master postgres data", "pg: new rows trigger master only (no file changed)")

    r = check(dir, P)
    T.eq(r.changes.has_changes, false, "pg: no change")
    T.eq(#triggered_lines(dir), 1, "pg: nothing triggered without a change")

    T.write(dir .. "/data/transactions/106_Tran.csv", "2013-07-03|106|9|1\n")
    r = check(dir, P)
    T.eq(list(r.changes.added), "transactions/106_Tran.csv", "pg: new file reported")
    T.eq(list(triggered_lines(dir)), "master postgres data,data_loading data,master postgres data",
      "pg: a file change runs data_loading, then master")
    T.eq(#r.triggered, 2, "pg: two triggered flows returned")
    T.eq(r.current_state.database.transactions_count, 10, "pg: the state taken after loading includes the loaded rows")

    r = check(dir, P)
    T.eq(r.changes.has_changes, false, "pg: the rows data_loading loaded are not a new change")
    T.eq(#triggered_lines(dir), 3, "pg: so nothing is triggered again")

    conn:exec("DELETE FROM transactions WHERE products = '1'")
    r = check(dir, P)
    T.check(r.changes.database.new_transactions == -1 and r.changes.has_changes, "pg: deleted rows are a change")
    T.eq(#triggered_lines(dir), 4, "pg: a deletion triggers master")

    conn:exec("DROP TABLE transactions")
    r, code = check(dir, P)
    T.eq(code, 0, "pg: a missing table counts as empty")
    T.eq(r.current_state.database.transactions_count, 0, "pg: missing table: 0 transactions")
    admin:exec("DROP SCHEMA " .. schema .. " CASCADE")
  end)
  T.check(ok, "postgres section raised: %s", tostring(perr))
  if stop_pg then stop_pg() end
end

T.done()
