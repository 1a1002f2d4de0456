-- lib/dataset.lua: loads the data set every analysis flow works on: the baskets (date, store, customer, product
-- list) and the catalog (categories, distinct product-category pairs), from CSV files or PostgreSQL, applying the
-- reader's reject policy and the selection parameters. A data set loaded once is shared with subflows through
-- ctx.shared, so the master flow reads the files once.
local cs = require "mercado.colstore"
local sys = require "mercado.sys"

local dataset = {}

-- The reader's layout of the real files (seed_spec §1).
dataset.BASKETS = {
  delimiter = "|", header = "no",
  columns = { { "date", "date" }, { "store_id", "int32" }, { "customer_id", "int32" },
    { "products", "list<int32>", sep = " " } },
  progress = "reading baskets",
}
dataset.CATEGORIES = { delimiter = "|", header = "no",
  columns = { { "category_id", "int32" }, { "category_name", "string" } } }
dataset.PRODUCT_CATEGORIES = { delimiter = "|", header = "yes",
  columns = { { "product_id", "int32" }, { "category_id", "int32" } } }

local function fail(fmt, ...) error(string.format(fmt, ...), 0) end

local function with(spec, extra)
  local s = {}
  for k, v in pairs(spec) do s[k] = v end
  for k, v in pairs(extra) do s[k] = v end
  return s
end

local function count_report(rep)
  local parts = {}
  for reason, n in pairs(rep.rejected or {}) do parts[#parts + 1] = reason .. "=" .. n end
  table.sort(parts)
  return table.concat(parts, ", ")
end

-- Reads one CSV table; a missing or unreadable file fails with the path, rejects go to <run>/rejects/<name>.txt.
local function read_table(ctx, path, spec, name)
  local st = sys.stat(path)
  if not st then fail("cannot read %s: no such file", path) end
  local rejects = ctx.run_dir .. "/rejects/" .. name .. ".txt"
  sys.mkdirs(ctx.run_dir .. "/rejects")
  local t, rep_or_err, rep = cs.read_csv(path, with(spec, { rejects_path = rejects }))
  if not t then fail("cannot read %s: %s", path, tostring(rep_or_err)) end
  return t, rep_or_err
end

local function load_csv(ctx, p)
  local dir = p.data_dir
  local st = sys.stat(dir)
  if not st or st.type ~= "directory" then fail("data directory %s does not exist (set -p data_dir=DIR)", dir) end
  local files = require("mercado.util").glob(dir .. "/transactions", "*_Tran.csv")
  if #files == 0 then fail("no transaction files %s/transactions/*_Tran.csv", dir) end
  sys.mkdirs(ctx.run_dir .. "/rejects")
  local tx, rep = cs.read_csv(files, with(dataset.BASKETS, { rejects_path = ctx.run_dir .. "/rejects/transactions.txt" }))
  if not tx then fail("cannot read the transactions: %s", tostring(rep)) end
  for _, dup in ipairs(rep.skipped_duplicates) do
    ctx.log.warning("skipped %s: byte-identical to %s", dup.path, dup.duplicate_of)
  end
  if rep.rejected_total > 0 then
    ctx.log.warning("rejected %d of %d transaction lines (%s); see %s", rep.rejected_total, rep.lines_read,
      count_report(rep), rep.rejects_path)
  end
  local cats, crep = read_table(ctx, dir .. "/products/Categories.csv", dataset.CATEGORIES, "categories")
  local pc, prep = read_table(ctx, dir .. "/products/ProductCategory.csv", dataset.PRODUCT_CATEGORIES, "product_categories")
  for _, r in ipairs { { "categories", crep }, { "product categories", prep } } do
    if r[2].rejected_total > 0 then
      ctx.log.warning("rejected %d %s lines (%s); see %s", r[2].rejected_total, r[1], count_report(r[2]), r[2].rejects_path)
    end
  end
  return { tx = tx, categories = cats, product_categories = pc,
    input = { transactions = rep, categories = crep, product_categories = prep } }
end

local function load_postgres(ctx, p)
  local pg = require "mercado.pg"
  if not pg.connect then fail("this build has no PostgreSQL module") end
  local load = require "lib.pg_source"
  return load(ctx, p)
end

-- Applies the stores/date selection to the baskets.
local function select(ds, p)
  local conds = {}
  if p.stores and #p.stores > 0 then conds[#conds + 1] = { "store_id", "in", p.stores } end
  if p.date_from and p.date_from ~= "" then conds[#conds + 1] = { "date", ">=", p.date_from } end
  if p.date_to and p.date_to ~= "" then conds[#conds + 1] = { "date", "<=", p.date_to } end
  if #conds > 0 then ds.tx = ds.tx:filter(conds) end
  return ds
end

local function cache_key(p)
  return table.concat({ p.source, p.data_dir, p.conninfo or "", table.concat(p.stores or {}, ","), p.date_from or "",
    p.date_to or "" }, "\0")
end

-- Whether a loading error is worth retrying: a lost or refused database connection, not a missing or bad file.
function dataset.transient(err)
  if type(err) ~= "table" then return false end
  local sqlstate = err.sqlstate or (type(err.message) == "string" and err.message:match("pg: (%w%w%w%w%w)"))
  return err.connection_lost == true or (type(sqlstate) == "string" and sqlstate:sub(1, 2) == "08")
end

-- Task options for loading: retried once, after 5 s, when the failure is transient.
dataset.LOAD_TASK = { retries = 1, retry_delay = 5, retry_on = dataset.transient }

-- dataset.load(ctx, p) -> {tx, categories, product_categories, input}. Reuses ctx.shared's copy when a parent flow
-- already loaded the same data with the same selection.
function dataset.load(ctx, p)
  local key = cache_key(p)
  local shared = ctx.shared.datasets
  if shared and shared[key] then
    ctx.log.debug("using the data set loaded by the parent flow")
    return shared[key]
  end
  local base_key = cache_key { source = p.source, data_dir = p.data_dir, conninfo = p.conninfo }
  local ds = shared and shared[base_key]
  if ds then
    ds = { tx = ds.tx, categories = ds.categories, product_categories = ds.product_categories, input = ds.input }
  else
    ds = p.source == "postgres" and load_postgres(ctx, p) or load_csv(ctx, p)
    ctx.log.info("loaded %d baskets, %d units, %d categories, %d catalog rows", #ds.tx,
      ds.tx:column("products"):nitems(), #ds.categories, #ds.product_categories)
  end
  if #ds.tx == 0 then
    fail("no baskets in the input: every transaction line was empty or rejected (see the rejects files under %s)",
      ctx.run_dir .. "/rejects")
  end
  ds = select(ds, p)
  if #ds.tx == 0 then fail("no baskets left after the selection (stores/date_from/date_to)") end
  ctx.shared.datasets = ctx.shared.datasets or {}
  ctx.shared.datasets[key] = ds
  return ds
end

-- Per-customer aggregates the analysis pipelines share, computed once per data set (one native pass over the
-- baskets): customer_id (ascending), baskets, units, stores (distinct stores), mean_basket, owned (sorted distinct
-- products).
function dataset.customers(ds)
  if not ds.customer_table then
    local tx = ds.tx
    local sizes = tx:column("products"):lengths()
    ds.customer_table = tx:group_by("customer_id", { { "baskets", "count" }, { "units", "sum", sizes },
      { "stores", "count_distinct", "store_id" }, { "mean_basket", "mean", sizes },
      { "owned", "collect_distinct", "products" } })
  end
  return ds.customer_table
end

-- Baskets per customer (customer_id, baskets): from the shared aggregates when a pipeline computed them, else a
-- count alone (a fraction of their cost: the executive summary needs nothing else).
function dataset.customer_baskets(ds)
  if ds.customer_table then return ds.customer_table:select { "customer_id", "baskets" } end
  return ds.tx:group_by("customer_id", { { "baskets", "count" } })
end

-- Each customer's sorted distinct products: a list column aligned with the rows of dataset.customers(ds).
function dataset.owned_products(ds)
  return dataset.customers(ds):column("owned")
end

-- Units sold per product (product_id, units), ascending product id, computed once per data set.
function dataset.product_units(ds)
  if not ds.product_unit_table then
    ds.product_unit_table = ds.tx:group_by("products", { { "units", "count" } }):rename("products", "product_id")
  end
  return ds.product_unit_table
end

-- Input statistics for metadata files: lines read, kept and rejected per reason, per file and in total.
function dataset.input_summary(ds)
  local function file_rows(rep)
    local out = {}
    for i, f in ipairs(rep.files or {}) do
      out[i] = { file = f.path, lines_read = f.lines_read, kept = f.kept, rejected = f.rejected,
        empty_lines = f.empty_lines, skipped_duplicate_of = f.duplicate_of }
    end
    return out
  end
  local out = {}
  for name, rep in pairs(ds.input or {}) do
    out[name] = { lines_read = rep.lines_read, kept = rep.kept, rejected_total = rep.rejected_total,
      rejected = rep.rejected, files = file_rows(rep), rejects_file = rep.rejects_path }
  end
  return out
end

return dataset
