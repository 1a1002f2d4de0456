-- clustering.lua: customer segmentation (seed_spec §3.4) with native k-means: per-customer features, standardized
-- k-means++ fits, clusters numbered by average volume, unique labels from the rule table, profiles, a stratified
-- sample, a 2-D PCA projection, and a CSV of every customer's segment (README, "Customer segmentation").
local flow = require "mercado.flow"
local json = require "mercado.json"
local kmeans = require "mercado.kmeans"
local stats = require "mercado.stats"
local cs = require "mercado.colstore"
local dataset = require "lib.dataset"
local catalog = require "lib.catalog"
local output = require "lib.output"
local pca = require "lib.pca"
local shared_params = require "lib.params"

local FEATURES = { "frequency", "unique_products", "total_volume", "unique_categories" }
local SAMPLE_SIZE, PCA_POINTS = 1000, 2000
local SILHOUETTE_SAMPLE = 10000 -- exact silhouette of a seeded sample of this many customers (O(n^2))

-- The rule table of the old system (first matching rule wins), with its texts. f, v, p, c are the cluster's average
-- frequency, total volume, unique products and unique categories.
local RULES = {
  { label = "VIP / Compradores Premium",
    test = function(f, v, _, c) return f > 15 and v > 50 and c > 10 end,
    describe = function(f, v, p, c) return string.format("Clientes con alta frecuencia de compra (%.1f transacciones en promedio), alto volumen de productos (%.0f productos), amplia diversidad de productos (%.0f productos distintos) y exploran múltiples categorías (%.1f categorías). Son los clientes más valiosos.", f, v, p, c) end,
    recommendations = { "Programa de fidelización premium con beneficios exclusivos", "Acceso anticipado a nuevos productos y ofertas especiales", "Asesor personalizado o atención prioritaria", "Descuentos por volumen y puntos de recompensa" } },
  { label = "Clientes Frecuentes",
    test = function(f) return f > 10 end,
    describe = function(f, v, p, c) return string.format("Clientes que compran regularmente (%.1f transacciones) con buen volumen (%.0f productos). Suelen explorar %.0f productos distintos y %.1f categorías. Tienen potencial de crecimiento.", f, v, p, c) end,
    recommendations = { "Cross-selling y up-selling de productos relacionados", "Recomendaciones personalizadas basadas en historial", "Programas de lealtad con recompensas progresivas", "Ofertas en categorías que aún no han explorado" } },
  { label = "Exploradores / Diversificadores",
    test = function(_, _, p, c) return p > 20 or c > 8 end,
    describe = function(f, _, p, c) return string.format("Clientes que buscan variedad: %.0f productos distintos y %.1f categorías diferentes, aunque con frecuencia moderada (%.1f transacciones). Valoran la diversidad y experimentación.", p, c, f) end,
    recommendations = { "Mostrar productos nuevos y tendencias del mercado", "Destacar diversidad de catálogo y categorías especiales", "Campañas de descubrimiento con muestras o pruebas", "Recomendaciones de productos similares a los que les gustan" } },
  { label = "Clientes Ocasionales / Nuevos",
    test = function(f, v) return f < 5 and v < 20 end,
    describe = function(f, v, p, c) return string.format("Clientes con bajo compromiso: %.1f transacciones y %.0f productos. Compran productos limitados (%.0f distintos) en pocas categorías (%.1f). Pueden estar empezando o ser clientes ocasionales.", f, v, p, c) end,
    recommendations = { "Campañas de bienvenida para nuevos clientes", "Ofertas de reactivación con descuentos especiales", "Programas de referencia para atraer amigos", "Comunicación educativa sobre beneficios y productos" } },
  { label = "Clientes Regulares",
    test = function() return true end,
    describe = function(f, v, p, c) return string.format("Clientes con comportamiento promedio: %.1f transacciones, %.0f productos, %.0f productos distintos y %.1f categorías. Representan la base de clientes.", f, v, p, c) end,
    recommendations = { "Ofertas regulares para mantener el interés", "Recordatorios de productos frecuentemente comprados", "Programas de puntos o cashback", "Comunicación sobre nuevas categorías y productos" } },
}

local Profile = json.shape { "cluster_id", "label", "description", "n_customers", "percentage", "metrics", "centroid",
  "business_recommendations" }
local Metrics = json.shape { "avg_frequency", "avg_unique_products", "avg_total_volume", "avg_unique_categories",
  "min_frequency", "max_frequency", "min_volume", "max_volume" }
local Centroid = json.shape(FEATURES)
local Statistic = json.shape { "cluster", "n_customers", "avg_frequency", "avg_unique_products", "avg_total_volume",
  "avg_unique_categories" }

-- One row per customer: frequency (baskets), unique_products, total_volume (units), unique_categories (distinct
-- categories of the products bought, under the catalog policy).
local function build_features(ds)
  local per, owned = dataset.customers(ds), dataset.owned_products(ds)
  local pairs_ = catalog.pairs(ds)
  local ncategories = owned:remap_lengths(pairs_:column("product_id"), pairs_:column("category_id"))
  return cs.table { { "customer_id", per:column("customer_id") }, { "frequency", per:column("baskets") },
    { "unique_products", owned:lengths() }, { "total_volume", per:column("units") },
    { "unique_categories", ncategories } }
end

-- Cluster statistics per (raw) label, and the renumbering that orders clusters by average volume ascending
-- (ties: lower average frequency, then the raw label), so ids do not depend on the seed's arbitrary numbering.
local function cluster_order(features, labels, k)
  local g = features:with("cluster", labels):group_by("cluster", { { "n", "count" },
    { "avg_frequency", "mean", "frequency" }, { "avg_unique_products", "mean", "unique_products" },
    { "avg_total_volume", "mean", "total_volume" }, { "avg_unique_categories", "mean", "unique_categories" },
    { "min_frequency", "min", "frequency" }, { "max_frequency", "max", "frequency" },
    { "min_volume", "min", "total_volume" }, { "max_volume", "max", "total_volume" } }):rows()
  if #g ~= k then error(string.format("k-means left %d of %d clusters empty", k - #g, k)) end
  table.sort(g, function(a, b)
    if a.avg_total_volume ~= b.avg_total_volume then return a.avg_total_volume < b.avg_total_volume end
    if a.avg_frequency ~= b.avg_frequency then return a.avg_frequency < b.avg_frequency end
    return a.cluster < b.cluster
  end)
  local recode = {}
  for new, r in ipairs(g) do recode[r.cluster] = new - 1 end
  return g, recode
end

-- Labels: clusters take rules in order of average volume, highest first; each takes the first matching rule whose
-- label is still free, else the first free label in rule order; beyond five clusters labels repeat with " (2)", ...
local function assign_labels(stats_rows)
  local taken, assigned = {}, {}
  for i = #stats_rows, 1, -1 do
    local r = stats_rows[i]
    local f, v, p, c = r.avg_frequency, r.avg_total_volume, r.avg_unique_products, r.avg_unique_categories
    local chosen
    for _, rule in ipairs(RULES) do
      if not taken[rule.label] and rule.test(f, v, p, c) then chosen = rule break end
    end
    if not chosen then for _, rule in ipairs(RULES) do if not taken[rule.label] then chosen = rule break end end end
    local label = chosen and chosen.label
    if not chosen then -- more clusters than labels: the matching rule with a number
      for _, rule in ipairs(RULES) do if rule.test(f, v, p, c) then chosen = rule break end end
      local n = 2
      while taken[chosen.label .. " (" .. n .. ")"] do n = n + 1 end
      label = chosen.label .. " (" .. n .. ")"
    end
    taken[label] = true
    assigned[i] = { label = label, rule = chosen }
  end
  return assigned
end

local function build_profiles(stats_rows, assigned, total, model, recode)
  local centroid_of = {}
  for raw, new in pairs(recode) do centroid_of[new] = model.centroids_original[raw + 1] end
  local profiles = json.object()
  for i, r in ipairs(stats_rows) do
    local id = i - 1
    local f, v, p, c = r.avg_frequency, r.avg_total_volume, r.avg_unique_products, r.avg_unique_categories
    local centroid = Centroid()
    for j, name in ipairs(FEATURES) do centroid[name] = centroid_of[id][j] end
    profiles["cluster_" .. id] = Profile {
      cluster_id = id, label = assigned[i].label, description = assigned[i].rule.describe(f, v, p, c),
      n_customers = r.n, percentage = r.n / total * 100,
      metrics = Metrics { avg_frequency = f, avg_unique_products = p, avg_total_volume = v, avg_unique_categories = c,
        min_frequency = r.min_frequency, max_frequency = r.max_frequency, min_volume = r.min_volume,
        max_volume = r.max_volume },
      centroid = centroid, business_recommendations = json.array(assigned[i].rule.recommendations),
    }
  end
  return profiles
end

-- 2-D PCA of the standardized features: components from the correlation matrix, a stratified sample projected.
local function pca_projection(features, labels, model, seed)
  local corr = stats.correlation(features, FEATURES)
  local a = {}
  for i, v1 in ipairs(FEATURES) do
    a[i] = {}
    for j, v2 in ipairs(FEATURES) do a[i][j] = (corr.matrix[v1] and corr.matrix[v1][v2]) or (i == j and 1 or 0) end
  end
  local values, vectors = pca.eigen(a)
  local total = 0
  for _, x in ipairs(values) do total = total + x end
  local sample = features:with("cluster", labels):sample(PCA_POINTS, { seed = seed, strata = "cluster" }):rows()
  local points = {}
  for i, r in ipairs(sample) do
    local z = {}
    for j, name in ipairs(FEATURES) do
      local sd = model.std[j]
      z[j] = sd > 0 and (r[name] - model.mean[j]) / sd or 0
    end
    local x, y = 0, 0
    for j = 1, #FEATURES do x, y = x + z[j] * vectors[1][j], y + z[j] * vectors[2][j] end
    points[i] = { customer_id = r.customer_id, cluster = r.cluster, x = x, y = y }
  end
  return { features = json.array(FEATURES), components = json.array { json.array(vectors[1]), json.array(vectors[2]) },
    explained_variance_ratio = json.array { values[1] / total, values[2] / total }, points = json.array(points) }
end

return flow.define {
  name = "clustering",
  description = "Customer segments with k-means (advanced/clustering/*.json, customer_segments.csv)",
  params = shared_params.with(shared_params.selection(), {
    n_clusters = { type = "int", default = 4, min = 2, max = 50, doc = "number of segments (k)" },
    seed = { type = "int", default = 42, min = 0, doc = "seed of the k-means++ starts and of the samples" },
    n_init = { type = "int", default = 10, min = 1, max = 1000, doc = "k-means restarts (the lowest inertia wins)" },
    max_iter = { type = "int", default = 300, min = 1, max = 100000, doc = "iterations per restart" },
  }),
  run = function(ctx, p)
    local ds = ctx:task("load data", dataset.LOAD_TASK, dataset.load, ctx, p)
    local features = ctx:task("build features", {}, build_features, ds)
    local k = p.n_clusters
    local model = ctx:task("fit k-means", {}, function()
      local m, err = kmeans.fit(features, k, { columns = FEATURES, standardize = true, seed = p.seed,
        n_init = p.n_init, max_iter = p.max_iter })
      if not m then error(err, 0) end
      ctx.log.info("k=%d: inertia %.6g after %d iterations (%s)", k, m.inertia, m.n_iter,
        m.converged and "converged" or "not converged")
      return m
    end)
    local silhouette, used = ctx:task("score silhouette", {}, function()
      return kmeans.silhouette(features, model.labels, { columns = FEATURES, standardize = true, seed = p.seed,
        sample = SILHOUETTE_SAMPLE })
    end)
    ctx:task("write segments", {}, function()
      local stats_rows, recode = cluster_order(features, model.labels, k)
      local labels = model.labels:recode(recode)
      local assigned = assign_labels(stats_rows)
      local total = #features
      local profiles = build_profiles(stats_rows, assigned, total, model, recode)
      local with_cluster = features:with("cluster", labels)
      local sample = with_cluster:sample(SAMPLE_SIZE, { seed = p.seed, strata = "cluster" })
      ctx:write_json("advanced/clustering/customer_clusters.json", json.shape {
        "n_clusters", "total_customers", "sample_method", "sample_assignments", "generated_at" } {
        n_clusters = k, total_customers = total,
        sample_method = string.format("stratified by cluster, proportional, seed %d", p.seed),
        sample_assignments = sample, generated_at = output.timestamp() })
      ctx:write_json("advanced/clustering/cluster_summary.json", json.shape {
        "n_clusters", "inertia", "silhouette", "silhouette_rows", "cluster_profiles", "generated_at" } {
        n_clusters = k, inertia = model.inertia, silhouette = silhouette, silhouette_rows = used,
        cluster_profiles = profiles, generated_at = output.timestamp() })
      local statistics, names, sizes = {}, json.object(), json.object()
      for i, r in ipairs(stats_rows) do
        statistics[i] = Statistic { cluster = i - 1, n_customers = r.n, avg_frequency = r.avg_frequency,
          avg_unique_products = r.avg_unique_products, avg_total_volume = r.avg_total_volume,
          avg_unique_categories = r.avg_unique_categories }
        names[tostring(i - 1)] = assigned[i].label
        sizes[tostring(i - 1)] = r.n
      end
      ctx:write_json("advanced/clustering/clustering_visualization.json", json.shape {
        "n_clusters", "visualization_data", "cluster_summary", "generated_at" } {
        n_clusters = k,
        visualization_data = json.shape { "cluster_statistics", "cluster_labels", "distribution", "pca" } {
          cluster_statistics = json.array(statistics), cluster_labels = names, distribution = sizes,
          pca = pca_projection(features, labels, model, p.seed) },
        cluster_summary = profiles, generated_at = output.timestamp() })
      local label_table = cs.table { { "cluster", cs.column("int32", (function()
        local t = {} for i = 1, k do t[i] = i - 1 end return t end)()) },
        { "label", cs.column("string", (function() local t = {} for i = 1, k do t[i] = assigned[i].label end return t end)()) } }
      local segments = with_cluster:select { "customer_id", "cluster" }:join(label_table, { on = "cluster" })
      ctx:write_text("advanced/clustering/customer_segments.csv", segments:to_csv())
      output.metadata(ctx, "clustering_pipeline", "generate_clustering", json.array {
        "customer_clusters.json", "cluster_summary.json", "clustering_visualization.json", "customer_segments.csv" },
        { n_clusters = k, inertia = model.inertia, silhouette = silhouette,
          deliverables = json.array { "Visualización del clustering", "Descripción de cada grupo",
            "Recomendaciones de negocio por cluster" } })
    end)
    return { status = "success", pipeline = "clustering", n_clusters = k }
  end,
}
