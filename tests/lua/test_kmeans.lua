-- test_kmeans.lua: tests of the mercado.kmeans binding. Results are checked against computations written here in
-- plain Lua: a brute-force Lloyd from the same starting centres, a direct O(n^2) silhouette, Gaussian blobs with
-- known centres (adjusted Rand index), z-scores by hand; plus determinism (seed, thread count), data forms, the
-- inertia history and errors naming the column. Run: mercado exec tests/lua/test_kmeans.lua
local kmeans = require "mercado.kmeans"
local cs = require "mercado.colstore"

local function ok(name) print("ok " .. name) end

local function close(a, b, tol)
  return math.abs(a - b) <= (tol or 1e-9) * math.max(1, math.abs(a), math.abs(b))
end

local function expect(cond, fmt, ...)
  if not cond then error(string.format(fmt, ...), 2) end
end

local function expect_error(fragment, f, ...)
  local good, msg = pcall(f, ...)
  expect(not good, "expected an error containing '%s'", fragment)
  expect(tostring(msg):find(fragment, 1, true), "error '%s' lacks '%s'", tostring(msg), fragment)
end

local function expect_fail(fragment, v, msg)
  expect(v == nil and type(msg) == "string" and msg:find(fragment, 1, true),
    "expected nil, '%s'; got %s, %s", fragment, tostring(v), tostring(msg))
end

local function normal()
  return math.sqrt(-2 * math.log(1 - math.random())) * math.cos(2 * math.pi * math.random())
end

-- rows: array of arrays; returns a Table with columns x1..xd (float64)
local function to_table(rows)
  local d, spec = #rows[1], {}
  for f = 1, d do
    local v = {}
    for i = 1, #rows do v[i] = rows[i][f] end
    spec[f] = { "x" .. f, cs.column("float64", v) }
  end
  return cs.table(spec)
end

local function sq(a, b)
  local s = 0
  for f = 1, #a do s = s + (a[f] - b[f]) ^ 2 end
  return s
end

local function nearest(x, C)
  local best, bd = 1, sq(x, C[1])
  for j = 2, #C do
    local t = sq(x, C[j])
    if t < bd then best, bd = j, t end
  end
  return best, bd
end

-- Plain Lloyd from init (no empty clusters occur on this data), stopping as scikit-learn: no label change, or
-- squared centre shift <= tol * mean column variance; labels re-assigned to the final centres.
local function brute_lloyd(X, init, max_iter, tol)
  local n, d, k = #X, #X[1], #init
  local var = 0
  for f = 1, d do
    local m, q = 0, 0
    for i = 1, n do m = m + X[i][f] end
    m = m / n
    for i = 1, n do q = q + (X[i][f] - m) ^ 2 end
    var = var + q / n
  end
  local tol_abs, C, labels, strict, iters = tol * var / d, {}, {}, false, max_iter
  for j = 1, k do C[j] = { table.unpack(init[j]) } end
  for it = 1, max_iter do
    local changed = 0
    for i = 1, n do
      local j = nearest(X[i], C)
      if labels[i] ~= j then changed = changed + 1 end
      labels[i] = j
    end
    local S, cnt = {}, {}
    for j = 1, k do S[j], cnt[j] = {}, 0; for f = 1, d do S[j][f] = 0 end end
    for i = 1, n do
      local j = labels[i]
      cnt[j] = cnt[j] + 1
      for f = 1, d do S[j][f] = S[j][f] + X[i][f] end
    end
    local shift = 0
    for j = 1, k do
      assert(cnt[j] > 0, "brute force: empty cluster")
      for f = 1, d do
        local c = S[j][f] / cnt[j]
        shift = shift + (c - C[j][f]) ^ 2
        C[j][f] = c
      end
    end
    if it > 1 and changed == 0 then strict = true end
    if strict or shift <= tol_abs then iters = it; break end
  end
  if not strict then for i = 1, n do labels[i] = nearest(X[i], C) end end
  local inertia = 0
  for i = 1, n do inertia = inertia + sq(X[i], C[labels[i]]) end
  return labels, C, inertia, iters
end

local function adjusted_rand(a, b)
  local n, t, ra, rb = #a, {}, {}, {}
  for i = 1, n do
    local key = a[i] .. ":" .. b[i]
    t[key] = (t[key] or 0) + 1
    ra[a[i]] = (ra[a[i]] or 0) + 1
    rb[b[i]] = (rb[b[i]] or 0) + 1
  end
  local function pairs_sum(m) local s = 0; for _, c in pairs(m) do s = s + c * (c - 1) / 2 end; return s end
  local sij, sa, sb = pairs_sum(t), pairs_sum(ra), pairs_sum(rb)
  local expected = sa * sb / (n * (n - 1) / 2)
  return (sij - expected) / ((sa + sb) / 2 - expected)
end

local function same_bits(a, b)
  return string.format("%a", a) == string.format("%a", b)
end

local function same_labels(col, want, offset)
  local got = col:totable()
  if #got ~= #want then return false end
  for i = 1, #want do if got[i] + (offset or 0) ~= want[i] then return false end end
  return true
end

-- 1. Brute force from the same starting centres: identical labels, iterations, inertia to 1e-9 relative.
do
  math.randomseed(7)
  for case, c in ipairs({ { n = 1500, d = 3, k = 5, tol = 1e-4 }, { n = 1200, d = 2, k = 7, tol = 0 },
                          { n = 800, d = 4, k = 3, tol = 1e-2 } }) do
    local X = {}
    for i = 1, c.n do
      X[i] = {}
      for f = 1, c.d do X[i][f] = (f == 1 and math.random() ^ 3 * 10 or normal()) end
    end
    local init = {}
    for j = 1, c.k do init[j] = { table.unpack(X[j * 37]) } end
    local labels, C, inertia, iters = brute_lloyd(X, init, 300, c.tol)
    local model = assert(kmeans.fit(X, c.k, { init = init, tol = c.tol, polish = false }))
    expect(same_labels(model.labels, labels, 1), "case %d: labels differ from brute force", case)
    expect(model.n_iter == iters, "case %d: %d iterations, brute force %d", case, model.n_iter, iters)
    expect(close(model.inertia, inertia), "case %d: inertia %.17g vs %.17g", case, model.inertia, inertia)
    for j = 1, c.k do
      for f = 1, c.d do
        expect(close(model.centroids[j][f], C[j][f]), "case %d: centroid %d,%d", case, j, f)
      end
    end
    -- polished (the default): brute force until no label changes
    local plabels, _, pinertia = brute_lloyd(X, init, 300, 0)
    local polished = assert(kmeans.fit(X, c.k, { init = init, tol = c.tol }))
    expect(same_labels(polished.labels, plabels, 1), "case %d: polished labels differ from brute force", case)
    expect(close(polished.inertia, pinertia), "case %d: polished inertia %.17g vs %.17g", case, polished.inertia,
      pinertia)
    expect(polished.inertia <= model.inertia, "case %d: the polish raised the inertia", case)
    if c.tol == 1e-2 then expect(polished.polish_iter > 0, "case %d: no polish iteration", case) end
  end
  ok("fit equals brute-force Lloyd from the same centres (stopped by tol, and polished)")
end

-- 2. Gaussian blobs with known centres: recovered centres, adjusted Rand index >= 0.99.
local blob_rows, blob_truth
do
  math.randomseed(11)
  local centres = { { 0, 0, 0 }, { 8, 1, -3 }, { -6, 7, 2 }, { 3, -8, 6 } }
  blob_rows, blob_truth = {}, {}
  for i = 1, 6000 do
    local j = (i - 1) % 4 + 1
    blob_truth[i] = j
    blob_rows[i] = {}
    for f = 1, 3 do blob_rows[i][f] = centres[j][f] + normal() end
  end
  local model = assert(kmeans.fit(to_table(blob_rows), 4))
  local got = model.labels:totable()
  local ari = adjusted_rand(got, blob_truth)
  expect(ari >= 0.99, "blobs: adjusted Rand index %.4f", ari)
  for j = 1, 4 do
    local _, d2 = nearest(centres[j], model.centroids_original)
    expect(math.sqrt(d2) < 0.1, "blobs: centre %d recovered %.3f away", j, math.sqrt(d2))
  end
  expect(model.converged, "blobs: not converged")
  ok(string.format("blobs recovered (ARI %.4f)", ari))
end

-- 3. Heavy-tailed integer data like the customer features: history never rises, same seed same result, thread
-- count irrelevant, predict reproduces the labels, standardization by hand.
do
  math.randomseed(3)
  local rows = {}
  for i = 1, 20000 do
    local f = math.min(535, math.floor(math.exp(1.3 + 1.05 * normal())) + 1)
    local v = math.max(f, math.floor(f * math.exp(1.3 + 0.6 * normal()) + 0.5))
    local p = math.min(v, math.max(1, math.floor(v * math.random() * 0.8 + 0.5)))
    local c = math.min(24, math.max(1, math.floor(24 * (1 - math.exp(-p / 15)) + 0.5)))
    rows[i] = { f, p, v, c }
  end
  local function column(f, type)
    local x = {}
    for i = 1, #rows do x[i] = rows[i][f] end
    return cs.column(type, x)
  end
  local t = cs.table{ { "frequency", column(1, "int64") }, { "unique_products", column(2, "int32") },
                      { "total_volume", column(3, "int32") }, { "unique_categories", column(4, "int32") } }
  local opts = { standardize = true, history = true, seed = 5 }
  local runs = {}
  for threads = 1, 2 do
    opts.threads = threads
    runs[threads] = assert(kmeans.fit(t, 4, opts))
  end
  local a, b = runs[1], runs[2]
  expect(same_labels(a.labels, b.labels:totable()), "labels depend on the thread count")
  expect(same_bits(a.inertia, b.inertia), "inertia depends on the thread count")
  for j = 1, 4 do
    for f = 1, 4 do expect(same_bits(a.centroids[j][f], b.centroids[j][f]), "centroids depend on threads") end
  end
  local c = assert(kmeans.fit(t, 4, opts))
  expect(same_labels(a.labels, c.labels:totable()) and same_bits(a.inertia, c.inertia), "same seed, different result")
  local h = a.inertia_history
  expect(#h == a.n_iter, "history has %d entries for %d iterations", #h, a.n_iter)
  for i = 2, #h do expect(h[i] <= h[i - 1], "inertia rose at iteration %d: %.17g > %.17g", i, h[i], h[i - 1]) end
  local best = math.huge
  for _, v in ipairs(a.inertia_runs) do best = math.min(best, v) end
  expect(a.inertia_runs[a.best_run] == best and a.inertia <= best, "kept restart is not the lowest inertia")
  expect(#a.n_iter_runs == 10 and a.n_iter_runs[a.best_run] + a.polish_iter == a.n_iter, "n_iter_runs")
  local raw = assert(kmeans.fit(t, 4, { standardize = true, seed = 5, polish = false }))
  expect(raw.inertia == best and raw.polish_iter == 0 and raw.n_iter == a.n_iter_runs[a.best_run],
    "unpolished fit is not the best restart")
  -- scaling by hand: sample standard deviation
  local Z = {}
  for f = 1, 4 do
    local m, q = 0, 0
    for i = 1, #rows do m = m + rows[i][f] end
    m = m / #rows
    for i = 1, #rows do q = q + (rows[i][f] - m) ^ 2 end
    local s = math.sqrt(q / (#rows - 1))
    expect(close(a.mean[f], m, 1e-12) and close(a.std[f], s, 1e-12), "mean/std of column %d", f)
    for i = 1, #rows do Z[i] = Z[i] or {}; Z[i][f] = (rows[i][f] - m) / s end
  end
  local labels, inertia = a.labels:totable(), 0
  for i = 1, #rows do
    local j = nearest(Z[i], a.centroids)
    expect(j == labels[i] + 1, "row %d is not labelled with its nearest centroid", i)
    inertia = inertia + sq(Z[i], a.centroids[j])
  end
  expect(close(inertia, a.inertia, 1e-9), "inertia %.17g vs recomputed %.17g", a.inertia, inertia)
  for j = 1, 4 do for f = 1, 4 do
    expect(close(a.centroids_original[j][f], a.centroids[j][f] * a.std[f] + a.mean[f], 1e-12), "centroids_original")
  end end
  expect(same_labels(kmeans.predict(a, t), labels), "predict differs from the fitted labels")
  expect(table.concat(a.columns, ",") == "frequency,unique_products,total_volume,unique_categories", "columns")
  local other = assert(kmeans.fit(t, 4, { standardize = true, seed = 6 }))
  expect(other.seed == 6 and a.seed == 5, "seed not recorded")
  ok("determinism, history, scaling and predict on heavy-tailed data")
end

-- 4. Data forms agree: Table, array of Columns, array of rows, Matrix.
do
  local t = to_table(blob_rows)
  local m = kmeans.matrix(t)
  expect(#m == #blob_rows and m:cols() == 3 and m:get(5, 2) == blob_rows[5][2], "matrix shape/values")
  expect(table.concat(m:names(), ",") == "x1,x2,x3", "matrix names")
  local ref = assert(kmeans.fit(t, 4, { n_init = 3 }))
  for _, data in ipairs({ m, blob_rows, { t:column("x1"), t:column("x2"), t:column("x3") } }) do
    local r = assert(kmeans.fit(data, 4, { n_init = 3 }))
    expect(same_labels(r.labels, ref.labels:totable()) and same_bits(r.inertia, ref.inertia), "data forms differ")
  end
  local zt = assert(kmeans.fit(t, 4, { n_init = 3, standardize = true }))
  local zm = assert(kmeans.fit(m, 4, { n_init = 3, standardize = true }))
  expect(same_labels(zm.labels, zt.labels:totable()) and same_bits(zm.inertia, zt.inertia), "standardized forms differ")
  expect(m:get(5, 2) == blob_rows[5][2], "standardize changed the caller's Matrix")
  local sub = assert(kmeans.fit(t, 2, { columns = { "x3", "x1" } }))
  expect(sub.d == 2 and sub.columns[1] == "x3", "columns option")
  ok("data forms")
end

-- 5. Silhouette against the definition; sampling is seeded.
do
  math.randomseed(5)
  local rows, labels = {}, {}
  for i = 1, 300 do
    rows[i] = { normal() + (i % 3) * 2, normal() }
    labels[i] = i % 3
  end
  labels[17] = 7 -- a singleton cluster scores 0
  local total = 0
  for i = 1, #rows do
    local sum, cnt = {}, {}
    for j = 1, #rows do
      local l = labels[j]
      sum[l] = (sum[l] or 0) + math.sqrt(sq(rows[i], rows[j]))
      cnt[l] = (cnt[l] or 0) + 1
    end
    local own = labels[i]
    if cnt[own] > 1 then
      local a, b = sum[own] / (cnt[own] - 1), math.huge
      for l, s in pairs(sum) do if l ~= own then b = math.min(b, s / cnt[l]) end end
      total = total + (b - a) / math.max(a, b)
    end
  end
  local want = total / #rows
  local s, used = kmeans.silhouette(rows, labels)
  expect(used == 300 and close(s, want, 1e-12), "silhouette %.15g vs %.15g", s, want)
  local s2 = kmeans.silhouette(rows, cs.column("int32", labels), { threads = 1 })
  expect(s2 == s, "silhouette differs for a Column of labels / one thread")
  local a, ua = kmeans.silhouette(rows, labels, { sample = 150, seed = 1 })
  local b = kmeans.silhouette(rows, labels, { sample = 150, seed = 1 })
  local c = kmeans.silhouette(rows, labels, { sample = 150, seed = 2 })
  expect(ua == 150 and a == b and a ~= c, "sampled silhouette: used %s, %s %s %s", ua, a, b, c)
  expect(math.abs(a - want) < 0.1, "sampled silhouette %g far from %g", a, want)
  local same = {}
  for i = 1, 300 do same[i] = 1 end
  expect_fail("distinct labels", kmeans.silhouette(rows, same))
  ok("silhouette")
end

-- 6. Elbow: the inertia of each k equals a separate fit with the same options.
do
  local e = assert(kmeans.elbow(blob_rows, { k_min = 2, k_max = 6, n_init = 4, seed = 9 }))
  expect(#e == 5 and e[1].k == 2 and e[5].k == 6, "elbow shape")
  for _, r in ipairs(e) do
    local m = assert(kmeans.fit(blob_rows, r.k, { n_init = 4, seed = 9 }))
    expect(same_bits(m.inertia, r.inertia) and m.n_iter == r.n_iter, "elbow k=%d differs from fit", r.k)
  end
  expect(e[3].inertia < e[1].inertia / 3, "elbow: 4 blobs should drop the inertia sharply by k = 4")
  ok("elbow")
end

-- 7. Errors: non-finite values name the column and row, too few distinct rows, misuse raises.
do
  local t = cs.table{ { "a", cs.column("float64", { 1, 2, 3, 4 }) }, { "b", cs.column("float64", { 1, 0 / 0, 3, 4 }) },
                      { "s", cs.column("string", { "x", "y", "x", "y" }) } }
  expect_fail("column 'b' has a non-finite value (nan) at row 2", kmeans.fit(t, 2))
  local inf = cs.table{ { "freq", cs.column("float64", { 1, 2, -1 / 0 }) } }
  expect_fail("column 'freq' has a non-finite value (-inf) at row 3", kmeans.fit(inf, 2))
  expect_fail("column 'freq' has a non-finite value", kmeans.predict({ k = 1, centroids = { { 0 } } }, inf))
  expect_fail("k = 3 is more than the number of distinct rows", kmeans.fit({ { 1, 1 }, { 1, 1 }, { 2, 2 } }, 3))
  expect_fail("data has no rows", kmeans.fit(cs.table{ { "a", cs.column("float64", {}) } }, 1))
  expect_error("numeric column was expected", kmeans.fit, t, 2, { columns = { "s" } })
  expect_error("no column 'zz'", kmeans.fit, t, 2, { columns = { "zz" } })
  expect_error("k must be", kmeans.fit, { { 1 }, { 2 } }, 0)
  expect_error("n_init", kmeans.fit, { { 1 }, { 2 } }, 1, { n_init = 0 })
  expect_error("tol", kmeans.fit, { { 1 }, { 2 } }, 1, { tol = -1 })
  expect_error("init", kmeans.fit, { { 1 }, { 2 } }, 2, { init = { { 1 } } })
  expect_error("data row 2", kmeans.fit, { { 1, 2 }, { 3 } }, 1)
  expect_error("Table, array of Columns", kmeans.fit, 42, 1)
  ok("errors")
end
