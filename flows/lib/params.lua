-- lib/params.lua: parameter declarations shared by the analysis flows (where the data comes from and which part
-- of it to analyse), so every flow spells them, defaults them and checks them the same way.
local params = {}

local function valid_date(s)
  local y, m, d = s:match("^(%d%d%d%d)%-(%d%d)%-(%d%d)$")
  if not y then return false, "not a date" end
  y, m, d = tonumber(y), tonumber(m), tonumber(d)
  local mdays = { 31, (y % 4 == 0 and y % 100 ~= 0 or y % 400 == 0) and 29 or 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 }
  if m < 1 or m > 12 or d < 1 or d > mdays[m] then return false, "no such day" end
  return true
end

-- The source parameters every analysis flow takes.
function params.source()
  return {
    data_dir = { type = "path", default = "data", doc = "directory with transactions/ and products/ (CSV source)" },
    source = { type = "enum", choices = { "csv", "postgres" }, default = "csv", doc = "where the data is read from" },
    conninfo = { type = "string", default = "", secret = false,
      doc = "libpq connection string for source=postgres (default: PG* environment variables)" },
  }
end

-- The source parameters plus the selection (stores, date range) the summary flows take.
function params.selection()
  local p = params.source()
  p.stores = { type = "list", of = "int", default = {}, doc = "store ids to include (default: all)" }
  p.date_from = { type = "string", default = "", check = function(v) return v == "" or valid_date(v) end,
    allowed = "a date YYYY-MM-DD (or empty)", doc = "first day to include (default: all)" }
  p.date_to = { type = "string", default = "", check = function(v) return v == "" or valid_date(v) end,
    allowed = "a date YYYY-MM-DD (or empty)", doc = "last day to include (default: all)" }
  return p
end

-- Adds the entries of `more` to a declaration table and returns it.
function params.with(decl, more)
  for k, v in pairs(more) do decl[k] = v end
  return decl
end

return params
