-- analytics.lua: temporal analytics (seed_spec §3.3): daily, weekly (ISO weeks) and monthly series,
-- day-of-week pattern, category volumes by store, the per-customer purchase distribution with boxplot summaries,
-- and the correlation of per-customer variables, written to <output>/analytics/ in the dashboard's format.
local flow = require "mercado.flow"
local json = require "mercado.json"
local stats = require "mercado.stats"
local dataset = require "lib.dataset"
local catalog = require "lib.catalog"
local output = require "lib.output"
local shared_params = require "lib.params"

local MONTHS = { "January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
  "November", "December" }
local DAYS = { "Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday" }

local MonthRow = json.shape { "year", "month", "month_name", "num_transacciones", "date" }
local DayRow = json.shape { "day_of_week", "day_name", "num_transacciones" }
local StoreCategoryRow = json.shape { "category_id", "category_name", "store_id", "total_products_sold" }
local StoreUnitsRow = json.shape { "store_id", "total_products_sold" }
local Correlation = json.shape { "matrix_name", "correlation_data", "reasons", "generated_at" }
local CorrelationData = json.shape { "variables", "variable_names", "matrix" }
local Boxplot = json.shape { "boxplot_name", "value_column", "unit", "group_column", "groups", "generated_at" }
local BoxGroup = json.shape { "group", "count", "min", "q1", "median", "q3", "max", "mean", "iqr", "whisker_low",
  "whisker_high", "outliers_low", "outliers_high" }

local VARIABLES = { "frequency", "total_products", "diversity", "avg_quantity", "unique_stores" }
local VARIABLE_NAMES = json.shape(VARIABLES) {
  frequency = "Frecuencia (nº transacciones)", total_products = "Total Productos",
  diversity = "Diversidad (productos únicos)", avg_quantity = "Cantidad Promedio", unique_stores = "Tiendas Únicas",
}

-- daily_sales, weekly_sales (ISO week with its ISO year), monthly_sales; returns the daily table for later use.
local function write_series(ctx, tx, files)
  local daily = tx:group_by("date", { { "num_transacciones", "count" }, { "clientes_unicos", "count_distinct", "customer_id" } })
  files[#files + 1] = output.series(ctx, "daily_sales", "date", "num_transacciones", daily, daily:column("num_transacciones"))
  local dates = daily:column("date")
  local weekly = daily:with("year", dates:iso_year()):with("week", dates:iso_week())
    :group_by({ "year", "week" }, { { "num_transacciones", "sum", "num_transacciones" },
      { "inicio_semana", "min", "date" }, { "fin_semana", "max", "date" } })
  files[#files + 1] = output.series(ctx, "weekly_sales", "inicio_semana", "num_transacciones", weekly,
    weekly:column("num_transacciones"))
  local monthly = daily:with("year", dates:year()):with("month", dates:month())
    :group_by({ "year", "month" }, { { "num_transacciones", "sum", "num_transacciones" } })
  local rows = {}
  for i, r in ipairs(monthly:rows()) do
    rows[i] = MonthRow { year = r.year, month = r.month, month_name = MONTHS[r.month], num_transacciones = r.num_transacciones,
      date = string.format("%04d-%02d", r.year, r.month) }
  end
  files[#files + 1] = output.series(ctx, "monthly_sales", "date", "num_transacciones", json.array(rows),
    monthly:column("num_transacciones"))
  return daily
end

local function write_day_of_week(ctx, daily, files)
  local by_day = daily:with("day_of_week", daily:column("date"):day_of_week())
    :group_by("day_of_week", { { "num_transacciones", "sum", "num_transacciones" } })
  local rows = {}
  for i, r in ipairs(by_day:rows()) do
    rows[i] = DayRow { day_of_week = r.day_of_week, day_name = DAYS[r.day_of_week], num_transacciones = r.num_transacciones }
  end
  files[#files + 1] = output.distribution(ctx, "day_of_week_patterns", json.array(rows))
end

-- Units by (category, store) under the catalog policy; units of unmapped products per store beside the list.
local function write_category_by_store(ctx, ds, files)
  local store_units = ds.tx:group_by({ "store_id", "products" }, { { "units", "count" } }):rename("products", "product_id")
  local volumes, mapped = catalog.volumes(ds, store_units, "store_id")
  local names = catalog.names(ds)
  local rows = {}
  for i, r in ipairs(volumes:rows()) do
    rows[i] = StoreCategoryRow { category_id = r.category_id, category_name = names[r.category_id], store_id = r.store_id,
      total_products_sold = r.volume }
  end
  local all_by_store = store_units:group_by("store_id", { { "units", "sum", "units" } }):rows()
  local mapped_by_store = {}
  for _, r in ipairs(mapped:group_by("store_id", { { "units", "sum", "units" } }):rows()) do mapped_by_store[r.store_id] = r.units end
  local unmapped = {}
  for i, r in ipairs(all_by_store) do
    unmapped[i] = StoreUnitsRow { store_id = r.store_id, total_products_sold = r.units - (mapped_by_store[r.store_id] or 0) }
  end
  files[#files + 1] = output.distribution(ctx, "category_products_by_store", json.array(rows),
    { unmapped_by_store = json.array(unmapped) })
end

-- Per-customer variables, from the data set's shared per-customer aggregates.
local function customer_variables(ds)
  local c = dataset.customers(ds)
  local cs = require "mercado.colstore"
  return cs.table { { "customer_id", c:column("customer_id") }, { "frequency", c:column("baskets") },
    { "total_products", c:column("units") }, { "diversity", dataset.owned_products(ds):lengths() },
    { "avg_quantity", c:column("mean_basket") }, { "unique_stores", c:column("stores") } }
end

local function box_group(group, b)
  local r = BoxGroup { group = group }
  for _, k in ipairs { "count", "min", "q1", "median", "q3", "max", "mean", "iqr", "whisker_low", "whisker_high",
    "outliers_low", "outliers_high" } do r[k] = b[k] end
  return r
end

local function write_customer_distribution(ctx, tx, customers, files)
  local dist = customers:select { "customer_id", "total_products" }:rename("total_products", "total_products_purchased")
    :sort { { "total_products_purchased", "desc" }, { "customer_id", "asc" } }
  files[#files + 1] = output.distribution(ctx, "customer_purchase", dist)
  local box = stats.boxplot(customers:column("total_products"))
  files[#files + 1] = output.analytics(ctx, "customer_purchase_boxplot.json", Boxplot {
    boxplot_name = "customer_purchase", value_column = "total_products_purchased", unit = "products per customer",
    groups = json.array { box_group("all", box) }, generated_at = output.timestamp() })
  local groups = {}
  for i, b in ipairs(stats.boxplot(tx:column("products"):lengths(), tx:column("store_id"))) do
    groups[i] = box_group(b.group, b)
  end
  files[#files + 1] = output.analytics(ctx, "basket_size_by_store_boxplot.json", Boxplot {
    boxplot_name = "basket_size_by_store", value_column = "basket_size", unit = "products per basket",
    group_column = "store_id", groups = json.array(groups), generated_at = output.timestamp() })
end

-- Pearson correlation of the per-customer variables; a constant variable gets null for its own row and column.
local function write_correlation(ctx, customers, files)
  local corr = stats.correlation(customers, VARIABLES)
  local matrix = json.shape(VARIABLES)()
  for _, v1 in ipairs(VARIABLES) do
    local row = json.shape(VARIABLES)()
    for _, v2 in ipairs(VARIABLES) do row[v2] = corr.matrix[v1] and corr.matrix[v1][v2] end
    matrix[v1] = row
  end
  local reasons = json.object()
  for k, v in pairs(corr.reasons or {}) do reasons[k] = v end
  files[#files + 1] = output.analytics(ctx, "variable_correlation.json", Correlation {
    matrix_name = "variable_correlation",
    correlation_data = CorrelationData { variables = json.array(VARIABLES), variable_names = VARIABLE_NAMES, matrix = matrix },
    reasons = reasons, generated_at = output.timestamp() })
end

return flow.define {
  name = "analytics",
  description = "Daily/weekly/monthly series, weekday pattern, distributions, correlations (analytics/*.json)",
  params = shared_params.with(shared_params.selection(), {
    top_n = { type = "int", default = 10, min = 1, max = 1000, doc = "kept for symmetry with executive_summary" },
  }),
  run = function(ctx, p)
    local ds = ctx:task("load data", dataset.LOAD_TASK, dataset.load, ctx, p)
    local files = {}
    ctx:task("write time series", {}, function()
      local daily = write_series(ctx, ds.tx, files)
      write_day_of_week(ctx, daily, files)
    end)
    ctx:task("write category volumes by store", {}, write_category_by_store, ctx, ds, files)
    ctx:task("write customer distributions", {}, function()
      local customers = customer_variables(ds)
      write_customer_distribution(ctx, ds.tx, customers, files)
      write_correlation(ctx, customers, files)
    end)
    ctx:task("write metadata", {}, function()
      output.metadata(ctx, "analytics_pipeline", "generate_analytics", json.array(files), {
        visualizations = json.array { "Serie de tiempo (diaria, semanal, mensual)", "Patrones por día de la semana",
          "Boxplot de tamaño de canasta por tienda", "Boxplot de compras por cliente",
          "Volumen por categoría y tienda", "Heatmap - Matriz de correlación" },
        input = dataset.input_summary(ds) })
    end)
    return { status = "success", pipeline = "analytics" }
  end,
}
