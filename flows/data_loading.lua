-- data_loading.lua: loads the CSV files into PostgreSQL (seed_spec §1.5, §3.1, with §6.12 fixed): every
-- transactions/*_Tran.csv (no store list) and the catalog, read and validated by the CSV source's reader and reject
-- policy, COPYed in one transaction into staging tables that replace the live ones at commit (transactions: one
-- child table per file, so append mode adds or replaces single files). Files are fingerprinted (size, sha256) in
-- loaded_files: loading the same files again changes nothing. Any failure rolls the whole load back.
local flow = require "mercado.flow"
local json = require "mercado.json"
local sys = require "mercado.sys"
local util = require "mercado.util"
local cs = require "mercado.colstore"
local dataset = require "lib.dataset"
local output = require "lib.output"
local schema = require "lib.pg_schema"

local SPECS = { categories = dataset.CATEGORIES, product_categories = dataset.PRODUCT_CATEGORIES,
  transactions = dataset.BASKETS }

local FileRow = json.shape { "file", "table", "action", "size", "sha256", "lines_read", "rows", "rejected_total",
  "rejected", "empty_lines", "duplicate_of", "rejects_file" }
local TableRow = json.shape { "rows", "action" }

local function fail(fmt, ...) error(string.format(fmt, ...), 0) end

local function basename(path) return path:match("[^/]*$") end

local function reasons_text(rejected)
  local parts = {}
  for reason, n in pairs(rejected or {}) do parts[#parts + 1] = reason .. "=" .. n end
  table.sort(parts)
  return table.concat(parts, ", ")
end

-- ---- input files ----------------------------------------------------------------------------------------------

-- The input files in load order (categories, product categories, transactions by name), each {path, name, table,
-- size}. Fails naming the file or pattern when something is missing.
local function find_files(dir)
  local st = sys.stat(dir)
  if not st or st.type ~= "directory" then fail("data directory %s does not exist (set -p data_dir=DIR)", dir) end
  local files = {}
  for _, t in ipairs(schema.TABLES) do
    local paths
    if t.parts then
      paths = util.glob(dir .. "/transactions", t.file)
      if #paths == 0 then fail("no transaction files %s/transactions/%s", dir, t.file) end
    else
      paths = { dir .. "/products/" .. t.file }
    end
    for _, path in ipairs(paths) do
      local fst = sys.stat(path)
      if not fst then fail("cannot read %s: no such file", path) end
      if fst.type ~= "file" then fail("cannot read %s: not a regular file", path) end
      files[#files + 1] = { path = path, name = basename(path), table = t.name, size = fst.size }
    end
  end
  return files
end

-- The file's sha256, computed once. Files being loaded are hashed while their rows are copied; others only when a
-- size match makes the hash decide something (an unchanged file, a possible copy).
local function sha256(f)
  if not f.sha256 then
    local hex, size = sys.sha256_file(f.path)
    if not hex then fail("cannot read %s: %s", f.path, tostring(size)) end
    if size ~= f.size then fail("%s changed while it was being loaded (%d bytes, then %d)", f.path, f.size, size) end
    f.sha256 = hex
  end
  return f.sha256
end

-- ---- planning -------------------------------------------------------------------------------------------------

-- The previous loads' records: file_name -> {size, sha256, rows, table_name, duplicate_of, part_table}.
local function previous_files(conn)
  local prev = {}
  for _, r in ipairs(conn:query([[SELECT file_name, size, sha256, rows, table_name, duplicate_of, part_table
      FROM loaded_files]])) do
    prev[r.file_name] = r
  end
  return prev
end

-- Whether file f has the fingerprint rec records.
local function same_file(f, rec)
  return rec ~= nil and rec.size == f.size and rec.table_name == f.table and sha256(f) == rec.sha256
end

-- Marks byte-identical copies among files (of one table, in load order): a file identical to an earlier one, or
-- to one of the holders (files whose rows stay), gets duplicate_of. Only same-size files are hashed.
local function mark_duplicates(files, holders)
  local by_size = {}
  local function add(f)
    by_size[f.size] = by_size[f.size] or {}
    table.insert(by_size[f.size], f)
  end
  for _, h in ipairs(holders or {}) do add(h) end
  for _, f in ipairs(files) do
    for _, g in ipairs(by_size[f.size] or {}) do
      if sha256(f) == (g.sha256 or sha256(g)) then
        f.duplicate_of = g.name
        break
      end
    end
    if not f.duplicate_of then add(f) end
  end
end

-- Replace (and the catalog in any mode): a table whose files all match their records, none missing, is left
-- alone; any other is rebuilt from all its files.
local function plan_rebuild(plan, t, tfiles, prev, force)
  mark_duplicates(tfiles)
  local same, present = not force, {}
  for _, f in ipairs(tfiles) do
    present[f.name] = true
    local rec = prev[f.name]
    if same and (not same_file(f, rec) or (rec.duplicate_of or false) ~= (f.duplicate_of or false)) then
      same = false
    end
  end
  for name, rec in pairs(prev) do
    if rec.table_name == t.name and not present[name] then same = false end
  end
  plan.rebuild[t.name] = not same
  for _, f in ipairs(tfiles) do f.action = same and "unchanged" or f.duplicate_of and "duplicate" or "load" end
end

-- Append for transactions: unchanged files and files no longer in the directory keep their rows; new files are
-- added; a changed file's rows are replaced (its old child table goes to plan.drop).
local function plan_append(plan, t, tfiles, prev)
  local holders, pending, here = {}, {}, {}
  for _, f in ipairs(tfiles) do here[f.name] = f end
  for name, rec in pairs(prev) do
    if rec.table_name == t.name and not rec.duplicate_of then
      local f = here[name]
      if f and same_file(f, rec) then
        f.action = "unchanged"
        holders[#holders + 1] = f
      elseif not f then
        holders[#holders + 1] = { name = name, size = rec.size, sha256 = rec.sha256 }
      end
    end
  end
  table.sort(holders, function(a, b) return a.name < b.name end)
  for _, f in ipairs(tfiles) do
    local rec = prev[f.name]
    if not f.action then
      if rec and rec.part_table then
        plan.drop[#plan.drop + 1] = { name = f.name, part = rec.part_table, rows = rec.rows }
      end
      pending[#pending + 1] = f
    end
  end
  mark_duplicates(pending, holders)
  for _, f in ipairs(pending) do
    local rec = prev[f.name]
    local still = f.duplicate_of and rec and rec.duplicate_of == f.duplicate_of and same_file(f, rec)
    f.action = still and "unchanged" or f.duplicate_of and "duplicate" or "load"
  end
end

-- Decides what happens to each table and file: f.action is "load", "unchanged" or "duplicate"; returns
-- {rebuild = {table = bool}, drop = {{name, part}}, by_table = {table = files}}.
local function make_plan(files, prev, p)
  local plan = { rebuild = {}, drop = {}, by_table = {} }
  for _, t in ipairs(schema.TABLES) do plan.by_table[t.name] = {} end
  for _, f in ipairs(files) do table.insert(plan.by_table[f.table], f) end
  for _, t in ipairs(schema.TABLES) do
    if t.parts and p.mode == "append" and not p.force then plan_append(plan, t, plan.by_table[t.name], prev)
    else plan_rebuild(plan, t, plan.by_table[t.name], prev, p.force) end
  end
  return plan
end

-- ---- reading and copying --------------------------------------------------------------------------------------

-- Reads one file with the CSV source's reader and reject policy (rejects listed under the run directory). A file
-- with lines but not one valid row is not data of this kind: it fails the load.
local function read_file(ctx, f)
  local spec = {}
  for k, v in pairs(SPECS[f.table]) do spec[k] = v end
  spec.rejects_path = string.format("%s/rejects/%s/%s.txt", ctx.run_dir, f.table, f.name)
  spec.progress = "reading " .. f.name
  sys.mkdirs(ctx.run_dir .. "/rejects/" .. f.table)
  local t, rep = cs.read_csv(f.path, spec)
  if not t then fail("cannot read %s: %s", f.path, tostring(rep)) end
  local fr = rep.files[1]
  f.lines_read, f.rows, f.rejected, f.rejected_total, f.empty_lines = fr.lines_read, fr.kept, fr.rejected,
    fr.rejected_total, fr.empty_lines
  f.rejects_file = rep.rejects_path
  if fr.lines_read > 0 and fr.kept == 0 then
    fail("%s has no valid row: all %d lines rejected (%s; first: %s); nothing was changed", f.path, fr.lines_read,
      reasons_text(fr.rejected), tostring(rep.first_reject))
  end
  return t
end

local function copy_failed(f, err)
  if type(err) == "table" and err.kind == "cancelled" then error(err, 0) end
  local why = type(err) == "table" and tostring(err.message) or tostring(err)
  fail("loading %s into %s failed: %s", f.path, f.table, why)
end

-- Streams one table at a time into the database. With the pg module's native copy_table (binary COPY, run on a
-- worker thread) the next file is read and hashed while the previous one is still being copied; nothing else may
-- use the connection until flush(). Without it, the table's CSV text goes through copy_from.
local Copier = {}
Copier.__index = Copier

-- A copier on conn; done(f) is called once the rows of file f are confirmed copied.
local function new_copier(conn, done) return setmetatable({ conn = conn, done = done }, Copier) end

-- Checks the server's row count for file f and reports it done.
function Copier:finished(f, rows)
  if rows ~= f.rows then fail("loading %s: %d rows copied, %d expected", f.path, rows, f.rows) end
  self.done(f)
end

-- Waits for the pending copy; fails naming its file.
function Copier:flush()
  local job, f = self.job, self.file
  self.job, self.file = nil, nil
  if not job then return end
  local ok, rows = pcall(job.wait, job)
  if not ok then copy_failed(f, rows) end
  self:finished(f, rows)
end

-- Waits for a pending copy without reporting (after another error).
function Copier:abandon()
  if self.job then pcall(self.job.wait, self.job) end
  self.job, self.file = nil, nil
end

local function copy_csv(conn, target, t, columns)
  local names, targets, seq = {}, {}, {}
  for i, c in ipairs(columns) do names[i], targets[i] = c[2], c[1] end
  for i = 1, #t do seq[i] = i end
  targets[#targets + 1] = "source_row"
  local text = t:select(names):with("source_row", cs.column("int32", seq)):to_csv()
  local pos, CHUNK = 1, 1 << 20
  return conn:copy_from(target, targets, function()
    if pos > #text then return nil end
    local s = text:sub(pos, pos + CHUNK - 1)
    pos = pos + CHUNK
    return s
  end, { format = "csv", header = true })
end

-- Starts copying t (the rows of file f) into target, whose source_row receives 1..n.
function Copier:start(target, t, columns, f)
  self:flush()
  local conn = self.conn
  local ok, res
  if conn.copy_table then
    ok, res = pcall(conn.copy_table, conn, target, t,
      { columns = columns, row_number = "source_row", freeze = true, async = true })
  else
    ok, res = pcall(copy_csv, conn, target, t, columns)
  end
  if not ok then copy_failed(f, res) end
  if type(res) == "number" then self:finished(f, res)
  else self.job, self.file = res, f end
end

-- ---- the load transaction -------------------------------------------------------------------------------------

local function ensure_schema(conn)
  conn:exec(schema.LOADED_FILES)
  conn:exec(schema.PART_SEQ)
  for _, t in ipairs(schema.TABLES) do conn:exec(schema.create_sql(t, false, true)) end
  if not schema.columns(conn, "transactions").source_row then
    conn:exec("ALTER TABLE transactions ADD COLUMN source_row INT") -- a table the old loader created
  end
end

local function log_loaded(ctx, f)
  if f.rejected_total > 0 then
    ctx.log.warning("%s: %d rows loaded into %s, %d lines rejected (%s); see %s", f.name, f.rows, f.table,
      f.rejected_total, reasons_text(f.rejected), f.rejects_file)
  else
    ctx.log.info("%s: %d rows loaded into %s", f.name, f.rows, f.table)
  end
end

-- Reads and copies every file to load, in order; each transactions file gets a new child table (f.part).
local function copy_files(ctx, conn, p, plan)
  local copier = new_copier(conn, function(f) log_loaded(ctx, f) end)
  local ok, err = pcall(function()
    for _, t in ipairs(schema.TABLES) do
      for _, f in ipairs(plan.by_table[t.name]) do
        if f.action == "load" then
          local rows = read_file(ctx, f)
          copier:flush()
          f.part = t.parts and schema.new_part(conn) or nil
          copier:start(f.part or schema.staging(t), rows, t.columns, f)
          sha256(f)
          if p.pause_between_files > 0 then
            copier:flush()
            ctx.log.info("pausing %g s after %s (pause_between_files)", p.pause_between_files, f.name)
            sys.sleep(p.pause_between_files)
          end
        elseif f.action == "duplicate" then
          ctx.log.warning("%s skipped: byte-identical to %s", f.name, f.duplicate_of)
        else
          ctx.log.info("%s: unchanged%s", f.name, f.duplicate_of and (" (byte-identical to " .. f.duplicate_of ..
            ", skipped)") or "")
        end
      end
    end
    copier:flush()
  end)
  if not ok then
    copier:abandon()
    error(err, 0)
  end
end

-- Before copying: staging tables for the catalog tables being rebuilt; append refuses a transactions table with
-- rows of its own (the old loader's layout).
local function prepare(conn, p, plan)
  for _, t in ipairs(schema.TABLES) do
    if plan.rebuild[t.name] and not t.parts then
      conn:exec("DROP TABLE IF EXISTS " .. schema.staging(t))
      conn:exec(schema.create_sql(t, true))
    end
  end
  if p.mode == "append" and not plan.rebuild.transactions and schema.has_own_rows(conn) then
    fail("the transactions table holds rows this loader did not write (an older layout): load once with " ..
      "-p mode=replace")
  end
end

-- After copying: staging tables replace catalog tables; a rebuilt transactions table loses its old children (and
-- any rows of its own); append drops the children of changed files.
local function replace_live(ctx, conn, plan)
  for _, t in ipairs(schema.TABLES) do
    if plan.rebuild[t.name] and not t.parts then
      for _, sql in ipairs(schema.swap_sql(t)) do conn:exec(sql) end
    end
  end
  if plan.rebuild.transactions then
    local keep = {}
    for _, f in ipairs(plan.by_table.transactions) do if f.part then keep[f.part] = true end end
    for _, part in ipairs(schema.parts(conn)) do
      if not keep[part.name] then schema.drop_part(conn, part.name) end
    end
    if schema.has_own_rows(conn) then conn:exec("TRUNCATE ONLY transactions") end
  end
  for _, d in ipairs(plan.drop) do
    schema.drop_part(conn, d.part)
    ctx.log.info("%s changed: its %d previous rows replaced", d.name, d.rows)
  end
  for _, t in ipairs(schema.TABLES) do
    if plan.rebuild[t.name] then conn:exec("DELETE FROM loaded_files WHERE table_name = $1", t.name) end
  end
end

local function record_files(conn, files, dir)
  for _, f in ipairs(files) do
    if f.action ~= "unchanged" then
      conn:exec([[INSERT INTO loaded_files (file_name, size, sha256, rows, table_name, lines_read, rejected,
          duplicate_of, part_table, data_dir)
        VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb, $8, $9, $10)
        ON CONFLICT (file_name) DO UPDATE SET size = EXCLUDED.size, sha256 = EXCLUDED.sha256, rows = EXCLUDED.rows,
          loaded_at = now(), table_name = EXCLUDED.table_name, lines_read = EXCLUDED.lines_read,
          rejected = EXCLUDED.rejected, duplicate_of = EXCLUDED.duplicate_of, part_table = EXCLUDED.part_table,
          data_dir = EXCLUDED.data_dir]],
        f.name, f.size, sha256(f), f.rows or 0, f.table, f.lines_read or 0,
        json.encode(json.object(f.rejected or {})), f.duplicate_of, f.part, dir)
    end
  end
end

-- The whole load, inside one transaction; returns the plan with the tables' row counts.
local function load(ctx, conn, p, files)
  return conn:transaction(function()
    conn:exec("SET LOCAL lock_timeout = '120s'")
    conn:query("SELECT pg_advisory_xact_lock($1::bigint)", schema.LOCK_KEY)
    ensure_schema(conn)
    local plan = make_plan(files, previous_files(conn), p)
    prepare(conn, p, plan)
    copy_files(ctx, conn, p, plan)
    replace_live(ctx, conn, plan)
    record_files(conn, files, p.data_dir)
    plan.counts = { categories = 0, product_categories = 0, transactions = 0 }
    for _, r in ipairs(conn:query("SELECT table_name, sum(rows)::int8 AS n FROM loaded_files GROUP BY table_name")) do
      plan.counts[r.table_name] = r.n
    end
    return plan
  end)
end

-- ---- connecting -----------------------------------------------------------------------------------------------

local ConnectError = { __tostring = function(e) return e.message end }

-- Opens the connection; fails with the server's reason (the password never appears in it).
local function connect(ctx, conninfo, label)
  local pg = require "mercado.pg"
  local conn, err = pg.connect(conninfo)
  if not conn then
    error(setmetatable({ kind = "error", message = string.format("cannot connect to %s: %s", label, err),
      permanent = err:find("authentication failed", 1, true) ~= nil or err:find("does not exist", 1, true) ~= nil },
      ConnectError), 0)
  end
  ctx.log.info("connected to %s", tostring(conn):match("%((.*)%)") or label)
  return conn
end

-- A refused connection may come back (a database still starting); bad credentials or names do not.
local function worth_retrying(err) return not err.permanent end

-- ---- reporting ------------------------------------------------------------------------------------------------

local function report(ctx, p, label, files, plan)
  local rows, totals, n = {}, {}, { load = 0, unchanged = 0, duplicate = 0 }
  for i, f in ipairs(files) do
    rows[i] = FileRow { file = f.name, table = f.table, action = f.action, size = f.size, sha256 = f.sha256,
      lines_read = f.lines_read, rows = f.rows, rejected_total = f.rejected_total,
      rejected = f.rejected and json.object(f.rejected), empty_lines = f.empty_lines, duplicate_of = f.duplicate_of,
      rejects_file = f.rejects_file }
    for reason, k in pairs(f.rejected or {}) do totals[reason] = (totals[reason] or 0) + k end
    n[f.action] = n[f.action] + 1
  end
  local tables, changed = json.object(), false
  for _, t in ipairs(schema.TABLES) do
    local appended = t.parts and #plan.drop > 0
    for _, f in ipairs(plan.by_table[t.name]) do appended = appended or f.action == "load" end
    local action = plan.rebuild[t.name] and "replaced" or appended and "appended" or "unchanged"
    changed = changed or action ~= "unchanged"
    tables[t.name] = TableRow { rows = plan.counts[t.name], action = action }
  end
  output.metadata(ctx, "data_loading_flow", "load_data", json.array(), {
    mode = p.mode, database = label, changed = changed, tables = tables, files = json.array(rows),
    rejected = json.object(totals),
  })
  if not changed then ctx.log.info("every file unchanged since the last load: nothing to do") end
  ctx.log.info("categories: %d, product categories: %d, transactions: %d; files loaded %d, unchanged %d, " ..
    "skipped as copies %d", plan.counts.categories, plan.counts.product_categories, plan.counts.transactions,
    n.load, n.unchanged, n.duplicate)
  return { status = "success", mode = p.mode, changed = changed, categories = plan.counts.categories,
    product_categories = plan.counts.product_categories, transactions = plan.counts.transactions,
    files_loaded = n.load, files_unchanged = n.unchanged, files_skipped = n.duplicate }
end

return flow.define {
  name = "data_loading",
  description = "Load the CSV files into PostgreSQL: validated, atomic, idempotent (replace or append)",
  params = {
    data_dir = { type = "path", default = "data", doc = "directory with transactions/*_Tran.csv and products/" },
    conninfo = { type = "string", default = "",
      doc = "libpq connection string (default: the PG* environment variables)" },
    mode = { type = "enum", choices = { "replace", "append" }, default = "replace",
      doc = "replace: the tables become exactly the files; append: add new files, replace changed ones" },
    force = { type = "bool", default = false, doc = "rebuild every table even when its files are unchanged" },
    pause_between_files = { type = "number", default = 0, min = 0, max = 3600,
      doc = "testing aid: seconds to wait after each file, inside the open load transaction" },
  },
  run = function(ctx, p)
    local pg = require "mercado.pg"
    local label = pg.redact(p.conninfo ~= "" and p.conninfo or "(PG* environment)")
    local files = ctx:task("find files", {}, find_files, p.data_dir)
    local conn <close> = ctx:task("connect", { retries = 2, retry_delay = 2, retry_on = worth_retrying },
      connect, ctx, p.conninfo, label)
    local plan = ctx:task("load", {}, load, ctx, conn, p, files)
    return ctx:task("report", {}, report, ctx, p, label, files, plan)
  end,
}
