-- lib/report_advanced.lua: the report sections drawn from advanced/: customer segment cards, segment sizes and a
-- scatter plot of customers coloured by segment (the PCA projection when present, else two raw features of the
-- sample), and the association rules with product and customer recommendations.
local html = require "lib.report_html"
local svg = require "lib.report_svg"
local block = require "lib.report_block"
local inputs = require "lib.report_inputs"

local advanced = {}
local esc, fmt, val, num = html.esc, html.fmt, html.val, html.num
local array, object, number = inputs.array, inputs.object, inputs.number

local CLUSTER_DIR = "advanced/clustering/"
local RECS_DIR = "advanced/recommendations/"

-- Profiles ordered by cluster id, from cluster_summary.json or, failing that, clustering_visualization.json.
local function profiles_of(t)
  local profiles = object(t, t.cluster_profiles and "cluster_profiles" or "cluster_summary")
  local list = {}
  for key, p in pairs(profiles) do
    if type(p) ~= "table" then error({ shape = "profile " .. tostring(key) .. " is not an object" }) end
    list[#list + 1] = p
  end
  table.sort(list, function(a, b) return (num(a.cluster_id) or 0) < (num(b.cluster_id) or 0) end)
  for _, p in ipairs(list) do number(p, "cluster_id"); number(p, "n_customers") end
  return list
end

local function color_of(list)
  local colors = {}
  for i, p in ipairs(list) do colors[p.cluster_id] = svg.color(i) end
  return colors
end

local function card(p, color)
  local m = type(p.metrics) == "table" and p.metrics or {}
  local function row(label, value) return "<dt>" .. esc(label) .. "</dt><dd>" .. esc(value) .. "</dd>" end
  local recs = {}
  for _, r in ipairs(type(p.business_recommendations) == "table" and p.business_recommendations or {}) do
    recs[#recs + 1] = "<li>" .. esc(r) .. "</li>"
  end
  return table.concat {
    '<div class="cluster" data-cluster="', esc(p.cluster_id), '">',
    '<h3><span class="swatch" style="background:', color, '"></span>Segment ', esc(p.cluster_id), ": ", esc(val(p.label) or ""), "</h3>",
    '<p class="desc">', esc(val(p.description) or ""), "</p><dl>",
    row("Customers", fmt(p.n_customers) .. " (" .. html.pct(val(p.percentage)) .. ")"),
    row("Baskets per customer (mean)", fmt(val(m.avg_frequency), 1)),
    row("Units per customer (mean)", fmt(val(m.avg_total_volume), 1)),
    row("Distinct products (mean)", fmt(val(m.avg_unique_products), 1)),
    row("Categories (mean)", fmt(val(m.avg_unique_categories), 1)),
    row("Baskets per customer (range)", fmt(val(m.min_frequency)) .. " – " .. fmt(val(m.max_frequency))),
    row("Units per customer (range)", fmt(val(m.min_volume)) .. " – " .. fmt(val(m.max_volume))),
    "</dl>", #recs > 0 and ("<ul>" .. table.concat(recs) .. "</ul>") or "", "</div>",
  }
end

local function sizes_chart(list, colors)
  local rows = {}
  for i, p in ipairs(list) do
    rows[i] = { label = string.format("%s: %s", tostring(p.cluster_id), tostring(val(p.label) or "")),
      parts = { { value = p.n_customers, color = colors[p.cluster_id],
        tip = fmt(p.n_customers) .. " customers (" .. html.pct(val(p.percentage)) .. ")" } } }
  end
  return svg.hbar_chart { id = "cluster_sizes", title = "Customers per segment", x_label = "Customers (count)",
    y_label = "Segment", rows = rows, value_labels = true, width = 1120,
    caption = "Segments are numbered by mean units per customer, ascending." }
end

local function scatter_groups(list, colors)
  local groups = {}
  for i, p in ipairs(list) do
    groups[i] = { key = p.cluster_id, label = string.format("%s: %s", tostring(p.cluster_id), tostring(val(p.label) or "")),
      color = colors[p.cluster_id] }
  end
  return groups
end

-- The PCA projection of visualization_data.pca, when the clustering flow wrote one.
local function pca_scatter(pca, list, colors)
  local pts = {}
  for i, q in ipairs(array(pca, "points")) do
    pts[i] = { x = number(q, "x"), y = number(q, "y"), group = number(q, "cluster") }
  end
  local ratio = type(pca.explained_variance_ratio) == "table" and pca.explained_variance_ratio or {}
  local function axis(n)
    local r = num(val(ratio[n]))
    return string.format("Principal component %d (%sstandardized units)", n,
      r and string.format("%.1f %% of variance; ", 100 * r) or "")
  end
  return svg.scatter { id = "cluster_scatter", title = "Customers by segment (PCA of the standardized features)",
    x_label = axis(1), y_label = axis(2), points = pts, groups = scatter_groups(list, colors), width = 1120, height = 420,
    caption = string.format("A stratified sample of %s customers projected on the first two principal components of %s.",
      fmt(#pts), type(pca.features) == "table" and table.concat(pca.features, ", ") or "the clustering features") }
end

-- Fallback without a projection: the customer sample, baskets against units.
local function sample_scatter(t, list, colors)
  local pts = {}
  for i, q in ipairs(array(t, "sample_assignments")) do
    pts[i] = { x = number(q, "frequency"), y = number(q, "total_volume"), group = number(q, "cluster") }
  end
  return svg.scatter { id = "cluster_scatter", title = "Customers by segment (sample)", x_label = "Baskets per customer (count)",
    y_label = "Units per customer (units)", points = pts, groups = scatter_groups(list, colors), width = 1120, height = 420,
    caption = string.format("The %s customers of customer_clusters.json (no PCA projection in clustering_visualization.json).",
      fmt(#pts)) }
end

-- Segment cards, sizes and the scatter plot.
function advanced.clustering(env)
  local summary_rel = CLUSTER_DIR .. "cluster_summary.json"
  local vis_rel = CLUSTER_DIR .. "clustering_visualization.json"
  local list, colors
  local rel = summary_rel
  if not env.src:get(summary_rel) and env.src:get(vis_rel) then rel = vis_rel end
  local cards = block.draw(env, rel, function(t)
    list = profiles_of(t)
    colors = color_of(list)
    local out = {}
    for i, p in ipairs(list) do out[i] = card(p, colors[p.cluster_id]) end
    local head = ""
    if num(val(t.silhouette)) then
      head = string.format('<p class="intro">k = %s; silhouette %.3f%s; inertia %s.</p>', fmt(#list), t.silhouette,
        num(val(t.silhouette_rows)) and string.format(" (on %s customers)", fmt(t.silhouette_rows)) or "",
        html.fmt_auto(val(t.inertia), 1))
    end
    return head .. '<div class="grid small">' .. table.concat(out) .. "</div>"
  end)
  if not list then return cards end
  local sizes = block.try(env, "segment sizes", sizes_chart, list, colors)
  local scatter
  local vis = env.src:get(vis_rel)
  local pca = vis and type(vis.visualization_data) == "table" and type(vis.visualization_data.pca) == "table"
    and vis.visualization_data.pca or nil
  if pca then
    scatter = block.draw(env, vis_rel, function() return pca_scatter(pca, list, colors) end, nil, "Customers by segment")
  else
    scatter = block.draw(env, CLUSTER_DIR .. "customer_clusters.json", function(t) return sample_scatter(t, list, colors) end,
      nil, "Customers by segment")
  end
  return cards .. '<div class="grid">' .. html.panel(nil, sizes, "wide") .. html.panel(nil, scatter, "wide") .. "</div>"
end

-- ---- recommendations ----

local function items(list)
  local out = {}
  for i, x in ipairs(type(list) == "table" and list or {}) do out[i] = tostring(x) end
  return table.concat(out, " + ")
end

local function rules_table(t, top)
  local data = object(t, "data")
  local s = type(data.summary) == "table" and data.summary or {}
  local rows = {}
  for i, r in ipairs(array(data, "top_rules")) do
    if i > top then break end
    rows[i] = { i, items(r.antecedent), items(r.consequent), 100 * number(r, "support"), 100 * number(r, "confidence"),
      number(r, "lift") }
  end
  local head = string.format('<p class="intro">%s rules and %s frequent itemsets at min support %s and min ' ..
      'confidence %s; the %d with the highest lift.</p>',
    fmt(val(s.total_rules)), fmt(val(s.total_itemsets)), html.fmt_auto(val(s.min_support), 4), html.fmt_auto(val(s.min_confidence), 3),
    #rows)
  local function p2(x) return string.format("%.2f %%", x) end
  return head .. html.table({ { title = "#" }, { title = "If the basket has (products)" }, { title = "it also has" },
    { title = "Support", class = "num", format = p2 }, { title = "Confidence", class = "num", format = p2 },
    { title = "Lift (×)", class = "num", bar = true, format = function(x) return string.format("%.3f", x) end } }, rows)
end

local function product_recs(t, top)
  local data = object(t, "data")
  local rows = {}
  for i, r in ipairs(array(data, "recommendations")) do
    if i > top then break end
    local recs = {}
    for j, x in ipairs(array(r, "recommendations")) do
      recs[j] = string.format("%s (lift %.2f)", tostring(x.product_id), number(x, "lift"))
    end
    rows[i] = { tostring(r.product_id), table.concat(recs, ", ") }
  end
  local s = type(data.summary) == "table" and data.summary or {}
  return string.format('<p class="intro">%s products have recommendations; the first %d:</p>', fmt(val(s.total_products)), #rows)
    .. html.table({ { title = "Product" }, { title = "Recommended products" } }, rows)
end

local function customer_recs(t, top)
  local data = object(t, "data")
  local rows = {}
  for i, r in ipairs(array(data, "recommendations")) do
    if i > top then break end
    local recs = {}
    for j, x in ipairs(array(r, "recommendations")) do
      recs[j] = string.format("%s (from %s)", tostring(x.product_id), items(x.based_on))
    end
    rows[i] = { tostring(r.customer_id), type(r.products_owned) == "table" and #r.products_owned or "–", table.concat(recs, ", ") }
  end
  local s = type(data.summary) == "table" and data.summary or {}
  return string.format('<p class="intro">%s customers have recommendations; the first %d:</p>', fmt(val(s.total_customers)), #rows)
    .. html.table({ { title = "Customer" }, { title = "Products owned", class = "num" },
      { title = "Recommended products (because of)" } }, rows)
end

-- Top association rules, then samples of the product and customer recommendations.
function advanced.recommendations(env, top_rules)
  return table.concat {
    '<div class="grid">',
    html.panel("Top association rules", block.draw(env, RECS_DIR .. "product_associations.json",
      function(t) return rules_table(t, top_rules) end), "wide"),
    html.panel("Product recommendations", block.draw(env, RECS_DIR .. "product_recommendations.json",
      function(t) return product_recs(t, 10) end)),
    html.panel("Customer recommendations", block.draw(env, RECS_DIR .. "customer_recommendations.json",
      function(t) return customer_recs(t, 10) end)),
    "</div>",
  }
end

return advanced
