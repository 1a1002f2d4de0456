-- test_data_loading.lua: flows/data_loading.lua against a real PostgreSQL (tests/pg/run starts one: MERCADO_PG_TEST
-- is its conninfo, MERCADO_PG_DIR its directory, MERCADO_PG_SERVER pg_server.sh). Every expected value comes from
-- the input files themselves (their lines, sizes and sha256 computed here) or from the generator's manifest of the
-- faults it injected, never from the loader's own reading.
package.path = (os.getenv("MERCADO_SOURCE_ROOT") or ".") .. "/tests/lib/?.lua;" .. package.path
local T = require "testlib"
local pg = require "mercado.pg"
local sys = require "mercado.sys"
local json = require "mercado.json"

local CONNINFO = assert(os.getenv("MERCADO_PG_TEST"), "MERCADO_PG_TEST (conninfo) is not set: use tests/pg/run")
local PG_DIR = assert(os.getenv("MERCADO_PG_DIR"), "MERCADO_PG_DIR is not set: use tests/pg/run")
local SERVER = assert(os.getenv("MERCADO_PG_SERVER"), "MERCADO_PG_SERVER is not set: use tests/pg/run")
local PASSWORD = assert(CONNINFO:match("password=(%S+)"), "the test conninfo needs a password")

local DBNAME = "mercado_load_test"
local DB = CONNINFO:gsub("dbname=%S+", "dbname=" .. DBNAME)
local work = T.tmpdir("dataload")

-- ---- helpers --------------------------------------------------------------------------------------------------

local function admin()
  return assert(pg.connect(CONNINFO))
end

do
  local a = admin()
  a:exec("DROP DATABASE IF EXISTS " .. DBNAME)
  a:exec("CREATE DATABASE " .. DBNAME)
  a:close()
end

local function db() return assert(pg.connect(DB)) end

local function sh(cmd)
  local ok = os.execute(cmd)
  assert(ok, "command failed: " .. cmd)
end

local function lines_of(path, skip_header)
  local out = {}
  for line in io.lines(path) do
    if line ~= "" then out[#out + 1] = line end
  end
  if skip_header then table.remove(out, 1) end
  return out
end

-- Runs data_loading; returns exit code, stdout, stderr and the output directory.
local runs = 0
local function load(dir, extra, conninfo)
  runs = runs + 1
  local out = string.format("%s/out%d", work, runs)
  local args = { "run", "data_loading", "-p", "data_dir=" .. dir, "-p", "conninfo=" .. (conninfo or DB),
    "--output", out }
  for _, a in ipairs(extra or {}) do args[#args + 1] = a end
  local code, stdout, stderr = T.mercado(args, { dir = work, timeout = 300 })
  return code, stdout, stderr, out
end

-- transactions rows with the file each child table holds (ordering by file name, then source_row, is file order)
local FROM_TX = "FROM transactions t LEFT JOIN loaded_files lf ON lf.part_table = t.tableoid::regclass::text"

-- The tables' content in file order and loaded_files (with loaded_at): equal snapshots mean nothing changed.
local function snapshot()
  local c = db()
  local s = {}
  local queries = {
    transactions = [[SELECT count(*) AS n, encode(sha256(convert_to(coalesce(string_agg(concat_ws('|',
      transaction_date, store_id, customer_id, products, lf.file_name, source_row), E'\n'
      ORDER BY lf.file_name COLLATE "C", source_row), ''), 'UTF8')), 'hex') AS h ]] .. FROM_TX,
    categories = [[SELECT count(*) AS n, md5(coalesce(string_agg(concat_ws('|', category_id, category_name, source_row),
      E'\n' ORDER BY source_row), '')) AS h FROM categories]],
    product_categories = [[SELECT count(*) AS n, md5(coalesce(string_agg(concat_ws('|', product_id, category_id,
      source_row), E'\n' ORDER BY source_row), '')) AS h FROM product_categories]],
    loaded_files = [[SELECT count(*) AS n, md5(coalesce(string_agg(concat_ws('|', file_name, size, sha256, rows,
      loaded_at, table_name, lines_read, rejected, duplicate_of, part_table, data_dir), E'\n' ORDER BY file_name),
      '')) AS h
      FROM loaded_files]],
  }
  for name, q in pairs(queries) do
    local r = c:query(q)[1]
    s[name] = r.n .. ":" .. r.h
  end
  c:close()
  return s
end

local function same_snapshot(a, b, what)
  for _, k in ipairs { "transactions", "categories", "product_categories", "loaded_files" } do
    T.eq(b[k], a[k], what .. ": " .. k .. " unchanged")
  end
end

-- sha256 of the expected transactions text: every non-empty line of the files, in name order, "\n"-joined.
local function expected_tx_hash(files)
  local all = {}
  for _, f in ipairs(files) do
    for _, l in ipairs(lines_of(f)) do all[#all + 1] = l end
  end
  return sys.sha256(table.concat(all, "\n")), #all
end

local function tx_content_hash()
  local c = db()
  local r = c:query([[SELECT count(*) AS n, encode(sha256(convert_to(coalesce(string_agg(concat_ws('|',
    transaction_date, store_id, customer_id, products), E'\n' ORDER BY lf.file_name COLLATE "C", source_row), ''),
    'UTF8')), 'hex') AS h ]] .. FROM_TX)[1]
  c:close()
  return r.h, r.n
end

local function loaded_files()
  local c = db()
  local out = {}
  for _, r in ipairs(c:query("SELECT file_name, size, sha256, rows, table_name, lines_read, " ..
      "rejected::text AS rejected, duplicate_of, data_dir, loaded_at::text AS loaded_at FROM loaded_files")) do
    out[r.file_name] = r
  end
  c:close()
  return out
end

local function metadata(out)
  local text = T.read(out .. "/metadata/data_loading_flow_load_data.json")
  T.check(text ~= nil, "metadata written under %s", out)
  return text and json.decode(text) or { files = {}, tables = {} }
end

local function copy_file(from, to) T.write(to, assert(T.read(from), from)) end

local function gen(dir, baskets, seed, dirty)
  local args = { "gen", "--baskets", tostring(baskets), "--seed", tostring(seed), "--out", dir }
  if dirty then args[#args + 1], args[#args + 2] = "--dirty", dirty end
  local code, _, err = T.mercado(args)
  assert(code == 0, "mercado gen failed: " .. tostring(err))
end

local function ok(name) print("ok " .. name) end

-- ---- first load: content, fingerprints, report --------------------------------------------------------------

local A = work .. "/a"
gen(A, 4000, 3)
local TX = sys.glob(A .. "/transactions/*_Tran.csv")
assert(#TX == 4, "the generator writes four store files")

do
  local code, _, err, out = load(A)
  T.eq(code, 0, "first load exit code: " .. err)
  local h, n = tx_content_hash()
  local want_h, want_n = expected_tx_hash(TX)
  T.eq(n, want_n, "transactions: one row per line of the files")
  T.eq(h, want_h, "transactions: the files' lines, in file order")
  local c = db()
  local cats = c:query("SELECT string_agg(concat_ws('|', category_id, category_name), E'\\n' ORDER BY source_row) " ..
    "AS t FROM categories")[1].t
  T.eq(cats, table.concat(lines_of(A .. "/products/Categories.csv"), "\n"), "categories: the file's lines")
  local pcs = c:query("SELECT string_agg(concat_ws('|', product_id, category_id), E'\\n' ORDER BY source_row) AS t, " ..
    "count(*) AS n, count(DISTINCT (product_id, category_id)) AS d FROM product_categories")[1]
  local pc_lines = lines_of(A .. "/products/ProductCategory.csv", true)
  T.eq(pcs.t, table.concat(pc_lines, "\n"), "product_categories: every data line, duplicates kept")
  local distinct = {}
  local nd = 0
  for _, l in ipairs(pc_lines) do if not distinct[l] then distinct[l], nd = true, nd + 1 end end
  T.check(nd < #pc_lines, "the generated catalog has duplicate rows (%d distinct of %d)", nd, #pc_lines)
  local lf = loaded_files()
  local all = { A .. "/products/Categories.csv", A .. "/products/ProductCategory.csv" }
  for _, f in ipairs(TX) do all[#all + 1] = f end
  for _, path in ipairs(all) do
    local name = path:match("[^/]*$")
    local r = lf[name]
    if T.check(r ~= nil, "loaded_files has %s", name) then
      T.eq(r.size, sys.stat(path).size, name .. " size")
      T.eq(r.sha256, (sys.sha256_file(path)), name .. " sha256")
      T.eq(r.rows, #lines_of(path, name == "ProductCategory.csv"), name .. " rows")
      T.eq(r.rejected, "{}", name .. " no rejects")
      T.eq(r.data_dir, A, name .. " data_dir")
    end
  end
  local meta = metadata(out)
  T.eq(#meta.files, 6, "metadata lists the six files")
  for _, f in ipairs(meta.files) do T.eq(f.action, "load", "metadata action of " .. f.file) end
  T.eq(meta.tables.transactions.rows, want_n, "metadata transactions count")
  T.eq(meta.tables.transactions.action, "replaced", "metadata transactions action")
  T.contains(err, "102_Tran.csv: " .. #lines_of(TX[1]) .. " rows loaded into transactions", "per-file log line")
  -- one child table per file, holding exactly that file's rows
  local parts = c:query([[SELECT lf.file_name, count(*) AS n, count(DISTINCT t.tableoid) AS tables ]] .. FROM_TX ..
    " GROUP BY lf.file_name")
  c:close()
  T.eq(#parts, #TX, "one child table per transactions file")
  for _, r in ipairs(parts) do
    T.eq(r.tables, 1, "the rows of " .. tostring(r.file_name) .. " in one table")
    T.eq(r.n, #lines_of(A .. "/transactions/" .. tostring(r.file_name)), "child table of " .. tostring(r.file_name))
  end
  T.not_contains(err, PASSWORD, "password absent from the log")
  ok("first load: the files' rows in order, fingerprints, report")
end

-- ---- reload: nothing changes ------------------------------------------------------------------------------------

do
  local before = snapshot()
  local code, _, err, out = load(A)
  T.eq(code, 0, "reload exit code: " .. err)
  same_snapshot(before, snapshot(), "reload")
  T.contains(err, "102_Tran.csv: unchanged", "reload logs unchanged files")
  T.contains(err, "nothing to do", "reload says there was nothing to do")
  local meta = metadata(out)
  T.eq(meta.changed, false, "metadata: nothing changed")
  code, _, err = load(A, { "-p", "mode=append" })
  T.eq(code, 0, "append reload exit code: " .. err)
  same_snapshot(before, snapshot(), "append of the same files")
  ok("reloading the same files (replace and append) changes nothing")
end

-- ---- append: a new store file, a changed one, a byte-identical copy -----------------------------------------

do
  local before_lf = loaded_files()
  T.write(A .. "/transactions/105_Tran.csv", "2013-02-01|105|1|5 6 7\n2013-02-02|105|2|8\n2013-02-02|105|1|9 10\n")
  TX = sys.glob(A .. "/transactions/*_Tran.csv")
  local code, _, err, out = load(A, { "-p", "mode=append" })
  T.eq(code, 0, "append exit code: " .. err)
  local h, n = tx_content_hash()
  local want_h, want_n = expected_tx_hash(TX)
  T.eq(n, want_n, "append: old rows plus the new file's three")
  T.eq(h, want_h, "append: content in file order (105 between 103 and 107)")
  local lf = loaded_files()
  T.eq(lf["105_Tran.csv"] and lf["105_Tran.csv"].rows, 3, "append: the new file recorded")
  for name, r in pairs(before_lf) do T.eq(lf[name].loaded_at, r.loaded_at, "append leaves " .. name .. " alone") end
  local meta = metadata(out)
  T.eq(meta.tables.transactions.action, "appended", "metadata: appended")
  T.eq(meta.tables.categories.action, "unchanged", "metadata: catalog unchanged")

  -- a changed file replaces its own rows
  T.write(A .. "/transactions/105_Tran.csv", "2013-02-03|105|7|1 2\n")
  code, _, err = load(A, { "-p", "mode=append" })
  T.eq(code, 0, "append of a changed file: " .. err)
  h, n = tx_content_hash()
  want_h, want_n = expected_tx_hash(TX)
  T.eq(n, want_n, "changed file: its old rows replaced by its one row")
  T.eq(h, want_h, "changed file: content")
  T.contains(err, "105_Tran.csv changed: its 3 previous rows replaced", "changed file logged")

  -- a byte-identical copy is skipped with a warning
  copy_file(TX[1], A .. "/transactions/999_Tran.csv")
  local before = snapshot()
  code, _, err = load(A, { "-p", "mode=append" })
  T.eq(code, 0, "append of a copy: " .. err)
  T.contains(err, "999_Tran.csv skipped: byte-identical to 102_Tran.csv", "copy skipped with a warning")
  T.contains(err, "WARNING", "the skip is a warning")
  T.eq(snapshot().transactions, before.transactions, "the copy added no rows")
  T.eq(loaded_files()["999_Tran.csv"].duplicate_of, "102_Tran.csv", "the copy recorded as a duplicate")

  -- replace mode over the same directory: the appended state is what replace builds, so nothing to do; forced,
  -- it rebuilds the same rows and skips the copy again
  before = snapshot()
  code, _, err = load(A)
  T.eq(code, 0, "replace after appends: " .. err)
  same_snapshot(before, snapshot(), "replace after appends")
  T.contains(err, "999_Tran.csv: unchanged (byte-identical to 102_Tran.csv, skipped)", "replace: the copy unchanged")
  code, _, err = load(A, { "-p", "force=true" })
  T.eq(code, 0, "forced replace: " .. err)
  T.contains(err, "999_Tran.csv skipped: byte-identical to 102_Tran.csv", "forced replace skips the copy")
  T.eq(snapshot().transactions, before.transactions, "forced replace: the same rows in the same order")
  T.check(snapshot().loaded_files ~= before.loaded_files, "forced replace: files recorded anew")
  os.remove(A .. "/transactions/999_Tran.csv")
  os.remove(A .. "/transactions/105_Tran.csv")
  TX = sys.glob(A .. "/transactions/*_Tran.csv")
  code, _, err = load(A)
  T.eq(code, 0, "replace after removing files: " .. err)
  h, n = tx_content_hash()
  want_h, want_n = expected_tx_hash(TX)
  T.eq(n, want_n, "replace: removed files' rows are gone")
  T.eq(h, want_h, "replace: content is exactly the directory's")
  ok("append: new file added, changed file replaced, byte-identical copy skipped; replace follows the directory")
end

-- ---- dirty input: the reader's reject policy, counted per reason --------------------------------------------

do
  local D = work .. "/dirty"
  gen(D, 3000, 5, "0.01")
  local manifest = json.decode(T.read(D .. "/dirty_manifest.json"))
  local code, _, err, out = load(D)
  T.eq(code, 0, "dirty load exit code: " .. err)
  local lf = loaded_files()
  local total = 0
  for name, m in pairs(manifest.files) do
    local r = lf[name]
    if T.check(r ~= nil, "loaded_files has %s", name) then
      T.eq(r.rows, m.kept, name .. " kept rows (manifest)")
      T.eq(r.lines_read, m.lines_read, name .. " lines read (manifest)")
      local rej = json.decode(r.rejected)
      for reason, k in pairs(m.rejected) do T.eq(rej[reason] or 0, k, name .. " rejected " .. reason) end
      total = total + m.kept
    end
  end
  for _, d in ipairs(manifest.duplicates) do
    T.eq(lf[d.file] and lf[d.file].duplicate_of, d.copy_of, d.file .. " recorded as a copy")
    T.contains(err, d.file .. " skipped: byte-identical to " .. d.copy_of, "copy warning")
  end
  local _, n = tx_content_hash()
  T.eq(n, manifest.total.kept, "dirty: transactions = the manifest's kept rows")
  T.eq(total, manifest.total.kept, "per-file kept rows add up")
  local c = db()
  local units = c:query("SELECT sum(array_length(string_to_array(products, ' '), 1)) AS u FROM transactions")[1].u
  c:close()
  T.eq(math.tointeger(units), manifest.total.units_kept, "dirty: units of the kept rows (multi-space lists normalised)")
  local meta = metadata(out)
  for reason, k in pairs(manifest.total.rejected) do
    T.eq(meta.rejected[reason] or 0, k, "metadata rejected " .. reason)
  end
  local rejects = 0
  for _, f in ipairs(meta.files) do
    if f.rejects_file ~= json.null then
      local text = T.read(f.rejects_file)
      T.check(text ~= nil, "rejects file %s exists", f.rejects_file)
      for _ in (text or ""):gmatch("\n") do rejects = rejects + 1 end
    end
  end
  local want = 0
  for _, k in pairs(manifest.total.rejected) do want = want + k end
  T.eq(rejects, want, "every rejected line listed in the rejects files")
  T.contains(err, "lines rejected (", "rejects reported in the log")
  ok("dirty input: rows kept and rejected per reason exactly as the generator's manifest says")
end

-- The rest starts from the clean data set, loaded.
do
  local code, _, err = load(A)
  T.eq(code, 0, "reload the clean set: " .. err)
end

-- ---- a bad file mid-load: nothing changes -------------------------------------------------------------------

do
  local B = work .. "/b"
  sh(string.format("cp -r '%s' '%s'", A, B))
  -- the catalog changes too, so a table is rebuilt and swapped before the bad file is reached
  local cats = T.read(B .. "/products/Categories.csv")
  T.write(B .. "/products/Categories.csv", (cats:gsub("^1|[^\n]*", "1|RENAMED")))
  T.write(B .. "/transactions/105_Tran.csv", "this is|not a|transactions|file\n\0\1\2 binary junk\n2013-13-45|x|y|z\n")
  local before = snapshot()
  local code, _, err = load(B)
  T.eq(code, 1, "bad file: exit code 1")
  T.contains(err, "105_Tran.csv has no valid row: all 3 lines rejected", "bad file: the error names the file")
  T.contains(err, "nothing was changed", "bad file: the error says nothing changed")
  same_snapshot(before, snapshot(), "bad file")

  -- a failure the server reports in the middle of a COPY (invalid UTF-8 in a category name)
  os.remove(B .. "/transactions/105_Tran.csv")
  T.write(B .. "/transactions/102_Tran.csv", T.read(B .. "/transactions/102_Tran.csv") .. "2013-03-01|102|5|1 2\n")
  T.write(B .. "/products/Categories.csv", cats .. "\n77|BAD \xff\xfe NAME")
  code, _, err = load(B)
  T.eq(code, 1, "server-side error: exit code 1")
  T.contains(err, "Categories.csv into categories failed", "server-side error names the file")
  T.contains(err, "UTF8", "server-side error gives the server's reason")
  same_snapshot(before, snapshot(), "server-side error")
  ok("a bad file or a server error mid-load leaves the previous data intact (exit 1, clear error)")
end

-- ---- the server stopped mid-load; the process killed mid-load ----------------------------------------------

-- Starts a load that pauses `seconds` (4) after each file, waits for the first pause; returns pid, stdout path,
-- stderr path.
local function start_paused_load(dir, seconds)
  seconds = seconds or 4
  runs = runs + 1
  local out = string.format("%s/out%d", work, runs)
  local pid, outp, errp = T.mercado({ "run", "data_loading", "-p", "data_dir=" .. dir, "-p", "conninfo=" .. DB,
    "-p", "pause_between_files=" .. seconds, "--output", out }, { dir = work, background = true })
  local t0 = sys.monotonic()
  while sys.monotonic() - t0 < 60 do
    local text = T.read(errp) or ""
    if text:find("pausing " .. seconds .. " s after", 1, true) then return pid, outp, errp end
    if sys.wait(pid, 0) ~= "running" then break end
    sys.sleep(0.05)
  end
  error("the load never paused:\n" .. tostring(T.read(errp)))
end

do
  local C = work .. "/c"
  sh(string.format("cp -r '%s' '%s'", A, C))
  T.write(C .. "/transactions/102_Tran.csv", T.read(C .. "/transactions/102_Tran.csv") .. "2013-03-01|102|5|1 2\n")
  local before = snapshot()
  local pid, outp, errp = start_paused_load(C)
  same_snapshot(before, snapshot(), "a reader during the load (not blocked, sees the previous data)")
  sh(string.format("'%s' halt '%s'", SERVER, PG_DIR))
  local how, code = sys.wait(pid, 60)
  T.eq(how, "exited", "server stopped: the load ends")
  T.eq(code, 1, "server stopped: exit code 1")
  local err = T.read(errp) or ""
  T.check(err:find("connection", 1, true) or err:find("terminating", 1, true),
    "server stopped: the error says the connection went away:\n%s", err)
  T.not_contains(err, PASSWORD, "server stopped: no password in the output")
  os.remove(outp)
  os.remove(errp)
  local started = io.popen(string.format("'%s' start '%s'", SERVER, PG_DIR)):read("a")
  T.check(started:find("port="), "the server restarts: %s", started)
  same_snapshot(before, snapshot(), "server stopped mid-load")

  pid, outp, errp = start_paused_load(C)
  sys.kill(pid, "KILL")
  sys.wait(pid, 30)
  os.remove(outp)
  os.remove(errp)
  -- the server notices the dead client and rolls its transaction back (the next load waits for the lock)
  same_snapshot(before, snapshot(), "process killed mid-load")
  local code2, _, err2 = load(C)
  T.eq(code2, 0, "a load after the kill runs: " .. err2)
  local h = tx_content_hash()
  T.eq(h, (expected_tx_hash(sys.glob(C .. "/transactions/*_Tran.csv"))), "and loads the new content")
  ok("the server stopped or the process killed mid-load: previous data intact; the next load works")
end

-- ---- two loads at once: the second waits for the first, then finds nothing to do -------------------------------

do
  local D2 = work .. "/d2"
  sh(string.format("cp -r '%s' '%s'", A, D2))
  T.write(D2 .. "/transactions/103_Tran.csv", T.read(D2 .. "/transactions/103_Tran.csv") .. "2013-03-02|103|6|7\n")
  local pid, outp, errp = start_paused_load(D2, 1)
  local t0 = sys.monotonic()
  local code, _, err = load(D2)
  T.eq(code, 0, "second load: " .. err)
  T.check(sys.monotonic() - t0 > 1, "the second load waited for the first (%.1f s)", sys.monotonic() - t0)
  T.contains(err, "nothing to do", "the second load finds the first one's work done")
  local how, code1 = sys.wait(pid, 60)
  T.check(how == "exited" and code1 == 0, "the first load completed: %s", tostring(T.read(errp)))
  os.remove(outp)
  os.remove(errp)
  local h = tx_content_hash()
  T.eq(h, (expected_tx_hash(sys.glob(D2 .. "/transactions/*_Tran.csv"))), "the content is the directory's")
  ok("concurrent loads are serialised")
end

-- ---- credentials and hostile values ------------------------------------------------------------------------

do
  local wrong = "Wr0ngPassw0rd" .. sys.getpid()
  local bad = DB:gsub("password=%S+", "password=" .. wrong)
  local t0 = sys.monotonic()
  local code, stdout, stderr, out = load(A, nil, bad)
  T.eq(code, 1, "wrong password: exit code 1")
  T.contains(stderr, "password authentication failed", "wrong password: the server's reason")
  T.check(sys.monotonic() - t0 < 3, "wrong password: no retries (%.1f s)", sys.monotonic() - t0)
  for _, text in ipairs { stdout, stderr } do
    T.not_contains(text, wrong, "wrong password absent from the output")
    T.not_contains(text, PASSWORD, "real password absent from the output")
  end
  local p = io.popen(string.format("grep -rl -e '%s' -e '%s' '%s' 2>/dev/null", wrong, PASSWORD, out))
  local hits = p:read("a")
  p:close()
  T.eq(hits, "", "no file under the output directory holds a password")
  T.check(sys.stat(out .. "/runs") ~= nil, "the failed run was recorded")
  ok("wrong password: clear error, no retries, password absent from all output")
end

do
  local evil_dir = work .. "/it's; DROP TABLE transactions; -- [2013]*"
  assert(sys.mkdirs(evil_dir .. "/transactions") and sys.mkdirs(evil_dir .. "/products"))
  copy_file(A .. "/products/Categories.csv", evil_dir .. "/products/Categories.csv")
  copy_file(A .. "/products/ProductCategory.csv", evil_dir .. "/products/ProductCategory.csv")
  local evil_name = "120'); DROP TABLE loaded_files; --_Tran.csv"
  T.write(evil_dir .. "/transactions/" .. evil_name, "2013-01-05|120|3|4 5\n")
  T.write(evil_dir .. "/transactions/$1 \\x'||'_Tran.csv", "2013-01-06|121|3|6\n")
  local code, _, err = load(evil_dir)
  T.eq(code, 0, "hostile names: exit code " .. err)
  local lf = loaded_files()
  T.check(lf[evil_name] ~= nil, "hostile file name stored as data")
  T.check(lf["$1 \\x'||'_Tran.csv"] ~= nil, "file name with $1, backslash and quotes stored as data")
  T.eq(lf[evil_name] and lf[evil_name].data_dir, evil_dir, "hostile data_dir stored as data")
  local c = db()
  local r = c:query("SELECT count(*) AS n " .. FROM_TX .. " WHERE lf.file_name = $1", evil_name)[1]
  T.eq(r.n, 1, "the hostile file's row carries its name")
  T.eq(c:query("SELECT count(*) AS n FROM transactions")[1].n, 2, "both rows loaded, tables intact")
  c:close()
  ok("SQL-looking file names and paths are stored as plain data")
end

-- ---- misuse ---------------------------------------------------------------------------------------------------

do
  local code, _, err = load(work .. "/nowhere")
  T.eq(code, 1, "missing data_dir: exit 1")
  T.contains(err, "does not exist", "missing data_dir: clear error")
  assert(sys.mkdirs(work .. "/empty/transactions") and sys.mkdirs(work .. "/empty/products"))
  copy_file(A .. "/products/Categories.csv", work .. "/empty/products/Categories.csv")
  copy_file(A .. "/products/ProductCategory.csv", work .. "/empty/products/ProductCategory.csv")
  code, _, err = load(work .. "/empty")
  T.eq(code, 1, "no transaction files: exit 1")
  T.contains(err, "no transaction files", "no transaction files: clear error")
  code, _, err = load(A, { "-p", "mode=merge" })
  T.eq(code, 2, "unknown mode: usage error")
  -- append onto a transactions table the loader did not create
  local c = db()
  c:exec([[DROP TABLE transactions CASCADE;
    CREATE TABLE transactions(transaction_date DATE, store_id INT, customer_id INT, products TEXT);
    INSERT INTO transactions VALUES ('2013-01-01', 1, 2, '3 4')]])
  c:exec("DELETE FROM loaded_files WHERE table_name = 'transactions'")
  c:close()
  code, _, err = load(A, { "-p", "mode=append" })
  T.eq(code, 1, "append onto a foreign table: exit 1")
  T.contains(err, "mode=replace", "append onto a foreign table: says what to do")
  code, _, err = load(A)
  T.eq(code, 0, "replace rebuilds a foreign table: " .. err)
  local h = tx_content_hash()
  T.eq(h, (expected_tx_hash(TX)), "replace over the old schema: content")
  ok("misuse: missing directory, no files, bad mode, append onto a foreign table")
end

do
  local a = admin()
  a:exec("DROP DATABASE IF EXISTS " .. DBNAME)
  a:close()
end
T.done()
