-- test_clustering_flow.lua: the clustering flow on generated data: features recomputed by brute force from the CSV
-- text, every customer assigned exactly once, sizes adding up, unique labels, ids ordered by volume, a stratified
-- sample, and byte-identical reruns with the same seed.
package.path = (os.getenv("MERCADO_SOURCE_ROOT") or ".") .. "/tests/lib/?.lua;" .. package.path
local T = require "testlib"
local json = require "mercado.json"
local sys = require "mercado.sys"

local dir = T.tmpdir("clust")
T.eq(T.mercado({ "gen", "--baskets", "20000", "--seed", "4", "--out", "data" }, { dir = dir }), 0, "gen")
local function run(out, ...)
  local args = { "run", "clustering", "-p", "data_dir=data", "--output", out, "-q" }
  for _, a in ipairs { ... } do args[#args + 1] = a end
  local code, _, err = T.mercado(args, { dir = dir })
  T.eq(code, 0, "clustering exit code: " .. tostring(err))
end
run("a")
run("b")
local function load(out, rel) return json.decode(T.read(dir .. "/" .. out .. "/advanced/clustering/" .. rel)) end

-- brute-force features
local cats = {}
local header = true
for line in io.lines(dir .. "/data/products/ProductCategory.csv") do
  if header then header = false else
    local p, c = line:match("^(%d+)|(%d+)")
    cats[tonumber(p)] = cats[tonumber(p)] or {}
    cats[tonumber(p)][tonumber(c)] = true
  end
end
local feat = {}
for _, path in ipairs(sys.glob(dir .. "/data/transactions/*_Tran.csv")) do
  for line in io.lines(path) do
    local cust, items = line:match("^[^|]*|[^|]*|(%d+)|(.*)$")
    cust = tonumber(cust)
    local f = feat[cust] or { frequency = 0, total_volume = 0, products = {}, categories = {} }
    feat[cust] = f
    f.frequency = f.frequency + 1
    for id in items:gmatch("%d+") do
      id = tonumber(id)
      f.total_volume = f.total_volume + 1
      f.products[id] = true
      for c in pairs(cats[id] or {}) do f.categories[c] = true end
    end
  end
end
local function count(s) local n = 0 for _ in pairs(s) do n = n + 1 end return n end
local ncustomers = count(feat)

local clusters = load("a", "customer_clusters.json")
T.eq(clusters.total_customers, ncustomers, "every customer counted")
T.eq(clusters.n_clusters, 4, "k")
for _, r in ipairs(clusters.sample_assignments) do
  local f = feat[r.customer_id]
  T.eq(r.frequency, f.frequency, "frequency of " .. r.customer_id)
  T.eq(r.total_volume, f.total_volume, "units of " .. r.customer_id)
  T.eq(r.unique_products, count(f.products), "distinct products of " .. r.customer_id)
  T.eq(r.unique_categories, count(f.categories), "distinct categories of " .. r.customer_id)
end

-- every customer once in customer_segments.csv; sizes, labels and ordering
local seen, sizes, labels_of = {}, {}, {}
local lines = 0
for line in io.lines(dir .. "/a/advanced/clustering/customer_segments.csv") do
  lines = lines + 1
  if lines > 1 then
    local id, cl, label = line:match("^(%d+),(%d+),(.*)$")
    id, cl = tonumber(id), tonumber(cl)
    T.check(not seen[id], "customer %d assigned once", id)
    seen[id] = true
    sizes[cl] = (sizes[cl] or 0) + 1
    labels_of[cl] = labels_of[cl] or label
    T.eq(labels_of[cl], label, "one label per cluster")
  end
end
T.eq(count(seen), ncustomers, "every customer in customer_segments.csv")
local summary = load("a", "cluster_summary.json")
local total, used_labels, prev_volume = 0, {}, -1
for id = 0, 3 do
  local prof = summary.cluster_profiles["cluster_" .. id]
  T.eq(prof.n_customers, sizes[id], "size of cluster " .. id)
  total = total + prof.n_customers
  T.check(not used_labels[prof.label], "label %q used once", prof.label)
  used_labels[prof.label] = true
  T.eq(prof.label, labels_of[id], "CSV label matches the profile of " .. id)
  T.check(prof.metrics.avg_total_volume > prev_volume, "clusters ordered by average volume (%d)", id)
  prev_volume = prof.metrics.avg_total_volume
  T.near(prof.percentage, prof.n_customers / ncustomers * 100, 1e-9, "percentage of " .. id)
  T.eq(#prof.business_recommendations, 4, "four recommendations for " .. id)
end
T.eq(total, ncustomers, "sizes add up to the customer count")
T.check(summary.inertia > 0, "inertia reported")
T.check(summary.silhouette > -1 and summary.silhouette <= 1, "silhouette in [-1, 1]: %s", tostring(summary.silhouette))
-- the stratified sample: about 1000 rows, each cluster in proportion (largest remainders, so within 1)
local per = {}
local cluster_of = {}
for line in io.lines(dir .. "/a/advanced/clustering/customer_segments.csv") do
  local id, cl = line:match("^(%d+),(%d+),")
  if id then cluster_of[tonumber(id)] = tonumber(cl) end
end
for _, r in ipairs(clusters.sample_assignments) do
  per[r.cluster] = (per[r.cluster] or 0) + 1
  T.eq(r.cluster, cluster_of[r.customer_id], "sample cluster of " .. r.customer_id)
end
T.eq(#clusters.sample_assignments, math.min(1000, ncustomers), "sample size")
for id = 0, 3 do
  T.check(math.abs((per[id] or 0) - 1000 * sizes[id] / ncustomers) <= 1, "cluster %d's share of the sample", id)
end
local viz = load("a", "clustering_visualization.json")
T.eq(#viz.visualization_data.cluster_statistics, 4, "cluster statistics rows")
T.eq(viz.visualization_data.distribution["0"], sizes[0], "distribution")
T.check(#viz.visualization_data.pca.points > 0, "PCA points")
-- same seed: identical files apart from timestamps
for _, f in ipairs { "customer_clusters.json", "cluster_summary.json", "clustering_visualization.json" } do
  local a = T.read(dir .. "/a/advanced/clustering/" .. f):gsub('"generated_at": "[^"]*"', "")
  local b = T.read(dir .. "/b/advanced/clustering/" .. f):gsub('"generated_at": "[^"]*"', "")
  T.eq(a, b, "rerun identical: " .. f)
end
T.eq(T.read(dir .. "/a/advanced/clustering/customer_segments.csv"), T.read(dir .. "/b/advanced/clustering/customer_segments.csv"),
  "rerun identical: customer_segments.csv")
-- more clusters than the label table: labels stay unique
run("c", "-p", "n_clusters=7")
local used = {}
for _, prof in pairs(load("c", "cluster_summary.json").cluster_profiles) do
  T.check(not used[prof.label], "label %q unique with k=7", prof.label)
  used[prof.label] = true
end
T.done()
