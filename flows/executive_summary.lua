-- executive_summary.lua: the executive summary (seed_spec §3.2): totals and the top-N products, customers, peak
-- days and categories, written to <output>/summary/ in the dashboard's format, with the old system's bugs fixed
-- (README, "Catalog policy" and "Ties").
local flow = require "mercado.flow"
local json = require "mercado.json"
local dataset = require "lib.dataset"
local catalog = require "lib.catalog"
local output = require "lib.output"
local shared_params = require "lib.params"

local ProductRow = json.shape { "product_id", "category_id", "category_name", "total_sold", "categories" }
local CategoryRef = json.shape { "category_id", "category_name" }
local CategoryRow = json.shape { "category_id", "category_name", "total_volume" }
local CatalogRow = json.shape { "category_id", "category_name", "num_products" }

local function write_basic_metrics(ctx, ds)
  local tx = ds.tx
  ctx:write_json("summary/basic_metrics.json", json.shape { "total_transactions", "total_sales_units" } {
    total_transactions = #tx, total_sales_units = tx:column("products"):nitems() })
  return "basic_metrics.json"
end

-- Products by units sold; one row per product with its primary (smallest) category and all its categories.
local function write_top_products(ctx, ds, n)
  local top = dataset.product_units(ds):top(n, { { "units", "desc" }, { "product_id", "asc" } }):rows()
  local ids = {}
  for i, r in ipairs(top) do r.value, r.count = r.product_id, r.units; ids[i] = r.value end
  local cats, names = catalog.categories_of(ds, ids), catalog.names(ds)
  local data = {}
  for i, r in ipairs(top) do
    local refs = json.array()
    for _, c in ipairs(cats[r.value] or {}) do refs[#refs + 1] = CategoryRef { category_id = c, category_name = names[c] } end
    local primary = refs[1]
    data[i] = ProductRow { product_id = r.value, category_id = primary and primary.category_id,
      category_name = primary and primary.category_name, total_sold = r.count, categories = refs }
  end
  return output.top(ctx, "products", n, json.array(data))
end

local function write_top_customers(ctx, ds, n)
  local top = dataset.customer_baskets(ds):top(n, { { "baskets", "desc" }, { "customer_id", "asc" } })
  return output.top(ctx, "customers", n, top:rename("baskets", "total_purchases"))
end

local function write_peak_days(ctx, ds, n)
  local tx = ds.tx
  local by_baskets = tx:column("date"):value_counts():head(n):rename("value", "date"):rename("count", "num_transactions")
  local by_units = tx:group_by("date", { { "total_products_sold", "sum", tx:column("products"):lengths() } })
    :top(n, { { "total_products_sold", "desc" }, { "date", "asc" } })
  return output.top(ctx, "peak_days", n, by_baskets), output.top(ctx, "peak_days_by_products", n, by_units)
end

-- Category volumes: a unit counts once for each distinct category of its product; unmapped units apart.
local function write_top_categories(ctx, ds, n)
  local tx = ds.tx
  local volumes, mapped = catalog.volumes(ds, dataset.product_units(ds))
  local names = catalog.names(ds)
  local data = {}
  for i, r in ipairs(volumes:top(n, { { "volume", "desc" }, { "category_id", "asc" } }):rows()) do
    data[i] = CategoryRow { category_id = r.category_id, category_name = names[r.category_id], total_volume = r.volume }
  end
  local unmapped = tx:column("products"):nitems() - mapped:column("units"):sum()
  ctx.log.info("%d units of products with no category (reported as unmapped_volume)", unmapped)
  return output.top(ctx, "categories", n, json.array(data), { unmapped_volume = unmapped })
end

-- Catalog products per category (distinct products, duplicate rows counted once).
local function write_catalog_categories(ctx, ds, n)
  local per = catalog.pairs(ds):group_by("category_id", { { "num_products", "count" } })
  local named = per:join(ds.categories, { on = "category_id", columns = { "category_name" } })
  local data = {}
  for i, r in ipairs(named:top(n, { { "num_products", "desc" }, { "category_id", "asc" } }):rows()) do
    data[i] = CatalogRow { category_id = r.category_id, category_name = r.category_name, num_products = r.num_products }
  end
  return output.top(ctx, "categories_by_products", n, json.array(data))
end

return flow.define {
  name = "executive_summary",
  description = "Totals and top-N products, customers, days and categories (summary/*.json)",
  params = shared_params.with(shared_params.selection(), {
    top_n = { type = "int", default = 10, min = 1, max = 1000, doc = "length of every top-N list" },
  }),
  run = function(ctx, p)
    local ds = ctx:task("load data", dataset.LOAD_TASK, dataset.load, ctx, p)
    local files = {}
    ctx:task("write summary", {}, function()
      files[#files + 1] = write_basic_metrics(ctx, ds)
      files[#files + 1] = write_top_products(ctx, ds, p.top_n)
      files[#files + 1] = write_top_customers(ctx, ds, p.top_n)
      local days, days_units = write_peak_days(ctx, ds, p.top_n)
      files[#files + 1] = days
      files[#files + 1] = days_units
      files[#files + 1] = write_top_categories(ctx, ds, p.top_n)
      files[#files + 1] = write_catalog_categories(ctx, ds, p.top_n)
    end)
    ctx:task("write metadata", {}, function()
      output.metadata(ctx, "executive_summary_pipeline", "generate_executive_summary", json.array(files),
        { input = dataset.input_summary(ds) })
    end)
    return { status = "success", pipeline = "executive_summary" }
  end,
}
