-- test_fpgrowth.lua: mercado.fpgrowth's Lua face against independent computations written here in Lua
-- (exhaustive subset counting, rule measures from subset counts, naive recommendations).
-- Run: build/runtime/mercado exec tests/lua/test_fpgrowth.lua
local fpg = require "mercado.fpgrowth"
local cs = require "mercado.colstore"

local function ok(name) print("ok " .. name) end

local function check(cond, ...)
  if not cond then error(string.format(...), 2) end
end

local function errors(f, pattern, what)
  local okk, err = pcall(f)
  check(not okk, "%s: expected an error", what)
  check(tostring(err):find(pattern, 1, true), "%s: error %q lacks %q", what, tostring(err), pattern)
end

-- a small deterministic generator (xorshift), so the test does not depend on math.random's algorithm
local function rng(seed)
  local s = seed
  return function(n)
    s = s ~ (s << 13); s = s ~ (s >> 7); s = s ~ (s << 17)
    return (s >> 1) % n
  end
end

local function random_baskets(r, n, ids, maxlen)
  local out = {}
  for t = 1, n do
    local b = {}
    for _ = 1, r(maxlen + 1) do
      local i = r(#ids) + 1
      if r(3) > 0 then i = r(math.max(1, #ids // 2)) + 1 end -- skew towards the first ids
      b[#b + 1] = ids[i]
    end
    out[t] = b
  end
  return out
end

local function key(items) return table.concat(items, " ") end

-- every non-empty subset of the universe with its count (items counted once per basket)
local function brute_force(baskets, minc, max_len)
  local univ, seen = {}, {}
  for _, b in ipairs(baskets) do
    for _, x in ipairs(b) do
      if not seen[x] then seen[x] = true; univ[#univ + 1] = x end
    end
  end
  table.sort(univ)
  local sets = {}
  for mask = 1, (1 << #univ) - 1 do
    local items = {}
    for i = 1, #univ do if mask & (1 << (i - 1)) ~= 0 then items[#items + 1] = univ[i] end end
    if not max_len or #items <= max_len then
      local c = 0
      for _, b in ipairs(baskets) do
        local has = {}
        for _, x in ipairs(b) do has[x] = true end
        local all = true
        for _, x in ipairs(items) do if not has[x] then all = false; break end end
        if all then c = c + 1 end
      end
      if c >= minc then sets[#sets + 1] = {items = items, count = c} end
    end
  end
  table.sort(sets, function(a, b)
    if #a.items ~= #b.items then return #a.items < #b.items end
    for i = 1, #a.items do
      if a.items[i] ~= b.items[i] then return a.items[i] < b.items[i] end
    end
    return false
  end)
  return sets
end

local function same_itemsets(s, expected, what)
  check(#s == #expected, "%s: %d itemsets, expected %d", what, #s, #expected)
  for i, e in ipairs(expected) do
    local g = s:get(i)
    check(key(g.items) == key(e.items) and g.count == e.count, "%s: itemset %d is {%s}:%d, expected {%s}:%d",
      what, i, key(g.items), g.count, key(e.items), e.count)
    check(g.support == e.count / s:baskets(), "%s: support of itemset %d", what, i)
  end
end

-- 1. mining against brute force, from Lua arrays and from a colstore Column, several thread counts
do
  local r = rng(12345)
  for seed = 1, 40 do
    local ids = {}
    for i = 1, 2 + r(6) do ids[i] = (r(2) == 0) and (i * 3) or (-1000 + i) end
    local baskets = random_baskets(r, 1 + r(60), ids, 1 + r(7))
    local minc = 1 + r(#baskets // 3 + 1)
    local max_len = (seed % 4 == 0) and 2 or nil
    local expected = brute_force(baskets, minc, max_len)
    local ms = minc > 1 and minc or 1 / #baskets -- an absolute count, or a fraction meaning count 1
    local a = assert(fpg.mine(baskets, ms, {max_len = max_len, threads = 1 + seed % 3}))
    same_itemsets(a, expected, "seed " .. seed .. " (arrays)")
    local col = cs.column("list<int32>", baskets)
    local b = assert(fpg.mine(col, ms, {max_len = max_len}))
    same_itemsets(b, expected, "seed " .. seed .. " (column)")
    check(a:min_count() == minc, "min_count %d, expected %d", a:min_count(), minc)
  end
  ok("mine matches exhaustive counting")
end

-- 2. Han, Pei and Yin's example (SIGMOD 2000, table 1; minimum support 3 of 5)
do
  local tx = {"facdgimp", "abcflmo", "bfhjo", "bcksp", "afcelpmn"}
  local baskets = {}
  for i, s in ipairs(tx) do
    baskets[i] = {}
    for c in s:gmatch(".") do baskets[i][#baskets[i] + 1] = c:byte() - 96 end
  end
  local s = assert(fpg.mine(baskets, 0.6)) -- ceil(0.6 * 5) = 3
  local function letters(items)
    local t = {}
    for _, x in ipairs(items) do t[#t + 1] = string.char(96 + x) end
    return table.concat(t)
  end
  local got = {}
  for i = 1, #s do local it = s:get(i); got[#got + 1] = letters(it.items) .. it.count end
  -- the paper: f:4 c:4 a:3 b:3 m:3 p:3; cp; fm cm am fcm fam cam fcam; fa ca fca; fc (all :3)
  check(table.concat(got, ",") == "a3,b3,c4,f4,m3,p3,ac3,af3,am3,cf3,cm3,cp3,fm3,acf3,acm3,afm3,cfm3,acfm3",
    "paper example: %s", table.concat(got, ","))
  check(s:count_of({13, 6, 1, 3}) == 3 and s:count_of({3, 3, 6}) == 3 and s:count_of({6}) == 4 and
    s:count_of({2, 6}) == nil, "count_of on the paper example")
  ok("FP-Growth paper example")
end

-- 3. edge cases and argument handling
do
  local s = assert(fpg.mine({}, 0.5))
  check(#s == 0 and s:baskets() == 0, "no baskets")
  s = assert(fpg.mine({{}, {}, {}}, 0.5))
  check(#s == 0 and s:baskets() == 3, "empty baskets")
  s = assert(fpg.mine({{4, 4, 2, 4}}, 1.0))
  check(#s == 3 and s:get(3).count == 1 and key(s:get(3).items) == "2 4", "a single basket with duplicates")
  local same = {}
  for i = 1, 50 do same[i] = {9, 8, 7, 6, 5} end
  s = assert(fpg.mine(same, 1.0))
  check(#s == 31, "identical baskets: %d itemsets", #s)
  for i = 1, #s do check(s:get(i).count == 50, "identical baskets: counts") end
  same[51] = {9}
  s = assert(fpg.mine(same, 1.0))
  check(#s == 1 and s:get(1).count == 51, "min_support 1.0 keeps what every basket has")
  check(#assert(fpg.mine(same, 50)) == 31, "an absolute count")
  local none, msg = fpg.mine(same, 2, {max_itemsets = 30})
  check(none == nil and msg:find("max_itemsets", 1, true) and msg:find("30", 1, true), "bound: %s", tostring(msg))
  check(#assert(fpg.mine(same, 2, {max_itemsets = 31})) == 31, "exactly at the bound")
  errors(function() fpg.mine(same, 0) end, "min_support", "min_support 0")
  errors(function() fpg.mine(same, 1.5) end, "min_support", "min_support 1.5")
  errors(function() fpg.mine(same, -0.1) end, "min_support", "negative min_support")
  errors(function() fpg.mine({{1, "x"}}, 0.5) end, "32-bit integer", "a non-integer item")
  errors(function() fpg.mine(cs.column("int32", {1, 2}), 0.5) end, "list<int32>", "a non-list column")
  errors(function() fpg.mine(same, 0.5, {max_len = -1}) end, "max_len", "negative max_len")
  errors(function() s:get(0) end, "out of range", "get(0)")
  check(tostring(s):find("Itemsets", 1, true), "tostring")
  s:close()
  errors(function() return #s end, "closed", "use after close")
  s:close() -- idempotent
  ok("edge cases")
end

-- 4. top, CSV and columns of itemsets
do
  local r = rng(777)
  local baskets = random_baskets(r, 400, {1, 2, 3, 4, 5, 6, 7, 8}, 6)
  local s = assert(fpg.mine(baskets, 0.05))
  local all = {}
  for i = 1, #s do all[i] = s:get(i) end
  table.sort(all, function(a, b)
    if a.count ~= b.count then return a.count > b.count end
    for i = 1, math.min(#a.items, #b.items) do
      if a.items[i] ~= b.items[i] then return a.items[i] < b.items[i] end
    end
    return #a.items < #b.items
  end)
  local top = s:top(15)
  check(#top == 15, "top size")
  for i = 1, 15 do check(key(top[i].items) == key(all[i].items), "top %d", i) end
  check(#s:top(100000) == #s, "top larger than the result")
  local csv = s:to_csv()
  local lines = {}
  for line in csv:gmatch("[^\n]+") do lines[#lines + 1] = line end
  check(lines[1] == "items,count,support" and #lines == #s + 1, "itemsets CSV shape")
  for i = 1, #s do
    local items, count, support = lines[i + 1]:match("^([^,]*),(%d+),([^,]+)$")
    local it = s:get(i)
    check(items == key(it.items) and tonumber(count) == it.count and tonumber(support) == it.support,
      "itemsets CSV line %d: %s", i, lines[i + 1])
  end
  local t = s:columns()
  check(#t == #s, "columns: rows")
  local rows = t:rows()
  for i = 1, #s do
    check(key(rows[i].items) == key(s:get(i).items) and rows[i].count == s:get(i).count, "columns row %d", i)
  end
  ok("itemsets top, CSV and columns")
end

-- 5. rules: measures recomputed from the itemsets' counts
local function rules_fixture()
  local r = rng(4242)
  local baskets = random_baskets(r, 600, {10, 20, 30, 40, 50, 60, 70}, 6)
  for _ = 1, 40 do baskets[#baskets + 1] = {10, 20, 99} end -- 99 only with 10 and 20: confidence-1 rules
  return baskets
end

do
  local baskets = rules_fixture()
  local n = #baskets
  local s = assert(fpg.mine(baskets, 0.03))
  local expected = brute_force(baskets, s:min_count())
  local counts = {}
  for _, e in ipairs(expected) do counts[key(e.items)] = e.count end
  for _, maxc in ipairs({1, 3}) do
    local rules = fpg.rules(s, 0.3, {max_consequent = maxc})
    -- every rule the definition allows, counted here
    local want = 0
    for _, e in ipairs(expected) do
      local k = #e.items
      for mask = 1, (1 << k) - 2 do
        local a, b = {}, {}
        for i = 1, k do
          if mask & (1 << (i - 1)) ~= 0 then b[#b + 1] = e.items[i] else a[#a + 1] = e.items[i] end
        end
        if #b <= maxc and e.count / counts[key(a)] >= 0.3 then want = want + 1 end
      end
    end
    check(#rules == want, "max_consequent %d: %d rules, expected %d", maxc, #rules, want)
    local prev, infinite = nil, 0
    for i = 1, #rules do
      local x = rules:get(i)
      local u = {}
      for _, v in ipairs(x.antecedent) do u[#u + 1] = v end
      for _, v in ipairs(x.consequent) do u[#u + 1] = v end
      table.sort(u)
      local cs_, ca, cb = counts[key(u)], counts[key(x.antecedent)], counts[key(x.consequent)]
      check(x.count == cs_, "rule %d count", i)
      local conf = cs_ / ca
      check(x.support == cs_ / n and x.confidence == conf and x.lift == conf / (cb / n), "rule %d measures", i)
      check(math.abs(x.leverage - (cs_ / n - (ca / n) * (cb / n))) < 1e-15, "rule %d leverage", i)
      if conf == 1 then
        check(x.conviction == nil, "rule %d: conviction must be nil when confidence is 1", i)
        infinite = infinite + 1
      else
        check(math.abs(x.conviction - (1 - cb / n) / (1 - conf)) < 1e-12, "rule %d conviction", i)
      end
      if prev then -- canonical order: lift desc, confidence desc, support desc, then antecedent, consequent
        check(prev.lift > x.lift or (prev.lift == x.lift and (prev.confidence > x.confidence or
          (prev.confidence == x.confidence and prev.support >= x.support))), "rule %d out of order", i)
      end
      prev = x
    end
    check(infinite > 0, "the fixture has confidence-1 rules")
    local top = rules:top(10, "confidence")
    for i = 2, #top do
      check(top[i - 1].confidence > top[i].confidence or (top[i - 1].confidence == top[i].confidence and
        top[i - 1].lift >= top[i].lift), "top by confidence %d", i)
    end
    check(key(rules:top(1)[1].antecedent) == key(rules:get(1).antecedent), "top by lift = canonical order")
    local csv = rules:to_csv()
    local lines = {}
    for line in csv:gmatch("[^\n]+") do lines[#lines + 1] = line end
    check(lines[1] == "antecedent,consequent,support,confidence,lift,leverage,conviction", "rules CSV header")
    check(#lines == #rules + 1, "rules CSV rows")
    for i = 1, #rules do
      local a, c, sup, conf, lift, lev, conv =
        lines[i + 1]:match("^([^,]*),([^,]*),([^,]+),([^,]+),([^,]+),([^,]+),([^,]+)$")
      local x = rules:get(i)
      check(a == key(x.antecedent) and c == key(x.consequent), "rules CSV items %d", i)
      check(tonumber(sup) == x.support and tonumber(conf) == x.confidence and tonumber(lift) == x.lift and
        tonumber(lev) == x.leverage, "rules CSV round trip %d: %s", i, lines[i + 1])
      check((x.conviction == nil and conv == "inf") or tonumber(conv) == x.conviction, "rules CSV conviction %d", i)
    end
    -- write_csv: the same text, written to a file (atomically); an unwritable path is nil, message
    local path = os.tmpname()
    check(rules:write_csv(path) == true, "rules:write_csv")
    local f = assert(io.open(path, "rb"))
    local text = f:read("a")
    f:close()
    check(text == csv, "rules:write_csv writes rules:to_csv's text")
    check(s:write_csv(path) == true, "itemsets:write_csv")
    f = assert(io.open(path, "rb"))
    text = f:read("a")
    f:close()
    check(text == s:to_csv(), "itemsets:write_csv writes itemsets:to_csv's text")
    os.remove(path)
    local okw, err = rules:write_csv("/nonexistent-dir/rules.csv")
    check(okw == nil and tostring(err):find("/nonexistent-dir/rules.csv", 1, true), "write_csv to a missing dir: %s",
      tostring(err))
  end
  errors(function() fpg.rules(s, 1.5) end, "min_confidence", "min_confidence 1.5")
  errors(function() fpg.rules(s, 0.5, {max_consequent = 0}) end, "max_consequent", "max_consequent 0")
  errors(function() fpg.rules({}, 0.5) end, "Itemsets", "rules of a non-Itemsets")
  ok("rules and their measures")
end

-- 6. recommendations against a naive implementation
local function better(x, y) -- rule records {score, confidence, support, index}
  if x.score ~= y.score then return x.score > y.score end
  if x.confidence ~= y.confidence then return x.confidence > y.confidence end
  if x.support ~= y.support then return x.support > y.support end
  return x.index < y.index
end

do
  local baskets = rules_fixture()
  local s = assert(fpg.mine(baskets, 0.03))
  local rules = fpg.rules(s, 0.2, {max_consequent = 2})
  local r = rng(99)
  local owned, ids = {}, {}
  for c = 1, 3000 do
    local o = {}
    for _ = 1, r(7) do o[#o + 1] = 10 * (1 + r(7)) end
    owned[c] = o
    ids[c] = 100000 + c * 7
  end
  for _, max_rules in ipairs({0, 25}) do
    local nr = (max_rules > 0 and max_rules < #rules) and max_rules or #rules
    local rs = {}
    for i = 1, nr do
      local x = rules:get(i)
      x.index, x.score = i, x.lift * x.confidence
      rs[i] = x
    end
    local t = fpg.recommend_customers(rules, cs.column("list<int32>", owned),
      {top = 3, max_rules = max_rules, ids = cs.column("int64", ids)})
    local rows = t:rows()
    local at = 1
    for c, o in ipairs(owned) do
      local has = {}
      for _, x in ipairs(o) do has[x] = true end
      local best, list = {}, {}
      for _, x in ipairs(rs) do
        local all = true
        for _, a in ipairs(x.antecedent) do if not has[a] then all = false end end
        if all then
          for _, y in ipairs(x.consequent) do
            if not has[y] then
              if not best[y] then best[y] = x; list[#list + 1] = y
              elseif better(x, best[y]) then best[y] = x end
            end
          end
        end
      end
      table.sort(list, function(p, q)
        if best[p].score ~= best[q].score then return best[p].score > best[q].score end
        return p < q
      end)
      for k = 1, math.min(3, #list) do
        local row, y = rows[at], list[k]
        check(row and row.row == c and row.rank == k and row.product == y and row.rule == best[y].index and
          row.customer_id == ids[c] and row.confidence == best[y].confidence and row.lift == best[y].lift and
          row.support == best[y].support and row.score == best[y].score and
          key(row.based_on) == key(best[y].antecedent),
          "customer %d rank %d: got product %s rule %s, expected %d rule %d", c, k, row and row.product,
          row and row.rule, y, best[y].index)
        at = at + 1
      end
    end
    check(at == #rows + 1 and #rows > 500, "recommend_customers: %d rows, expected %d", #rows, at - 1)
    -- the same from Lua arrays and with one thread
    local t2 = fpg.recommend_customers(rules, owned, {top = 3, max_rules = max_rules, threads = 1})
    check(#t2 == #t and t2:names()[1] == "row", "recommend_customers without ids")
  end
  -- enough rows for the table to be filled in parts on two threads: the same columns as one thread's
  local many, many_ids = {}, {}
  for c = 1, 40000 do
    local o = {}
    for _ = 1, 1 + r(5) do o[#o + 1] = 10 * (1 + r(7)) end
    many[c], many_ids[c] = o, 7 * c
  end
  local col = cs.column("list<int32>", many)
  local one = fpg.recommend_customers(rules, col, {top = 3, ids = cs.column("int32", many_ids), threads = 1})
  local two = fpg.recommend_customers(rules, col, {top = 3, ids = cs.column("int32", many_ids), threads = 2})
  check(#one > 65536 and #two == #one, "recommend_customers: %d rows with 1 thread, %d with 2", #one, #two)
  for _, name in ipairs(one:names()) do
    local a, b = one:column(name):totable(), two:column(name):totable()
    local same = #a == #b
    for i = 1, #a do
      if not same then break end
      same = name == "based_on" and key(a[i]) == key(b[i]) or name ~= "based_on" and a[i] == b[i]
    end
    check(same, "recommend_customers: column %s differs between 1 and 2 threads", name)
  end
  -- products
  local recs = fpg.recommend_products(rules, {top = 2})
  local want = {}
  for i = 1, #rules do
    local x = rules:get(i)
    x.index, x.score = i, x.lift * x.confidence
    for _, a in ipairs(x.antecedent) do
      want[a] = want[a] or {}
      for _, b in ipairs(x.consequent) do
        if not want[a][b] or better(x, want[a][b]) then want[a][b] = x end
      end
    end
  end
  local nsrc = 0
  for _ in pairs(want) do nsrc = nsrc + 1 end
  check(#recs == nsrc, "recommend_products: %d sources, expected %d", #recs, nsrc)
  for i, src in ipairs(recs) do
    local list = {}
    for b, x in pairs(want[src.product_id]) do list[#list + 1] = {b = b, x = x} end
    table.sort(list, function(p, q)
      if p.x.score ~= q.x.score or p.x.confidence ~= q.x.confidence or p.x.support ~= q.x.support then
        return better(p.x, q.x)
      end
      return p.b < q.b
    end)
    check(#src.recommendations == math.min(2, #list), "source %d: count", src.product_id)
    for k, rec in ipairs(src.recommendations) do
      check(rec.product_id == list[k].b and rec.rule == list[k].x.index and rec.lift == list[k].x.lift,
        "source %d rank %d", src.product_id, k)
    end
    if i > 1 then
      local p = recs[i - 1]
      check(#p.recommendations > #src.recommendations or (#p.recommendations == #src.recommendations and
        p.product_id < src.product_id), "sources out of order at %d", i)
    end
  end
  check(#fpg.recommend_products(rules, {max_products = 3}) == 3, "max_products")
  errors(function() fpg.recommend_customers(rules, owned, {top = 0}) end, "top", "top 0")
  errors(function() fpg.recommend_customers(rules, owned, {ids = cs.column("int64", {1})}) end, "ids",
    "ids of the wrong length")
  ok("recommendations")
end

print("fpgrowth: all tests passed")
