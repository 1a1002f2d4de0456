-- bench.lua: mercado's benchmark suite (tests/bench/run). For each data size it generates (and caches) a data set
-- with `mercado gen`, runs every stage several times in fresh processes (tests/bench/stage.lua), and reports the
-- median, the spread (min-max) and the peak resident memory. Peers present on the machine run on the same data in
-- the same invocation (DuckDB through npm's @duckdb/node-api, scikit-learn's KMeans, Borgelt's fpgrowth when
-- BORGELT_FPGROWTH names the binary); the ratio mercado/peer is printed per stage, and skipped peers say why.
-- Writes <out>/bench.json and <out>/bench.txt. Never part of the pass/fail test run.
--
-- Cold and warm: a stage's first run in its process meets memory the process has never used, which the kernel
-- must fault in (and zero); the warm run repeats it on memory the first run freed. In a virtual machine whose
-- balloon driver reports free memory to the host (virtio-balloon free page reporting, sys.free_page_reporting), the
-- host takes back every page a process frees a few seconds later, and faulting it in again costs the host too
-- (measured on this project's machine: 0.42 GB/s as huge pages, 1.7-2.8 GB/s as 4 KB pages, which is why mercado
-- leaves huge pages off there; see runtime/hugepages.c). A stage that runs right after a short load then finds the
-- previous process's memory still backed and a long one does not, so timings depend on what ran before. There each
-- stage waits --settle seconds (3 by default) after its load, so that every size meets the same cold memory. The
-- stages inherit MERCADO_HUGE_PAGES; the report says whether huge pages were on.
--
--   mercado exec tests/bench/bench.lua [--sizes 0.1,1,10] [--reps 3] [--out DIR] [--cache DIR] [--no-peers]
--                                      [--settle SECONDS]
local json = require "mercado.json"
local sys = require "mercado.sys"

local FULL = 1108987
local STAGES = { "ingest", "executive_summary", "analytics", "summary_analytics", "features", "kmeans", "fpgrowth",
  "customer_recs", "json", "master" }

local opts = { sizes = "0.1,1,10", reps = "3", out = "bench-results",
  cache = (os.getenv("XDG_CACHE_HOME") or ((os.getenv("HOME") or "/tmp") .. "/.cache")) .. "/mercado-bench" }
do
  local i = 1
  while arg[i] do
    local k = arg[i]:match("^%-%-(.+)$")
    if k == "no-peers" then opts.no_peers = true
    elseif k and arg[i + 1] then opts[k] = arg[i + 1]; i = i + 1
    else error("unknown argument " .. arg[i]) end
    i = i + 1
  end
end
local here = sys.realpath(arg[0]:match("^(.*)/[^/]*$") or ".") -- absolute: stages run in their work directory
local bin = sys.exe_path()
local reps = tonumber(opts.reps)
assert(sys.mkdirs(opts.out))
assert(sys.mkdirs(opts.cache))
local out_dir = sys.realpath(opts.out)

local function sh(cmd)
  local f = io.popen(cmd .. " 2>/dev/null")
  local text = f:read("a")
  local ok = f:close()
  return ok and text or nil, text
end

local function median(xs)
  local s = {}
  for i, x in ipairs(xs) do s[i] = x end
  table.sort(s)
  if #s == 0 then return nil end
  return #s % 2 == 1 and s[(#s + 1) // 2] or (s[#s // 2] + s[#s // 2 + 1]) / 2
end

local function dataset_for(factor)
  local n = math.floor(FULL * factor + 0.5)
  local dir = string.format("%s/gen-%d-seed42", opts.cache, n)
  if not sys.stat(dir .. "/transactions") then
    io.stderr:write(string.format("generating %d baskets in %s\n", n, dir))
    assert(os.execute(string.format("'%s' gen --baskets %d --seed 42 --out '%s' >/dev/null", bin, n, dir)))
  end
  return dir, n
end

local reporting = sys.free_page_reporting()
local huge_pages, huge_pages_reason = sys.huge_pages() -- the stages inherit MERCADO_HUGE_PAGES, so the same holds
local settle = tonumber(opts.settle or (reporting and "3" or "0"))

local function run_stage(stage, data, work)
  local text = sh(string.format("cd '%s' && '%s' exec '%s/stage.lua' %s '%s' '%s' %s", work, bin, here, stage, data,
    work, settle))
  if not text then return nil end
  local line = text:match("[^\n]*$") ~= "" and text:match("[^\n]*$") or text:match("([^\n]*)\n$")
  local ok, rec = pcall(json.decode, line)
  return ok and rec or nil
end

-- ---- peers ----
local peers = { duckdb = {}, sklearn = {}, borgelt = {} }
local function peer_status()
  if opts.no_peers then
    for _, p in pairs(peers) do p.skipped = "--no-peers" end
    return
  end
  local npm = sh("command -v npm")
  if not npm or npm == "" then peers.duckdb.skipped = "npm not installed"
  else
    local dir = opts.cache .. "/duckdb-node"
    if not sys.stat(dir .. "/node_modules/@duckdb/node-api") then
      sys.mkdirs(dir)
      if not sh(string.format("cd '%s' && npm install --silent @duckdb/node-api >/dev/null 2>&1 && echo ok", dir)) then
        peers.duckdb.skipped = "npm install @duckdb/node-api failed (no registry?)"
      end
    end
    peers.duckdb.dir = dir
  end
  -- Debian's python3-sklearn is installed for /usr/bin/python3 (a pyenv or venv python3 may not see it)
  peers.sklearn.python = sys.stat("/usr/bin/python3") and "/usr/bin/python3" or "python3"
  if not sh(peers.sklearn.python .. " -c 'import sklearn, numpy' && echo ok") then
    peers.sklearn.skipped = "python3-sklearn not installed (apt-get install python3-sklearn)"
  end
  local borgelt = os.getenv("BORGELT_FPGROWTH")
  if not borgelt or not sys.stat(borgelt) then peers.borgelt.skipped = "BORGELT_FPGROWTH does not name the fpgrowth binary"
  else peers.borgelt.bin = borgelt end
end

local function run_peers(data, work, size_result)
  local p = {}
  if not peers.duckdb.skipped then
    -- node resolves the package next to the script: run a copy placed beside node_modules
    os.execute(string.format("cp '%s/duckdb.mjs' '%s/duckdb.mjs'", here, peers.duckdb.dir))
    local text = sh(string.format("cd '%s' && node duckdb.mjs '%s' %d %s", peers.duckdb.dir, data, reps, settle))
    for line in (text or ""):gmatch("[^\n]+") do
      local ok, rec = pcall(json.decode, line)
      if ok then p["duckdb:" .. rec.stage] = { cold = rec.cold, warm = rec.warm } end
    end
  end
  if not peers.sklearn.skipped and sys.stat(work .. "/features.csv") then
    local text = sh(string.format("%s '%s/sklearn_kmeans.py' '%s/features.csv' %d", peers.sklearn.python, here, work, reps))
    local ok, rec = pcall(json.decode, text or "")
    if ok then p["sklearn:kmeans"] = { cold = rec.cold, warm = rec.warm }; size_result.sklearn_inertia = rec.inertia end
  end
  if not peers.borgelt.skipped then
    -- Borgelt's fpgrowth reads one transaction per line, items separated by spaces: the product lists
    local tx = work .. "/baskets.txt"
    os.execute(string.format("cut -d'|' -f4 '%s'/transactions/*_Tran.csv > '%s'", data, tx))
    local times = {}
    for _ = 1, reps do
      local t0 = sys.monotonic()
      os.execute(string.format("'%s' -s0.5 -m1 -fz '%s' /dev/null >/dev/null 2>&1", peers.borgelt.bin, tx))
      times[#times + 1] = sys.monotonic() - t0
    end
    p["borgelt:fpgrowth"] = { cold = median(times) } -- a process per run: every run is cold
  end
  return p
end

-- ---- main ----
peer_status()
local machine = (sh("uname -srm") or ""):gsub("\n", "")
local cpu = (sh("grep -m1 'model name' /proc/cpuinfo") or ""):match(":%s*(.-)%s*$") or "?"
local results = { date = os.date("!%Y-%m-%dT%H:%M:%SZ"), machine = machine, cpu = cpu, cores = sys.threads(),
  mercado = sys.version(), reps = reps, settle_seconds = settle, free_page_reporting = reporting,
  huge_pages = huge_pages, huge_pages_reason = huge_pages_reason, sizes = {}, peers = {} }
for name, p in pairs(peers) do results.peers[name] = p.skipped and ("skipped: " .. p.skipped) or "run" end

for factor_text in opts.sizes:gmatch("[^,]+") do
  local factor = tonumber(factor_text)
  local data, n = dataset_for(factor)
  local work = string.format("%s/work-%s", out_dir, factor_text)
  sys.mkdirs(work)
  local size = { factor = factor, baskets = n, stages = {} }
  for _, stage in ipairs(STAGES) do
    local times, warm, rss = {}, {}, 0
    for _ = 1, reps do
      local rec = run_stage(stage, data, work)
      if rec then
        times[#times + 1] = rec.seconds
        warm[#warm + 1] = rec.warm_seconds
        if rec.inertia then size.inertia = rec.inertia end
        rss = math.max(rss, rec.rss_kb or 0)
      end
    end
    local lo, hi = math.huge, 0
    for _, t in ipairs(times) do lo, hi = math.min(lo, t), math.max(hi, t) end
    size.stages[stage] = { median = median(times), min = #times > 0 and lo or nil, max = #times > 0 and hi or nil,
      warm_median = median(warm), runs = #times, peak_rss_mb = rss / 1024 }
    io.stderr:write(string.format("%-6s %-18s %s\n", factor_text, stage, #times > 0 and string.format(
      "%.3f s (%.3f-%.3f), warm %.3f s, %.0f MB", size.stages[stage].median, lo, hi, median(warm), rss / 1024)
      or "FAILED"))
  end
  size.peer_seconds = run_peers(data, work, size)
  results.sizes[#results.sizes + 1] = size
end

-- scaling: 10x against 1x, per stage
local by_factor = {}
for _, s in ipairs(results.sizes) do by_factor[s.factor] = s end
if by_factor[1] and by_factor[10] then
  results.scaling, results.scaling_warm = {}, {}
  for _, stage in ipairs(STAGES) do
    local a, b = by_factor[1].stages[stage], by_factor[10].stages[stage]
    if a.median and b.median then results.scaling[stage] = b.median / a.median end
    if a.warm_median and b.warm_median then results.scaling_warm[stage] = b.warm_median / a.warm_median end
  end
end

-- text table
local lines = {}
local function add(fmt, ...) lines[#lines + 1] = string.format(fmt, ...) end
add("mercado %s benchmark, %s, %s (%d cores), %d runs per stage, medians (min-max), peak RSS", results.mercado,
  results.date, results.cpu, results.cores, reps)
add("cold: a stage's first run in a fresh process%s; warm: its repeat in the same process",
  settle > 0 and string.format(", %g s after its load (free page reporting %s)", settle,
    results.free_page_reporting and "is on" or "is off") or "")
add("huge pages %s (%s)", huge_pages and "on" or "off", huge_pages_reason)
for _, s in ipairs(results.sizes) do
  add("")
  add("%s baskets (%.1fx):", s.baskets, s.factor)
  add("  %-18s %22s %8s %8s   %s", "stage", "cold seconds", "warm", "peak MB", "mercado/peer (peer's seconds)")
  for _, stage in ipairs(STAGES) do
    local st = s.stages[stage]
    local ratio = {}
    for key, secs in pairs(s.peer_seconds) do -- cold against the peer's first run, warm against its repeats
      local peer, pstage = key:match("^(%w+):(.+)$")
      if pstage == stage and st.median then
        local parts = {}
        if secs.cold and secs.cold > 0 then
          parts[#parts + 1] = string.format("cold %.2f (%.3f s)", st.median / secs.cold, secs.cold)
        end
        if secs.warm and secs.warm > 0 and st.warm_median then
          parts[#parts + 1] = string.format("warm %.2f (%.3f s)", st.warm_median / secs.warm, secs.warm)
        end
        ratio[#ratio + 1] = peer .. " " .. table.concat(parts, ", ")
      end
    end
    add("  %-18s %22s %8s %8.0f   %s", stage, st.median and string.format("%.3f (%.3f-%.3f)", st.median, st.min,
      st.max) or "failed", st.warm_median and string.format("%.3f", st.warm_median) or "-", st.peak_rss_mb,
      table.concat(ratio, ", "))
  end
  if s.inertia then
    add("  k-means inertia at k=4: mercado %.4f%s", s.inertia,
      s.sklearn_inertia and string.format(", scikit-learn %.4f", s.sklearn_inertia) or "")
  end
end
if results.scaling then
  add("")
  add("scaling 10x / 1x (must be <= 12):   cold    warm")
  for _, stage in ipairs(STAGES) do
    local c, w = results.scaling[stage], results.scaling_warm[stage]
    if c then
      add("  %-18s %20.2f %7s%s", stage, c, w and string.format("%.2f", w) or "-",
        (c > 12 or (w and w > 12)) and "  OVER" or "")
    end
  end
end
add("")
for name, status in pairs(results.peers) do add("peer %-8s %s", name, status) end
local text = table.concat(lines, "\n") .. "\n"
io.write(text)
assert(sys.write_atomic(out_dir .. "/bench.txt", text))
assert(sys.write_atomic(out_dir .. "/bench.json", json.encode(results, { indent = 2 })))
io.write("results in ", out_dir, "/bench.json and bench.txt\n")
