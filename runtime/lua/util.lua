-- util.lua: small helpers shared by the embedded runtime (paths, files, time formatting, tables).
local sys = require "mercado.sys"

local util = {}

function util.basename(p) return (p:gsub("/+$", ""):match("[^/]*$")) end

function util.dirname(p)
  local d = p:gsub("/+$", ""):match("^(.*)/[^/]*$")
  if d == nil then return "." end
  if d == "" then return "/" end
  return d
end

function util.join(...)
  local parts = { ... }
  local out = ""
  for _, part in ipairs(parts) do
    if out == "" or part:sub(1, 1) == "/" then out = part
    else out = out:gsub("/+$", "") .. "/" .. part end
  end
  return out
end

-- Escapes glob(3) specials in a literal path prefix ("ventas [2013]" stays literal).
function util.glob_escape(path) return (path:gsub("[%*%?%[%]\\]", "\\%0")) end

-- The sorted paths in directory `dir` (taken literally) matching `pattern` (which may contain '/').
function util.glob(dir, pattern) return sys.glob(util.glob_escape(dir) .. "/" .. pattern) or {} end

function util.exists(path) return sys.stat(path) ~= nil end

function util.is_dir(path)
  local st = sys.stat(path)
  return st ~= nil and st.type == "directory"
end

-- Reads a whole file; returns its text, or nil and a message naming the path.
function util.read_file(path)
  local f, err = io.open(path, "rb")
  if not f then return nil, err end
  local text = f:read("a")
  f:close()
  return text
end

-- Human duration: "850 ms", "12.3 s", "4 min 05 s".
function util.format_duration(s)
  if s == nil then return "-" end
  if s < 1 then return string.format("%.0f ms", s * 1000) end
  if s < 120 then return string.format("%.1f s", s) end
  return string.format("%d min %02d s", s // 60, math.floor(s % 60))
end

function util.sorted_keys(t)
  local keys = {}
  for k in pairs(t) do keys[#keys + 1] = k end
  table.sort(keys, function(a, b) return tostring(a) < tostring(b) end)
  return keys
end

function util.copy(t)
  local c = {}
  for k, v in pairs(t or {}) do c[k] = v end
  return c
end

-- Removes JSON nulls (json.null) from decoded objects, recursively, so absent fields read as nil.
function util.strip_nulls(v)
  if type(v) ~= "table" then return v end
  for k, x in pairs(v) do
    if x == nil or (type(x) == "userdata" and x == require("mercado.json").null) then v[k] = nil
    else util.strip_nulls(x) end
  end
  return v
end

-- Removes a password from a libpq conninfo string or URI before it is logged or recorded.
function util.scrub_secrets(s)
  if type(s) ~= "string" then return s end
  s = s:gsub("(password%s*=%s*)'[^']*'", "%1***"):gsub("(password%s*=%s*)[^%s']+", "%1***")
  s = s:gsub("(postgres[ql]*://[^:/@%s]+:)[^@%s]+@", "%1***@")
  return s
end

return util
