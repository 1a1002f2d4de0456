-- summary_analytics.lua: the benchmark's "summary_analytics" stage, issue 4's measure: the executive summary and
-- the temporal analytics together in one run, from the CSV files to every JSON file, the data loaded once and
-- shared (as the master flow shares it).
local flow = require "mercado.flow"
local shared_params = require "lib.params"

return flow.define {
  name = "summary_analytics",
  description = "executive_summary then analytics over one load of the data",
  subflows = { "executive_summary", "analytics" },
  params = shared_params.with(shared_params.source(), {}),
  run = function(ctx, p)
    local source = { data_dir = p.data_dir, source = p.source, conninfo = p.conninfo }
    ctx:flow("executive_summary", source)
    ctx:flow("analytics", source)
    return { status = "success" }
  end,
}
