-- test_json.lua: mercado.json against Python's json.dump conventions (checked by hand: repr of floats, ints
-- without ".0", indent 2, literal UTF-8) and round trips of random doubles.
package.path = (os.getenv("MERCADO_SOURCE_ROOT") or ".") .. "/tests/lib/?.lua;" .. package.path
local T = require "testlib"
local json = require "mercado.json"

-- Python repr() of these floats, written by hand from Python's rules (shortest round-trip digits; fixed notation
-- for 1e-4 <= |x| < 1e16, else exponent with at least two digits).
local cases = {
  { 6127.0, "6127.0" }, { 184831.16666666666, "184831.16666666666" }, { 0.1, "0.1" }, { 1e16, "1e+16" },
  { 1e-05, "1e-05" }, { 0.0001, "0.0001" }, { 1234567890123456.0, "1234567890123456.0" }, { -2.5, "-2.5" },
  { 0.0, "0.0" }, { -0.0, "-0.0" }, { 1 / 3, "0.3333333333333333" }, { 2 / 3, "0.6666666666666666" },
  { 4.078857753495909, "4.078857753495909" }, { 36.64644093119693, "36.64644093119693" }, { 1.5e300, "1.5e+300" },
  { 5e-324, "5e-324" }, { 123456789012345678.0, "1.2345678901234568e+17" }, { 0.5443, "0.5443" },
}
for _, c in ipairs(cases) do T.eq(json.encode(c[1]), c[2], "encode " .. c[2]) end
T.eq(json.encode(42), "42", "integer")
T.eq(json.encode(math.mininteger), "-9223372036854775808", "min integer")
T.eq(json.encode("Tiendas Únicas \"q\" \\ \n\t\1"), '"Tiendas Únicas \\"q\\" \\\\ \\n\\t\\u0001"', "string escapes, UTF-8 literal")
T.eq(json.encode("bad \255 byte"), '"bad \239\191\189 byte"', "invalid UTF-8 replaced")
T.eq(json.encode({}), "[]", "empty table is an array")
T.eq(json.encode(json.object()), "{}", "marked object")
T.eq(json.encode({ b = 1, a = { 1, 2 } }), '{"a":[1,2],"b":1}', "plain objects sort keys")
local Row = json.shape { "type", "top_n", "data", "generated_at" }
T.eq(json.encode(Row { top_n = 10, type = "x", data = {} }), '{"type":"x","top_n":10,"data":[],"generated_at":null}',
  "shape order, nil field as null")
T.eq(json.encode({ a = 1, b = { 1 } }, { indent = 2 }), '{\n  "a": 1,\n  "b": [\n    1\n  ]\n}', "indent 2 like Python")
T.eq(json.encode({ x = json.null }), '{"x":null}', "json.null")
T.check(not pcall(json.encode, 0 / 0), "NaN refused")
T.check(not pcall(json.encode, math.huge), "infinity refused")
local cyc = {}
cyc[1] = cyc
T.check(not pcall(json.encode, cyc), "cycle refused")

-- decoding keeps integers and floats apart
local d = json.decode('{"a": 1, "b": 2.0, "c": [1e3, -0.5, "x\\u00e9\\ud83d\\ude00"], "d": null, "e": true}')
T.eq(math.type(d.a), "integer", "integer decoded as integer")
T.eq(math.type(d.b), "float", "2.0 decoded as float")
T.eq(d.c[1], 1000.0, "exponent")
T.eq(d.c[3], "xé😀", "unicode escapes and surrogate pairs")
T.eq(d.d, json.null, "null")
T.eq(d.e, true, "true")
for _, bad in ipairs { "{", "[1,]", '{"a" 1}', "nul", "1 2", '"\\x"' } do
  T.check(not pcall(json.decode, bad), "malformed %q refused", bad)
end

-- round trip: random doubles of every magnitude come back bit-identical
math.randomseed(7)
for _ = 1, 20000 do
  local x = (math.random() - 0.5) * 10 ^ math.random(-320, 300)
  local s = json.encode(x)
  T.check(tonumber(s) == x, "round trip of %.17g via %s", x, s)
  T.check(#s <= 24, "short text for %s", s)
end
for _ = 1, 2000 do
  local x = math.random(-10 ^ 9, 10 ^ 9) / 10000
  T.check(json.decode(json.encode(x)) == x, "round trip of %.17g", x)
end
-- integers print as Lua's %d does, the extremes included
for _, v in ipairs { 0, 1, -1, 9, 10, -10, 99, 100, math.maxinteger, math.mininteger, 1 << 53, -(1 << 53) } do
  T.eq(json.encode(v), string.format("%d", v), "integer " .. string.format("%d", v))
end
for _ = 1, 2000 do
  local v = math.random(math.mininteger, math.maxinteger) >> math.random(0, 62)
  if math.random(2) == 1 then v = -v end
  T.eq(json.encode(v), string.format("%d", v), "integer")
end
-- json.write: the text json.encode gives, written atomically; failures named, no temporary file left
do
  local sys = require "mercado.sys"
  local dir = os.tmpname()
  os.remove(dir)
  assert(sys.mkdirs(dir))
  local value = { a = { 1, 2.5, "x" }, b = json.null, rows = { json.shape { "k", "v" } { k = "p", v = 3 } } }
  for _, opts in ipairs { {}, { indent = 2 }, { indent = 2, sync = false } } do
    local path = dir .. "/out.json"
    T.check(json.write(path, value, opts) == true, "json.write returns true")
    local f = assert(io.open(path, "rb"))
    local text = f:read("a")
    f:close()
    T.eq(text, json.encode(value, opts), "json.write writes json.encode's text (indent " .. tostring(opts.indent) .. ")")
  end
  local ok, err = json.write(dir .. "/missing/out.json", value)
  T.check(ok == nil and tostring(err):find(dir .. "/missing/out.json", 1, true), "json.write to a missing directory: %s",
    tostring(err))
  T.check(not pcall(json.write, dir .. "/nan.json", { 0 / 0 }), "json.write refuses NaN")
  T.check(not sys.stat(dir .. "/nan.json"), "no file after a refused value")
  local left = sys.glob(dir .. "/*.tmp.*")
  T.check(#left == 0, "no temporary files left: %d", #left)
  os.execute("rm -rf '" .. dir .. "'")
end
T.done()
