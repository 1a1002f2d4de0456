-- test_copy_table.lua: conn:copy_table (binary COPY of a colstore table) against a real PostgreSQL (tests/pg/run
-- sets MERCADO_PG_TEST): values and types read back with plain queries, row numbers, FREEZE, the asynchronous job
-- (the connection is refused to others meanwhile, errors surface at wait), and refusals that store nothing.
local pg = require "mercado.pg"
local cs = require "mercado.colstore"

local CONNINFO = assert(os.getenv("MERCADO_PG_TEST"), "MERCADO_PG_TEST (conninfo) is not set: use tests/pg/run")

local function ok(name) print("ok " .. name) end

local function eq(got, want, what)
  if got ~= want then error(string.format("%s: got %s, want %s", what, tostring(got), tostring(want)), 2) end
end

local function fails(f, ...)
  local okk, err = pcall(f, ...)
  if okk then error("expected an error", 2) end
  return err
end

local function msg(e) return type(e) == "table" and tostring(e.message) or tostring(e) end

local conn = assert(pg.connect(CONNINFO))

local function sample()
  return cs.table {
    { "d", cs.column("date", { "2013-01-01", "1969-12-31", "2013-06-30" }) },
    { "i", cs.column("int32", { 102, -5, 2147483647 }) },
    { "big", cs.column("int64", { 9007199254740993, -1, 0 }) },
    { "f", cs.column("float64", { 0.1, -2.5, 1 / 3 }) },
    { "s", cs.column("string", { "FRUTAS", "it's; DROP TABLE x; --", "h\u{e9}llo" }) },
    { "l", cs.column("list<int32>", { { 20, 3, 1 }, { 5 }, { -7, 9 } }) },
  }
end

-- values and types ---------------------------------------------------------------------------------------------
do
  conn:exec([[DROP TABLE IF EXISTS ct; CREATE TABLE ct(day date, store int, big int8, x float8, name text,
    items text, n int8, store_text text, day_text text, x_text text, small int2)]])
  local t = sample()
  local n = conn:copy_table("ct", t, { columns = { { "day", "d" }, { "store", "i" }, "big", { "x", "f" },
    { "name", "s" }, { "items", "l" }, { "store_text", "i" }, { "day_text", "d" }, { "x_text", "f" } },
    row_number = "n", row_start = 10 })
  eq(n, 3, "rows copied")
  local rows = conn:query("SELECT day::text AS day, store, big, x, name, items, n, store_text, day_text, x_text " ..
    "FROM ct ORDER BY n")
  local want = {
    { "2013-01-01", 102, 9007199254740993, 0.1, "FRUTAS", "20 3 1", 10, "102", "2013-01-01", "0.1" },
    { "1969-12-31", -5, -1, -2.5, "it's; DROP TABLE x; --", "5", 11, "-5", "1969-12-31", "-2.5" },
    { "2013-06-30", 2147483647, 0, 1 / 3, "h\u{e9}llo", "-7 9", 12, "2147483647", "2013-06-30", "0.3333333333333333" },
  }
  local names = { "day", "store", "big", "x", "name", "items", "n", "store_text", "day_text", "x_text" }
  for r = 1, 3 do
    for k, name in ipairs(names) do eq(rows[r][name], want[r][k], string.format("row %d %s", r, name)) end
  end
  eq(conn:query("SELECT count(*) AS c FROM ct WHERE small IS NULL")[1].c, 3, "columns not listed stay NULL")
  -- list separator, default columns (the table's names)
  conn:exec("DROP TABLE IF EXISTS ct2; CREATE TABLE ct2(d date, i int, big int8, f float8, s text, l text)")
  eq(conn:copy_table("ct2", t, { list_sep = "," }), 3, "default columns")
  eq(conn:query("SELECT l FROM ct2 WHERE i = 102")[1].l, "20,3,1", "list_sep")
  ok("copy_table: every column type, conversions to text, row numbers, default columns")
end

-- refusals ----------------------------------------------------------------------------------------------------
do
  conn:exec("DROP TABLE IF EXISTS cr; CREATE TABLE cr(small int2, d date, s int)")
  local t = sample()
  local e = fails(conn.copy_table, conn, "cr", t, { columns = { { "small", "i" } } })
  eq(e.sqlstate, "22003", "int2 overflow state")
  assert(msg(e):find("row 3"), msg(e))
  e = fails(conn.copy_table, conn, "cr", t, { columns = { { "d", "i" } } })
  assert(msg(e):find("column d") and msg(e):find("cannot be written"), msg(e))
  e = fails(conn.copy_table, conn, "cr", t, { columns = { { "s", "s" } } })
  assert(msg(e):find("column s"), msg(e))
  e = fails(conn.copy_table, conn, "cr", t, { columns = { { "small", "nope" } } })
  assert(msg(e):find("no column 'nope'"), msg(e))
  e = fails(conn.copy_table, conn, 'cr"; DROP TABLE cr; --', t)
  eq(e.sqlstate, "42P01", "hostile table name is an identifier")
  e = fails(conn.copy_table, conn, "cr", t, { freeze = true, columns = { { "d", "d" } } })
  assert(msg(e):find("FREEZE"), msg(e))
  eq(conn:query("SELECT count(*) AS c FROM cr")[1].c, 0, "nothing stored by refused copies")
  conn:transaction(function()
    conn:exec("CREATE TEMP TABLE fz(d date)")
    eq(conn:copy_table("fz", t, { columns = { { "d", "d" } }, freeze = true }), 3, "FREEZE in the creating transaction")
  end)
  ok("copy_table refuses values out of range, mismatched types, unknown columns; nothing stored")
end

-- asynchronous copies ---------------------------------------------------------------------------------------
do
  local n = 200000
  local items, store = {}, {}
  for i = 1, n do items[i], store[i] = { i % 97, i % 13 }, 100 + i % 4 end
  local big = cs.table { { "store", cs.column("int32", store) }, { "items", cs.column("list<int32>", items) } }
  conn:exec([[DROP TABLE IF EXISTS ca;
    CREATE TABLE ca(store int CHECK (store <> 103 OR items <> '50 11'), items text, n int)]])
  conn:exec("DELETE FROM ca")
  local job = conn:copy_table("ca", big, { row_number = "n", async = true, columns = { "store", "items" } })
  assert(tostring(job):find("mercado.PgCopyJob"), tostring(job))
  local e = fails(conn.query, conn, "SELECT 1")
  eq(e.sqlstate, "55006", "busy while the job runs")
  big = nil
  collectgarbage() -- the job keeps the table alive
  local okk, err = pcall(job.wait, job)
  assert(not okk, "the CHECK violation surfaces at wait")
  eq(err.sqlstate, "23514", "check violation state")
  eq(conn:query("SELECT count(*) AS c FROM ca")[1].c, 0, "failed async copy stored nothing; connection usable")
  conn:exec("ALTER TABLE ca DROP CONSTRAINT ca_check")
  local t2 = cs.table { { "store", cs.column("int32", store) }, { "items", cs.column("list<int32>", items) } }
  job = conn:copy_table("ca", t2, { row_number = "n", async = true, columns = { "store", "items" } })
  t2:close() -- the job holds its own references to the columns
  eq(job:wait(), n, "async rows")
  eq(job:wait(), n, "wait is idempotent")
  local r = conn:query("SELECT sum(n)::int8 AS s, count(DISTINCT store) AS k, max(items) AS m FROM ca")[1]
  eq(r.s, n * (n + 1) // 2, "row numbers 1..n")
  eq(r.k, 4, "stores")
  -- a job dropped without wait, and a connection closed under a running job
  local other = assert(pg.connect(CONNINFO))
  other:copy_table("ca", cs.table { { "store", cs.column("int32", store) } }, { async = true })
  collectgarbage()
  other:close()
  assert(not other:is_open(), "closed")
  ok("copy_table async: busy connection, errors at wait, table kept alive, close joins the job")
end

conn:exec("DROP TABLE IF EXISTS ct, ct2, cr, ca")
conn:close()
