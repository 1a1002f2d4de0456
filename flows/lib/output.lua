-- lib/output.lua: the dashboard's JSON shapes (seed_spec §2.2, §3): top-N wrappers, time series with statistics,
-- distributions and execution metadata, written atomically under the run's output directory. Key order follows the
-- files the dashboard reads.
local json = require "mercado.json"
local sys = require "mercado.sys"

local output = {}

local Top = json.shape { "type", "top_n", "data", "unmapped_volume", "generated_at" }
local Series = json.shape { "series_name", "date_column", "value_column", "statistics", "data", "generated_at" }
local Stats = json.shape { "promedio", "minimo", "maximo" }
local Distribution = json.shape { "distribution_name", "data", "generated_at" }
local Meta = json.shape { "dag_id", "task_id", "execution_timestamp", "status", "files_generated" }

-- Local time with microseconds and no zone, as Python's datetime.now().isoformat().
function output.timestamp() return sys.isotime(sys.now()) end

local function as_float(x) return x and (x + 0.0) or nil end

-- summary/top_<n>_<type>.json: {type, top_n, data, [unmapped_volume], generated_at}
function output.top(ctx, item_type, top_n, data, extra)
  local rec = Top { type = item_type, top_n = top_n, data = data, generated_at = output.timestamp() }
  for k, v in pairs(extra or {}) do rec[k] = v end
  local name = string.format("top_%d_%s.json", top_n, item_type)
  ctx:write_json("summary/" .. name, rec)
  return name
end

-- analytics/<name>.json: a time series with promedio/minimo/maximo (floats) of its value column.
-- rows: a colstore table (written natively); values: the value column.
function output.series(ctx, name, date_column, value_column, rows, values)
  local n = #values
  local rec = Series {
    series_name = name, date_column = date_column, value_column = value_column,
    statistics = Stats {
      promedio = n > 0 and as_float(values:sum() / n) or nil,
      minimo = as_float(values:min()), maximo = as_float(values:max()),
    },
    data = rows, generated_at = output.timestamp(),
  }
  ctx:write_json("analytics/" .. name .. ".json", rec)
  return name .. ".json"
end

-- analytics/<name>_distribution.json: {distribution_name, data, [extra], generated_at}
function output.distribution(ctx, name, data, extra)
  local rec = Distribution { distribution_name = name, data = data, generated_at = output.timestamp() }
  for k, v in pairs(extra or {}) do rec[k] = v end
  local file = name .. "_distribution.json"
  ctx:write_json("analytics/" .. file, rec)
  return file
end

-- analytics/<file>: any other record (boxplots, correlation).
function output.analytics(ctx, file, rec)
  ctx:write_json("analytics/" .. file, rec)
  return file
end

-- metadata/<dag_id>_<task_id>.json: {dag_id, task_id, execution_timestamp, status, files_generated, ...info}
function output.metadata(ctx, dag_id, task_id, files, info)
  local rec = Meta { dag_id = dag_id, task_id = task_id, execution_timestamp = output.timestamp(), status = "success",
    files_generated = files }
  for k, v in pairs(info or {}) do rec[k] = v end
  rec.run_id = ctx.run_id
  ctx:write_json(string.format("metadata/%s_%s.json", dag_id, task_id), rec)
end

return output
