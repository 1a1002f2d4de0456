-- lib/report_sections.lua: the report sections drawn from the executive summary and analytics outputs: KPI cards,
-- top-N tables, daily/weekly/monthly series, the day-of-week pattern, boxplots, units by category and store, and
-- the correlation heatmap. Each part degrades to a "not available" note on its own (lib/report_block.lua).
local html = require "lib.report_html"
local svg = require "lib.report_svg"
local block = require "lib.report_block"
local inputs = require "lib.report_inputs"

local sections = {}
local esc, fmt, val, num = html.esc, html.fmt, html.val, html.num
local array, object, number = inputs.array, inputs.object, inputs.number

local MONTHS = { "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" }
local WEEKDAYS = { "Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday" }

-- The newest summary/top_<n>_<type>.json (top_n is a parameter of executive_summary, 10 by default).
local function top_file(env, item_type)
  return env.src:newest("summary", "^top_%d+_" .. item_type .. "%.json$", "summary/top_N_" .. item_type .. ".json")
end
sections.top_file = top_file

local function weekday(date)
  local d = svg.days(date)
  return d and WEEKDAYS[(d + 4) % 7 + 1] or ""
end

-- ---- KPI cards ----

local function kpi_or_missing(label, value, unit, detail, why)
  if value == nil then return html.kpi(label, "–", "", "not available: " .. (why or "missing")) end
  return html.kpi(label, value, unit, detail)
end

local function rejected_rows(env)
  local total, read, any = 0, 0, false
  for _, path in ipairs(require("mercado.sys").glob(env.src.dir .. "/metadata/*.json") or {}) do
    local rel = "metadata/" .. path:match("[^/]+$")
    local meta = env.src:get(rel)
    local input = meta and type(meta.input) == "table" and meta.input or nil
    if input and not any then -- every pipeline reads the same input: count it once
      for _, part in pairs(input) do
        if type(part) == "table" then
          total = total + (num(part.rejected_total) or 0)
          read = read + (num(part.lines_read) or 0)
          any = true
        end
      end
    end
  end
  if not any then return nil, "no metadata/*.json with an input summary" end
  return total, read
end

-- The KPI cards: totals, averages, coverage, data quality, segments and rules.
function sections.kpis(env, runs_list)
  local cards = {}
  local basic_rel = "summary/basic_metrics.json"
  local tx, why_tx = block.value(env, basic_rel, function(b) return number(b, "total_transactions") end)
  local units, why_u = block.value(env, basic_rel, function(b) return number(b, "total_sales_units") end)
  cards[#cards + 1] = kpi_or_missing("Transactions", tx and fmt(tx), "baskets", nil, why_tx)
  cards[#cards + 1] = kpi_or_missing("Units sold", units and fmt(units), "units", nil, why_u)
  cards[#cards + 1] = kpi_or_missing("Average basket", tx and units and tx > 0 and fmt(units / tx, 2) or nil,
    "units per basket", nil, why_tx or why_u)
  local customers, why_c = block.value(env, "analytics/customer_purchase_boxplot.json", function(b)
    return number(array(b, "groups")[1], "count") end)
  if not customers then
    customers = block.value(env, "advanced/clustering/customer_clusters.json", function(c) return number(c, "total_customers") end)
  end
  cards[#cards + 1] = kpi_or_missing("Customers", customers and fmt(customers), "customers",
    customers and units and string.format("%s units per customer", fmt(units / customers, 1)), why_c)
  local daily_rel = "analytics/daily_sales.json"
  local days, why_d = block.value(env, daily_rel, function(d)
    local rows = array(d, "data")
    return { n = #rows, first = rows[1] and rows[1].date, last = rows[#rows] and rows[#rows].date,
      mean = num(val(object(d, "statistics").promedio)), min = num(val(d.statistics.minimo)), max = num(val(d.statistics.maximo)) }
  end)
  cards[#cards + 1] = kpi_or_missing("Days with sales", days and fmt(days.n), "days",
    days and days.first and (tostring(days.first) .. " to " .. tostring(days.last)), why_d)
  cards[#cards + 1] = kpi_or_missing("Daily average", days and days.mean and fmt(days.mean, 1), "baskets per day",
    days and string.format("min %s, max %s", fmt(days.min), fmt(days.max)), why_d)
  local peak_rel, peak_why = top_file(env, "peak_days")
  local peak, why_p = block.value(env, peak_rel, function(t) return array(t, "data")[1] or false end)
  if peak_rel == nil then why_p = peak_why .. " missing" end
  cards[#cards + 1] = kpi_or_missing("Peak day", peak and tostring(peak.date) or (peak == false and "–" or nil), "",
    peak and string.format("%s, %s baskets", weekday(peak.date), fmt(peak.num_transactions)), why_p)
  local cat_rel, cat_why = top_file(env, "categories")
  local unmapped, why_m = block.value(env, cat_rel, function(t) return num(val(t.unmapped_volume)) or false end)
  if cat_rel == nil then why_m = cat_why .. " missing" end
  cards[#cards + 1] = kpi_or_missing("Units without category", unmapped and fmt(unmapped) or (unmapped == false and "–" or nil),
    "units", unmapped and units and units > 0 and string.format("%.1f %% of units sold", 100 * unmapped / units)
      or "products missing from the catalog", why_m)
  local rejected, read_or_why = rejected_rows(env)
  cards[#cards + 1] = kpi_or_missing("Rejected input rows", rejected and fmt(rejected), "rows",
    rejected and string.format("of %s lines read (transactions and catalog)", fmt(read_or_why)), read_or_why)
  local k, why_k = block.value(env, "advanced/clustering/cluster_summary.json", function(s)
    return { k = number(s, "n_clusters"), silhouette = num(val(s.silhouette)) } end)
  cards[#cards + 1] = kpi_or_missing("Customer segments", k and fmt(k.k), "clusters",
    k and k.silhouette and string.format("silhouette %.3f", k.silhouette) or "k-means", why_k)
  local rules, why_r = block.value(env, "advanced/recommendations/product_associations.json", function(a)
    local s = object(object(a, "data"), "summary")
    return { n = number(s, "total_rules"), support = num(val(s.min_support)), confidence = num(val(s.min_confidence)) } end)
  cards[#cards + 1] = kpi_or_missing("Association rules", rules and fmt(rules.n), "rules",
    rules and string.format("min support %s, min confidence %s", html.fmt_auto(rules.support, 3), html.fmt_auto(rules.confidence, 2)),
    why_r)
  local failed = 0
  for _, r in ipairs(runs_list or {}) do
    if r.state == "Failed" or r.state == "Crashed" or r.state == "Cancelled" then failed = failed + 1 end
  end
  cards[#cards + 1] = html.kpi("Runs listed", fmt(#(runs_list or {})), "runs",
    failed > 0 and string.format("%d failed, crashed or cancelled", failed) or "none failed")
  return '<div class="kpis">' .. table.concat(cards) .. "</div>"
end

-- ---- top-N tables ----

local function category_text(r)
  if type(r.categories) == "table" and #r.categories > 0 then
    local names = {}
    for i, c in ipairs(r.categories) do names[i] = tostring(val(c.category_name) or ("#" .. tostring(c.category_id))) end
    return table.concat(names, "; ")
  end
  if val(r.category_name) then return tostring(r.category_name) end
  return "(no category)"
end

local TOPS = {
  { type = "products", title = "Top products by units sold",
    cols = { { title = "#" }, { title = "Product" }, { title = "Category" }, { title = "Units sold", class = "num", bar = true } },
    row = function(i, r) return { i, tostring(r.product_id), category_text(r), number(r, "total_sold") } end },
  { type = "customers", title = "Top customers by baskets",
    cols = { { title = "#" }, { title = "Customer" }, { title = "Baskets", class = "num", bar = true } },
    row = function(i, r) return { i, tostring(r.customer_id), number(r, "total_purchases") } end },
  { type = "peak_days", title = "Peak days by baskets",
    cols = { { title = "#" }, { title = "Date" }, { title = "Weekday" }, { title = "Baskets", class = "num", bar = true } },
    row = function(i, r) return { i, tostring(r.date), weekday(r.date), number(r, "num_transactions") } end },
  { type = "peak_days_by_products", title = "Peak days by units sold",
    cols = { { title = "#" }, { title = "Date" }, { title = "Weekday" }, { title = "Units", class = "num", bar = true } },
    row = function(i, r) return { i, tostring(r.date), weekday(r.date), number(r, "total_products_sold") } end },
  { type = "categories", title = "Top categories by units sold",
    cols = { { title = "#" }, { title = "Category" }, { title = "Units", class = "num", bar = true } },
    row = function(i, r) return { i, val(r.category_name) and (tostring(r.category_name) .. " (" .. tostring(r.category_id) .. ")")
      or "(no category)", number(r, "total_volume") } end,
    note = function(t) return num(val(t.unmapped_volume)) and string.format("Units of products without a category (not in the list): %s.",
      fmt(t.unmapped_volume)) end },
  { type = "categories_by_products", title = "Categories by products in the catalog",
    cols = { { title = "#" }, { title = "Category" }, { title = "Catalog products", class = "num", bar = true } },
    row = function(i, r) return { i, tostring(val(r.category_name) or "") .. " (" .. tostring(r.category_id) .. ")",
      number(r, "num_products") } end },
}

-- The six top-N tables of summary/.
function sections.summary(env)
  local panels = {}
  for _, spec in ipairs(TOPS) do
    local rel, why = top_file(env, spec.type)
    panels[#panels + 1] = html.panel(spec.title, block.draw(env, rel, function(t)
      local rows = {}
      for i, r in ipairs(array(t, "data")) do rows[i] = spec.row(i, r) end
      local note = spec.note and spec.note(t)
      return html.table(spec.cols, rows) .. (note and ('<p class="intro">' .. esc(note) .. "</p>") or "")
    end, why))
  end
  return '<div class="grid">' .. table.concat(panels) .. "</div>"
end

-- ---- time series ----

local function series_rows(t, date_key, value_key)
  local dates, values = {}, {}
  for i, r in ipairs(array(t, "data")) do
    dates[i] = tostring(r[date_key])
    values[i] = number(r, value_key)
    if not svg.days(dates[i]) then error({ shape = string.format("row %d: '%s' is not a date", i, date_key) }) end
  end
  return dates, values
end

local function stats_caption(t, unit)
  local s = type(t.statistics) == "table" and t.statistics or {}
  if not num(val(s.promedio)) then return nil end
  return string.format("Mean %s %s; min %s; max %s.", fmt(s.promedio, 1), unit, fmt(val(s.minimo)), fmt(val(s.maximo)))
end

local function daily_chart(t)
  local dates, baskets = series_rows(t, "date", "num_transacciones")
  local customers, have = {}, true
  for i, r in ipairs(t.data) do
    customers[i] = num(r.clientes_unicos)
    if not customers[i] then have = false end
  end
  local series = { { key = "num_transacciones", name = "baskets", dates = dates, values = baskets } }
  if have and #customers > 0 then
    series[2] = { key = "clientes_unicos", name = "distinct customers", dates = dates, values = customers, dash = "4 2" }
  end
  local mean = num(val(type(t.statistics) == "table" and t.statistics.promedio or nil))
  return svg.line_chart { id = "daily", title = "Daily sales", x_label = "Date (day)",
    y_label = "Baskets or customers per day (count)", series = series,
    ref = mean and { value = mean, label = "mean baskets per day" }, markers = #dates <= 45,
    width = 1120, height = 320, caption = stats_caption(t, "baskets per day") }
end

local function weekly_chart(t)
  local dates, values = series_rows(t, "inicio_semana", "num_transacciones")
  return svg.line_chart { id = "weekly", title = "Weekly sales (ISO weeks)", x_label = "Week starting (date)",
    y_label = "Baskets per week (count)", series = { { key = "num_transacciones", name = "baskets", dates = dates, values = values } },
    markers = true, width = 1120, height = 300,
    caption = (stats_caption(t, "baskets per week") or "") .. " The first and last weeks may be partial." }
end

local function monthly_chart(t)
  local bars = {}
  for i, r in ipairs(array(t, "data")) do
    local y, m = num(r.year), num(r.month)
    if not (y and m and MONTHS[m]) then
      y, m = tostring(r.date):match("^(%d+)%-(%d+)")
      y, m = tonumber(y), tonumber(m)
    end
    if not (y and m and MONTHS[m]) then error({ shape = string.format("row %d has no year and month", i) }) end
    bars[i] = { label = MONTHS[m] .. " " .. y, value = number(r, "num_transacciones") }
  end
  return svg.bar_chart { id = "monthly", title = "Monthly sales", x_label = "Month", y_label = "Baskets per month (count)",
    bars = bars, value_labels = true, value_format = fmt, caption = stats_caption(t, "baskets per month") }
end

local function weekday_chart(t)
  local bars = {}
  for i, r in ipairs(array(t, "data")) do
    local d = num(r.day_of_week)
    bars[i] = { label = tostring(val(r.day_name) or (d and WEEKDAYS[d]) or d), value = number(r, "num_transacciones") }
  end
  return svg.bar_chart { id = "day_of_week", title = "Sales by day of the week", x_label = "Day of the week",
    y_label = "Baskets, all weeks (count)", bars = bars, value_labels = true, value_format = fmt,
    caption = "Total baskets on each weekday over the whole period." }
end

-- Daily, weekly and monthly series and the weekday pattern.
function sections.series(env)
  return table.concat {
    '<div class="grid">',
    html.panel(nil, block.draw(env, "analytics/daily_sales.json", daily_chart, nil, "Daily sales"), "wide"),
    html.panel(nil, block.draw(env, "analytics/weekly_sales.json", weekly_chart, nil, "Weekly sales"), "wide"),
    html.panel(nil, block.draw(env, "analytics/monthly_sales.json", monthly_chart, nil, "Monthly sales")),
    html.panel(nil, block.draw(env, "analytics/day_of_week_patterns_distribution.json", weekday_chart, nil,
      "Sales by day of the week")),
    "</div>",
  }
end

-- ---- distributions ----

local BOX_FIELDS = { "count", "min", "q1", "median", "q3", "max", "mean", "whisker_low", "whisker_high" }

local function box_groups(t, label_of)
  local groups = {}
  for i, g in ipairs(array(t, "groups")) do
    local b = { label = label_of(g.group), outliers_low = num(val(g.outliers_low)) or 0,
      outliers_high = num(val(g.outliers_high)) or 0 }
    for _, k in ipairs(BOX_FIELDS) do b[k] = number(g, k) end
    groups[i] = b
  end
  return groups
end

local function customer_box(t)
  local unit = type(t.unit) == "string" and t.unit or "units per customer"
  return svg.boxplot { id = "customer_purchase_boxplot", title = "Units bought per customer", x_label = "Customers",
    y_label = "Units bought (" .. unit .. ")",
    groups = box_groups(t, function(g) return g == "all" and "all customers" or tostring(g) end),
    caption = "Whiskers reach the furthest value within 1.5 IQR of the box; points beyond are counted." }
end

local function basket_box(t)
  return svg.boxplot { id = "basket_size_boxplot", title = "Basket size by store", x_label = "Store",
    y_label = "Basket size (units per basket)",
    groups = box_groups(t, function(g) return "store " .. tostring(g) end),
    caption = "One box per store; the diamond is the mean." }
end

local function category_store_chart(t, top)
  local by_cat, order, stores, store_list = {}, {}, {}, {}
  for _, r in ipairs(array(t, "data")) do
    local id = tostring(r.category_id)
    local c = by_cat[id]
    if not c then
      c = { label = tostring(val(r.category_name) or "") .. " (" .. id .. ")", total = 0, parts = {} }
      by_cat[id] = c
      order[#order + 1] = id
    end
    local s = tostring(r.store_id)
    if not stores[s] then stores[s] = true; store_list[#store_list + 1] = s end
    local v = number(r, "total_products_sold")
    c.parts[s] = (c.parts[s] or 0) + v
    c.total = c.total + v
  end
  table.sort(store_list, function(a, b)
    local x, y = tonumber(a), tonumber(b)
    if x and y then return x < y end
    return a < b
  end)
  local cats = {}
  for _, id in ipairs(order) do cats[#cats + 1] = by_cat[id] end
  table.sort(cats, function(a, b) if a.total ~= b.total then return a.total > b.total end return a.label < b.label end)
  local rows, legend = {}, {}
  for j, s in ipairs(store_list) do legend[j] = { label = "store " .. s, color = svg.color(j) } end
  for i = 1, math.min(top, #cats) do
    local parts = {}
    for j, s in ipairs(store_list) do
      local v = cats[i].parts[s] or 0
      parts[#parts + 1] = { value = v, color = svg.color(j), tip = "store " .. s .. ": " .. fmt(v) .. " units" }
    end
    rows[i] = { label = cats[i].label, parts = parts }
  end
  local caption = string.format("The %d categories with most units sold, of %d; a unit counts once for each category of its product.",
    #rows, #cats)
  if type(t.unmapped_by_store) == "table" then
    local parts = {}
    for _, u in ipairs(t.unmapped_by_store) do
      parts[#parts + 1] = string.format("store %s: %s", tostring(u.store_id), fmt(u.total_products_sold))
    end
    if #parts > 0 then caption = caption .. " Units without a category: " .. table.concat(parts, ", ") .. "." end
  end
  return svg.hbar_chart { id = "category_by_store", title = "Units sold by category and store", x_label = "Units sold (units)",
    y_label = "Category", rows = rows, legend = legend, value_labels = true, width = 1120, caption = caption }
end

-- Boxplots and units by category and store.
function sections.distributions(env)
  return table.concat {
    '<div class="grid">',
    html.panel(nil, block.draw(env, "analytics/customer_purchase_boxplot.json", customer_box, nil, "Units bought per customer")),
    html.panel(nil, block.draw(env, "analytics/basket_size_by_store_boxplot.json", basket_box, nil, "Basket size by store")),
    html.panel(nil, block.draw(env, "analytics/category_products_by_store_distribution.json",
      function(t) return category_store_chart(t, 15) end, nil, "Units sold by category and store"), "wide"),
    "</div>",
  }
end

-- ---- correlation ----

local function correlation_chart(t)
  local cd = object(t, "correlation_data")
  local vars, names, matrix = array(cd, "variables"), type(cd.variable_names) == "table" and cd.variable_names or {},
    object(cd, "matrix")
  local labels = {}
  for i, v in ipairs(vars) do labels[i] = tostring(val(names[v]) or v) end
  local reasons = {}
  if type(t.reasons) == "table" then
    for _, v in ipairs(vars) do
      if val(t.reasons[v]) then reasons[#reasons + 1] = string.format("%s: %s", tostring(names[v] or v), tostring(t.reasons[v])) end
    end
  end
  return svg.heatmap { id = "correlation", title = "Correlation of per-customer variables (Pearson)",
    x_label = "Variable", y_label = "Variable", legend_label = "Pearson r (unitless, −1 to +1)", labels = labels,
    value = function(i, j)
      local row = matrix[vars[i]]
      return type(row) == "table" and num(val(row[vars[j]])) or nil
    end,
    caption = "One point per customer. " .. (#reasons > 0 and ("Undefined: " .. table.concat(reasons, "; ") .. ".")
      or "n/a marks a correlation that is undefined (a constant variable).") }
end

local function correlation_pairs(t)
  local cd = object(t, "correlation_data")
  local vars, names, matrix = array(cd, "variables"), type(cd.variable_names) == "table" and cd.variable_names or {},
    object(cd, "matrix")
  local pairs_ = {}
  for i = 1, #vars do
    for j = i + 1, #vars do
      local row = matrix[vars[i]]
      local r = type(row) == "table" and num(val(row[vars[j]])) or nil
      pairs_[#pairs_ + 1] = { a = tostring(val(names[vars[i]]) or vars[i]), b = tostring(val(names[vars[j]]) or vars[j]), r = r }
    end
  end
  table.sort(pairs_, function(x, y)
    local ax, ay = x.r and math.abs(x.r) or -1, y.r and math.abs(y.r) or -1
    if ax ~= ay then return ax > ay end
    return x.a .. x.b < y.a .. y.b
  end)
  local rows = {}
  for i, p in ipairs(pairs_) do
    rows[i] = { p.a, p.b, p.r and string.format("%+.3f", p.r) or "n/a",
      p.r and (math.abs(p.r) >= 0.7 and "strong" or math.abs(p.r) >= 0.4 and "moderate" or "weak") or "undefined" }
  end
  return html.table({ { title = "Variable" }, { title = "Variable" }, { title = "r", class = "num" }, { title = "Strength" } }, rows)
end

function sections.correlation(env)
  local rel = "analytics/variable_correlation.json"
  return '<div class="grid">' .. html.panel(nil, block.draw(env, rel, correlation_chart, nil, "Correlation matrix")) ..
    html.panel("Pairs by strength of correlation", block.draw(env, rel, correlation_pairs)) .. "</div>"
end

return sections
