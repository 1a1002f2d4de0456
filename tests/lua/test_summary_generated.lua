-- test_summary_generated.lua: executive_summary and analytics on generated data, every figure recomputed by a
-- separate brute-force pass over the CSV text in plain Lua (its own line parsing, os.date for weekdays and ISO
-- weeks, two-pass Pearson), with none of mercado's native code.
package.path = (os.getenv("MERCADO_SOURCE_ROOT") or ".") .. "/tests/lib/?.lua;" .. package.path
local T = require "testlib"
local json = require "mercado.json"
local sys = require "mercado.sys"

local dir = T.tmpdir("gensum")
local code, _, err = T.mercado({ "gen", "--baskets", "20000", "--seed", "11", "--out", "data" }, { dir = dir })
T.eq(code, 0, "gen: " .. tostring(err))
for _, flow in ipairs { "executive_summary", "analytics" } do
  local c, _, e = T.mercado({ "run", flow, "-p", "data_dir=data", "--output", "out", "-q" }, { dir = dir })
  T.eq(c, 0, flow .. ": " .. tostring(e))
end
local function load(rel) return json.decode(T.read(dir .. "/out/" .. rel)) end

-- ---- the brute-force pass ----
local baskets, units = 0, 0
local by_product, by_customer, by_day, units_by_day, cust_day = {}, {}, {}, {}, {}
local per_customer = {} -- frequency, units, products set, stores set
local store_product = {}
local function days_since_epoch(date)
  local y, m, d = date:match("^(%d+)-(%d+)-(%d+)$")
  return os.time { year = tonumber(y), month = tonumber(m), day = tonumber(d), hour = 12 } // 86400
end
for _, path in ipairs(sys.glob(dir .. "/data/transactions/*_Tran.csv")) do
  for line in io.lines(path) do
    local date, store, cust, items = line:match("^(%d%d%d%d%-%d%d%-%d%d)|(%d+)|(%d+)|(.*)$")
    store, cust = tonumber(store), tonumber(cust)
    baskets = baskets + 1
    by_customer[cust] = (by_customer[cust] or 0) + 1
    by_day[date] = (by_day[date] or 0) + 1
    cust_day[date] = cust_day[date] or {}
    cust_day[date][cust] = true
    local pc = per_customer[cust] or { f = 0, u = 0, p = {}, s = {} }
    per_customer[cust] = pc
    pc.f, pc.s[store] = pc.f + 1, true
    for item in items:gmatch("%d+") do
      local id = tonumber(item)
      units = units + 1
      by_product[id] = (by_product[id] or 0) + 1
      units_by_day[date] = (units_by_day[date] or 0) + 1
      pc.u, pc.p[id] = pc.u + 1, true
      local key = store .. ":" .. id
      store_product[key] = (store_product[key] or 0) + 1
    end
  end
end
local cats = {} -- product -> set of categories (distinct pairs)
local header = true
for line in io.lines(dir .. "/data/products/ProductCategory.csv") do
  if header then header = false else
    local p, c = line:match("^(%d+)|(%d+)")
    p, c = tonumber(p), tonumber(c)
    cats[p] = cats[p] or {}
    cats[p][c] = true
  end
end

local function sorted_pairs(map, cmp)
  local list = {}
  for k, v in pairs(map) do list[#list + 1] = { k, v } end
  table.sort(list, cmp or function(a, b) return a[2] > b[2] or (a[2] == b[2] and a[1] < b[1]) end)
  return list
end

-- ---- executive summary ----
local basic = load("summary/basic_metrics.json")
T.eq(basic.total_transactions, baskets, "total baskets")
T.eq(basic.total_sales_units, units, "total units")
local top = sorted_pairs(by_product)
for i, r in ipairs(load("summary/top_10_products.json").data) do
  T.eq(r.product_id, top[i][1], "top product " .. i)
  T.eq(r.total_sold, top[i][2], "top product units " .. i)
  local smallest
  for c in pairs(cats[r.product_id] or {}) do if not smallest or c < smallest then smallest = c end end
  T.eq(r.category_id == json.null and "null" or r.category_id, smallest or "null", "primary category of " .. r.product_id)
end
local topc = sorted_pairs(by_customer)
for i, r in ipairs(load("summary/top_10_customers.json").data) do
  T.eq(r.customer_id .. ":" .. r.total_purchases, topc[i][1] .. ":" .. topc[i][2], "top customer " .. i)
end
local topd = sorted_pairs(by_day)
for i, r in ipairs(load("summary/top_10_peak_days.json").data) do
  T.eq(r.date .. ":" .. r.num_transactions, topd[i][1] .. ":" .. topd[i][2], "peak day " .. i)
end
local topu = sorted_pairs(units_by_day)
for i, r in ipairs(load("summary/top_10_peak_days_by_products.json").data) do
  T.eq(r.date .. ":" .. r.total_products_sold, topu[i][1] .. ":" .. topu[i][2], "peak day by units " .. i)
end
local volume, unmapped = {}, 0
for p, n in pairs(by_product) do
  if cats[p] then for c in pairs(cats[p]) do volume[c] = (volume[c] or 0) + n end
  else unmapped = unmapped + n end
end
local topcat = sorted_pairs(volume)
local catfile = load("summary/top_10_categories.json")
for i, r in ipairs(catfile.data) do
  T.eq(r.category_id .. ":" .. r.total_volume, topcat[i][1] .. ":" .. topcat[i][2], "category volume " .. i)
end
T.eq(catfile.unmapped_volume, unmapped, "unmapped volume")
local per_cat = {}
for _, cs_ in pairs(cats) do for c in pairs(cs_) do per_cat[c] = (per_cat[c] or 0) + 1 end end
local topcp = sorted_pairs(per_cat)
for i, r in ipairs(load("summary/top_10_categories_by_products.json").data) do
  T.eq(r.category_id .. ":" .. r.num_products, topcp[i][1] .. ":" .. topcp[i][2], "catalog products per category " .. i)
end

-- ---- analytics ----
local daily = load("analytics/daily_sales.json")
local days = {}
for d in pairs(by_day) do days[#days + 1] = d end
table.sort(days)
T.eq(#daily.data, #days, "one row per day")
local weeks, months, dows = {}, {}, {}
for i, d in ipairs(days) do
  local r = daily.data[i]
  local distinct = 0
  for _ in pairs(cust_day[d]) do distinct = distinct + 1 end
  T.eq(r.date .. ":" .. r.num_transacciones .. ":" .. r.clientes_unicos, d .. ":" .. by_day[d] .. ":" .. distinct, "daily " .. d)
  local t = days_since_epoch(d) * 86400 + 43200
  local wk = os.date("!%G-%V", t)
  local w = weeks[wk] or { n = 0, first = d, last = d }
  weeks[wk] = w
  w.n, w.last = w.n + by_day[d], d
  local mk = d:sub(1, 7)
  months[mk] = (months[mk] or 0) + by_day[d]
  local dow = tonumber(os.date("!%w", t)) + 1
  dows[dow] = (dows[dow] or 0) + by_day[d]
end
T.near(daily.statistics.promedio, baskets / #days, 1e-9, "daily mean")
local weekly = load("analytics/weekly_sales.json")
local wkeys = {}
for k in pairs(weeks) do wkeys[#wkeys + 1] = k end
table.sort(wkeys)
T.eq(#weekly.data, #wkeys, "one row per ISO week")
for i, k in ipairs(wkeys) do
  local r, w = weekly.data[i], weeks[k]
  T.eq(string.format("%d-%02d:%d:%s:%s", r.year, r.week, r.num_transacciones, r.inicio_semana, r.fin_semana),
    string.format("%s:%d:%s:%s", k, w.n, w.first, w.last), "ISO week " .. k)
end
for _, r in ipairs(load("analytics/monthly_sales.json").data) do
  T.eq(r.num_transacciones, months[r.date], "month " .. r.date)
end
for _, r in ipairs(load("analytics/day_of_week_patterns_distribution.json").data) do
  T.eq(r.num_transacciones, dows[r.day_of_week], "weekday " .. r.day_name)
end
local cbs = load("analytics/category_products_by_store_distribution.json")
local want_cbs = {}
for key, n in pairs(store_product) do
  local store, p = key:match("(%d+):(%d+)")
  for c in pairs(cats[tonumber(p)] or {}) do
    local k = c .. ":" .. store
    want_cbs[k] = (want_cbs[k] or 0) + n
  end
end
local nrows = 0
for _, r in ipairs(cbs.data) do
  nrows = nrows + 1
  T.eq(r.total_products_sold, want_cbs[r.category_id .. ":" .. r.store_id], "category/store " .. r.category_id .. "/" .. r.store_id)
end
local nwant = 0
for _ in pairs(want_cbs) do nwant = nwant + 1 end
T.eq(nrows, nwant, "category/store rows")
local dist = load("analytics/customer_purchase_distribution.json").data
local ncust = 0
for _ in pairs(per_customer) do ncust = ncust + 1 end
T.eq(#dist, ncust, "every customer in the distribution")
for i = 1, #dist, 97 do T.eq(dist[i].total_products_purchased, per_customer[dist[i].customer_id].u, "units of customer " .. dist[i].customer_id) end
for i = 2, #dist do
  local a, b = dist[i - 1], dist[i]
  if not (a.total_products_purchased > b.total_products_purchased or (a.total_products_purchased == b.total_products_purchased and a.customer_id < b.customer_id)) then
    T.check(false, "distribution order at %d", i)
    break
  end
end
-- correlation: two-pass Pearson over the per-customer variables
local vars = { frequency = {}, total_products = {}, diversity = {}, avg_quantity = {}, unique_stores = {} }
for _, pc in pairs(per_customer) do
  local nd, ns = 0, 0
  for _ in pairs(pc.p) do nd = nd + 1 end
  for _ in pairs(pc.s) do ns = ns + 1 end
  local i = #vars.frequency + 1
  vars.frequency[i], vars.total_products[i], vars.diversity[i] = pc.f, pc.u, nd
  vars.avg_quantity[i], vars.unique_stores[i] = pc.u / pc.f, ns
end
local function pearson(a, b)
  local n, ma, mb = #a, 0, 0
  for i = 1, n do ma, mb = ma + a[i], mb + b[i] end
  ma, mb = ma / n, mb / n
  local sab, saa, sbb = 0, 0, 0
  for i = 1, n do
    local da, db = a[i] - ma, b[i] - mb
    sab, saa, sbb = sab + da * db, saa + da * da, sbb + db * db
  end
  return sab / math.sqrt(saa * sbb)
end
local m = load("analytics/variable_correlation.json").correlation_data.matrix
for a, va in pairs(vars) do
  for b, vb in pairs(vars) do
    T.near(m[a][b], a == b and 1.0 or pearson(va, vb), 1e-9, "correlation " .. a .. "/" .. b)
  end
end
T.done()
