-- test_report.lua: the report flow end to end. Builds an output tree with the real flows on a generated data set,
-- runs `mercado run report`, and checks the HTML: self-contained (no URLs, scripts, links or external resources),
-- escaped text from data, values and chart geometry against the JSON inputs (computed here independently), the run
-- history, notes for missing or broken inputs, and use as a subflow. Then opens it in headless Chromium: no console
-- messages (checked against a page that has one), every chart in the DOM, a screenshot and a PDF printout.
-- Chromium missing: the browser part is skipped with a message, unless MERCADO_REQUIRE_CHROMIUM=1 (CI).
package.path = (os.getenv("MERCADO_SOURCE_ROOT") or ".") .. "/tests/lib/?.lua;" .. package.path
local T = require "testlib"
local json = require "mercado.json"
local sys = require "mercado.sys"

local dir = T.tmpdir("report")
local DATA, OUT = dir .. "/data", dir .. "/out"
local CHARTS = { "daily", "weekly", "monthly", "day_of_week", "customer_purchase_boxplot", "basket_size_boxplot",
  "category_by_store", "correlation", "cluster_sizes", "cluster_scatter", "run_durations" }

local function mercado(args, what)
  local code, out, err = T.mercado(args, { dir = dir, timeout = 300 })
  T.eq(code, 0, what .. " exit code (stderr: " .. tostring(err) .. ")")
  return out, err
end

local function load(rel, base)
  local text = T.read((base or OUT) .. "/" .. rel)
  assert(text, rel .. " was not written")
  return json.decode(text)
end

local function save(rel, value, base)
  T.write((base or OUT) .. "/" .. rel, json.encode(value, { indent = 2 }))
end

-- ---- small HTML helpers (independent of the report's code) ----

local function attrs(tag)
  local a = {}
  for k, v in tag:gmatch('([%w%-]+)="([^"]*)"') do a[k] = v end
  return a
end

-- The markup of the chart with data-chart=id (from its <svg> to the matching </svg>), or nil.
local function chart(html, id)
  local s = html:find('<svg data-chart="' .. id .. '"', 1, true)
  if not s then return nil end
  local e = html:find("</svg>", s, true)
  return html:sub(s, e + 5)
end

local function tags(markup, name)
  local out = {}
  for t in markup:gmatch("<" .. name .. "(%s[^>]*)>") do out[#out + 1] = attrs(t) end
  return out
end

local function count(s, sub)
  local n, i = 0, 1
  while true do
    local a, b = s:find(sub, i, true)
    if not a then return n end
    n, i = n + 1, b + 1
  end
end

local function text_of(cell) return (cell:gsub("<[^>]*>", ""):gsub("^%s+", ""):gsub("%s+$", "")) end

-- Rows (arrays of cell texts) of the first table after the panel heading `title`.
local function table_rows(html, title)
  local s = html:find("<h3>" .. title .. "</h3>", 1, true)
  if not s then return nil end
  local body = html:sub(html:find("<tbody>", s, true), html:find("</tbody>", s, true))
  local rows = {}
  for tr in body:gmatch("<tr>(.-)</tr>") do
    local cells = {}
    for td in tr:gmatch("<td[^>]*>(.-)</td>") do cells[#cells + 1] = text_of(td) end
    rows[#rows + 1] = cells
  end
  return rows
end

local function grouped(n) -- 1234567 -> "1,234,567"
  local s = tostring(math.floor(n))
  while true do
    local t, k = s:gsub("^(%d+)(%d%d%d)", "%1,%2")
    s = t
    if k == 0 then return s end
  end
end

-- Days between ISO dates, by the C library's calendar (noon avoids DST edges).
local function day_index(date, origin)
  local function t(d)
    local y, m, dd = d:match("^(%d+)%-(%d+)%-(%d+)$")
    return os.time { year = tonumber(y), month = tonumber(m), day = tonumber(dd), hour = 12 }
  end
  return math.floor((t(date) - t(origin)) / 86400 + 0.5)
end

-- Checks that ys (drawn) are an affine function of xs (data) within tol; slope sign as wanted. The map is taken
-- through the points of smallest and largest x, so rounding of the drawn positions barely affects the slope.
local function affine(xs, ys, tol, sign, what)
  local i1, i2 = 1, 1
  for i = 2, #xs do
    if xs[i] < xs[i1] then i1 = i end
    if xs[i] > xs[i2] then i2 = i end
  end
  if not T.check(xs[i1] ~= xs[i2], "%s: needs two distinct values", what) then return end
  local k = (ys[i2] - ys[i1]) / (xs[i2] - xs[i1])
  T.check(k * sign > 0, "%s: slope %s has the wrong sign", what, tostring(k))
  local worst = 0
  for i = 1, #xs do worst = math.max(worst, math.abs(ys[i1] + (xs[i] - xs[i1]) * k - ys[i])) end
  T.check(worst <= tol, "%s: drawn positions off the affine map by %.3f px", what, worst)
end

-- ---- build the output tree with the real flows ----

mercado({ "gen", "--baskets", "3000", "--seed", "5", "--out", DATA }, "gen")
for _, f in ipairs { "executive_summary", "analytics", "clustering" } do
  mercado({ "run", f, "-p", "data_dir=" .. DATA, "--output", OUT, "-q" }, f)
end
local RECS = "advanced/recommendations/"
if sys.stat(T.root .. "/flows/recommendations.lua") then
  mercado({ "run", "recommendations", "-p", "data_dir=" .. DATA, "-p", "min_support=0.02", "--output", OUT, "-q" },
    "recommendations")
else -- the flow is not there yet: files in its documented shape (seed_spec §3.5)
  assert(sys.mkdirs(OUT .. "/" .. RECS))
  local function rule(a, c, conf, lift, sup)
    return json.shape { "antecedent", "consequent", "confidence", "lift", "support" } {
      antecedent = json.array(a), consequent = json.array(c), confidence = conf, lift = lift, support = sup }
  end
  save(RECS .. "product_associations.json", { recommendation_type = "product_associations", data = {
    summary = { total_rules = 3, total_itemsets = 7, min_support = 0.005, min_confidence = 0.2 },
    top_rules = json.array { rule({ "21", "16" }, { "30" }, 0.49, 4.07, 0.053), rule({ "7" }, { "25" }, 0.42, 3.9, 0.05),
      rule({ "3" }, { "20" }, 0.3, 1.5, 0.02) },
    top_itemsets = json.array { { items = json.array { "21" }, freq = 100 } } }, generated_at = "2026-01-01T00:00:00.000000" })
  save(RECS .. "product_recommendations.json", { recommendation_type = "product_recommendations", data = {
    summary = { total_products = 1, max_recommendations_per_product = 5 },
    recommendations = json.array { { product_id = 7, recommendations = json.array { { product_id = 25, confidence = 0.42,
      lift = 3.9, support = 0.05 } } } } } })
  save(RECS .. "customer_recommendations.json", { recommendation_type = "customer_recommendations", data = {
    summary = { total_customers = 1, max_recommendations_per_customer = 5 },
    recommendations = json.array { { customer_id = 564, products_owned = json.array { 4, 7 }, recommendations = json.array {
      { product_id = 25, confidence = 0.42, lift = 3.9, support = 0.05, based_on = json.array { 7 } } } } } } })
end
-- a failed run and a retried one in the history
T.mercado({ "run", T.root .. "/tests/fixtures/flows/retry.lua", "-p", "fail_times=5", "-p", "retries=1", "--output", OUT, "-q" },
  { dir = dir })
mercado({ "run", T.root .. "/tests/fixtures/flows/retry.lua", "--output", OUT, "-q" }, "retry flow")
-- text from data that must be escaped
local EVIL = [[<script>alert("x")</script> & 'q']]
do
  local cats = load("summary/top_10_categories.json")
  cats.data[1].category_name = EVIL
  save("summary/top_10_categories.json", cats)
end

local ledger = {}
for _, p in ipairs(sys.glob(OUT .. "/runs/*/run.json")) do ledger[#ledger + 1] = json.decode(T.read(p)) end
table.sort(ledger, function(a, b) return a.run_id > b.run_id end)

local TITLE = [[Sales </title><script>x()</script> & "more"]]
mercado({ "run", "report", "--output", OUT, "-p", "title=" .. TITLE, "-q" }, "report")
local REPORT = OUT .. "/report/index.html"
local html = T.read(REPORT) or ""

-- ---- self-contained, escaped ----
do
  for _, bad in ipairs { "http://", "https://", "<script", "<link", "<img", "<iframe", "@import", " src=", "//cdn" } do
    T.not_contains(html:lower(), bad, "self-contained report")
  end
  for u in html:gmatch("url%(([^)]*)%)") do T.check(u:sub(1, 1) == "#", "only local url(#...) references, got url(%s)", u) end
  T.contains(html, "<title>Sales &lt;/title&gt;&lt;script&gt;x()&lt;/script&gt; &amp; &quot;more&quot;</title>", "title escaped")
  T.contains(html, "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;q&#39;", "category name from data escaped")
  T.not_contains(html, "class=\"unavailable\"", "every input present: no 'not available' note")
  for _, id in ipairs(CHARTS) do
    local c = chart(html, id)
    if T.check(c ~= nil, "chart %s present", id) then
      T.eq(count(html, 'data-chart="' .. id .. '"'), 1, "chart " .. id .. " once")
      T.check(c:find('<text class="chart-title"', 1, true) ~= nil, "chart %s has a visible title", id)
      T.check(select(2, c:gsub('class="axis%-label"', "")) >= 2, "chart %s has axis labels", id)
      T.check(c:find("%(.-%)") ~= nil, "chart %s names a unit in parentheses", id)
    end
  end
end

-- ---- values against the JSON inputs ----
do
  local basic = load("summary/basic_metrics.json")
  T.contains(html, grouped(basic.total_transactions) .. '<span class="kpi-unit"> baskets', "KPI transactions")
  T.contains(html, grouped(basic.total_sales_units) .. '<span class="kpi-unit"> units', "KPI units")
  T.contains(html, string.format("%.2f", basic.total_sales_units / basic.total_transactions) .. '<span class="kpi-unit"> units per basket',
    "KPI average basket")

  local products = load("summary/top_10_products.json").data
  local rows = table_rows(html, "Top products by units sold") or {}
  T.eq(#rows, #products, "top products rows")
  for i, p in ipairs(products) do
    T.eq(rows[i] and rows[i][2], tostring(p.product_id), "top product " .. i .. " id")
    T.eq(rows[i] and rows[i][4], grouped(p.total_sold), "top product " .. i .. " units")
  end
  local customers = load("summary/top_10_customers.json").data
  rows = table_rows(html, "Top customers by baskets") or {}
  for i, c in ipairs(customers) do
    T.eq(rows[i] and rows[i][2] .. ":" .. rows[i][3], tostring(c.customer_id) .. ":" .. grouped(c.total_purchases), "top customer " .. i)
  end

  -- weekday bars: the JSON values, heights proportional to them, one baseline
  local days = load("analytics/day_of_week_patterns_distribution.json").data
  local rects = tags(chart(html, "day_of_week") or "", "rect")
  T.eq(#rects, #days, "one bar per weekday")
  local kmax, vmax, base = 0, 0, nil
  for i, r in ipairs(rects) do
    T.eq(tonumber(r["data-value"]), days[i] and days[i].num_transacciones, "weekday bar " .. i .. " value")
    if tonumber(r["data-value"]) > vmax then vmax, kmax = tonumber(r["data-value"]), tonumber(r.height) end
  end
  for i, r in ipairs(rects) do
    local v, h, y = tonumber(r["data-value"]), tonumber(r.height), tonumber(r.y)
    T.near(h, v * kmax / vmax, 0.11, "weekday bar " .. i .. " height proportional to its value")
    base = base or (y + h)
    T.near(y + h, base, 0.11, "weekday bar " .. i .. " on the baseline")
  end

  -- daily line: one point per day; x affine in the date, y affine (decreasing) in the value
  local daily = load("analytics/daily_sales.json").data
  local line
  for _, p in ipairs(tags(chart(html, "daily") or "", "polyline")) do if p["data-series"] == "num_transacciones" then line = p end end
  if T.check(line ~= nil, "daily baskets line") then
    local xs, ys = {}, {}
    for x, y in line.points:gmatch("([%d%.%-]+),([%d%.%-]+)") do xs[#xs + 1], ys[#ys + 1] = tonumber(x), tonumber(y) end
    T.eq(#xs, #daily, "daily points")
    local dates, values = {}, {}
    for i, d in ipairs(daily) do dates[i], values[i] = day_index(d.date, daily[1].date), d.num_transacciones end
    affine(dates, xs, 0.11, 1, "daily x by date")
    affine(values, ys, 0.11, -1, "daily y by baskets")
  end
  local monthly = load("analytics/monthly_sales.json").data
  T.eq(#tags(chart(html, "monthly") or "", "rect"), #monthly, "one bar per month")

  -- boxplots: the five numbers of every store
  local groups = load("analytics/basket_size_by_store_boxplot.json").groups
  local boxes = tags(chart(html, "basket_size_boxplot") or "", "g class=\"box\"")
  T.eq(#boxes, #groups, "one box per store")
  for i, g in ipairs(groups) do
    for _, k in ipairs { "q1", "median", "q3" } do
      T.eq(boxes[i] and tonumber(boxes[i]["data-" .. k]), g[k], "store " .. tostring(g.group) .. " " .. k)
    end
    T.eq(boxes[i] and tonumber(boxes[i]["data-whisker-high"]), g.whisker_high, "store " .. tostring(g.group) .. " whisker")
  end

  -- heatmap: every cell's value, row by row
  local corr = load("analytics/variable_correlation.json").correlation_data
  local cells = tags(chart(html, "correlation") or "", "rect")
  local k = 0
  for _, v1 in ipairs(corr.variables) do
    for _, v2 in ipairs(corr.variables) do
      k = k + 1
      local want = corr.matrix[v1][v2]
      local got = cells[k] and cells[k]["data-value"]
      if want == json.null then T.eq(got, "null", "heatmap " .. v1 .. "/" .. v2)
      else T.near(tonumber(got), want, 1e-12, "heatmap " .. v1 .. "/" .. v2) end
    end
  end

  -- segments: a card per cluster; the scatter has every PCA point in its cluster's group
  local summary = load("advanced/clustering/cluster_summary.json")
  T.eq(count(html, '<div class="cluster" data-cluster="'), summary.n_clusters, "one card per segment")
  local pca = load("advanced/clustering/clustering_visualization.json").visualization_data.pca
  local per = {}
  for _, p in ipairs(pca.points) do per[p.cluster] = (per[p.cluster] or 0) + 1 end
  local seen = 0
  for _, g in ipairs(tags(chart(html, "cluster_scatter") or "", "g")) do
    if g["data-group"] then
      T.eq(tonumber(g["data-n"]), per[tonumber(g["data-group"])] or 0, "scatter points of cluster " .. g["data-group"])
      seen = seen + tonumber(g["data-n"])
    end
  end
  T.eq(seen, #pca.points, "every PCA point drawn")

  local rules = load(RECS .. "product_associations.json").data.top_rules
  rows = table_rows(html, "Top association rules") or {}
  T.eq(#rows, math.min(#rules, 20), "association rules listed")
  if #rules > 0 then
    T.eq(rows[1] and rows[1][2], table.concat(rules[1].antecedent, " + "), "top rule antecedent")
    T.eq(rows[1] and rows[1][6], string.format("%.3f", rules[1].lift), "top rule lift")
  end
end

-- ---- run history: every earlier run, newest first, states, attempts and errors ----
do
  local pos = {}
  for i, r in ipairs(ledger) do
    pos[i] = html:find('<tr id="run-' .. r.run_id .. '"', 1, true)
    T.check(pos[i] ~= nil, "run %s listed", r.run_id)
    if i > 1 and pos[i] and pos[i - 1] then T.check(pos[i] > pos[i - 1], "runs newest first") end
  end
  T.eq(count(html, '<tr id="run-'), #ledger, "only earlier runs listed (not the report's own)")
  local failed = ledger[2] -- the failing retry run (the last one succeeded)
  T.eq(failed.state, "Failed", "fixture: the failing run")
  T.contains(html, "failure number 2", "failed task's error shown")
  local bars = {}
  for _, r in ipairs(tags(chart(html, "run_durations") or "", "rect")) do
    if r["data-value"] then bars[#bars + 1] = tonumber(r["data-value"]) end
  end
  T.eq(#bars, #ledger, "one duration bar per run")
  for i, r in ipairs(ledger) do T.near(bars[i], r.duration_seconds, 1e-9, "duration bar of run " .. r.run_id) end

  mercado({ "run", "report", "--output", OUT, "-p", "runs=2", "-q" }, "report runs=2")
  local small = T.read(REPORT) or ""
  T.eq(count(small, '<tr id="run-'), 2, "runs=2 lists two runs")
  -- the newest two are now the first report run and the successful retry run
  local all = {}
  for _, p in ipairs(sys.glob(OUT .. "/runs/*/run.json")) do all[#all + 1] = json.decode(T.read(p)).run_id end
  table.sort(all, function(a, b) return a > b end)
  T.contains(small, '<tr id="run-' .. all[2] .. '"', "newest earlier run listed")
  T.contains(small, '<tr id="run-' .. all[3] .. '"', "second newest earlier run listed")
  T.not_contains(small, '<tr id="run-' .. all[1] .. '"', "own run not listed")
  T.contains(small, "<th class=\"num\">Attempts</th>", "task table present")
  mercado({ "run", "report", "--output", OUT, "-p", "title=" .. TITLE, "-q" }, "report again")
  html = T.read(REPORT) or ""
end

-- ---- missing and broken inputs: notes instead of failures ----
local PART = dir .. "/part"
do
  mercado({ "run", "executive_summary", "-p", "data_dir=" .. T.root .. "/tests/fixtures/summary", "--output", PART, "-q" },
    "executive_summary (fixture)")
  assert(sys.mkdirs(PART .. "/analytics"))
  T.write(PART .. "/analytics/daily_sales.json", '{"series_name": "daily_sales", "data": [')
  T.write(PART .. "/analytics/weekly_sales.json", '{"series_name": "weekly_sales", "data": 5}')
  T.write(PART .. "/analytics/monthly_sales.json", '{"data": [{"year": 2013, "month": 1, "num_transacciones": "many"}]}')
  local out, err = mercado({ "run", "report", "--output", PART }, "report on a partial output")
  local part = T.read(PART .. "/report/index.html") or ""
  T.contains(part, "not available: analytics/daily_sales.json unreadable", "broken JSON noted")
  T.contains(part, "not available: analytics/weekly_sales.json has an unexpected shape (&#39;data&#39; is not a list)",
    "wrong shape noted")
  T.contains(part, "not available: analytics/monthly_sales.json has an unexpected shape (&#39;num_transacciones&#39; is not a number)",
    "wrong value type noted")
  for _, rel in ipairs { "analytics/day_of_week_patterns_distribution.json", "analytics/variable_correlation.json",
    "analytics/basket_size_by_store_boxplot.json", "advanced/clustering/cluster_summary.json",
    "advanced/recommendations/product_associations.json" } do
    T.contains(part, "not available: " .. rel .. " missing", "missing input noted")
  end
  T.contains(part, "Top products by units sold", "available parts still drawn")
  T.contains((out or "") .. (err or ""), "inputs not available", "missing inputs logged as a warning")
  local products = load("summary/top_10_products.json", PART).data
  T.eq(#(table_rows(part, "Top products by units sold") or {}), #products, "fixture top products listed")

  local EMPTY = dir .. "/empty"
  mercado({ "run", "report", "--output", EMPTY, "-q" }, "report on an empty output directory")
  local empty = T.read(EMPTY .. "/report/index.html") or ""
  T.contains(empty, "not available: summary/basic_metrics.json missing", "empty output: KPI note")
  T.contains(empty, "</html>", "empty output: complete page")
end

-- ---- as a subflow: the parent's run appears with its report task ----
do
  local parent = dir .. "/parent.lua"
  T.write(parent, [[
local flow = require "mercado.flow"
return flow.define { name = "parent_of_report", run = function(ctx)
  ctx:task("work", {}, function() return 1 end)
  ctx:flow("report", { title = "From a parent", runs = 5 })
end }
]])
  mercado({ "run", parent, "--output", PART, "-q" }, "parent flow running the report")
  local sub = T.read(PART .. "/report/index.html") or ""
  T.contains(sub, "<h1>From a parent</h1>", "subflow parameters applied")
  T.contains(sub, "parent_of_report", "parent run listed")
  T.contains(sub, "flow:report", "parent's subflow task listed")
end

-- ---- headless Chromium ----

-- $CHROMIUM (a path, or "none" to skip), else chromium or chromium-browser on $PATH.
local function find_chromium()
  local env = os.getenv("CHROMIUM")
  if env == "none" then return nil end
  if env and env ~= "" then
    T.check(sys.access(env, "x"), "CHROMIUM=%s is not an executable", env)
    return env
  end
  for d in (os.getenv("PATH") or "/usr/bin"):gmatch("[^:]+") do
    for _, name in ipairs { "chromium", "chromium-browser" } do
      if sys.access(d .. "/" .. name, "x") then return d .. "/" .. name end
    end
  end
end

-- Runs Chromium on file `page` with extra args; returns exit code, stdout, stderr.
local function chromium(bin, page, extra, tag)
  local profile = dir .. "/chromium-" .. tag
  assert(sys.mkdirs(profile))
  local argv = { bin, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync", "--user-data-dir=" .. profile,
    "--host-resolver-rules=MAP * ~NOTFOUND", "--enable-logging=stderr", "--v=0" }
  for _, a in ipairs(extra) do argv[#argv + 1] = a end
  argv[#argv + 1] = "file://" .. page
  local outp, errp = profile .. ".out", profile .. ".err"
  local pid = assert(sys.spawn(argv, { stdout = outp, stderr = errp,
    env = { HOME = profile, XDG_CONFIG_HOME = profile, XDG_CACHE_HOME = profile } }))
  local how, code = sys.wait(pid, 180)
  if how == "running" then
    sys.kill(pid, "TERM")
    if sys.wait(pid, 10) == "running" then sys.kill(pid, "KILL") sys.wait(pid) end
    code = -1
  end
  return code, T.read(outp) or "", T.read(errp) or ""
end

local function console_lines(stderr)
  local out = {}
  for line in stderr:gmatch("[^\n]+") do
    if line:find("CONSOLE[%(:]") then out[#out + 1] = line end
  end
  return out
end

local bin = find_chromium()
if not bin then
  if os.getenv("MERCADO_REQUIRE_CHROMIUM") == "1" then
    T.check(false, "chromium is required (MERCADO_REQUIRE_CHROMIUM=1) but not installed")
  else
    print("SKIP browser checks: chromium not found (apt-get install chromium, or CHROMIUM=/path/to/chromium)")
  end
else
  -- the console check must see a console message when there is one
  local bad = dir .. "/console_error.html"
  T.write(bad, '<!DOCTYPE html><html><body><script>console.error("report-test-marker"); nosuchfunction();</script></body></html>')
  local _, _, err = chromium(bin, bad, { "--dump-dom" }, "control")
  local lines = console_lines(err)
  T.check(#lines >= 2, "control page: console error and uncaught exception seen (got %d lines)", #lines)
  T.contains(table.concat(lines, "\n"), "report-test-marker", "control page: console message text")

  for _, page in ipairs { REPORT, PART .. "/report/index.html" } do
    local code, dom, stderr = chromium(bin, page, { "--dump-dom" }, "dom-" .. (page == REPORT and "full" or "part"))
    T.eq(code, 0, "chromium --dump-dom exit code for " .. page)
    local msgs = console_lines(stderr)
    T.eq(#msgs, 0, "no console messages for " .. page .. ": " .. table.concat(msgs, "\n"))
    T.contains(dom, "</html>", "DOM dumped for " .. page)
    if page == REPORT then
      for _, id in ipairs(CHARTS) do T.eq(count(dom, '<svg data-chart="' .. id .. '"'), 1, "chart " .. id .. " in the DOM") end
      T.eq(count(dom, "<svg data-chart="), #CHARTS, "no other charts in the DOM")
      T.eq(count(dom, "<circle"), count(html, "<circle"), "every point parsed into the DOM")
    end
  end

  local shot = dir .. "/report.png"
  local code = chromium(bin, REPORT, { "--screenshot=" .. shot, "--window-size=1280,4000", "--hide-scrollbars" }, "shot")
  T.eq(code, 0, "chromium --screenshot exit code")
  local png = T.read(shot) or ""
  T.eq(png:sub(1, 8), "\137PNG\r\n\26\n", "screenshot is a PNG")
  T.check(#png > 50000, "screenshot has content (%d bytes)", #png)
  T.write("/tmp/mercado-report.png", png)
  print("screenshot: " .. shot .. " (copy: /tmp/mercado-report.png)")

  local pdf_path = dir .. "/report.pdf"
  code = chromium(bin, REPORT, { "--no-pdf-header-footer", "--print-to-pdf=" .. pdf_path }, "pdf")
  T.eq(code, 0, "chromium --print-to-pdf exit code")
  local pdf = T.read(pdf_path) or ""
  T.eq(pdf:sub(1, 5), "%PDF-", "printout is a PDF")
  local pages = select(2, pdf:gsub("/Type%s*/Page[^s]", ""))
  T.check(pages >= 4, "printout paginates (%d pages)", pages)
  T.write("/tmp/mercado-report.pdf", pdf)
  print(string.format("printout: %s (%d pages; copy: /tmp/mercado-report.pdf)", pdf_path, pages))
end

T.done()
