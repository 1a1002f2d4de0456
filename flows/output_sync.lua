-- output_sync.lua: copies the dashboard's JSON files (summary/, analytics/, advanced/*/, never runs/, metadata/ or
-- caches) from the output directory to the dashboard's data directory (its public/data), keeping the layout,
-- atomically per file and only when the content changed; with prune, removes files it synced earlier that are gone
-- from the output (seed_spec §4.1, README "Output sync").
local flow = require "mercado.flow"
local json = require "mercado.json"
local sys = require "mercado.sys"

local MANIFEST = ".mercado_sync.json" -- in frontend_dir: what the last sync copied, for prune

local function read(path)
  local f = io.open(path, "rb")
  if not f then return nil end
  local s = f:read("a")
  f:close()
  return s
end

-- The dashboard files under the output directory, relative paths, sorted.
local function dashboard_files(output, skip)
  local files = {}
  for _, pattern in ipairs { "summary/*.json", "analytics/*.json", "advanced/*/*.json", "recommendations/*.json" } do
    for _, path in ipairs(require("mercado.util").glob(output, pattern)) do
      local rel = path:sub(#output + 2)
      local skipped = false
      for _, prefix in ipairs(skip) do
        if rel:sub(1, #prefix) == prefix then skipped = true end
      end
      if not skipped then files[#files + 1] = rel end
    end
  end
  table.sort(files)
  return files
end

return flow.define {
  name = "output_sync",
  description = "Copy the dashboard JSON files to the dashboard's data directory (changed files only)",
  params = {
    frontend_dir = { type = "path", default = "", doc = "the dashboard's public/data directory (required)" },
    prune = { type = "bool", default = false, doc = "remove files synced earlier that no longer exist in the output" },
    skip = { type = "list", default = {}, doc = "output subdirectories not to sync (e.g. advanced/clustering/)" },
  },
  run = function(ctx, p)
    if p.frontend_dir == "" then error("output_sync needs -p frontend_dir=DIR (the dashboard's public/data)", 0) end
    local files = ctx:task("list output files", {}, function()
      local found = dashboard_files(ctx.output, p.skip)
      if #found == 0 then error("no dashboard files under " .. ctx.output .. " (run the analysis flows first)", 0) end
      return found
    end)
    local copied, unchanged, failed = {}, {}, {}
    ctx:task("sync files", { retries = 2, retry_delay = 5 }, function()
      copied, unchanged, failed = {}, {}, {}
      for _, rel in ipairs(files) do
        local src, dst = ctx.output .. "/" .. rel, p.frontend_dir .. "/" .. rel
        local data = read(src)
        local ok, err = data ~= nil, "cannot read " .. src
        if ok and read(dst) == data then
          unchanged[#unchanged + 1] = rel
        elseif ok then
          ok, err = sys.mkdirs(dst:match("^(.*)/[^/]*$"))
          if ok then ok, err = sys.write_atomic(dst, data) end
          if ok then copied[#copied + 1] = rel end
        end
        if not ok then
          failed[#failed + 1] = rel
          ctx.log.warning("cannot copy %s: %s", rel, tostring(err))
        end
      end
    end)
    local pruned = {}
    ctx:task("update manifest", {}, function()
      local previous = read(p.frontend_dir .. "/" .. MANIFEST)
      local ok, old = pcall(json.decode, previous or "[]")
      if p.prune and ok and type(old) == "table" then
        local now = {}
        for _, rel in ipairs(files) do now[rel] = true end
        for _, rel in ipairs(old.files or {}) do
          local skipped = false
          for _, prefix in ipairs(p.skip) do if rel:sub(1, #prefix) == prefix then skipped = true end end
          if not now[rel] and not skipped and type(rel) == "string" and not rel:find("%.%.") then
            if os.remove(p.frontend_dir .. "/" .. rel) then pruned[#pruned + 1] = rel end
          end
        end
      end
      local synced = {}
      for _, rel in ipairs(copied) do synced[#synced + 1] = rel end
      for _, rel in ipairs(unchanged) do synced[#synced + 1] = rel end
      table.sort(synced)
      assert(sys.write_atomic(p.frontend_dir .. "/" .. MANIFEST, json.encode(json.shape { "synced_at", "run_id", "files" } {
        synced_at = sys.isotime(sys.now()), run_id = ctx.run_id, files = json.array(synced) }, { indent = 2 })))
    end)
    ctx.log.info("sync summary: %d copied, %d unchanged, %d failed, %d pruned", #copied, #unchanged, #failed, #pruned)
    if #failed > 0 then error(string.format("%d of %d files could not be copied (first: %s)", #failed, #files, failed[1]), 0) end
    return { copied_files = #copied, unchanged_files = #unchanged, failed_files = #failed, pruned_files = #pruned }
  end,
}
