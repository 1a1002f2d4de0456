-- lib/pg_source.lua: the PostgreSQL data source (source = "postgres"): reads the tables flows/data_loading.lua
-- fills into colstore tables shaped exactly as the CSV source's (same columns, types and row order), so every flow
-- gives the same JSON from either source. The three tables are read in one read-only snapshot taken after locking
-- them, so a load committing meanwhile is seen whole or not at all.
local json = require "mercado.json"
local schema = require "lib.pg_schema"

local function fail(fmt, ...) error(string.format(fmt, ...), 0) end

-- The reader's report shape (dataset.input_summary) for a table read from PostgreSQL, with the loader's
-- per-file counts from loaded_files when it has them.
local function input_report(conn, table_name, kept, have_records)
  local rep = { source = "postgres", table = table_name, kept = kept, lines_read = 0, rejected = {},
    rejected_total = 0, empty_lines = 0, files = {}, skipped_duplicates = {} }
  if have_records then
    local rows = conn:query([[SELECT file_name, size, rows, lines_read, rejected::text AS rejected, duplicate_of
      FROM loaded_files WHERE table_name = $1 ORDER BY file_name COLLATE "C"]], table_name)
    for i, r in ipairs(rows) do
      local rejected, total = json.decode(r.rejected or "{}"), 0
      for reason, n in pairs(rejected) do
        total = total + n
        rep.rejected[reason] = (rep.rejected[reason] or 0) + n
      end
      rep.files[i] = { path = r.file_name, bytes = r.size, lines_read = r.lines_read, kept = r.rows,
        rejected = rejected, rejected_total = total, empty_lines = 0, duplicate_of = r.duplicate_of }
      rep.lines_read = rep.lines_read + r.lines_read
      rep.rejected_total = rep.rejected_total + total
      if r.duplicate_of then rep.skipped_duplicates[#rep.skipped_duplicates + 1] = r.file_name end
    end
  end
  if rep.lines_read < kept then rep.lines_read = kept + rep.rejected_total end
  return rep
end

-- Reads a query's result as a colstore table; fails with the server's reason.
local function read_table(conn, sql, opts)
  local ok, t = pcall(conn.query_table, conn, sql, opts or {})
  if not ok then fail("cannot read PostgreSQL: %s", type(t) == "table" and t.message or tostring(t)) end
  return t
end

-- The join that gives each transactions row its file's rank: the child tables in file-name order (a child no
-- loaded_files row names comes last), rows of the table itself (the old loader's layout) rank 0. Only integers
-- read from the catalog are spliced in.
local function file_rank_join(conn, records)
  local names = {}
  if records then
    for _, r in ipairs(conn:query([[SELECT part_table, file_name FROM loaded_files
        WHERE table_name = 'transactions' AND part_table IS NOT NULL]])) do
      names[r.part_table] = r.file_name
    end
  end
  local parts = schema.parts(conn)
  for _, part in ipairs(parts) do part.key = names[part.name] or ("\255" .. part.name) end
  table.sort(parts, function(a, b) return a.key < b.key end)
  local ranks = { "(0::int8, 0)" }
  for i, part in ipairs(parts) do ranks[#ranks + 1] = string.format("(%d::int8, %d)", math.tointeger(part.oid), i) end
  return " LEFT JOIN (VALUES " .. table.concat(ranks, ", ") .. ") AS r(part, file_rank) ON r.part = t.tableoid::int8"
end

local function read_all(ctx, conn)
  conn:exec("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
  for _, t in ipairs(schema.TABLES) do
    if not schema.exists(conn, t.name) then
      fail("the database has no %s table: load the data first (mercado run data_loading -p conninfo=...)", t.name)
    end
  end
  -- LOCK takes no snapshot: the snapshot of the next statement sees any load that committed before the lock
  conn:exec("LOCK TABLE categories, product_categories, transactions IN ACCESS SHARE MODE")
  local records = schema.exists(conn, "loaded_files")
  local ordered = schema.columns(conn, "transactions").source_row
  local tx = read_table(conn, "SELECT t.transaction_date::date AS date, t.store_id::int AS store_id, "
    .. "t.customer_id::int AS customer_id, t.products::text AS products"
    .. (ordered and ", coalesce(r.file_rank, 0) AS file_rank, t.source_row" or "") .. " FROM transactions t"
    .. (ordered and file_rank_join(conn, records) or ""),
    { list_columns = { products = " " }, allow_null = { "source_row" } })
  if ordered then
    tx = tx:sort { "file_rank", "source_row" }:select { "date", "store_id", "customer_id", "products" }
  else
    ctx.log.warning("the transactions table has no source_row column (not loaded by data_loading): rows are read "
      .. "in the table's order")
  end
  local function by_row(name)
    return schema.columns(conn, name).source_row and " ORDER BY source_row" or ""
  end
  local categories = read_table(conn, "SELECT category_id::int AS category_id, category_name::text AS category_name "
    .. "FROM categories" .. by_row("categories"), { allow_null = { "category_name" } })
  local pc = read_table(conn, "SELECT product_id::int AS product_id, category_id::int AS category_id FROM "
    .. "product_categories" .. by_row("product_categories"))
  return { tx = tx, categories = categories, product_categories = pc, input = {
    transactions = input_report(conn, "transactions", #tx, records),
    categories = input_report(conn, "categories", #categories, records),
    product_categories = input_report(conn, "product_categories", #pc, records),
  } }
end

-- source(ctx, p) -> {tx, categories, product_categories, input}, as dataset.load's CSV source returns.
return function(ctx, p)
  local pg = require "mercado.pg"
  local label = pg.redact(p.conninfo ~= "" and p.conninfo or "(PG* environment)")
  local conn, err = pg.connect(p.conninfo)
  if not conn then fail("cannot connect to %s: %s", label, err) end
  ctx.log.info("reading PostgreSQL %s", tostring(conn):match("%((.*)%)") or label)
  local ok, res = pcall(conn.transaction, conn, read_all, ctx, conn)
  conn:close()
  if not ok then error(type(res) == "table" and res.message and res or tostring(res), 0) end
  return res
end
