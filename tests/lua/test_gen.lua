-- test_gen.lua: tests of the mercado.gen binding: errors naming the bad option, the summary against counts read
-- back from the files in Lua, byte-identical output for the same seed (also from a child process with
-- MERCADO_THREADS=1), nil-with-reason for an unwritable directory, and dirty mode checked against the real CSV
-- reader (mercado.colstore) and dirty_manifest.json. Run: mercado exec tests/lua/test_gen.lua
local gen = require "mercado.gen"
local json = require "mercado.json"
local sys = require "mercado.sys"
local lfs = require "lfs"

local function ok(name) print("ok " .. name) end

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

local tmp_root = (os.getenv("TMPDIR") or "/tmp") .. "/mercado_test_gen_lua_" .. sys.getpid()
assert(sys.mkdirs(tmp_root))

local function rm_tree(path)
  local attr = lfs.symlinkattributes(path)
  if not attr then return end
  if attr.mode == "directory" then
    for name in lfs.dir(path) do
      if name ~= "." and name ~= ".." then rm_tree(path .. "/" .. name) end
    end
    assert(lfs.rmdir(path))
  else
    assert(os.remove(path))
  end
end

local function slurp(path)
  local f = assert(io.open(path, "rb"))
  local s = f:read("a")
  f:close()
  return s
end

local function list(dir)
  local names = {}
  for name in lfs.dir(dir) do
    if name ~= "." and name ~= ".." then names[#names + 1] = name end
  end
  table.sort(names)
  return names
end

-- Every file of a/sub equals the one in b/sub.
local function same_tree(a, b, sub)
  local na, nb = list(a .. "/" .. sub), list(b .. "/" .. sub)
  if #na ~= #nb or #na == 0 then return false end
  for i, name in ipairs(na) do
    if nb[i] ~= name or slurp(a .. "/" .. sub .. "/" .. name) ~= slurp(b .. "/" .. sub .. "/" .. name) then
      return false
    end
  end
  return true
end

-- Baskets, units and distinct customers of the clean files, counted line by line.
local function count_clean(dir)
  local baskets, units, customers, ncustomers, per_file = 0, 0, {}, 0, {}
  for _, name in ipairs(list(dir .. "/transactions")) do
    local n = 0
    for line in io.lines(dir .. "/transactions/" .. name) do
      local date, store, cust, items = line:match("^(%d%d%d%d%-%d%d%-%d%d)|(%d+)|(%d+)|([%d ]+)$")
      assert(date and store .. "_Tran.csv" == name, "malformed line in " .. name .. ": " .. line)
      n = n + 1
      for _ in items:gmatch("%d+") do units = units + 1 end
      if not customers[cust] then customers[cust], ncustomers = true, ncustomers + 1 end
    end
    per_file[name] = n
    baskets = baskets + n
  end
  return baskets, units, ncustomers, per_file
end

local function test_errors()
  local out = tmp_root .. "/never"
  expect_error({"'baskets'", "required"}, gen.generate, {out = out})
  expect_error({"'baskets'"}, gen.generate, {baskets = 0, out = out})
  expect_error({"'baskets'"}, gen.generate, {baskets = 2.5, out = out})
  expect_error({"'baskets'"}, gen.generate, {baskets = "many", out = out})
  expect_error({"'out'"}, gen.generate, {baskets = 10})
  expect_error({"'out'"}, gen.generate, {baskets = 10, out = ""})
  expect_error({"'dirty'"}, gen.generate, {baskets = 10, out = out, dirty = 0.6})
  expect_error({"'dirty'"}, gen.generate, {baskets = 10, out = out, dirty = -0.1})
  expect_error({"'dirty'"}, gen.generate, {baskets = 10, out = out, dirty = "lots"})
  expect_error({"'seed'"}, gen.generate, {baskets = 10, out = out, seed = 1.5})
  expect_error({"'stores'"}, gen.generate, {baskets = 10, out = out, stores = {}})
  expect_error({"'stores'"}, gen.generate, {baskets = 10, out = out, stores = {0}})
  expect_error({"stores", "repeat"}, gen.generate, {baskets = 10, out = out, stores = {5, 5}})
  expect_error({"unknown option 'basket'"}, gen.generate, {basket = 10, out = out})
  expect_error({"table expected"}, gen.generate, 10)
  assert(not lfs.attributes(out), "a rejected call created its directory")
  ok("errors name the bad option")
end

local function test_summary_and_determinism()
  local a, b, c = tmp_root .. "/a", tmp_root .. "/b", tmp_root .. "/c"
  local n = 12000
  local s = assert(gen.generate{baskets = n, seed = 9, out = a})
  local baskets, units, customers, per_file = count_clean(a)
  expect_eq(s.baskets, n, "summary baskets")
  expect_eq(baskets, n, "baskets in the files")
  expect_eq(s.units, units, "summary units")
  expect_eq(s.customers, customers, "summary customers")
  expect_eq(customers, math.floor(131186 * n / 1108987 + 0.5), "customers for " .. n .. " baskets")
  expect_eq(#s.stores, 4, "stores")
  local sum = 0
  for _, st in ipairs(s.stores) do
    expect_eq(per_file[st.id .. "_Tran.csv"], st.baskets, "baskets of store " .. st.id)
    sum = sum + st.baskets
  end
  expect_eq(sum, n, "baskets over the stores")
  expect_eq(#s.files, 6, "files written (4 stores, 2 catalog files)")
  for _, path in ipairs(s.files) do assert(lfs.attributes(path), "missing " .. path) end
  expect_eq(s.manifest, nil, "manifest of a clean run")
  expect_eq(s.catalog.categories, 50, "categories")
  expect_eq(s.catalog.sold_unmapped, 206, "unmapped sold products")
  assert(type(s.seconds) == "number" and s.seconds >= 0, "seconds")
  assert(gen.generate{baskets = n, seed = 9, out = b})
  assert(same_tree(a, b, "transactions") and same_tree(a, b, "products"), "same seed, different files")
  -- the same call in a child process limited to one thread
  local exe = os.getenv("MERCADO_BIN") or sys.exe_path()
  local code = string.format("assert(require('mercado.gen').generate{baskets = %d, seed = 9, out = %q})", n, c)
  local pid = assert(sys.spawn({exe, "-e", code}, {env = {MERCADO_THREADS = "1"}}))
  local how, code_ = sys.wait(pid)
  assert(how == "exited" and code_ == 0, "child run failed: " .. tostring(how) .. " " .. tostring(code_))
  assert(same_tree(a, c, "transactions") and same_tree(a, c, "products"), "1 thread and default threads differ")
  assert(gen.generate{baskets = n, seed = 10, out = b})
  assert(not same_tree(a, b, "transactions"), "seeds 9 and 10 gave the same transactions")
  rm_tree(a); rm_tree(b); rm_tree(c)
  ok("summary matches the files; same seed gives the same bytes (in process, and with MERCADO_THREADS=1)")
end

local function test_unwritable()
  local file = tmp_root .. "/plain_file"
  local f = assert(io.open(file, "w"))
  f:write("x")
  f:close()
  local s, err = gen.generate{baskets = 10, out = file .. "/data"}
  expect_eq(s, nil, "result for an unwritable directory")
  assert(type(err) == "string" and err:find("plain_file", 1, true), "message should name the path: " .. tostring(err))
  os.remove(file)
  ok("unwritable directory gives nil and a message")
end

local function test_dirty_against_reader()
  local dir = tmp_root .. "/dirty"
  local s = assert(gen.generate{baskets = 15000, seed = 4, out = dir, dirty = 0.04})
  local m = json.decode(slurp(s.manifest))
  expect_eq(#m.duplicates, 1, "duplicates in the manifest")
  expect_eq(s.expected.kept, m.total.kept, "summary and manifest kept")
  expect_eq(s.expected.units_kept, m.total.units_kept, "summary and manifest units")
  local have_cs, cs = pcall(require, "mercado.colstore")
  if not have_cs or not cs.read_csv then
    print("skip reader cross-check: mercado.colstore.read_csv unavailable")
  else
    local t, report = cs.read_csv(dir .. "/transactions/*_Tran.csv", {
      delimiter = "|", header = "no", on_error = "reject",
      columns = { {"date", "date"}, {"store_id", "int32"}, {"customer_id", "int32"},
                  {"products", "list<int32>", sep = " "} } })
    assert(t, report)
    expect_eq(#t, m.total.kept, "rows the reader kept")
    expect_eq(report.lines_read, m.total.lines_read, "lines read")
    expect_eq(report.empty_lines, m.total.empty_lines, "empty lines")
    expect_eq(t:column("products"):nitems(), m.total.units_kept, "units kept")
    for reason, count in pairs(m.total.rejected) do
      expect_eq(report.rejected[reason] or 0, count, "rejected " .. reason)
    end
    for _, fs in ipairs(report.files) do
      local name = fs.path:match("([^/]+)$")
      local want = m.files[name]
      if want then
        expect_eq(fs.lines_read, want.lines_read, name .. " lines read")
        expect_eq(fs.kept, want.kept, name .. " kept")
        expect_eq(fs.empty_lines, want.empty_lines, name .. " empty lines")
      else
        expect_eq(name, m.duplicates[1].file, "a file missing from the manifest")
        assert(fs.duplicate_of and fs.duplicate_of:match("([^/]+)$") == m.duplicates[1].copy_of,
          "the reader did not skip " .. name .. " as a copy of " .. m.duplicates[1].copy_of)
      end
    end
  end
  -- every rejected line the manifest lists is rejected by the rules, line numbers counted here
  local listed = 0
  for _, fault in ipairs(m.faults) do
    local n, line = 0, nil
    for l in io.lines(dir .. "/transactions/" .. fault.file) do
      n = n + 1
      if n == fault.line then line = l break end
    end
    assert(line, "fault line " .. fault.line .. " of " .. fault.file .. " does not exist")
    line = line:gsub("^\239\187\191", ""):gsub("[\r \t]+$", "")
    assert(line ~= "", "fault at an empty line")
    listed = listed + 1
  end
  local total_rejected = 0
  for _, c in pairs(m.total.rejected) do total_rejected = total_rejected + c end
  expect_eq(listed, total_rejected, "faults listed vs rejected")
  expect_eq(m.total.lines_read, m.total.kept + total_rejected, "lines_read = kept + rejected")
  rm_tree(dir)
  ok("dirty mode: the reader's counts equal dirty_manifest.json (per file and in total)")
end

test_errors()
test_summary_and_determinism()
test_unwritable()
test_dirty_against_reader()
rm_tree(tmp_root)
