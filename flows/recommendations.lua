-- recommendations.lua: product recommendations (seed_spec §3.5, fixed): native FP-Growth on the baskets,
-- association rules, recommendations per product and per customer, the full rule set as CSV, and a cache of the
-- mined rules keyed by the data and every parameter (README, "Recommendations").
local flow = require "mercado.flow"
local json = require "mercado.json"
local fpg = require "mercado.fpgrowth"
local sys = require "mercado.sys"
local dataset = require "lib.dataset"
local output = require "lib.output"
local shared_params = require "lib.params"

local Wrapper = json.shape { "recommendation_type", "data", "generated_at" }
local AssocSummary = json.shape { "total_rules", "total_itemsets", "min_support", "min_confidence", "min_count",
  "baskets", "cache" }
local Rule = json.shape { "antecedent", "consequent", "confidence", "lift", "support" }
local Itemset = json.shape { "items", "freq" }
local ProductRec = json.shape { "product_id", "confidence", "lift", "support" }
local CustomerRec = json.shape { "product_id", "confidence", "lift", "support", "based_on" }

local DIR = "advanced/recommendations/"
local CACHE_KEEP = 4 -- cache files kept under <output>/data/ (the most recent)

-- Keeps the most recently written cache files, removing older ones.
local function prune_cache(ctx, current)
  local files = require("mercado.util").glob(ctx.output .. "/data", "fpgrowth-*.bin")
  table.sort(files, function(a, b)
    local sa, sb = sys.stat(a), sys.stat(b)
    return (sa and sa.mtime or 0) > (sb and sb.mtime or 0)
  end)
  for i = CACHE_KEEP + 1, #files do
    if files[i] ~= current then os.remove(files[i]) end
  end
end

local function strings(ids)
  local out = json.array()
  for i, v in ipairs(ids) do out[i] = tostring(v) end
  return out
end

local function write_wrapped(ctx, name, data)
  ctx:write_json(DIR .. name .. ".json", Wrapper { recommendation_type = name, data = data,
    generated_at = output.timestamp() })
  return name .. ".json"
end

-- product_associations.json: counts, thresholds, the top rules (by lift, then confidence) and itemsets.
local function write_associations(ctx, p, itemsets, rules, cache_state)
  local top_rules, top_itemsets = json.array(), json.array()
  for i, r in ipairs(rules:top(p.top_rules)) do
    top_rules[i] = Rule { antecedent = strings(r.antecedent), consequent = strings(r.consequent),
      confidence = r.confidence, lift = r.lift, support = r.support }
  end
  for i, s in ipairs(itemsets:top(p.top_rules)) do top_itemsets[i] = Itemset { items = strings(s.items), freq = s.count } end
  return write_wrapped(ctx, "product_associations", json.shape { "summary", "top_rules", "top_itemsets" } {
    summary = AssocSummary { total_rules = #rules, total_itemsets = #itemsets, min_support = p.min_support,
      min_confidence = p.min_confidence, min_count = itemsets:min_count(), baskets = itemsets:baskets(),
      cache = cache_state },
    top_rules = top_rules, top_itemsets = top_itemsets })
end

local function write_product_recommendations(ctx, p, rules)
  local recs = fpg.recommend_products(rules, { top = p.recs_per_product })
  local out = json.array()
  for i, src in ipairs(recs) do
    local list = json.array()
    for j, r in ipairs(src.recommendations) do
      list[j] = ProductRec { product_id = r.product_id, confidence = r.confidence, lift = r.lift, support = r.support }
    end
    out[i] = json.shape { "product_id", "recommendations" } { product_id = src.product_id, recommendations = list }
  end
  return write_wrapped(ctx, "product_recommendations", json.shape { "summary", "recommendations" } {
    summary = json.shape { "total_products", "max_recommendations_per_product", "score" } {
      total_products = #out, max_recommendations_per_product = p.recs_per_product, score = "lift * confidence" },
    recommendations = out })
end

-- Recommendations for every customer (CSV), and the JSON for the most active customers with recommendations.
local function write_customer_recommendations(ctx, p, ds, rules)
  local customers = dataset.customers(ds):select { "customer_id", "baskets" }:with("owned", dataset.owned_products(ds))
  local recs = fpg.recommend_customers(rules, customers:column("owned"),
    { top = p.recs_per_customer, ids = customers:column("customer_id"), max_rules = p.customer_rules })
  ctx:write_text(DIR .. "customer_recommendations.csv",
    recs:select { "customer_id", "rank", "product", "confidence", "lift", "based_on" }:rename("product", "product_id"):to_csv())
  -- the most active customers (baskets desc, id asc) among those with at least one recommendation
  local with_recs = customers:filter { { "customer_id", "in", recs:column("customer_id") } }
  local chosen = with_recs:top(p.max_customers, { { "baskets", "desc" }, { "customer_id", "asc" } }):rows()
  local by_customer = {}
  for _, r in ipairs(recs:filter { { "customer_id", "in", (function()
      local ids = {} for i, c in ipairs(chosen) do ids[i] = c.customer_id end return ids end)() } }:rows()) do
    local list = by_customer[r.customer_id] or json.array()
    by_customer[r.customer_id] = list
    list[r.rank] = CustomerRec { product_id = r.product, confidence = r.confidence, lift = r.lift, support = r.support,
      based_on = json.array(r.based_on) }
  end
  local out = json.array()
  for i, c in ipairs(chosen) do
    out[i] = json.shape { "customer_id", "baskets", "products_owned", "recommendations" } {
      customer_id = c.customer_id, baskets = c.baskets, products_owned = json.array(c.owned),
      recommendations = by_customer[c.customer_id] or json.array() }
  end
  local n_with = #with_recs
  ctx.log.info("recommendations for %d of %d customers (every one in customer_recommendations.csv)", n_with, #customers)
  return write_wrapped(ctx, "customer_recommendations", json.shape { "summary", "recommendations" } {
    summary = json.shape { "total_customers", "customers_with_recommendations", "max_recommendations_per_customer",
      "selection" } {
      total_customers = #out, customers_with_recommendations = n_with,
      max_recommendations_per_customer = p.recs_per_customer,
      selection = string.format("the %d most active customers (baskets desc, id asc) with recommendations", p.max_customers) },
    recommendations = out })
end

return flow.define {
  name = "recommendations",
  description = "FP-Growth rules and product/customer recommendations (advanced/recommendations/*)",
  params = shared_params.with(shared_params.selection(), {
    min_support = { type = "number", default = 0.005, min = 0, max = 1, check = function(v) return v > 0 end,
      allowed = "a fraction of baskets in (0, 1]", doc = "an itemset is frequent when its count >= ceil(min_support * baskets)" },
    min_confidence = { type = "number", default = 0.2, min = 0, max = 1, doc = "rules need confidence >= this" },
    top_rules = { type = "int", default = 100, min = 1, max = 100000, doc = "rules and itemsets listed in product_associations" },
    recs_per_product = { type = "int", default = 5, min = 1, max = 100, doc = "recommendations per product" },
    recs_per_customer = { type = "int", default = 5, min = 1, max = 100, doc = "recommendations per customer" },
    max_customers = { type = "int", default = 200, min = 0, max = 1000000, doc = "customers in customer_recommendations.json" },
    max_itemsets = { type = "int", default = 1000000, min = 1, max = 100000000,
      doc = "safety bound: mining stops with an error past this many itemsets (raise min_support)" },
    customer_rules = { type = "int", default = 300, min = 1, max = 100000000,
      doc = "customer recommendations use the best rules by lift, this many (as the old system: 300)" },
  }),
  run = function(ctx, p)
    local ds = ctx:task("load data", dataset.LOAD_TASK, dataset.load, ctx, p)
    local cache_state = "miss"
    local itemsets, rules = ctx:task("mine rules", {}, function()
      -- the cache key covers the baskets' contents and every parameter that changes the mined rules
      local baskets = ds.tx:column("products")
      local key = sys.sha256(table.concat({ "fpgrowth-v1", baskets:fingerprint(), tostring(#baskets),
        string.format("%.17g", p.min_support), string.format("%.17g", p.min_confidence), tostring(p.max_itemsets) },
        "|")):sub(1, 32)
      local path = ctx:output_path("data/fpgrowth-" .. key .. ".bin")
      local s, r = fpg.load_cache(path, key)
      if s then
        cache_state = "hit"
        ctx.log.info("mined rules reused from %s", path)
      else
        local err
        s, err = fpg.mine(baskets, p.min_support, { max_itemsets = p.max_itemsets })
        if not s then error(err, 0) end
        r = fpg.rules(s, p.min_confidence)
        local ok, werr = fpg.save_cache(path, key, s, r)
        if not ok then ctx.log.warning("cannot cache the mined rules: %s", werr) end
        prune_cache(ctx, path)
      end
      ctx.log.info("%d frequent itemsets (count >= %d of %d baskets), %d rules at confidence >= %s", #s, s:min_count(),
        s:baskets(), #r, tostring(p.min_confidence))
      if #r == 0 then
        ctx.log.warning("no rules at min_support=%s, min_confidence=%s: lower min_confidence%s to get rules",
          tostring(p.min_support), tostring(p.min_confidence), #s < 2 and " and min_support" or "")
      end
      return s, r
    end)
    local files = {}
    ctx:task("write recommendations", {}, function()
      local ok, werr = rules:write_csv(ctx:output_path(DIR .. "rules.csv"))
      if not ok then error(werr, 0) end
      files[#files + 1] = write_associations(ctx, p, itemsets, rules, cache_state)
      files[#files + 1] = write_product_recommendations(ctx, p, rules)
      files[#files + 1] = write_customer_recommendations(ctx, p, ds, rules)
      files[#files + 1] = "rules.csv"
      files[#files + 1] = "customer_recommendations.csv"
      output.metadata(ctx, "recommendations_pipeline", "generate_recommendations", json.array(files), {
        params = json.shape { "min_support", "min_confidence", "top_rules", "recs_per_product", "recs_per_customer",
          "max_customers" } { min_support = p.min_support, min_confidence = p.min_confidence, top_rules = p.top_rules,
          recs_per_product = p.recs_per_product, recs_per_customer = p.recs_per_customer, max_customers = p.max_customers },
        input = dataset.input_summary(ds) })
    end)
    return { status = "success", pipeline = "recommendations", min_support = p.min_support,
      min_confidence = p.min_confidence }
  end,
}
