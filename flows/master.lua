-- master.lua: the whole analysis (seed_spec §4.2, fixed): validates the input (loading it once, shared with every
-- pipeline), runs executive_summary, analytics, clustering and recommendations, carrying on past a failed one,
-- syncs the fresh outputs to the dashboard and builds the HTML report. Ends Failed (exit 1) when any pipeline
-- failed, with a summary that names them.
local flow = require "mercado.flow"
local json = require "mercado.json"
local dataset = require "lib.dataset"
local shared_params = require "lib.params"

local PIPELINES = {
  { name = "executive_summary", outputs = "summary/" },
  { name = "analytics", outputs = "analytics/" },
  { name = "clustering", outputs = "advanced/clustering/" },
  { name = "recommendations", outputs = "advanced/recommendations/" },
}

local Summary = json.shape { "run_id", "duration_seconds", "total_pipelines", "successful_pipelines",
  "failed_pipelines", "errors", "sync", "report", "generated_at" }

return flow.define {
  name = "master",
  description = "Validate the data, run every analysis pipeline, sync the dashboard, build the report",
  subflows = { "executive_summary", "analytics", "clustering", "recommendations", "output_sync", "report" },
  params = shared_params.with(shared_params.source(), {
    sync = { type = "bool", default = true, doc = "copy the dashboard files to frontend_dir afterwards" },
    frontend_dir = { type = "path", default = "", doc = "the dashboard's public/data directory (empty: no sync)" },
    n_clusters = { type = "int", default = 4, min = 2, max = 50, doc = "shortcut for clustering.n_clusters" },
    min_support = { type = "number", default = 0.005, min = 0, max = 1, doc = "shortcut for recommendations.min_support" },
    min_confidence = { type = "number", default = 0.2, min = 0, max = 1, doc = "shortcut for recommendations.min_confidence" },
  }),
  run = function(ctx, p)
    local t0 = require("mercado.sys").monotonic()
    local source = { data_dir = p.data_dir, source = p.source, conninfo = p.conninfo }
    ctx:task("validate input", { retries = 2, retry_delay = 10, retry_on = dataset.transient }, function()
      local ds = dataset.load(ctx, p)
      if #ds.categories == 0 then error("no categories in the input", 0) end
      if #ds.product_categories == 0 then error("no product categories in the input", 0) end
      return #ds.tx
    end)
    local extra = {
      clustering = { n_clusters = p.n_clusters },
      recommendations = { min_support = p.min_support, min_confidence = p.min_confidence },
    }
    local failed, errors, skip = {}, json.object(), {}
    for _, pipeline in ipairs(PIPELINES) do
      local params = {}
      for k, v in pairs(source) do params[k] = v end
      for k, v in pairs(extra[pipeline.name] or {}) do params[k] = v end
      local ok, err = pcall(ctx.flow, ctx, pipeline.name, params)
      if not ok then
        if type(err) == "table" and err.kind == "cancelled" then error(err, 0) end
        failed[#failed + 1] = pipeline.name
        skip[#skip + 1] = pipeline.outputs
        errors[pipeline.name] = tostring(type(err) == "table" and err.message or err)
        ctx.log.error("pipeline %s failed: %s", pipeline.name, errors[pipeline.name])
      end
    end
    local sync = "skipped"
    if p.sync and p.frontend_dir ~= "" and #failed < #PIPELINES then
      -- the outputs of failed pipelines are stale: they are not synced
      local ok, err = pcall(ctx.flow, ctx, "output_sync", { frontend_dir = p.frontend_dir, skip = skip })
      if not ok and type(err) == "table" and err.kind == "cancelled" then error(err, 0) end
      sync = ok and "completed" or ("failed: " .. tostring(type(err) == "table" and err.message or err))
      if not ok then failed[#failed + 1] = "output_sync" end
    elseif p.sync and p.frontend_dir == "" then
      ctx.log.info("no frontend_dir given: dashboard sync skipped")
    elseif p.sync then
      ctx.log.warning("every pipeline failed: nothing synced to %s", p.frontend_dir)
    end
    local ok_report, rerr = pcall(ctx.flow, ctx, "report", {})
    if not ok_report and type(rerr) == "table" and rerr.kind == "cancelled" then error(rerr, 0) end
    local failed_pipelines = {}
    for _, name in ipairs(failed) do if name ~= "output_sync" then failed_pipelines[#failed_pipelines + 1] = name end end
    local summary = Summary {
      run_id = ctx.run_id, duration_seconds = require("mercado.sys").monotonic() - t0,
      total_pipelines = #PIPELINES, successful_pipelines = #PIPELINES - #failed_pipelines,
      failed_pipelines = json.array(failed_pipelines), errors = errors, sync = sync,
      report = ok_report and "report/index.html" or ("failed: " .. tostring(type(rerr) == "table" and rerr.message or rerr)),
      generated_at = require("lib.output").timestamp(),
    }
    ctx:write_json("metadata/master_summary.json", summary)
    ctx.log.info("pipelines: %d of %d succeeded%s; sync: %s", summary.successful_pipelines, #PIPELINES,
      #failed_pipelines > 0 and (" (failed: " .. table.concat(failed_pipelines, ", ") .. ")") or "", sync)
    if #failed > 0 then
      error(string.format("failed: %s (see metadata/master_summary.json)", table.concat(failed, ", ")), 0)
    end
    return summary
  end,
}
