-- test_pg.lua: mercado.pg against a real PostgreSQL (tests/pg/run starts one and sets MERCADO_PG_TEST to its
-- conninfo, MERCADO_PG_DIR to its directory and MERCADO_PG_SERVER to pg_server.sh, used to stop it mid-operation).
local pg = require "mercado.pg"

local CONNINFO = assert(os.getenv("MERCADO_PG_TEST"), "MERCADO_PG_TEST (conninfo) is not set: use tests/pg/run")
local DIR = os.getenv("MERCADO_PG_DIR")
local SERVER = os.getenv("MERCADO_PG_SERVER")
local PASSWORD = assert(CONNINFO:match("password=(%S+)"), "the test conninfo needs a password")

local function ok(name) print("ok " .. name) end

local function eq(got, want, what)
  if got ~= want then
    error(string.format("%s: got %s (%s), want %s (%s)", what, tostring(got), math.type(got) or type(got),
      tostring(want), math.type(want) or type(want)), 2)
  end
end

-- Runs f expecting an error; returns the error value.
local function fails(f, ...)
  local okk, err = pcall(f, ...)
  if okk then error("expected an error", 2) end
  return err
end

local function msg(err) return type(err) == "table" and tostring(err.message) or tostring(err) end

local function write_file(text)
  local path = os.tmpname()
  local f = assert(io.open(path, "wb"))
  f:write(text)
  f:close()
  return path
end

local conn = assert(pg.connect(CONNINFO))

-- connect ----------------------------------------------------------------------------------------------------
do
  assert(conn:is_open(), "is_open")
  local s = tostring(conn)
  assert(s:find("mercado@127.0.0.1:%d+/mercado"), s)
  assert(not s:find(PASSWORD, 1, true), "password in tostring")
  -- libpq's environment fills what the conninfo omits
  local env = {}
  for k, v in CONNINFO:gmatch("(%w+)=(%S+)") do env[k] = v end
  local sys_ok = os.execute(string.format(
    "PGHOST=%s PGPORT=%s PGUSER=%s PGPASSWORD=%s PGDATABASE=%s %q -e %q",
    env.host, env.port, env.user, env.password, env.dbname, os.getenv("MERCADO_BIN") or "mercado",
    'local c = assert(require("mercado.pg").connect()); assert(c:query("select 7 as x")[1].x == 7)'))
  assert(sys_ok, "connect from PG* environment")
  ok("connect (conninfo and PG* environment)")
end

-- query: types, NULLs, n/fields ------------------------------------------------------------------------------
do
  local rows = conn:query([[
    SELECT 1::int2 AS i2, 2147483647::int4 AS i4, 9007199254740993::int8 AS i8, 1.5::float4 AS f4,
           0.1::float8 AS f8, 123.25::numeric AS num, true AS yes, false AS no, DATE '2013-06-30' AS d,
           NULL::int AS nothing, 'héllo'::text AS t, 'x'::varchar AS v, '{1,2}'::int[] AS arr]])
  eq(rows.n, 1, "n")
  eq(#rows, 1, "#rows")
  eq(table.concat(rows.fields, ","), "i2,i4,i8,f4,f8,num,yes,no,d,nothing,t,v,arr", "fields")
  local r = rows[1]
  eq(r.i2, 1, "int2"); eq(math.type(r.i2), "integer", "int2 type")
  eq(r.i4, 2147483647, "int4")
  eq(r.i8, 9007199254740993, "int8 (beyond 2^53)")
  eq(r.f4, 1.5, "float4"); eq(math.type(r.f4), "float", "float4 type")
  eq(r.f8, 0.1, "float8 round trip")
  eq(r.num, 123.25, "numeric")
  eq(r.yes, true, "bool true"); eq(r.no, false, "bool false")
  eq(r.d, "2013-06-30", "date")
  eq(r.nothing, nil, "NULL")
  eq(r.t, "héllo", "text (UTF-8)")
  eq(r.v, "x", "varchar")
  eq(r.arr, "{1,2}", "other types as text")
  eq(conn:query("SELECT 1 AS a WHERE false").n, 0, "empty result")
  ok("query types and NULLs")
end

-- exec and parameters ----------------------------------------------------------------------------------------
do
  conn:exec("DROP TABLE IF EXISTS victims; CREATE TABLE victims(id int, name text, score float8, flag bool)")
  eq(conn:exec("INSERT INTO victims VALUES ($1, $2, $3, $4), ($5, $6, $7, $8)",
    1, "a", 0.5, true, 2, nil, nil, false), 2, "insert count")
  eq(conn:exec("UPDATE victims SET score = coalesce(score, 0) + $1", 1), 2, "update count")
  eq(conn:exec("DELETE FROM victims WHERE id = $1", 99), 0, "delete nothing")
  eq(conn:exec("SELECT 1"), 1, "select count")
  eq(conn:exec("CREATE TEMP TABLE scratch(x int)"), 0, "DDL count")
  local r = conn:query("SELECT name, score, flag FROM victims WHERE id = $1", 2)[1]
  eq(r.name, nil, "nil parameter is NULL"); eq(r.score, 1.0, "NULL score"); eq(r.flag, false, "bool param")
  -- numbers survive the text round trip exactly
  for _, x in ipairs({0.1, 1 / 3, 1e300, -2.5e-310, 123456789012345678, math.mininteger, math.maxinteger}) do
    local q = math.type(x) == "integer" and "SELECT $1::int8 AS x" or "SELECT $1::float8 AS x"
    eq(conn:query(q, x)[1].x, x, "parameter round trip of " .. tostring(x))
  end
  eq(conn:query("SELECT $1::float8 AS x", math.huge)[1].x, math.huge, "infinity")
  local nan = conn:query("SELECT $1::float8 AS x", 0 / 0)[1].x
  assert(nan ~= nan, "NaN")
  -- SQL-looking values are data
  local evil = {"x'); DROP TABLE victims; --", "'; DELETE FROM victims; SELECT '", "$1", "\\", "O'Reilly",
    "Robert'); DROP TABLE students;--"}
  for i, s in ipairs(evil) do
    eq(conn:exec("INSERT INTO victims(id, name) VALUES ($1, $2)", 100 + i, s), 1, "insert evil " .. i)
  end
  for i, s in ipairs(evil) do
    eq(conn:query("SELECT name FROM victims WHERE id = $1", 100 + i)[1].name, s, "evil value " .. i)
    eq(conn:query("SELECT count(*)::int AS n FROM victims WHERE name = $1", s)[1].n, 1, "match evil " .. i)
  end
  eq(conn:query("SELECT count(*)::int AS n FROM victims")[1].n, 2 + #evil, "table intact")
  assert(msg(fails(conn.query, conn, "SELECT $1::text", "a\0b")):find("NUL"), "NUL byte refused")
  assert(msg(fails(conn.query, conn, "SELECT $1::text", {})):find("parameter %$1"), "table parameter refused")
  ok("exec counts and parameters (SQL-looking values stored as data)")
end

-- errors -----------------------------------------------------------------------------------------------------
do
  local e = fails(conn.query, conn, "SELEC 1")
  eq(e.sqlstate, "42601", "syntax error state")
  assert(e.message:match("^pg: 42601 syntax error"), e.message)
  eq(tostring(e), e.message, "tostring(err)")
  eq(e.connection_lost, false, "not lost")
  conn:exec("CREATE TEMP TABLE uniq(id int PRIMARY KEY)")
  conn:exec("INSERT INTO uniq VALUES (1)")
  e = fails(conn.exec, conn, "INSERT INTO uniq VALUES ($1)", 1)
  eq(e.sqlstate, "23505", "unique violation")
  assert(e.detail and e.detail:find("already exists"), "detail")
  e = fails(conn.exec, conn, "SELECT 1/0")
  eq(e.sqlstate, "22012", "division by zero")
  eq(conn:query("SELECT 2 AS x")[1].x, 2, "usable after errors")
  e = fails(conn.exec, conn, "COPY uniq FROM STDIN")
  eq(e.sqlstate, "0A000", "COPY through exec")
  eq(conn:query("SELECT 3 AS x")[1].x, 3, "usable after refused COPY")
  ok("errors carry SQLSTATE, message, detail")
end

-- transactions -----------------------------------------------------------------------------------------------
do
  conn:exec("DROP TABLE IF EXISTS tx; CREATE TABLE tx(id int)")
  local other = assert(pg.connect(CONNINFO))
  local a, b = conn:transaction(function(x)
    conn:exec("INSERT INTO tx VALUES (1), (2)")
    eq(other:query("SELECT count(*)::int AS n FROM tx")[1].n, 0, "not visible before commit")
    return x * 2, "done"
  end, 21)
  eq(a, 42, "transaction result"); eq(b, "done", "second result")
  eq(other:query("SELECT count(*)::int AS n FROM tx")[1].n, 2, "committed")

  local mine = {code = 42}
  local err = fails(conn.transaction, conn, function()
    conn:exec("INSERT INTO tx VALUES (3)")
    error(mine)
  end)
  assert(rawequal(err, mine), "the same error value is re-raised")
  eq(conn:query("SELECT count(*)::int AS n FROM tx")[1].n, 2, "rolled back after a Lua error")

  err = fails(conn.transaction, conn, function()
    conn:exec("INSERT INTO tx VALUES (4)")
    conn:exec("INSERT INTO tx VALUES ('not a number')")
  end)
  eq(err.sqlstate, "22P02", "SQL error inside a transaction")
  eq(conn:query("SELECT count(*)::int AS n FROM tx")[1].n, 2, "rolled back after a SQL error")

  -- a swallowed SQL error must not turn into a silent COMMIT (which PostgreSQL would make a rollback)
  err = fails(conn.transaction, conn, function()
    conn:exec("INSERT INTO tx VALUES (5)")
    pcall(conn.exec, conn, "SELECT 1/0")
  end)
  eq(err.sqlstate, "25P02", "swallowed error")
  eq(conn:query("SELECT count(*)::int AS n FROM tx")[1].n, 2, "nothing committed after a swallowed error")

  -- nesting uses savepoints: the inner failure is undone, the outer work commits
  conn:transaction(function()
    conn:exec("INSERT INTO tx VALUES (6)")
    pcall(conn.transaction, conn, function()
      conn:exec("INSERT INTO tx VALUES (7)")
      error("inner")
    end)
    conn:transaction(function() conn:exec("INSERT INTO tx VALUES (8)") end)
  end)
  local ids = {}
  for _, r in ipairs(conn:query("SELECT id FROM tx ORDER BY id")) do ids[#ids + 1] = r.id end
  eq(table.concat(ids, ","), "1,2,6,8", "savepoints")
  other:close()
  ok("transaction commit, rollback, re-raise, savepoints")
end

-- copy_from --------------------------------------------------------------------------------------------------
local function count(t) return conn:query("SELECT count(*)::int AS n FROM " .. t)[1].n end

do
  conn:exec([[DROP TABLE IF EXISTS transactions;
    CREATE TABLE transactions(transaction_date DATE, store_id INT, customer_id INT, products TEXT)]])
  local lines, nrows = {}, 500
  for i = 1, nrows do
    lines[i] = string.format("2013-%02d-%02d|%d|%d|%d %d %d", 1 + i % 6, 1 + i % 28, 100 + i % 4, i, i % 449 + 1,
      (i * 7) % 449 + 1, (i * 13) % 449 + 1)
  end
  local path = write_file(table.concat(lines, "\n") .. "\n")
  eq(conn:copy_from("transactions", {"transaction_date", "store_id", "customer_id", "products"}, path,
    {format = "csv", delimiter = "|"}), nrows, "rows copied from a file")
  eq(count("transactions"), nrows, "table count after the file")
  local r = conn:query("SELECT * FROM transactions WHERE customer_id = 7")[1]
  eq(r.transaction_date, "2013-02-08", "date copied"); eq(r.products, "8 50 92", "products copied")

  -- a reader function; chunks split rows anywhere
  local text = table.concat(lines, "\n", 1, 100) .. "\n"
  local pos = 0
  local function reader()
    if pos >= #text then return nil end
    local n = 1 + (pos * 7919) % 37
    local chunk = text:sub(pos + 1, pos + n)
    pos = pos + n
    return chunk
  end
  eq(conn:copy_from("public.transactions", nil, reader, {delimiter = "|"}), 100, "rows from a reader (text format)")
  eq(count("transactions"), nrows + 100, "count after the reader")

  -- header and NULL options
  conn:exec("DROP TABLE IF EXISTS pc; CREATE TABLE pc(product_id INT, category_id INT)")
  local p2 = write_file("v.Code_pr|v.code\n5|20\n5|25\n3|\n")
  eq(conn:copy_from("pc", {"product_id", "category_id"}, p2, {format = "csv", delimiter = "|", header = true}), 3,
    "header skipped")
  eq(conn:query("SELECT count(*)::int AS n FROM pc WHERE category_id IS NULL")[1].n, 1, "csv empty is NULL")

  -- a bad row aborts everything: table unchanged, SQLSTATE and line in the error
  local before = count("transactions")
  local bad = {}
  for i = 1, 3000 do bad[i] = lines[1 + i % nrows] end
  bad[2500] = "2013-01-01|abc|1|1 2"
  local p3 = write_file(table.concat(bad, "\n") .. "\n")
  local e = fails(conn.copy_from, conn, "transactions", nil, p3, {format = "csv", delimiter = "|"})
  eq(e.sqlstate, "22P02", "bad row state")
  assert(e.message:find("line 2500"), "the error names the line: " .. e.message)
  eq(count("transactions"), before, "table unchanged after a bad row")

  -- a failing reader aborts the COPY and its error comes back unchanged
  local n = 0
  local mine = {reason = "reader broke"}
  local err = fails(conn.copy_from, conn, "transactions", nil, function()
    n = n + 1
    if n > 3 then error(mine) end
    return lines[n] .. "\n"
  end, {delimiter = "|"})
  assert(rawequal(err, mine), "reader error re-raised")
  eq(count("transactions"), before, "table unchanged after a reader error")
  err = fails(conn.copy_from, conn, "transactions", nil, function() return 42 end)
  assert(msg(err):find("reader must return strings"), msg(err))
  eq(count("transactions"), before, "table unchanged after a bad reader value")

  e = fails(conn.copy_from, conn, "transactions", nil, "/nonexistent/file.csv")
  eq(e.sqlstate, "58P01", "missing file")
  e = fails(conn.copy_from, conn, "no_such_table", nil, path)
  eq(e.sqlstate, "42P01", "missing table")
  e = fails(conn.copy_from, conn, "transactions", {"nope"}, path)
  eq(e.sqlstate, "42703", "missing column")
  eq(conn:query("SELECT 1 AS x")[1].x, 1, "usable after COPY failures")
  -- quoted identifiers keep odd names as data
  e = fails(conn.copy_from, conn, 'transactions"; DROP TABLE transactions; --', nil, path)
  eq(e.sqlstate, "42P01", "identifier injection is just a missing table")
  eq(count("transactions"), before, "table intact after identifier injection")
  os.remove(path); os.remove(p2); os.remove(p3)
  ok("copy_from file, reader, options, bad row rollback, failures")
end

-- query_table ------------------------------------------------------------------------------------------------
-- Compares a colstore table with conn:query of the same SQL (the text protocol, a separate code path).
local function same_as_query(tbl, sql, list_cols, ...)
  local want = conn:query(sql, ...)
  local got = tbl:rows()
  eq(#got, want.n, "row count of " .. sql)
  for i = 1, want.n do
    for _, f in ipairs(want.fields) do
      local g, w = got[i][f], want[i][f]
      if list_cols and list_cols[f] then
        local parts = {}
        for x in w:gmatch("%S+") do parts[#parts + 1] = x end
        eq(table.concat(g, " "), table.concat(parts, " "), string.format("row %d %s", i, f))
      elseif type(w) == "boolean" then
        eq(g, w and 1 or 0, string.format("row %d %s", i, f))
      else
        eq(g, w, string.format("row %d %s", i, f))
      end
    end
  end
end

do
  local sql = [[SELECT 7::int2 AS i2, customer_id AS i4, customer_id::int8 * 3000000000 AS i8,
      (customer_id % 8)::float4 / 4 AS f4, customer_id / 3.0::float8 AS f8, (customer_id * 1.25)::numeric AS num,
      transaction_date AS d, ('s' || store_id)::varchar AS v, products AS t, products AS products
    FROM transactions ORDER BY customer_id, transaction_date]]
  local tbl, info = conn:query_table(sql, {list_columns = {products = " "}})
  eq(info.rows, count("transactions"), "info.rows")
  eq(#tbl:rows(), info.rows, "rows")
  local types = {}
  for _, name in ipairs({"i2", "i4", "i8", "f4", "f8", "num", "d", "v", "t", "products"}) do
    types[#types + 1] = tbl:column(name):type()
  end
  eq(table.concat(types, ","), "int32,int32,int64,float64,float64,float64,date,string,string,list<int32>", "types")
  same_as_query(tbl, sql, {products = true})
  -- list items: total count and sum against SQL's own split
  local s = conn:query([[SELECT count(*)::int AS n, sum(x::int)::int8 AS total
    FROM transactions, unnest(string_to_array(trim(products), ' ')) AS x]])[1]
  local col = tbl:column("products")
  eq(col:nitems(), s.n, "list items count")
  eq(col:sum(), s.total, "list items sum")

  -- parameters take the single-row path: same values
  local psql = "SELECT customer_id, transaction_date, products FROM transactions WHERE store_id = $1 ORDER BY 1, 2"
  local pt = conn:query_table(psql, 101, {list_columns = {products = " "}})
  same_as_query(pt, psql, {products = true}, 101)
  eq(#pt:rows(), conn:query("SELECT count(*)::int AS n FROM transactions WHERE store_id = 101")[1].n, "param rows")

  -- NULLs: refused naming the column, or allowed and counted
  local nsql = "SELECT x AS a, CASE WHEN x % 3 = 0 THEN NULL ELSE x END AS b FROM generate_series(1, 10) x"
  local e = fails(conn.query_table, conn, nsql)
  assert(msg(e):find("column b") and msg(e):find("NULL"), msg(e))
  local nt, ninfo = conn:query_table(nsql, {allow_null = {"b"}})
  eq(ninfo.nulls.b, 3, "null count"); eq(ninfo.nulls.a, nil, "no nulls in a")
  eq(nt:rows()[3].b, 0, "NULL stored as 0")
  local _, i2 = conn:query_table("SELECT NULL::text AS s, NULL::text AS l", {allow_null = true, list_columns = {l = " "}})
  eq(i2.nulls.s, 1, "allow_null = true")

  -- failures
  assert(msg(fails(conn.query_table, conn, "SELECT now() AS ts")):find("not supported"), "timestamp")
  assert(msg(fails(conn.query_table, conn, "SELECT 1 AS n", {list_columns = {n = " "}})):find("must be text"),
    "list on int")
  assert(msg(fails(conn.query_table, conn, "SELECT 1 AS n", {list_columns = {m = " "}})):find("not a column"),
    "unknown list column")
  assert(msg(fails(conn.query_table, conn, "SELECT '1 x'::text AS l", {list_columns = {l = " "}})):find('"x"'),
    "bad list item")
  assert(msg(fails(conn.query_table, conn, "SELECT 1 AS a, 2 AS a")):find("two result columns"), "duplicate names")
  eq(fails(conn.query_table, conn, "SELECT * FROM nowhere").sqlstate, "42P01", "SQL error")
  assert(msg(fails(conn.query_table, conn, "SELECT $1::int AS a")):find("1 parameters, 0 given"), "missing param")
  eq(conn:query("SELECT 1 AS x")[1].x, 1, "usable after query_table failures")

  -- empty results keep their types; trailing semicolons and comments are fine
  local et = conn:query_table("SELECT customer_id, products FROM transactions WHERE false -- none\n;",
    {list_columns = {products = " "}})
  eq(#et:rows(), 0, "empty table")
  eq(et:column("products"):type(), "list<int32>", "empty list column type")
  ok("query_table types, lists, params, NULL policy, failures")
end

-- passwords never show -------------------------------------------------------------------------------------------
do
  local wrong = "Wr0ngPassw0rd-" .. tostring(os.time())
  local base = CONNINFO:gsub("password=%S+", "")
  local c, m, state = pg.connect(base .. " password=" .. wrong)
  assert(c == nil, "connected with a wrong password")
  assert(m:find("password authentication failed"), m)
  assert(not m:find(wrong, 1, true), "wrong password in the error: " .. m)
  assert(not m:find(PASSWORD, 1, true), "real password in the error")
  eq(state, "08001", "connect failure state")
  local env = {}
  for k, v in CONNINFO:gmatch("(%w+)=(%S+)") do env[k] = v end
  local uri = string.format("postgresql://%s:%s@%s:%s/%s?sslmode=bogus", env.user, wrong, env.host, env.port,
    env.dbname)
  c, m = pg.connect(uri)
  assert(c == nil and not m:find(wrong, 1, true), "password in a URI error: " .. tostring(m))
  c, m = pg.connect(base .. " password=" .. wrong .. " connect_timeout=nonsense")
  assert(c == nil and not m:find(wrong, 1, true), "password in a conninfo error: " .. tostring(m))
  -- libpq echoes parts of a conninfo it cannot parse
  local bad = "Bad%zzPw" .. tostring(os.time())
  c, m = pg.connect(string.format("postgresql://%s:%s@%s:%s/%s", env.user, bad, env.host, env.port, env.dbname))
  assert(c == nil and m:find("percent") and not m:find(bad, 1, true), "password in a parse error: " .. tostring(m))
  c, m = pg.connect("postgresql://u:" .. wrong .. "@[::1/db")
  assert(c == nil and m:find("IPv6") and not m:find(wrong, 1, true), "password in a URI echo: " .. tostring(m))
  c, m = pg.connect("host=127.0.0.1 port=1 user=x password=" .. wrong)
  assert(c == nil and m:find("^pg: 08001") and not m:find(wrong, 1, true), tostring(m))
  eq(pg.redact(CONNINFO):find(PASSWORD, 1, true), nil, "redact")
  assert(pg.redact(CONNINFO):find("password=%*%*%*"), pg.redact(CONNINFO))
  eq(pg.redact("postgresql://u:" .. wrong .. "@h/db"), "postgresql://u:***@h/db", "redact URI")
  ok("wrong password: password absent from errors; redact")
end

-- task timeouts reach waits on the server ------------------------------------------------------------------------
do
  local sys = require "mercado.sys"
  local function timed(f)
    local t0 = sys.monotonic()
    local okk, e = sys.call({timeout = 0.5}, f)
    assert(not okk, "expected a timeout")
    eq(type(e) == "table" and e.kind, "timeout", "error kind")
    return sys.monotonic() - t0
  end
  assert(timed(function() conn:query("SELECT pg_sleep(20)") end) < 5, "query not interrupted")
  assert(timed(function() conn:query_table("SELECT g AS x FROM generate_series(1, 200000000) g") end) < 5,
    "query_table not interrupted")
  local before = count("transactions")
  assert(timed(function()
    conn:transaction(function()
      conn:exec("INSERT INTO transactions(store_id) VALUES (1)")
      conn:query("SELECT pg_sleep(20)")
    end)
  end) < 5, "transaction not interrupted")
  eq(count("transactions"), before, "timed-out transaction rolled back")
  eq(conn:query("SELECT 4 AS x")[1].x, 4, "usable after timeouts")
  ok("task timeouts cancel server work")
end

-- the server stops mid-operation ---------------------------------------------------------------------------------
if DIR and SERVER then
  local function halt_in(seconds)
    os.execute(string.format("(sleep %s; %q halt %q) >/dev/null 2>&1 &", seconds, SERVER, DIR))
  end
  local function restart() -- after the halt has finished: the error can arrive while the server is still stopping
    os.execute(string.format("%q halt %q", SERVER, DIR))
    assert(os.execute(string.format("%q start %q >/dev/null", SERVER, DIR)), "restart the server")
  end
  local function check_lost(e, what)
    assert(type(e) == "table", what .. ": error is " .. tostring(e))
    assert(e.connection_lost == true or e.sqlstate:sub(1, 2) == "08" or e.sqlstate == "57P01",
      what .. ": " .. e.message .. " [" .. e.sqlstate .. "]")
  end

  -- a long query
  local c = assert(pg.connect(CONNINFO))
  halt_in(1)
  local t0 = os.time()
  local e = fails(c.query, c, "SELECT pg_sleep(30)")
  check_lost(e, "query")
  assert(os.time() - t0 < 20, "the error came quickly")
  assert(not c:is_open(), "is_open after the loss")
  e = fails(c.query, c, "SELECT 1")
  eq(e.sqlstate, "08006", "later calls say the connection is lost")
  eq(e.connection_lost, true, "connection_lost flag")
  c:close(); c:close()
  e = fails(c.query, c, "SELECT 1")
  eq(e.sqlstate, "08003", "closed connection")
  restart()

  -- a COPY FROM whose reader stops the server
  c = assert(pg.connect(CONNINFO))
  local before = c:query("SELECT count(*)::int AS n FROM transactions")[1].n
  local n = 0
  e = fails(c.copy_from, c, "transactions", nil, function()
    n = n + 1
    if n == 50 then os.execute(string.format("%q halt %q", SERVER, DIR)) end
    if n > 5000 then return nil end
    return "2013-01-01|101|1|1 2 3\n"
  end, {delimiter = "|"})
  check_lost(type(e) == "table" and e or {message = tostring(e), sqlstate = ""}, "copy_from")
  c:close()
  restart()
  c = assert(pg.connect(CONNINFO))
  eq(c:query("SELECT count(*)::int AS n FROM transactions")[1].n, before, "interrupted COPY stored nothing")

  -- query_table streaming when the server goes
  halt_in(1)
  e = fails(c.query_table, c, "SELECT g AS x, pg_sleep(0.002)::text AS s FROM generate_series(1, 5000) g")
  check_lost(e, "query_table")
  c:close()
  restart()
  c = assert(pg.connect(CONNINFO))
  eq(c:query("SELECT 5 AS x")[1].x, 5, "reconnect after restart")
  c:close()
  ok("server stopped mid-operation: clear errors, no crash")
end

-- __close ----------------------------------------------------------------------------------------------------
do
  local saved
  do
    local c <close> = assert(pg.connect(CONNINFO))
    saved = c
    assert(c:is_open())
  end
  assert(not saved:is_open(), "__close closed it")
  eq(tostring(saved), "mercado.PgConn (closed)", "tostring closed")
  ok("__close")
end

conn:close()
print("ok test_pg (all)")
