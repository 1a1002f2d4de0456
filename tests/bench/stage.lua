-- stage.lua: one benchmark stage in a fresh process: `mercado exec stage.lua STAGE DATA_DIR WORK_DIR [SETTLE]`.
-- Loads what the stage needs (untimed), waits SETTLE seconds (default 0; see bench.lua), times the stage itself
-- (cold: memory the process has not used before), then times it again in the same process (warm: memory the
-- first run freed), and prints one JSON line {stage, seconds, warm_seconds, rss_kb} where rss_kb is the process's
-- peak resident memory (VmHWM) after the cold run.
local cs = require "mercado.colstore"
local json = require "mercado.json"
local sys = require "mercado.sys"

local stage, data, work, settle = arg[1], arg[2], arg[3], tonumber(arg[4] or "0")
local dataset = require "lib.dataset"

local function peak_kb()
  local f = io.open("/proc/self/status")
  local text = f:read("a")
  f:close()
  return tonumber(text:match("VmHWM:%s*(%d+)"))
end

local function baskets() return cs.read_csv(data .. "/transactions/*_Tran.csv", dataset.BASKETS) end

local function features(tx, pc)
  local sizes = tx:column("products"):lengths()
  local per = tx:group_by("customer_id", { { "frequency", "count" }, { "total_volume", "sum", sizes },
    { "owned", "collect_distinct", "products" } })
  local pairs_ = pc:distinct { "product_id", "category_id" }
  local cats = per:column("owned"):remap_lengths(pairs_:column("product_id"), pairs_:column("category_id"))
  return cs.table { { "customer_id", per:column("customer_id") }, { "frequency", per:column("frequency") },
    { "unique_products", per:column("owned"):lengths() }, { "total_volume", per:column("total_volume") },
    { "unique_categories", cats } }
end

-- Runs a flow in this process (so its peak memory is this process's), as `mercado run` would.
local function flow(name, extra)
  local argv = { [0] = "mercado", "run", name, "-p", "data_dir=" .. data, "--output", work .. "/out-" .. name, "-q" }
  for _, a in ipairs(extra or {}) do argv[#argv + 1] = a end
  local code = require("mercado.cli").main(argv)
  if code ~= 0 then error(name .. " failed with exit code " .. tostring(code)) end
end

local prepare, run
local extra = {} -- facts a stage reports beside its time
if stage == "ingest" then
  run = function() return baskets() end
elseif stage == "features" then
  local tx, pc
  prepare = function()
    tx = baskets()
    pc = cs.read_csv(data .. "/products/ProductCategory.csv", dataset.PRODUCT_CATEGORIES)
  end
  run = function() return features(tx, pc) end
elseif stage == "kmeans" then
  local f
  prepare = function()
    f = features(baskets(), cs.read_csv(data .. "/products/ProductCategory.csv", dataset.PRODUCT_CATEGORIES))
    sys.write_atomic(work .. "/features.csv", f:to_csv(), { sync = false }) -- for the scikit-learn peer
  end
  run = function()
    local m = require("mercado.kmeans").fit(f, 4, { columns = { "frequency", "unique_products", "total_volume",
      "unique_categories" }, standardize = true, n_init = 10, seed = 42 })
    extra.inertia = m.inertia
  end
elseif stage == "fpgrowth" then
  local tx
  prepare = function() tx = baskets() end
  run = function()
    local fpg = require "mercado.fpgrowth"
    local s = assert(fpg.mine(tx:column("products"), 0.005))
    local r = fpg.rules(s, 0.2)
    io.stderr:write(string.format("%d itemsets, %d rules\n", #s, #r))
  end
elseif stage == "customer_recs" then
  local tx, rules, owned
  prepare = function()
    tx = baskets()
    local fpg = require "mercado.fpgrowth"
    rules = fpg.rules(assert(fpg.mine(tx:column("products"), 0.005)), 0.2)
    owned = tx:group_by("customer_id", { { "owned", "collect_distinct", "products" } })
  end
  run = function()
    return require("mercado.fpgrowth").recommend_customers(rules, owned:column("owned"),
      { top = 5, max_rules = 300, ids = owned:column("customer_id") })
  end
elseif stage == "json" then
  local dist
  prepare = function()
    local tx = baskets()
    dist = tx:group_by("customer_id", { { "total_products_purchased", "sum", tx:column("products"):lengths() } })
      :sort { { "total_products_purchased", "desc" }, { "customer_id", "asc" } }
  end
  run = function()
    assert(json.write(work .. "/distribution.json", { data = dist }, { indent = 2, sync = false }))
  end
elseif stage == "executive_summary" or stage == "analytics" or stage == "master" then
  run = function() flow(stage, stage == "master" and { "-p", "sync=false" } or nil) end
elseif stage == "summary_analytics" then -- both flows over one load of the CSV files (issue 4's measure)
  run = function() flow(sys.realpath(arg[0]:match("^(.*)/[^/]*$") or ".") .. "/summary_analytics.lua") end
else
  error("unknown stage " .. tostring(stage))
end

if prepare then prepare() end
collectgarbage()
if settle > 0 then sys.sleep(settle) end
local function timed()
  local t0 = sys.monotonic()
  run()
  local seconds = sys.monotonic() - t0
  collectgarbage()
  return seconds
end
local seconds = timed()
local rss_kb = peak_kb()
extra.stage, extra.seconds, extra.rss_kb = stage, seconds, rss_kb
extra.warm_seconds = timed()
io.write(json.encode(extra), "\n")
