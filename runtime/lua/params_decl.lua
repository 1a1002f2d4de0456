-- params_decl.lua: typed flow parameters. Declarations are checked when a flow is defined; values come from the
-- defaults, then a JSON params file, then -p overrides, each parsed as a literal of the declared type (never run as
-- code). Every error names the parameter, the value given and what is allowed.
local P = require "mercado.params"
local json = require "mercado.json"

local decl = {}

local TYPES = { int = true, number = true, string = true, bool = true, enum = true, path = true, list = true }
local ELEM_TYPES = { int = true, number = true, string = true, bool = true, path = true }

-- A usage error: the CLI turns it into exit code 2.
local function usage(fmt, ...)
  error(setmetatable({ kind = "usage", message = string.format(fmt, ...) }, {
    __tostring = function(e) return e.message end,
  }), 0)
end
decl.usage = usage

-- What a parameter allows, for messages and `mercado flows NAME`.
function decl.allowed(spec)
  if spec.allowed then return spec.allowed end
  local t = spec.type
  if t == "enum" then return "one of " .. table.concat(spec.choices, ", ") end
  local what = ({ int = "an integer", number = "a number", string = "a string", bool = "true or false",
                  path = "a path", list = "a comma-separated list of " .. (spec.of or "string") })[t]
  if spec.min and spec.max then what = what .. string.format(" in [%s, %s]", tostring(spec.min), tostring(spec.max))
  elseif spec.min then what = what .. " >= " .. tostring(spec.min)
  elseif spec.max then what = what .. " <= " .. tostring(spec.max) end
  if t == "list" and spec.choices then what = what .. " from " .. table.concat(spec.choices, ", ") end
  return what
end

local function check_value(flow, name, spec, v, shown)
  local function bad(why)
    usage("flow '%s': parameter '%s' = %s: %s (expected %s)", flow, name, shown or tostring(v), why, decl.allowed(spec))
  end
  local function check_scalar(x, et)
    if et == "int" and math.type(x) ~= "integer" then bad("not an integer") end
    if et == "number" and type(x) ~= "number" then bad("not a number") end
    if (et == "int" or et == "number") then
      if spec.min and x < spec.min then bad("below the minimum") end
      if spec.max and x > spec.max then bad("above the maximum") end
    end
    if et == "bool" and type(x) ~= "boolean" then bad("not a boolean") end
    if (et == "string" or et == "path" or et == "enum") and type(x) ~= "string" then bad("not a string") end
  end
  if spec.type == "list" then
    if type(v) ~= "table" then bad("not a list") end
    for _, x in ipairs(v) do
      check_scalar(x, spec.of or "string")
      if spec.choices then
        local found = false
        for _, c in ipairs(spec.choices) do if c == x then found = true end end
        if not found then bad("'" .. tostring(x) .. "' is not allowed") end
      end
    end
    return v
  end
  if spec.type == "enum" then
    check_scalar(v, "enum")
    for _, c in ipairs(spec.choices) do if c == v then return v end end
    bad("not one of the choices")
  end
  check_scalar(v, spec.type)
  if spec.check then -- a flow's own validation: returns true, or false and what is allowed
    local ok, why = spec.check(v)
    if not ok then bad(why or "not allowed") end
  end
  return v
end

-- Validates a flow's declarations (raises on a programming error in the flow file).
function decl.validate(flowname, params)
  for name, spec in pairs(params or {}) do
    if type(name) ~= "string" or not name:match("^[%a_][%w_]*$") then
      error(string.format("flow '%s': bad parameter name %q", flowname, tostring(name)), 3)
    end
    if type(spec) ~= "table" or not TYPES[spec.type] then
      error(string.format("flow '%s': parameter '%s' needs a type (int, number, string, bool, enum, path, list)", flowname, name), 3)
    end
    if spec.type == "enum" and (type(spec.choices) ~= "table" or #spec.choices == 0) then
      error(string.format("flow '%s': enum parameter '%s' needs choices", flowname, name), 3)
    end
    if spec.type == "list" and spec.of and not ELEM_TYPES[spec.of] then
      error(string.format("flow '%s': list parameter '%s' has a bad element type '%s'", flowname, name, spec.of), 3)
    end
    if spec.default ~= nil then
      local ok, err = pcall(check_value, flowname, name, spec, spec.default)
      if not ok then error(string.format("flow '%s': default of '%s' is invalid: %s", flowname, name, tostring(err)), 3) end
    end
  end
end

-- Parses a -p text value for a parameter.
function decl.parse_text(flow, name, spec, text)
  local et = spec.type == "enum" and "string" or spec.type
  local v, err
  if spec.type == "list" then v, err = P.parse("list", text, spec.of or "string")
  else v, err = P.parse(et, text) end
  if v == nil then
    usage("flow '%s': parameter '%s' = '%s': %s (expected %s)", flow, name, text, err, decl.allowed(spec))
  end
  return check_value(flow, name, spec, v, "'" .. text .. "'")
end

-- Converts a value from a JSON params file (strings are parsed as literals like -p values).
function decl.from_json(flow, name, spec, v)
  if type(v) == "string" and spec.type ~= "string" and spec.type ~= "path" and spec.type ~= "enum" then
    return decl.parse_text(flow, name, spec, v)
  end
  if spec.type == "int" and math.type(v) == "float" and v == math.floor(v) then v = math.tointeger(v) end
  if spec.type == "number" and math.type(v) == "integer" then v = v + 0.0 end
  if spec.type == "list" and type(v) == "table" then
    local out = {}
    for i, x in ipairs(v) do
      if (spec.of == "int") and math.type(x) == "float" and x == math.floor(x) then x = math.tointeger(x) end
      out[i] = x
    end
    v = out
  end
  return check_value(flow, name, spec, v, json.encode(v))
end

local function known_names(params)
  local names = {}
  for k in pairs(params or {}) do names[#names + 1] = k end
  table.sort(names)
  return #names > 0 and table.concat(names, ", ") or "none"
end

-- Resolves values for a flow: defaults, then `file` (a decoded JSON object), then `overrides` (list of {name, text}).
-- Names with a dot ("clustering.n_clusters") are for subflows: they are checked with `lookup(subflow_name)` and
-- returned in `nested[subflow][param]`. Returns values, nested.
function decl.resolve(def, file, overrides, lookup)
  local values, nested = {}, {}
  for name, spec in pairs(def.params or {}) do values[name] = spec.default end
  local function set(name, raw, from_text)
    local sub, pname = name:match("^([%w_]+)%.(.+)$")
    if sub then
      local known = false
      for _, s in ipairs(def.subflows or {}) do if s == sub then known = true end end
      if not known then
        usage("flow '%s' has no subflow '%s' (parameter '%s'; subflows: %s)", def.name, sub, name,
          #(def.subflows or {}) > 0 and table.concat(def.subflows, ", ") or "none")
      end
      local subdef = lookup(sub)
      local spec = subdef.params and subdef.params[pname]
      if not spec then usage("unknown parameter '%s' for flow '%s' (known: %s)", pname, sub, known_names(subdef.params)) end
      nested[sub] = nested[sub] or {}
      nested[sub][pname] = from_text and decl.parse_text(sub, pname, spec, raw) or decl.from_json(sub, pname, spec, raw)
      return
    end
    local spec = def.params and def.params[name]
    if not spec then usage("unknown parameter '%s' for flow '%s' (known: %s)", name, def.name, known_names(def.params)) end
    values[name] = from_text and decl.parse_text(def.name, name, spec, raw) or decl.from_json(def.name, name, spec, raw)
  end
  if file then
    local names = {}
    for k in pairs(file) do names[#names + 1] = k end
    table.sort(names)
    for _, k in ipairs(names) do
      local v = file[k]
      if type(v) == "table" and getmetatable(v) ~= nil and v[1] == nil and next(v) ~= nil and not (def.params or {})[k] then
        for pk, pv in pairs(v) do set(k .. "." .. pk, pv, false) end -- {"clustering": {"n_clusters": 5}}
      else
        set(k, v, false)
      end
    end
  end
  for _, o in ipairs(overrides or {}) do set(o[1], o[2], true) end
  for name, spec in pairs(def.params or {}) do
    if values[name] == nil and spec.required then
      usage("flow '%s': parameter '%s' is required (%s)", def.name, name, decl.allowed(spec))
    end
  end
  return values, nested
end

-- Lines describing each parameter, for `mercado flows NAME`.
function decl.describe(def)
  local lines = {}
  local names = {}
  for k in pairs(def.params or {}) do names[#names + 1] = k end
  table.sort(names)
  for _, name in ipairs(names) do
    local spec = def.params[name]
    local default = spec.default
    if type(default) == "table" then default = table.concat(default, ",") end
    lines[#lines + 1] = string.format("  %-18s %-8s default %-14s %s", name, spec.type,
      default == nil and "(none)" or tostring(default), decl.allowed(spec))
    if spec.doc then lines[#lines + 1] = string.format("  %-18s %s", "", spec.doc) end
  end
  return lines
end

return decl
