-- test_recommendations_flow.lua: the recommendations flow on the hand-worked fixture: itemset and rule counts
-- against a brute-force enumeration in plain Lua, the output files and their consistency, the cache (a hit for the
-- same data and parameters, a miss when a parameter changes), and the no-rules case.
package.path = (os.getenv("MERCADO_SOURCE_ROOT") or ".") .. "/tests/lib/?.lua;" .. package.path
local T = require "testlib"
local json = require "mercado.json"
local sys = require "mercado.sys"

local FIXTURE = T.root .. "/tests/fixtures/summary"
local dir = T.tmpdir("recs")

local function run(out, ...)
  local args = { "run", "recommendations", "-p", "data_dir=" .. FIXTURE, "--output", out }
  for _, a in ipairs { ... } do args[#args + 1] = a end
  local code, _, err = T.mercado(args, { dir = dir })
  T.eq(code, 0, "recommendations exit code: " .. tostring(err))
  return err
end
local function load(out, rel) return json.decode(T.read(dir .. "/" .. out .. "/advanced/recommendations/" .. rel)) end

-- brute force: every subset of every basket's distinct items, counted
local baskets = {}
for _, f in ipairs(sys.glob(FIXTURE .. "/transactions/*_Tran.csv")) do
  for line in io.lines(f) do
    local items, seen = {}, {}
    for id in line:match("[^|]*$"):gmatch("%d+") do
      id = tonumber(id)
      if not seen[id] then seen[id] = true; items[#items + 1] = id end
    end
    table.sort(items)
    baskets[#baskets + 1] = items
  end
end
local counts = {}
for _, items in ipairs(baskets) do
  for mask = 1, (1 << #items) - 1 do
    local sub = {}
    for i = 1, #items do if mask & (1 << (i - 1)) ~= 0 then sub[#sub + 1] = items[i] end end
    local k = table.concat(sub, " ")
    counts[k] = (counts[k] or 0) + 1
  end
end
local N = #baskets
local function frequent(min_support)
  local min_count = math.ceil(min_support * N - 1e-9)
  local out = {}
  for k, c in pairs(counts) do if c >= min_count then out[k] = c end end
  return out
end
local function rules_of(freq, min_conf)
  local rules = {}
  for k, c in pairs(freq) do
    local items = {}
    for id in k:gmatch("%d+") do items[#items + 1] = tonumber(id) end
    if #items >= 2 then
      for i, b in ipairs(items) do
        local a = {}
        for j, x in ipairs(items) do if j ~= i then a[#a + 1] = x end end
        local conf = c / freq[table.concat(a, " ")]
        if conf >= min_conf then
          rules[#rules + 1] = { a = table.concat(a, " "), b = b, conf = conf, lift = conf / (freq[tostring(b)] / N), support = c / N }
        end
      end
    end
  end
  return rules
end

do
  local freq = frequent(0.2)
  local nfreq = 0
  for _ in pairs(freq) do nfreq = nfreq + 1 end
  local rules = rules_of(freq, 0.2)
  local err = run("a", "-p", "min_support=0.2", "-p", "min_confidence=0.2", "-v")
  local assoc = load("a", "product_associations.json")
  T.eq(assoc.recommendation_type, "product_associations", "wrapper type")
  T.eq(assoc.data.summary.total_itemsets, nfreq, "every frequent itemset counted (single items included)")
  T.eq(assoc.data.summary.total_rules, #rules, "every rule above min_confidence counted")
  T.eq(assoc.data.summary.min_support, 0.2, "min_support reported")
  T.eq(assoc.data.summary.cache, "miss", "first run mines")
  for _, r in ipairs(assoc.data.top_rules) do
    local a = table.concat(r.antecedent, " ")
    local found
    for _, w in ipairs(rules) do if w.a == a and tostring(w.b) == r.consequent[1] then found = w end end
    T.check(found ~= nil, "rule %s -> %s exists in the brute force", a, r.consequent[1])
    if found then
      T.near(r.confidence, found.conf, 1e-12, "confidence of " .. a .. "->" .. r.consequent[1])
      T.near(r.lift, found.lift, 1e-12, "lift of " .. a .. "->" .. r.consequent[1])
      T.near(r.support, found.support, 1e-12, "support of " .. a .. "->" .. r.consequent[1])
    end
    T.eq(type(r.antecedent[1]), "string", "association ids are strings (dashboard contract)")
  end
  for i = 2, #assoc.data.top_rules do
    local p, q = assoc.data.top_rules[i - 1], assoc.data.top_rules[i]
    T.check(p.lift > q.lift or (p.lift == q.lift and p.confidence >= q.confidence), "rules by lift then confidence at %d", i)
  end
  local top = assoc.data.top_itemsets
  for i, s in ipairs(top) do
    T.eq(s.freq, counts[table.concat(s.items, " ")], "itemset count " .. table.concat(s.items, " "))
    if i > 1 then T.check(top[i - 1].freq >= s.freq, "itemsets by count at %d", i) end
  end
  local csv = T.read(dir .. "/a/advanced/recommendations/rules.csv")
  local lines = 0
  for _ in csv:gmatch("\n") do lines = lines + 1 end
  T.eq(lines - 1, #rules, "rules.csv has every rule")
  -- customer recommendations: never a product the customer owns; the CSV covers every customer with candidates
  local cust = load("a", "customer_recommendations.json")
  for _, c in ipairs(cust.data.recommendations) do
    local owned = {}
    for _, p in ipairs(c.products_owned) do owned[p] = true end
    for _, r in ipairs(c.recommendations) do
      T.check(not owned[r.product_id], "customer %d is not recommended a product it owns", c.customer_id)
      for _, b in ipairs(r.based_on) do T.check(owned[b], "based_on products are owned by %d", c.customer_id) end
    end
  end
  for i = 2, #cust.data.recommendations do
    T.check(cust.data.recommendations[i - 1].baskets >= cust.data.recommendations[i].baskets, "most active customers first")
  end
  local ccsv = T.read(dir .. "/a/advanced/recommendations/customer_recommendations.csv")
  T.eq(ccsv:match("^[^\n]*"), "customer_id,rank,product_id,confidence,lift,based_on", "customer CSV header")
  local prod = load("a", "product_recommendations.json")
  T.eq(prod.data.summary.max_recommendations_per_product, 5, "per-product limit reported")
  for _, src in ipairs(prod.data.recommendations) do
    T.eq(math.type(src.product_id), "integer", "product recommendation ids are integers")
    for i = 2, #src.recommendations do
      local a, b = src.recommendations[i - 1], src.recommendations[i]
      T.check(a.lift * a.confidence >= b.lift * b.confidence, "ranked by lift * confidence for %d", src.product_id)
    end
  end
  T.check(T.read(dir .. "/a/metadata/recommendations_pipeline_generate_recommendations.json") ~= nil, "metadata written")
  -- the same data and parameters: the cache is used; another parameter: mined again
  run("a", "-p", "min_support=0.2", "-p", "min_confidence=0.2")
  T.eq(load("a", "product_associations.json").data.summary.cache, "hit", "same data and parameters reuse the cache")
  T.eq(load("a", "product_associations.json").data.summary.total_rules, #rules, "cached rules complete")
  run("a", "-p", "min_support=0.2", "-p", "min_confidence=0.5")
  local s2 = load("a", "product_associations.json").data.summary
  T.eq(s2.cache, "miss", "a changed min_confidence is not served from the cache")
  T.eq(s2.total_rules, #rules_of(freq, 0.5), "rules at confidence 0.5")
  local _ = err
end

-- no rules at the thresholds: a normal result with zero counts and a hint in the log
do
  local err = run("b", "-p", "min_support=0.9")
  local assoc = load("b", "product_associations.json")
  T.eq(assoc.data.summary.total_rules, 0, "no rules")
  T.eq(#assoc.data.top_rules, 0, "empty rule list")
  T.eq(load("b", "customer_recommendations.json").data.summary.total_customers, 0, "no customer recommendations")
  T.contains(err, "lower min_confidence", "the log says which threshold to lower")
end
T.done()
