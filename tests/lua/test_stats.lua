-- test_stats.lua: tests of the mercado.stats binding: results against brute-force Lua computations on random
-- data (fixed seeds), against values numpy/matplotlib/pandas printed (calls quoted in comments; running needs
-- none of them) and against a hand-computed fixture; nil-with-reason cases; errors naming the argument;
-- identical results whatever MERCADO_THREADS says. Run: mercado exec tests/lua/test_stats.lua
local stats = require "mercado.stats"
local cs = require "mercado.colstore"
local json = require "mercado.json"
local sys = require "mercado.sys"

local root = os.getenv("MERCADO_SOURCE_ROOT") or (arg and arg[0] or ""):match("^(.-)/?tests/lua/[^/]*$") or "."
if root == "" then root = "." end

local function ok(name) print("ok " .. name) end

local function close(a, b, tol)
  tol = tol or 1e-12
  return math.abs(a - b) <= tol * math.max(1, math.abs(a), math.abs(b))
end

local function expect_close(got, want, what, tol)
  if type(got) ~= "number" or not close(got, want, tol) then
    error(string.format("%s: got %s, want %.17g", what, tostring(got), want), 2)
  end
end

local function expect_eq(got, want, what)
  if got ~= want then error(string.format("%s: got %s, want %s", what, tostring(got), tostring(want)), 2) end
end

-- Calls f(...) expecting an error whose message contains each of the given fragments.
local function expect_error(fragments, f, ...)
  local good, msg = pcall(f, ...)
  if good then error("expected an error containing '" .. fragments[1] .. "'", 2) end
  msg = tostring(msg)
  for _, frag in ipairs(fragments) do
    if not msg:find(frag, 1, true) then error("error '" .. msg .. "' lacks '" .. frag .. "'", 2) end
  end
end

local function expect_fail(reason, v, msg)
  if v ~= nil or type(msg) ~= "string" or not msg:find(reason, 1, true) then
    error(string.format("expected nil, '%s'; got %s, %s", reason, tostring(v), tostring(msg)), 2)
  end
end

local function random_values(n, kind)
  local x = {}
  for i = 1, n do
    if kind == "int" then x[i] = math.random(-3, 5)
    elseif kind == "offset" then x[i] = 1e9 + math.random()
    else x[i] = math.random() * 200 - 50 end
  end
  return x
end

local function sorted_copy(x)
  local s = {}
  for i = 1, #x do s[i] = x[i] end
  table.sort(s)
  return s
end

-- numpy 'linear' quantile on a sorted Lua array (numpy._lerp: computed from the upper value when t >= 0.5).
local function brute_quantile(s, q)
  local n = #s
  local v = (n - 1) * q
  if v >= n - 1 then return s[n] end
  local i = math.floor(v)
  local t, a, b = v - i, s[i + 1], s[i + 2]
  if t >= 0.5 then return b - (b - a) * (1 - t) end
  return a + (b - a) * t
end

-- Arrays converted to every numeric column type the binding accepts.
local function as_columns(x)
  local all_int = true
  for _, v in ipairs(x) do if math.type(v) ~= "integer" then all_int = false end end
  local cols = { cs.column("float64", x) }
  if all_int then
    cols[#cols + 1] = cs.column("int32", x)
    cols[#cols + 1] = cs.column("int64", x)
  end
  return cols
end

------------------------------------------------------------------------ moments

do
  -- Hand-computed: mean 5, squared deviations sum to 32.
  local x = { 2, 4, 4, 4, 5, 5, 7, 9 }
  for _, v in ipairs({ x, table.unpack(as_columns(x)) }) do
    expect_eq(stats.mean(v), 5.0, "mean")
    expect_eq(stats.var_population(v), 4.0, "var_population")
    expect_close(stats.var_sample(v), 32 / 7, "var_sample", 1e-15)
    expect_eq(stats.std_population(v), 2.0, "std_population")
    expect_close(stats.std_sample(v), math.sqrt(32 / 7), "std_sample", 1e-15)
  end
  -- Dates are days since 1970-01-01: 2013-01-01 is day 15706.
  expect_eq(stats.mean(cs.column("date", { "2013-01-01", "2013-01-03" })), 15707.0, "mean of dates")

  math.randomseed(42)
  for _, kind in ipairs({ "float", "int", "offset" }) do
    local x = random_values(5000, kind)
    local s = 0
    for _, v in ipairs(x) do s = s + v end
    local m = s / #x
    local q = 0
    for _, v in ipairs(x) do q = q + (v - m) ^ 2 end
    expect_close(stats.mean(x), m, "random mean " .. kind, 1e-13)
    expect_close(stats.var_population(x), q / #x, "random var_population " .. kind, 1e-9)
    expect_close(stats.var_sample(x), q / (#x - 1), "random var_sample " .. kind, 1e-9)
    expect_close(stats.std_sample(cs.column("float64", x)), math.sqrt(q / (#x - 1)), "std column " .. kind, 1e-9)
  end

  expect_fail("empty input", stats.mean({}))
  expect_fail("empty input", stats.var_population(cs.column("float64", {})))
  expect_fail("at least 2 values", stats.var_sample({ 5 }))
  expect_fail("at least 2 values", stats.std_sample({ 5 }))
  expect_eq(stats.var_population({ 5 }), 0.0, "population variance of one value")
  expect_fail("non-finite value (nan) at position 2", stats.mean({ 1, 0 / 0, 3 }))
  expect_fail("result overflows a double", stats.var_population({ -1e308, 1e308 }))
  expect_fail("non-finite value (inf) at position 1", stats.var_sample(cs.column("float64", { math.huge, 1 })))
  ok("moments")
end

------------------------------------------------------------------------ quantiles

do
  -- np.quantile(a, [0, 0.1, 0.25, 0.3333, 0.5, 0.66, 0.75, 0.9, 0.99, 1]) and np.median(a), numpy 1.24.2
  local qs = { 0, 0.1, 0.25, 0.3333, 0.5, 0.66, 0.75, 0.9, 0.99, 1 }
  local cases = {
    { { 3.5, -1.25, 7, 2, 2, 10.75, 0, 4.5, 9, -3 },
      { -3.0, -1.425, 0.5, 1.9993999999999996, 2.75, 4.44, 6.375, 9.174999999999999, 10.592500000000001, 10.75 },
      2.75 },
    { { 1, 1, 2, 3, 3, 3, 4, 10, 25, -8, 3 },
      { -8.0, 1.0, 1.5, 2.3329999999999997, 3.0, 3.0, 3.5, 10.0, 23.500000000000007, 25.0 }, 3.0 },
    { { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 50, -30 },
      { -30.0, 1.1, 2.75, 3.6662999999999997, 5.5, 7.260000000000001, 8.25, 9.9, 45.60000000000002, 50.0 }, 5.5 },
  }
  for c, case in ipairs(cases) do
    for _, x in ipairs({ case[1], table.unpack(as_columns(case[1])) }) do
      local got = stats.quantile(x, qs)
      for i, want in ipairs(case[2]) do expect_eq(got[i], want, ("case %d q=%g"):format(c, qs[i])) end
      expect_eq(stats.quantile(x, 0.3333), case[2][4], "scalar quantile")
      expect_eq(stats.median(x), case[3], "median")
    end
  end
  -- The input column is not reordered (quantiles work on a copy).
  local col = cs.column("float64", { 3, 1, 2 })
  stats.quantile(col, 0.5)
  expect_eq(col:get(1), 3.0, "column untouched")

  math.randomseed(7)
  for round = 1, 60 do
    local n = round <= 10 and round or math.random(1, 3000)
    local x = random_values(n, round % 2 == 0 and "int" or "float")
    local s = sorted_copy(x)
    local q = { 0, 1, 0.5, math.random(), math.random(), math.random() }
    local got = stats.quantile(x, q)
    for i = 1, #q do expect_eq(got[i], brute_quantile(s, q[i]), ("round %d q=%.17g"):format(round, q[i])) end
    local med = n % 2 == 1 and s[(n + 1) // 2] or (s[n // 2] + s[n // 2 + 1]) / 2
    expect_eq(stats.median(x), med, "random median")
  end

  expect_fail("empty input", stats.quantile({}, 0.5))
  expect_fail("empty input", stats.median({}))
  expect_error({ "#2", "quantile", "outside [0, 1]" }, stats.quantile, { 1, 2 }, 1.5)
  expect_error({ "#2", "outside [0, 1]" }, stats.quantile, { 1, 2 }, { 0.5, -0.1 })
  expect_error({ "#2", "expected a number in [0, 1]" }, stats.quantile, { 1, 2 }, "half")
  expect_error({ "#1", "Column or array of numbers" }, stats.median, "x")
  expect_error({ "#1", "value 2 is string" }, stats.median, { 1, "2" })
  expect_error({ "#1", "string column" }, stats.median, cs.column("string", { "a" }))
  ok("quantiles")
end

------------------------------------------------------------------------ boxplots

-- matplotlib.cbook.boxplot_stats written out over a full sort, plus outlier counts.
local function brute_box(x, whis)
  whis = whis or 1.5
  local s = sorted_copy(x)
  local b = { count = #x, min = s[1], max = s[#s] }
  b.q1, b.median, b.q3 = brute_quantile(s, 0.25), brute_quantile(s, 0.5), brute_quantile(s, 0.75)
  b.iqr = b.q3 - b.q1
  local lo, hi = b.q1 - whis * b.iqr, b.q3 + whis * b.iqr
  local wl, wh, sum = nil, nil, 0
  for _, v in ipairs(x) do
    sum = sum + v
    if v <= hi and (wh == nil or v > wh) then wh = v end
    if v >= lo and (wl == nil or v < wl) then wl = v end
  end
  b.mean = sum / #x
  b.whisker_high = (wh == nil or wh < b.q3) and b.q3 or wh
  b.whisker_low = (wl == nil or wl > b.q1) and b.q1 or wl
  b.outliers_low, b.outliers_high = 0, 0
  for _, v in ipairs(x) do
    if v < b.whisker_low then b.outliers_low = b.outliers_low + 1 end
    if v > b.whisker_high then b.outliers_high = b.outliers_high + 1 end
  end
  return b
end

local box_fields = { "count", "min", "q1", "median", "q3", "max", "iqr", "whisker_low", "whisker_high",
  "outliers_low", "outliers_high" }

local function check_box(got, want, what)
  for _, f in ipairs(box_fields) do expect_eq(got[f], want[f], what .. " " .. f) end
  expect_close(got.mean, want.mean, what .. " mean", 1e-12)
  expect_eq(math.type(got.count), "integer", what .. " count is an integer")
  expect_eq(math.type(got.outliers_high), "integer", what .. " outliers_high is an integer")
end

do
  -- matplotlib.cbook.boxplot_stats([1,1,2,3,3,3,4,10,25,-8,3], whis=1.5)[0] (matplotlib 3.6.3):
  -- q1 1.5, med 3.0, q3 3.5, iqr 2.0, whislo 1.0, whishi 4.0, fliers [-8, 10, 25], mean 4.2727272727272725
  local b = stats.boxplot(cs.column("int32", { 1, 1, 2, 3, 3, 3, 4, 10, 25, -8, 3 }))
  check_box(b, { count = 11, min = -8.0, q1 = 1.5, median = 3.0, q3 = 3.5, max = 25.0, iqr = 2.0,
    whisker_low = 1.0, whisker_high = 4.0, outliers_low = 1, outliers_high = 2, mean = 4.2727272727272725 }, "mpl D")
  -- boxplot_stats([1..10, 50, -30]): q1 2.75, med 5.5, q3 8.25, whiskers 1.0 and 10.0, fliers [50, -30]
  b = stats.boxplot({ 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 50, -30 })
  check_box(b, { count = 12, min = -30.0, q1 = 2.75, median = 5.5, q3 = 8.25, max = 50.0, iqr = 5.5,
    whisker_low = 1.0, whisker_high = 10.0, outliers_low = 1, outliers_high = 1, mean = 6.25 }, "mpl E")
  -- whis = 0: whiskers collapse onto the box, everything outside it is an outlier.
  b = stats.boxplot({ 1, 2, 3, 4, 5 }, nil, { whis = 0 })
  check_box(b, brute_box({ 1, 2, 3, 4, 5 }, 0), "whis 0")
  expect_eq(b.outliers_low + b.outliers_high, 2, "whis 0 outliers")

  math.randomseed(99)
  for round = 1, 40 do
    local n = round <= 8 and round or math.random(1, 2000)
    local x = random_values(n, round % 3 == 0 and "int" or "float")
    if round % 4 == 0 then x[#x + 1] = 1e4; x[#x + 1] = -1e4 end
    check_box(stats.boxplot(x), brute_box(x), "random " .. round)
  end
  expect_fail("empty input", stats.boxplot({}))
  ok("boxplot")
end

do -- groups: the hand-computed fixture read from CSV (see tests/fixtures/stats/README.md)
  local t = assert(cs.read_csv(root .. "/tests/fixtures/stats/boxplot_groups.csv", {
    header = "yes", columns = { { "category", "int32" }, { "value", "float64" } } }))
  local g = stats.boxplot(t:column("value"), t:column("category"))
  local want = {
    { group = -2, count = 1, min = 3.5, q1 = 3.5, median = 3.5, q3 = 3.5, max = 3.5, iqr = 0.0, mean = 3.5,
      whisker_low = 3.5, whisker_high = 3.5, outliers_low = 0, outliers_high = 0 },
    { group = 1, count = 6, min = 4.0, q1 = 9.75, median = 15.5, q3 = 21.25, max = 42.0, iqr = 11.5, mean = 18.0,
      whisker_low = 4.0, whisker_high = 23.0, outliers_low = 0, outliers_high = 1 },
    { group = 2, count = 3, min = 7.0, q1 = 7.0, median = 7.0, q3 = 7.0, max = 7.0, iqr = 0.0, mean = 7.0,
      whisker_low = 7.0, whisker_high = 7.0, outliers_low = 0, outliers_high = 0 },
    { group = 3, count = 2, min = 1.0, q1 = 25.75, median = 50.5, q3 = 75.25, max = 100.0, iqr = 49.5, mean = 50.5,
      whisker_low = 1.0, whisker_high = 100.0, outliers_low = 0, outliers_high = 0 },
  }
  expect_eq(#g, #want, "fixture groups")
  for i, w in ipairs(want) do
    expect_eq(g[i].group, w.group, "fixture group key")
    check_box(g[i], w, "fixture group " .. w.group)
  end

  -- Random groups (negative, sparse) against one brute-force boxplot per group; arrays and columns agree.
  math.randomseed(2024)
  for round = 1, 12 do
    local n = math.random(1, 5000)
    local x, grp, by = {}, {}, {}
    for i = 1, n do
      x[i] = round % 2 == 0 and math.random(0, 20) or math.random() * 100
      grp[i] = round % 3 == 0 and math.random(-1000000, 1000000) or math.random(-3, 40)
      by[grp[i]] = by[grp[i]] or {}
      table.insert(by[grp[i]], x[i])
    end
    local keys = {}
    for k in pairs(by) do keys[#keys + 1] = k end
    table.sort(keys)
    local from_arrays = stats.boxplot(x, grp)
    local from_cols = stats.boxplot(cs.column("float64", x), cs.column("int32", grp))
    local from_i64 = stats.boxplot(cs.column("float64", x), cs.column("int64", grp))
    expect_eq(#from_arrays, #keys, "number of groups")
    for i, k in ipairs(keys) do
      local want_box = brute_box(by[k])
      for _, res in ipairs({ from_arrays, from_cols, from_i64 }) do
        expect_eq(res[i].group, k, "group order")
        check_box(res[i], want_box, ("round %d group %d"):format(round, k))
      end
    end
  end
  local empty = stats.boxplot({}, {})
  expect_eq(type(empty) == "table" and #empty, 0, "no values, no groups")
  expect_error({ "#2", "groups has 1 values but x has 2" }, stats.boxplot, { 1, 2 }, { 1 })
  expect_error({ "#2", "group 2 is not an integer" }, stats.boxplot, { 1, 2 }, { 1, 1.5 })
  expect_error({ "#2", "float64 column" }, stats.boxplot, { 1, 2 }, cs.column("float64", { 1, 2 }))
  expect_error({ "#3", "whis" }, stats.boxplot, { 1, 2 }, nil, { whis = -1 })
  expect_fail("non-finite value (nan) at position 1", stats.boxplot({ 0 / 0, 1 }, { 1, 2 }))
  ok("boxplot groups")
end

------------------------------------------------------------------------ histograms

local function brute_hist(x, edges)
  local counts = {}
  local nb = #edges - 1
  for b = 1, nb do counts[b] = 0 end
  for _, v in ipairs(x) do
    for b = nb, 1, -1 do
      if v >= edges[b] and (v < edges[b + 1] or (b == nb and v == edges[b + 1])) then
        counts[b] = counts[b] + 1
        break
      end
    end
  end
  return counts
end

local function expect_list(got, want, what)
  expect_eq(#got, #want, what .. " length")
  for i = 1, #want do expect_eq(got[i], want[i], what .. " [" .. i .. "]") end
end

do
  local D = { 1, 1, 2, 3, 3, 3, 4, 10, 25, -8, 3 }
  -- np.histogram(D, bins=7): counts [1, 2, 6, 1, 0, 0, 1], edges [-8.0, -3.2857142857142856, 1.4285714285714288,
  -- 6.142857142857142, 10.857142857142858, 15.571428571428573, 20.285714285714285, 25.0]
  local h = stats.histogram(cs.column("int32", D), 7)
  expect_list(h.counts, { 1, 2, 6, 1, 0, 0, 1 }, "D 7 counts")
  expect_list(h.edges, { -8.0, -3.2857142857142856, 1.4285714285714288, 6.142857142857142, 10.857142857142858,
    15.571428571428573, 20.285714285714285, 25.0 }, "D 7 edges")
  -- np.histogram(D, bins='auto'): 19 bins, counts [1,0,0,0,0,3,5,0,0,0,1,0,0,0,0,0,0,0,1]
  h = stats.histogram(D, "auto")
  expect_list(h.counts, { 1, 0, 0, 0, 0, 3, 5, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1 }, "D auto counts")
  expect_eq(h.edges[2], -6.2631578947368425, "D auto edge 2")
  -- np.histogram(A, bins='auto'): counts [2, 3, 2, 1, 2], edges [-3.0, -0.25, 2.5, 5.25, 8.0, 10.75]
  h = stats.histogram({ 3.5, -1.25, 7, 2, 2, 10.75, 0, 4.5, 9, -3 }, "auto")
  expect_list(h.counts, { 2, 3, 2, 1, 2 }, "A auto counts")
  expect_list(h.edges, { -3.0, -0.25, 2.5, 5.25, 8.0, 10.75 }, "A auto edges")
  -- np.histogram(D, bins=[-8, 0, 1, 3, 3, 25]) -> [1, 0, 3, 0, 7]
  h = stats.histogram(D, { -8, 0, 1, 3, 3, 25 })
  expect_list(h.counts, { 1, 0, 3, 0, 7 }, "D explicit edges")
  -- np.histogram([4.0], bins=3) -> [0, 1, 0], edges [3.5, 3.8333333333333335, 4.166666666666667, 4.5]
  h = stats.histogram({ 4.0 }, 3)
  expect_list(h.counts, { 0, 1, 0 }, "single counts")
  expect_list(h.edges, { 3.5, 3.8333333333333335, 4.166666666666667, 4.5 }, "single edges")
  -- np.histogram([], bins=4) -> zeros over [0, 1]; the default is 10 bins like numpy's
  h = stats.histogram({}, 4)
  expect_list(h.counts, { 0, 0, 0, 0 }, "empty counts")
  expect_list(h.edges, { 0.0, 0.25, 0.5, 0.75, 1.0 }, "empty edges")
  expect_eq(#stats.histogram({ 1, 2, 3 }).counts, 10, "default bins")
  expect_fail("empty input", stats.histogram({}, "auto"))

  math.randomseed(555)
  for round = 1, 30 do
    local x = random_values(math.random(1, 3000), round % 2 == 0 and "int" or "float")
    for _, bins in ipairs({ math.random(1, 50), "auto" }) do
      h = stats.histogram(x, bins)
      expect_list(h.counts, brute_hist(x, h.edges), "random " .. tostring(bins))
      local total = 0
      for _, c in ipairs(h.counts) do total = total + c end
      expect_eq(total, #x, "every value counted")
    end
    local edges = { x[1], x[2] or x[1] + 1, x[3] or x[1] + 2 }
    table.sort(edges)
    expect_list(stats.histogram(x, edges).counts, brute_hist(x, edges), "random explicit edges")
  end
  expect_fail("value range too wide", stats.histogram({ -1e308, 1e308 }, 4))
  expect_error({ "#2", "bin count must be 1 to" }, stats.histogram, { 1 }, 0)
  expect_error({ "#2", "\"auto\"" }, stats.histogram, { 1 }, "fd")
  expect_error({ "#2", "edge 3 is smaller" }, stats.histogram, { 1 }, { 0, 2, 1 })
  expect_error({ "#2", "1 edges, expected 2" }, stats.histogram, { 1 }, { 0 })
  expect_fail("too many histogram bins", stats.histogram({ 0, 1, 1.0000001, 1.0000002, 1.0000003, 1.0000004,
    1.0000005, 1e12 }, "auto"))
  ok("histogram")
end

------------------------------------------------------------------------ correlation

local function brute_pearson(a, b)
  local n, ma, mb = #a, 0, 0
  for i = 1, n do ma, mb = ma + a[i], mb + b[i] end
  ma, mb = ma / n, mb / n
  local sab, saa, sbb = 0, 0, 0
  for i = 1, n do
    sab = sab + (a[i] - ma) * (b[i] - mb)
    saa = saa + (a[i] - ma) ^ 2
    sbb = sbb + (b[i] - mb) ^ 2
  end
  return sab / math.sqrt(saa * sbb)
end

local function brute_ranks(x)
  local r = {}
  for i, v in ipairs(x) do
    local less, eq = 0, 0
    for _, w in ipairs(x) do
      if w < v then less = less + 1 elseif w == v then eq = eq + 1 end
    end
    r[i] = less + (eq + 1) / 2
  end
  return r
end

do
  -- pandas.DataFrame({...}).corr(method=m) (pandas 1.5.3); c is constant, so its row and column are NaN.
  local data = { a = { 1, 2, 3, 4, 5, 6, 7, 8 }, b = { 2, 1, 4, 3, 7, 8, 6, 5 }, c = { 3, 3, 3, 3, 3, 3, 3, 3 },
    d = { 8.5, 1, 0.25, 4, 4, 4, 9, -2 } }
  local t = cs.table { { "a", cs.column("int32", data.a) }, { "b", cs.column("int64", data.b) },
    { "c", cs.column("int32", data.c) }, { "d", cs.column("float64", data.d) }, { "s", cs.column("string",
      { "x", "x", "x", "x", "x", "x", "x", "x" }) } }
  local pandas = {
    pearson = { ab = 0.7380952380952381, ad = -0.1691504794981115, bd = 0.08552552334174177 },
    spearman = { ab = 0.7380952380952381, ad = -0.09759000729485333, bd = 0.14638501094227999 },
  }
  for method, want in pairs(pandas) do
    for _, r in ipairs({ stats.correlation(t, { "a", "b", "c", "d" }, { method = method }),
      stats.correlation(t, nil, { method = method }), -- all numeric columns: the string column is skipped
      stats.correlation({ data.a, data.b, data.c, data.d }, { method = method, names = { "a", "b", "c", "d" } }) }) do
      expect_list(r.variables, { "a", "b", "c", "d" }, method .. " variables")
      local m = r.matrix
      expect_close(m.a.b, want.ab, method .. " a-b", 1e-15)
      expect_close(m.a.d, want.ad, method .. " a-d", 1e-15)
      expect_close(m.b.d, want.bd, method .. " b-d", 1e-15)
      expect_eq(m.b.a, m.a.b, "symmetric")
      for _, v in ipairs({ "a", "b", "d" }) do expect_eq(m[v][v], 1.0, "diagonal " .. v) end
      for _, v in ipairs({ "a", "b", "c", "d" }) do
        expect_eq(m.c[v], nil, "constant row c-" .. v)
        expect_eq(m[v].c, nil, "constant column " .. v .. "-c")
      end
      expect_eq(r.reasons.c, "constant column", "reason for c")
      expect_eq(r.reasons.a, nil, "no reason for a")
    end
  end

  -- JSON: the constant column's entries come out as null through json.shape.
  local r = stats.correlation(t, { "c", "a" })
  local row = json.shape(r.variables)
  local text = json.encode({ c = row(r.matrix.c), a = row(r.matrix.a) })
  assert(not text:find("nan", 1, true) and text:find('{"c":null,"a":null}', 1, true),
    "JSON has nulls, not NaN: " .. text)

  -- Random columns: arrays without names are numbered; results match brute force; a constant column leaves the
  -- other entries exactly as they are without it.
  math.randomseed(77)
  for round = 1, 10 do
    local n, k = math.random(3, 400), math.random(2, 5)
    local cols = {}
    for j = 1, k do
      cols[j] = random_values(n, j % 2 == 0 and "int" or "float")
      if j > 1 and j % 2 == 1 then for i = 1, n do cols[j][i] = cols[j][i] + 0.3 * cols[j - 1][i] end end
    end
    for _, method in ipairs({ "pearson", "spearman" }) do
      local r = stats.correlation(cols, { method = method })
      expect_list(r.variables, (function() local v = {} for j = 1, k do v[j] = j end return v end)(), "numbered")
      for a = 1, k do
        for b = a + 1, k do
          local x, y = cols[a], cols[b]
          if method == "spearman" then x, y = brute_ranks(x), brute_ranks(y) end
          expect_close(r.matrix[a][b], brute_pearson(x, y), ("round %d %s %d-%d"):format(round, method, a, b), 1e-11)
        end
      end
      local with_const = {}
      for j = 1, k do with_const[j] = cols[j] end
      local const = {}
      for i = 1, n do const[i] = 2.5 end
      table.insert(with_const, 2, const)
      local rc = stats.correlation(with_const, { method = method })
      for a = 1, k + 1 do
        expect_eq(rc.matrix[2][a], nil, "constant row")
        expect_eq(rc.matrix[a][2], nil, "constant column")
      end
      expect_eq(rc.reasons[2], "constant column", "reason keyed by number")
      for a = 1, k do
        for b = 1, k do
          local ia, ib = a < 2 and a or a + 1, b < 2 and b or b + 1
          expect_eq(rc.matrix[ia][ib], r.matrix[a][b], "others unchanged by a constant column")
        end
      end
    end
  end

  expect_fail("empty input", stats.correlation({ {}, {} }))
  expect_fail("column d: non-finite value (nan) at position 2", stats.correlation({ { 1, 2 }, { 1, 0 / 0 } },
    { names = { "c", "d" } }))
  expect_error({ "#1", "column 2 has 3 values, the first has 2" }, stats.correlation, { { 1, 2 }, { 1, 2, 3 } })
  expect_error({ "#1", "column y: value 2 is string" }, stats.correlation, { { 1, 2 }, { 1, "x" } },
    { names = { "x", "y" } })
  expect_error({ "#1", "column 2 is a string column" }, stats.correlation, { { 1 }, cs.column("string", { "a" }) })
  expect_error({ "#1", "at least one column" }, stats.correlation, {})
  expect_error({ "#2", "pearson" }, stats.correlation, { { 1, 2 } }, { method = "kendall" })
  expect_error({ "#2", "names must be an array of 2 strings" }, stats.correlation, { { 1 }, { 2 } },
    { names = { "x" } })
  expect_error({ "no column 'zz'" }, stats.correlation, t, { "a", "zz" })
  expect_error({ "#1", "variable a appears twice" }, stats.correlation, t, { "a", "b", "a" })
  expect_error({ "#1", "variable x appears twice" }, stats.correlation, { { 1 }, { 2 } }, { names = { "x", "x" } })
  expect_error({ "'s' is string" }, stats.correlation, t, { "a", "s" })
  ok("correlation")
end

------------------------------------------------------------------------ thread count

do
  -- The same script under MERCADO_THREADS=1 and =3 must print byte-identical results (%a: exact doubles).
  local script = os.tmpname()
  local f = assert(io.open(script, "w"))
  f:write([[
local stats, cs = require "mercado.stats", require "mercado.colstore"
math.randomseed(5)
local x, g, c2, c3 = {}, {}, {}, {}
for i = 1, 200000 do
  x[i] = math.random() * 1000; g[i] = math.random(1, 500)
  c2[i] = x[i] * 0.5 + math.random() * 100; c3[i] = math.random(1, 30)
end
local out = {}
for _, b in ipairs(stats.boxplot(cs.column("float64", x), cs.column("int32", g))) do
  out[#out + 1] = string.format("%d %a %a %a %a %a %d", b.group, b.q1, b.median, b.q3, b.mean, b.whisker_high,
    b.outliers_high)
end
for _, m in ipairs({ "pearson", "spearman" }) do
  local r = stats.correlation({ x, c2, c3, g }, { method = m })
  for a = 1, 4 do for b = 1, 4 do out[#out + 1] = string.format("%a", r.matrix[a][b]) end end
end
io.write(table.concat(out, "\n"))
]])
  f:close()
  local function run(threads)
    local p = assert(io.popen(("MERCADO_THREADS=%d '%s' exec '%s'"):format(threads, sys.exe_path(), script)))
    local text = p:read("a")
    assert(p:close(), "child run failed")
    return text
  end
  local one, three = run(1), run(3)
  os.remove(script)
  assert(#one > 1000 and one == three, "results differ between 1 and 3 threads")
  ok("thread count does not change results")
end

---------------------------------------------------- timing (with MERCADO_STATS_TIMING=1; printed, not asserted)

if os.getenv("MERCADO_STATS_TIMING") then
  local n = 1108987
  math.randomseed(11)
  local x, g = {}, {}
  for i = 1, n do x[i] = math.random(1, 60); g[i] = math.random(1, 28) end
  local xc, gc = cs.column("float64", x), cs.column("int32", g)
  local function median_time(f)
    local t = {}
    for i = 1, 5 do
      local t0 = os.clock()
      f()
      t[i] = os.clock() - t0
    end
    table.sort(t)
    return t[3] * 1000
  end
  print(("timing: boxplot 1.1M values in 28 groups %.1f ms cpu, ungrouped %.1f ms, quantile(0.5) %.1f ms, " ..
    "histogram auto %.1f ms"):format(median_time(function() stats.boxplot(xc, gc) end),
    median_time(function() stats.boxplot(xc) end), median_time(function() stats.quantile(xc, 0.5) end),
    median_time(function() stats.histogram(xc, "auto") end)))
  local cols = {}
  for j = 1, 5 do
    local v = {}
    for i = 1, 131072 do v[i] = math.random() * j + (j % 2) * math.random(1, 50) end
    cols[j] = cs.column("float64", v)
  end
  print(("timing: correlation 5 x 131072 pearson %.1f ms cpu, spearman %.1f ms"):format(
    median_time(function() stats.correlation(cols) end),
    median_time(function() stats.correlation(cols, { method = "spearman" }) end)))
  ok("timing")
end
