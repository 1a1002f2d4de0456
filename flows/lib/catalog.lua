-- lib/catalog.lua: the catalog policy shared by every flow (README, "Catalog policy"):
--   * the catalog is the set of DISTINCT (product, category) pairs: exact duplicate rows never count twice;
--   * a product in two categories is one product: its primary category is the smallest id, `categories` lists all;
--   * a unit sold counts once for each distinct category of its product (category volumes);
--   * units of products with no category are reported apart (unmapped), never as a null category.
local catalog = {}

-- Distinct (product_id, category_id) pairs, computed once per data set.
function catalog.pairs(ds)
  if not ds.pairs then ds.pairs = ds.product_categories:distinct { "product_id", "category_id" } end
  return ds.pairs
end

-- category_id -> category_name (a Lua table: 50 entries in the real catalog).
function catalog.names(ds)
  if not ds.category_names then
    local names = {}
    for _, r in ipairs(ds.categories:rows()) do names[r.category_id] = r.category_name end
    ds.category_names = names
  end
  return ds.category_names
end

-- For a few products, their sorted category ids: {[product_id] = {c1, c2}}.
function catalog.categories_of(ds, products)
  local cs = require "mercado.colstore"
  local wanted = {}
  for i, p in ipairs(products) do wanted[i] = p end
  local rows = catalog.pairs(ds):filter { { "product_id", "in", wanted } }:rows()
  local out = {}
  for _, r in ipairs(rows) do
    local l = out[r.product_id] or {}
    out[r.product_id] = l
    l[#l + 1] = r.category_id
  end
  for _, l in pairs(out) do table.sort(l) end
  return out, cs
end

-- Category volumes from per-product unit counts (a table with columns product_id, units): a table
-- (category_id, volume) sorted by category, and the units of products without any category.
function catalog.volumes(ds, product_units, by)
  local keys = { "category_id" }
  if by then table.insert(keys, by) end
  local joined = product_units:join(catalog.pairs(ds), { on = "product_id", columns = { "category_id" } })
  local volumes = joined:group_by(keys, { { "volume", "sum", "units" } })
  local mapped_products = catalog.pairs(ds):group_by("product_id", {})
  local mapped = product_units:filter { { "product_id", "in", mapped_products:column("product_id") } }
  return volumes, mapped
end

return catalog
