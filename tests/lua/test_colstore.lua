-- test_colstore.lua: mercado.colstore through Lua: the CSV reader on fixtures (every fault kind with its
-- file:line: reason, counts, rejects file, duplicate files, name-derived columns), the real catalog when
-- ../shared is present, and table operations against brute-force recomputation in Lua on random data.
package.path = (os.getenv("MERCADO_SOURCE_ROOT") or ".") .. "/tests/lib/?.lua;" .. package.path
local T = require "testlib"
local cs = require "mercado.colstore"
local sys = require "mercado.sys"

local dir = T.tmpdir("colstore")
local BASKETS = { delimiter = "|", columns = { { "date", "date" }, { "store_id", "int32" }, { "customer_id", "int32" },
  { "products", "list<int32>", sep = " " } } }

local function spec(extra)
  local s = {}
  for k, v in pairs(BASKETS) do s[k] = v end
  for k, v in pairs(extra or {}) do s[k] = v end
  return s
end

-- Reader: faults, counts, rejects file, name-derived column.
do
  sys.mkdirs(dir .. "/tx")
  T.write(dir .. "/tx/102_Tran.csv", "2013-01-01|102|1|1 2 3\n2013-01-01|102|2|\n2013-02-29|102|3|4\n\n2013-01-02|102|4|5 5\n")
  T.write(dir .. "/tx/103_Tran.csv", "\239\187\1912013-01-03|103|5|7\r\n2013-01-03|103|x|7\r\n2013-01-04|103|6|8 9")
  T.write(dir .. "/tx/Copia de 103_Tran.csv", T.read(dir .. "/tx/103_Tran.csv"))
  local t, rep = cs.read_csv(dir .. "/tx/*_Tran.csv", spec { store_from_name = "^(%d+)_Tran%.csv$",
    rejects_path = dir .. "/rejects.txt" })
  T.check(t ~= nil, "read: %s", tostring(rep))
  T.eq(#t, 4, "kept rows")
  T.eq(rep.lines_read, 7, "lines read (empty lines excluded)")
  T.eq(rep.kept + rep.rejected_total, rep.lines_read, "lines read = kept + rejected")
  T.eq(rep.rejected.empty_list, 1, "empty list rejects")
  T.eq(rep.rejected.bad_date, 1, "bad date rejects (2013-02-29)")
  T.eq(rep.rejected.bad_int, 1, "bad integer rejects")
  T.eq(rep.empty_lines, 1, "empty lines")
  T.eq(#rep.skipped_duplicates, 1, "duplicate file skipped")
  T.contains(rep.skipped_duplicates[1].path, "Copia de 103_Tran.csv", "duplicate named")
  T.contains(rep.skipped_duplicates[1].duplicate_of, "/103_Tran.csv", "duplicate's original named")
  T.eq(table.concat(t:column("store"):totable(), ","), "102,102,103,103", "store from the file name")
  T.eq(t:column("products"):nitems(), 8, "units kept")
  local rejects = T.read(dir .. "/rejects.txt")
  T.contains(rejects, "/tx/102_Tran.csv:2: empty list\t2013-01-01|102|2|\n", "rejects file line 2")
  T.contains(rejects, "/tx/102_Tran.csv:3: bad date\t2013-02-29|102|3|4\n", "rejects file line 3")
  T.contains(rejects, "/tx/103_Tran.csv:2: bad integer\t2013-01-03|103|x|7\n", "rejects file, CRLF file line 2")
  T.eq(t:rows(1)[1].date, "2013-01-01", "dates come back as ISO strings")
  local first = t:rows(4)[3]
  T.eq(first.customer_id, 5, "BOM skipped before the first field")
  -- on_error = "fail" names the first bad line; nothing is returned
  local t2, err = cs.read_csv(dir .. "/tx/1*_Tran.csv", spec { on_error = "fail" })
  T.eq(t2, nil, "fail mode returns nil")
  T.contains(err, "/tx/102_Tran.csv:2: empty list", "fail mode names file:line: reason")
  local t3, err3 = cs.read_csv(dir .. "/tx/1*_Tran.csv", spec { max_rejects = 1 })
  T.eq(t3, nil, "max_rejects exceeded returns nil")
  T.contains(err3, "max_rejects=1", "max_rejects named")
  local t4, err4 = cs.read_csv(dir .. "/nothing/*.csv", spec())
  T.eq(t4, nil, "no match")
  T.contains(err4, "no files match", "no match message")
  local t5, err5 = cs.read_csv(dir .. "/missing.csv", spec())
  T.eq(t5, nil, "missing file")
  T.contains(err5, "missing.csv", "missing file named")
  local ok, e = pcall(cs.read_csv, dir .. "/tx/102_Tran.csv", { delimiter = "|", columns = { { "a", "int33" } } })
  T.check(not ok and tostring(e):find("unknown type 'int33'"), "bad type named: %s", tostring(e))
  sys.mkdirs(dir .. "/adir.csv")
  local t6, err6 = cs.read_csv(dir .. "/adir.csv", spec())
  T.eq(t6, nil, "directory named like a CSV")
  T.contains(err6, "is a directory", "directory error")
end

-- The real catalog (from ../shared when present).
do
  local catalog = T.root .. "/../shared/data/catalog/"
  if sys.stat(catalog .. "ProductCategory.csv") then
    local cats, rep = cs.read_csv(catalog .. "Categories.csv", { delimiter = "|",
      columns = { { "category_id", "int32" }, { "category_name", "string" } } })
    T.eq(#cats, 50, "50 categories (no final newline)")
    T.eq(rep.rejected_total, 0, "no category rejects")
    T.eq(cats:rows(50)[6].category_name, "VERDURAS RAIZ,TUBERCULO Y BULBOS", "names with commas kept")
    local pc = cs.read_csv(catalog .. "ProductCategory.csv", { delimiter = "|", header = "yes",
      columns = { { "product_id", "int32" }, { "category_id", "int32" } } })
    T.eq(#pc, 112010, "112,010 product-category rows")
    local pairs_ = pc:distinct { "product_id", "category_id" }
    T.eq(#pairs_, 93537, "93,537 distinct pairs")
    local per = pairs_:group_by("product_id", { { "n", "count" } })
    T.eq(#per, 69891, "69,891 distinct products")
    T.eq(#per:filter { { "n", "==", 2 } }, 23646, "23,646 products with two categories")
    T.eq(#per:filter { { "n", ">", 2 } }, 0, "never more than two")
  else
    print("skip: ../shared/data/catalog is absent (a user's clone); the real-catalog checks need it")
  end
end

-- Operations against brute force on random data.
do
  math.randomseed(11)
  local n = 3000
  local cust, store, dates, lists = {}, {}, {}, {}
  for i = 1, n do
    cust[i] = math.random(1, 200) * 7
    store[i] = ({ 102, 103, 107, 110 })[math.random(4)]
    dates[i] = string.format("2013-%02d-%02d", math.random(1, 6), math.random(1, 28))
    local l = {}
    for _ = 1, math.random(1, 9) do l[#l + 1] = math.random(1, 30) end
    lists[i] = l
  end
  local t = cs.table { { "customer_id", cs.column("int32", cust) }, { "store_id", cs.column("int32", store) },
    { "date", cs.column("date", dates) }, { "products", cs.column("list<int32>", lists) } }
  T.eq(#t, n, "table length")
  -- per customer: baskets, units, distinct products, distinct stores, mean basket size
  local g = t:group_by("customer_id", { { "baskets", "count" }, { "units", "sum", t:column("products"):lengths() },
    { "diversity", "count_distinct", "products" }, { "stores", "count_distinct", "store_id" },
    { "avg", "mean", t:column("products"):lengths() }, { "first", "min", "date" }, { "owned", "collect_distinct", "products" } })
  local want = {}
  for i = 1, n do
    local w = want[cust[i]] or { baskets = 0, units = 0, prods = {}, stores = {}, first = "9999" }
    want[cust[i]] = w
    w.baskets = w.baskets + 1
    w.units = w.units + #lists[i]
    for _, p in ipairs(lists[i]) do w.prods[p] = true end
    w.stores[store[i]] = true
    if dates[i] < w.first then w.first = dates[i] end
  end
  local function count(s) local c = 0 for _ in pairs(s) do c = c + 1 end return c end
  local rows = g:rows()
  local prev = -1
  for _, r in ipairs(rows) do
    local w = want[r.customer_id]
    T.check(r.customer_id > prev, "customers ascending")
    prev = r.customer_id
    T.eq(r.baskets, w.baskets, "baskets of " .. r.customer_id)
    T.eq(r.units, w.units, "units of " .. r.customer_id)
    T.eq(r.diversity, count(w.prods), "distinct products of " .. r.customer_id)
    T.eq(r.stores, count(w.stores), "distinct stores of " .. r.customer_id)
    T.eq(r.avg, w.units / w.baskets, "mean basket size of " .. r.customer_id)
    T.eq(r.first, w.first, "first date of " .. r.customer_id)
    local owned = r.owned
    T.eq(#owned, count(w.prods), "owned list of " .. r.customer_id)
    for i, p in ipairs(owned) do
      T.check(w.prods[p] and (i == 1 or owned[i - 1] < p), "owned list of %d: sorted distinct products", r.customer_id)
    end
  end
  T.eq(#rows, count(want), "one group per customer")
  -- value counts over list items: count desc, then value asc
  local vc = t:column("products"):value_counts():rows()
  local freq = {}
  for i = 1, n do for _, p in ipairs(lists[i]) do freq[p] = (freq[p] or 0) + 1 end end
  for i, r in ipairs(vc) do
    T.eq(r.count, freq[r.value], "count of product " .. r.value)
    if i > 1 then
      local p = vc[i - 1]
      T.check(p.count > r.count or (p.count == r.count and p.value < r.value), "value_counts order at %d", i)
    end
  end
  -- group by (store, list item): units per store and product
  local sp = t:group_by({ "store_id", "products" }, { { "units", "count" } }):rows()
  local spw = {}
  for i = 1, n do for _, p in ipairs(lists[i]) do local k = store[i] .. ":" .. p spw[k] = (spw[k] or 0) + 1 end end
  for _, r in ipairs(sp) do T.eq(r.units, spw[r.store_id .. ":" .. r.products], "units of store/product") end
  T.eq(#sp, count(spw), "store/product groups")
  -- filter, date parts, sort, top, join, remap
  local f = t:filter { { "store_id", "in", { 102, 110 } }, { "date", ">=", "2013-03-01" } }
  local fw = 0
  for i = 1, n do if (store[i] == 102 or store[i] == 110) and dates[i] >= "2013-03-01" then fw = fw + 1 end end
  T.eq(#f, fw, "filter rows")
  local months = t:column("date"):month():totable()
  for i = 1, n do T.eq(months[i], tonumber(dates[i]:sub(6, 7)), "month of row " .. i) end
  local dow = cs.column("date", { "2013-01-01", "2013-01-06", "2013-01-05" }):day_of_week():totable()
  T.eq(table.concat(dow, ","), "3,1,7", "day of week 1 = Sunday")
  local wk = cs.column("date", { "2012-12-31", "2013-01-01", "2013-06-30", "2010-01-03" })
  T.eq(table.concat(wk:iso_week():totable(), ","), "1,1,26,53", "ISO weeks")
  T.eq(table.concat(wk:iso_year():totable(), ","), "2013,2013,2013,2009", "ISO years")
  local top = g:top(5, { { "units", "desc" }, { "customer_id", "asc" } }):rows()
  local all = g:rows()
  table.sort(all, function(a, b) return a.units > b.units or (a.units == b.units and a.customer_id < b.customer_id) end)
  for i = 1, 5 do T.eq(top[i].customer_id, all[i].customer_id, "top " .. i) end
  local map = cs.table { { "product", cs.column("int32", { 1, 1, 2, 3, 3, 3 }) }, { "cat", cs.column("int32", { 10, 11, 10, 12, 12, 13 }) } }
  local j = t:head(50):join(map, { on = { "customer_id", "product" } })
  T.eq(#j, 0, "join with no matches")
  local pj = cs.table { { "p", cs.column("int32", { 3, 1, 9 }) } }:join(map, { on = { "p", "product" } }):rows()
  T.eq(#pj, 5, "one-to-many join rows")
  T.eq(pj[1].p .. ":" .. pj[1].cat, "3:12", "join order follows the left table")
  local rm = cs.column("list<int32>", { { 1, 3 }, { 2, 9 }, {} }):remap(map:column("product"), map:column("cat")):totable()
  T.eq(table.concat(rm[1], ","), "10,11,12,13", "remap distinct sorted values")
  T.eq(table.concat(rm[2], ","), "10", "remap drops unmapped items")
  T.eq(#rm[3], 0, "remap of an empty list")
  local rl = cs.column("list<int32>", { { 1, 3 }, { 2, 9 }, {} }):remap_lengths(map:column("product"), map:column("cat"))
  T.eq(rl:type(), "int32", "remap_lengths type")
  T.eq(table.concat(rl:totable(), ","), "4,1,0", "remap_lengths counts remap's values")
  T.eq(table.concat(cs.column("list<int32>", { { 5, 5, 1 }, {} }):distinct_lengths():totable(), ","), "2,0", "distinct lengths")
  local ok, e = pcall(t.group_by, t, "nope", {})
  T.check(not ok and tostring(e):find("no column 'nope'") and tostring(e):find("customer_id"), "unknown column named: %s", tostring(e))
  ok, e = pcall(t.sort, t, "store_id sideways")
  T.check(not ok and tostring(e):find("asc' or 'desc"), "bad sort direction named: %s", tostring(e))
  T.contains(tostring(t), "Table[3000 rows x 4 columns]", "table preview")
end

-- Every grouping path against brute force: key ranges small (direct slots), large (bitmap ranks), wider than the
-- dense limit (ranked values); distinct values over a small range (bitmap per group) and a huge one (rows ordered
-- by group, split across threads when there are enough).
do
  math.randomseed(23)
  local n = 20000
  local cust, lists = {}, {}
  for i = 1, n do
    cust[i] = math.random(1, 500)
    local l = {}
    for _ = 1, math.random(1, 8) do l[#l + 1] = math.random(1, 40) end
    lists[i] = l
  end
  local want = {}
  for i = 1, n do
    local w = want[cust[i]] or { baskets = 0, units = 0, prods = {} }
    want[cust[i]] = w
    w.baskets, w.units = w.baskets + 1, w.units + #lists[i]
    for _, p in ipairs(lists[i]) do w.prods[p] = true end
  end
  local function check(label, key_scale, item_scale)
    local ks, ls = {}, {}
    for i = 1, n do
      ks[i] = cust[i] * key_scale
      local l = {}
      for j, p in ipairs(lists[i]) do l[j] = p * item_scale end
      ls[i] = l
    end
    local t = cs.table { { "k", cs.column("int32", ks) }, { "p", cs.column("list<int32>", ls) } }
    local rows = t:group_by("k", { { "baskets", "count" }, { "units", "sum", t:column("p"):lengths() },
      { "d", "count_distinct", "p" }, { "owned", "collect_distinct", "p" }, { "big", "max", t:column("p"):lengths() } }):rows()
    local groups, prev = 0, nil
    for _, r in ipairs(rows) do
      groups = groups + 1
      T.check(prev == nil or r.k > prev, "%s: keys ascending", label)
      prev = r.k
      local w = want[r.k // key_scale]
      T.check(w and r.k % key_scale == 0, "%s: key %d exists", label, r.k)
      T.eq(r.baskets, w.baskets, label .. ": baskets")
      T.eq(r.units, w.units, label .. ": units")
      local expect = {}
      for p in pairs(w.prods) do expect[#expect + 1] = p * item_scale end
      table.sort(expect)
      T.eq(r.d, #expect, label .. ": count_distinct")
      T.eq(table.concat(r.owned, ","), table.concat(expect, ","), label .. ": collect_distinct of " .. r.k)
    end
    local nkeys = 0
    for _ in pairs(want) do nkeys = nkeys + 1 end
    T.eq(groups, nkeys, label .. ": one group per key")
    local vc = t:column("p"):value_counts():rows()
    local freq = {}
    for i = 1, n do for _, p in ipairs(ls[i]) do freq[p] = (freq[p] or 0) + 1 end end
    local kinds = 0
    for _, r in ipairs(vc) do kinds = kinds + 1; T.eq(r.count, freq[r.value], label .. ": value count") end
    local fk = 0
    for _ in pairs(freq) do fk = fk + 1 end
    T.eq(kinds, fk, label .. ": value_counts groups")
  end
  check("small ranges", 1, 1)
  check("key range above the slot limit", 3000, 1)
  check("key range above the dense limit", 100000, 1)
  check("item range of millions (distinct by rows)", 7, 400000)
end

-- A single key with enough elements to be split across threads, against brute force: a range that maps codes to
-- groups directly (slots), a wider one (ranks), and a count alone (no group ids written).
do
  math.randomseed(31)
  local n = 150000
  for _, range in ipairs { 5000, 400000 } do
    local ks, vs, want, nwant = {}, {}, {}, 0
    for i = 1, n do
      local k, v = math.random(1, range), math.random(0, 9)
      ks[i], vs[i] = k, v
      local w = want[k]
      if not w then w = { 0, 0 }; want[k] = w; nwant = nwant + 1 end
      w[1], w[2] = w[1] + 1, w[2] + v
    end
    local t = cs.table { { "k", cs.column("int32", ks) }, { "v", cs.column("int32", vs) } }
    for _, aggs in ipairs { { { "n", "count" }, { "s", "sum", "v" } }, { { "n", "count" } } } do
      local rows = t:group_by("k", aggs):rows()
      local label = string.format("range %d, %d aggregate(s)", range, #aggs)
      T.eq(#rows, nwant, label .. ": one group per key")
      local good, prev = true, 0
      for _, r in ipairs(rows) do
        local w = want[r.k]
        good = good and r.k > prev and w ~= nil and r.n == w[1] and (#aggs == 1 or r.s == w[2])
        prev = r.k
      end
      T.check(good, "%s: keys ascending, counts and sums as brute force", label)
    end
  end
end

-- top(k) is the first k rows of the stable sort, ties and all (a bounded heap for small k)
do
  math.randomseed(29)
  local a, b, f = {}, {}, {}
  for i = 1, 5000 do a[i], b[i], f[i] = math.random(1, 20), math.random(1, 3), math.random(1, 7) / 4 end
  local t = cs.table { { "a", cs.column("int32", a) }, { "b", cs.column("int64", b) }, { "f", cs.column("float64", f) },
    { "i", cs.column("int32", (function() local r = {} for i = 1, 5000 do r[i] = i end return r end)()) } }
  for _, spec in ipairs { { { "a", "desc" } }, { { "b", "asc" }, { "f", "desc" } }, { { "f", "asc" }, { "a", "asc" } } } do
    local sorted = t:sort(spec):column("i"):totable()
    for _, k in ipairs { 0, 1, 2, 7, 10, 100, 312, 313, 4999, 5000, 6000 } do
      local top = t:top(k, spec):column("i"):totable()
      T.eq(#top, math.min(k, 5000), "top " .. k .. " length")
      local same = true
      for j = 1, #top do same = same and top[j] == sorted[j] end
      T.check(same, "top %d is the sort's first %d rows", k, k)
    end
  end
end

T.done()
