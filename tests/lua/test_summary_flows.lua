-- test_summary_flows.lua: executive_summary and analytics on the hand-worked fixture (tests/fixtures/summary,
-- every expected value derived by hand from its eight baskets), plus determinism (two runs byte-identical apart
-- from timestamps) and the reference files' keys and value types (when ../shared is present).
package.path = (os.getenv("MERCADO_SOURCE_ROOT") or ".") .. "/tests/lib/?.lua;" .. package.path
local T = require "testlib"
local json = require "mercado.json"
local sys = require "mercado.sys"

local FIXTURE = T.root .. "/tests/fixtures/summary"
local dir = T.tmpdir("summary")

local function run(flow, out, extra)
  local args = { "run", flow, "-p", "data_dir=" .. FIXTURE, "--output", out, "-q" }
  for _, a in ipairs(extra or {}) do args[#args + 1] = a end
  local code, _, err = T.mercado(args, { dir = dir })
  T.eq(code, 0, flow .. " exit code: " .. tostring(err))
end

local function load(out, rel)
  local text = T.read(dir .. "/" .. out .. "/" .. rel)
  T.check(text ~= nil, "%s written", rel)
  return text and json.decode(text), text
end

local function pluck(rows, ...)
  local keys = { ... }
  local out = {}
  for _, r in ipairs(rows) do
    local parts = {}
    for _, k in ipairs(keys) do parts[#parts + 1] = tostring(r[k] == json.null and "null" or r[k]) end
    out[#out + 1] = table.concat(parts, ":")
  end
  return table.concat(out, " ")
end

run("executive_summary", "a")
run("analytics", "a")

-- executive summary, by hand
do
  local basic, text = load("a", "summary/basic_metrics.json")
  T.eq(text, '{\n  "total_transactions": 8,\n  "total_sales_units": 18\n}', "basic_metrics text (no wrapper, no timestamp)")
  local p = load("a", "summary/top_10_products.json")
  T.eq(p.type, "products", "products wrapper type")
  T.eq(p.top_n, 10, "top_n")
  T.eq(pluck(p.data, "product_id", "total_sold"), "11:5 10:4 20:4 12:3 13:2", "distinct products, ties by id")
  T.eq(p.data[1].category_id, 1, "primary category is the smallest id")
  T.eq(p.data[1].category_name, "FRUTAS", "primary category name")
  T.eq(pluck(p.data[1].categories, "category_id", "category_name"), "1:FRUTAS 2:LACTEOS", "all categories listed")
  T.eq(p.data[3].category_id, json.null, "unmapped product has a null category")
  T.eq(#p.data[3].categories, 0, "unmapped product has no categories")
  T.check(p.generated_at and p.generated_at:match("^%d%d%d%d%-%d%d%-%d%dT%d%d:%d%d:%d%d%.%d%d%d%d%d%d$"), "generated_at format")
  local c = load("a", "summary/top_10_customers.json")
  T.eq(pluck(c.data, "customer_id", "total_purchases"), "1:3 2:2 3:1 4:1 5:1", "top customers")
  local d = load("a", "summary/top_10_peak_days.json")
  T.eq(pluck(d.data, "date", "num_transactions"), "2013-01-01:2 2013-01-02:2 2013-02-01:2 2013-01-06:1 2013-01-07:1", "peak days")
  local du = load("a", "summary/top_10_peak_days_by_products.json")
  T.eq(pluck(du.data, "date", "total_products_sold"), "2013-01-01:6 2013-02-01:5 2013-01-02:3 2013-01-07:3 2013-01-06:1",
    "peak days by units")
  local cat = load("a", "summary/top_10_categories.json")
  T.eq(pluck(cat.data, "category_id", "category_name", "total_volume"), "1:FRUTAS:9 2:LACTEOS:8 3:ASEO, HOGAR:2",
    "category volumes: once per distinct category, duplicate rows once")
  T.eq(cat.unmapped_volume, 4, "unmapped units beside the list")
  local cp = load("a", "summary/top_10_categories_by_products.json")
  T.eq(pluck(cp.data, "category_id", "num_products"), "1:2 2:2 3:2", "catalog products per category (ties by id)")
  local meta = load("a", "metadata/executive_summary_pipeline_generate_executive_summary.json")
  T.eq(meta.status, "success", "metadata status")
  T.eq(#meta.files_generated, 7, "metadata lists 7 files")
  T.eq(meta.input.transactions.kept, 8, "metadata input rows")
end

-- analytics, by hand
do
  local daily = load("a", "analytics/daily_sales.json")
  T.eq(pluck(daily.data, "date", "num_transacciones", "clientes_unicos"),
    "2013-01-01:2:2 2013-01-02:2:2 2013-01-06:1:1 2013-01-07:1:1 2013-02-01:2:2", "daily series")
  T.eq(daily.statistics.promedio, 1.6, "daily mean")
  T.eq(math.type(daily.statistics.minimo), "float", "statistics are floats")
  T.eq(daily.statistics.maximo, 2.0, "daily max")
  local weekly = load("a", "analytics/weekly_sales.json")
  T.eq(pluck(weekly.data, "year", "week", "num_transacciones", "inicio_semana", "fin_semana"),
    "2013:1:5:2013-01-01:2013-01-06 2013:2:1:2013-01-07:2013-01-07 2013:5:2:2013-02-01:2013-02-01", "ISO weeks")
  T.eq(weekly.statistics.promedio, 8 / 3, "weekly mean")
  local monthly = load("a", "analytics/monthly_sales.json")
  T.eq(pluck(monthly.data, "year", "month", "month_name", "num_transacciones", "date"),
    "2013:1:January:6:2013-01 2013:2:February:2:2013-02", "monthly series (zero-padded date)")
  local dow = load("a", "analytics/day_of_week_patterns_distribution.json")
  T.eq(pluck(dow.data, "day_of_week", "day_name", "num_transacciones"),
    "1:Sunday:1 2:Monday:1 3:Tuesday:2 4:Wednesday:2 6:Friday:2", "day-of-week pattern (1 = Sunday)")
  local cbs = load("a", "analytics/category_products_by_store_distribution.json")
  T.eq(pluck(cbs.data, "category_id", "store_id", "total_products_sold"), "1:102:5 1:103:4 2:102:4 2:103:4 3:102:1 3:103:1",
    "category volumes by store")
  T.eq(pluck(cbs.unmapped_by_store, "store_id", "total_products_sold"), "102:3 103:1", "unmapped units by store")
  local cust = load("a", "analytics/customer_purchase_distribution.json")
  T.eq(pluck(cust.data, "customer_id", "total_products_purchased"), "1:8 2:5 3:3 4:1 5:1", "units per customer")
  local box = load("a", "analytics/customer_purchase_boxplot.json").groups[1]
  T.eq(table.concat({ box.min, box.q1, box.median, box.q3, box.max, box.mean, box.whisker_low, box.whisker_high,
    box.outliers_low + box.outliers_high }, ","), "1.0,1.0,3.0,5.0,8.0,3.6,1.0,8.0,0", "customer boxplot")
  local sbox = load("a", "analytics/basket_size_by_store_boxplot.json").groups
  T.eq(table.concat({ sbox[1].group, sbox[1].q1, sbox[1].median, sbox[1].q3, sbox[2].group, sbox[2].q1, sbox[2].median,
    sbox[2].q3 }, ","), "102,2.5,3.0,3.0,103,1.0,1.5,2.5", "basket size boxplots by store")
  local corr = load("a", "analytics/variable_correlation.json")
  local m = corr.correlation_data.matrix
  -- Pearson of the hand-derived per-customer table (frequency 3 2 1 1 1; units 8 5 3 1 1; distinct 5 3 2 1 1;
  -- mean basket 8/3 2.5 3 1 1; stores 2 2 1 1 1), computed with a two-pass formula on a calculator
  local want = {
    frequency = { total_products = 0.9610674108416215, diversity = 0.9688220019325384, avg_quantity = 0.5044978417091162, unique_stores = 0.9185586535436918 },
    total_products = { diversity = 0.9972059179814081, avg_quantity = 0.7225311573039034, unique_stores = 0.8924133096001624 },
    diversity = { avg_quantity = 0.6897212200924248, unique_stores = 0.8728715609439693 },
    avg_quantity = { unique_stores = 0.5228225066826944 },
  }
  for a, row in pairs(want) do
    for b, r in pairs(row) do
      T.near(m[a][b], r, 1e-12, "corr " .. a .. "/" .. b)
      T.near(m[b][a], r, 1e-12, "corr " .. b .. "/" .. a)
    end
    T.eq(m[a][a], 1.0, "diagonal " .. a)
  end
  T.eq(corr.correlation_data.variable_names.frequency, "Frecuencia (nº transacciones)", "variable names")
end

-- selection parameters: one store, a date range
do
  run("executive_summary", "b", { "-p", "stores=103", "-p", "date_to=2013-01-31" })
  local basic = load("b", "summary/basic_metrics.json")
  T.eq(basic.total_transactions, 2, "store 103 in January: 2 baskets")
  T.eq(basic.total_sales_units, 3, "store 103 in January: 3 units")
  local code, _, err = T.mercado({ "run", "executive_summary", "-p", "data_dir=" .. FIXTURE, "-p", "date_from=2013-02-30",
    "--output", "c" }, { dir = dir })
  T.eq(code, 2, "impossible date_from is a usage error")
  T.contains(err, "date_from", "the parameter is named")
  local code2, _, err2 = T.mercado({ "run", "executive_summary", "-p", "data_dir=" .. dir .. "/nope", "--output", "c", "-q" },
    { dir = dir })
  T.eq(code2, 1, "missing data directory fails the flow")
  T.contains(err2, dir .. "/nope", "missing directory named")
end

-- determinism: a second run gives byte-identical files apart from timestamps
do
  run("executive_summary", "d")
  run("analytics", "d")
  for _, rel in ipairs(sys.glob(dir .. "/a/summary/*.json")) do
    local name = rel:match("summary/.*$")
    local a = T.read(dir .. "/a/" .. name):gsub('"generated_at": "[^"]*"', "")
    local b = T.read(dir .. "/d/" .. name):gsub('"generated_at": "[^"]*"', "")
    T.eq(a, b, "identical " .. name)
  end
  for _, rel in ipairs(sys.glob(dir .. "/a/analytics/*.json")) do
    local name = rel:match("analytics/.*$")
    local a = T.read(dir .. "/a/" .. name):gsub('"generated_at": "[^"]*"', "")
    local b = T.read(dir .. "/d/" .. name):gsub('"generated_at": "[^"]*"', "")
    T.eq(a, b, "identical " .. name)
  end
end

-- the reference files' keys and value types (the dashboard's contract)
local REF = T.root .. "/../shared/reference"
if sys.stat(REF .. "/summary/top_10_products.json") then
  local function kind(v)
    if v == json.null then return "null" end
    if math.type(v) then return math.type(v) end
    return type(v)
  end
  -- every key of the reference exists in ours with a compatible type (null in the reference matches anything;
  -- arrays are compared element 1 with element 1)
  local function walk(ref, ours, path)
    local rk, ok_ = kind(ref), kind(ours)
    if rk == "null" then return end
    if rk == "float" and ok_ == "integer" then ok_ = "float" end -- integral values print as ints where Spark did
    if not T.check(rk == ok_ or (rk == "integer" and ok_ == "float" and path:find("statistics")), "%s: reference %s, ours %s", path, rk, ok_) then return end
    if rk == "table" then
      if ref[1] ~= nil then
        if ours[1] ~= nil then walk(ref[1], ours[1], path .. "[1]") end
      else
        for k, v in pairs(ref) do
          T.check(ours[k] ~= nil, "%s.%s missing", path, k)
          if ours[k] ~= nil then walk(v, ours[k], path .. "." .. k) end
        end
      end
    end
  end
  for _, f in ipairs(sys.glob(REF .. "/summary/*.json")) do
    local rel = f:sub(#REF + 2)
    walk(json.decode(T.read(f)), load("a", rel), rel)
  end
  for _, f in ipairs(sys.glob(REF .. "/analytics/*.json")) do
    local rel = f:sub(#REF + 2)
    walk(json.decode(T.read(f)), load("a", rel), rel)
  end
else
  print("skip: ../shared/reference is absent (a user's clone); the reference shape checks need it")
end

T.done()
