-- lib/report_runs.lua: the run history part of the report, from the run ledger (<output>/runs/*/run.json): a chart
-- of the latest runs' durations coloured by state, and a table of those runs with each task's state, attempts,
-- duration and error.
local html = require "lib.report_html"
local svg = require "lib.report_svg"

local report_runs = {}
local esc, num = html.esc, html.num

local STATE_COLORS = { Completed = "#067647", Failed = "#b42318", Crashed = "#7a271a", Cancelled = "#b54708",
  Running = "#2563a8", Retrying = "#dc6803", Pending = "#8893a0" }
local STATE_ORDER = { "Completed", "Failed", "Crashed", "Cancelled", "Running", "Retrying", "Pending" }

local function state_html(state)
  state = tostring(state or "?")
  return string.format('<span class="state state-%s">%s</span>', esc(state:gsub("[^%w]", "")), esc(state))
end

local function short_time(iso)
  return (tostring(iso or ""):match("T(%d%d:%d%d:%d%d)")) or "?"
end

local function clip(s, n)
  s = tostring(s or ""):gsub("%s+", " ")
  return svg.truncate(s, n)
end

-- The durations chart: one bar per run, newest at the top.
local function durations_chart(list)
  local rows, seen = {}, {}
  for i, r in ipairs(list) do
    local d = num(r.duration_seconds)
    local state = tostring(r.state or "?")
    seen[state] = true
    rows[i] = { label = string.format("%s %s %s", tostring(r.start or ""):sub(6, 10), short_time(r.start), tostring(r.flow)),
      parts = { { value = d or 0, color = STATE_COLORS[state] or "#8893a0",
        tip = state .. ", " .. (d and html.duration(d) or "no duration yet") } }, value_text = not d and state:lower() or nil }
  end
  local legend = {}
  for _, s in ipairs(STATE_ORDER) do
    if seen[s] then legend[#legend + 1] = { label = s, color = STATE_COLORS[s] } end
  end
  return svg.hbar_chart { id = "run_durations", title = "Duration of the latest runs", x_label = "Duration (seconds)",
    y_label = "Run", rows = rows, legend = legend, value_labels = true, width = 1120, row_height = 18,
    value_format = function(x) return html.duration(x) end,
    caption = "Newest first. Subflows run by a parent flow are runs of their own." }
end

local function last_error(t)
  local attempts = type(t.attempts) == "table" and t.attempts or {}
  for i = #attempts, 1, -1 do
    local e = attempts[i].error
    if type(e) == "table" and e.message then return tostring(e.message) end
  end
  return nil
end

local function tasks_table(r, listed)
  local rows, max_d = {}, 0
  for _, t in ipairs(type(r.tasks) == "table" and r.tasks or {}) do max_d = math.max(max_d, num(t.duration_seconds) or 0) end
  for i, t in ipairs(type(r.tasks) == "table" and r.tasks or {}) do
    local d = num(t.duration_seconds)
    local attempts = type(t.attempts) == "table" and #t.attempts or 0
    if attempts == 0 and t.kind == "flow" then attempts = "–" end -- a subflow: its tasks have the attempts
    local note = last_error(t)
    local note_html = note and ('<span class="err">' .. (t.state == "Completed" and "an earlier attempt failed: " or "")
      .. esc(clip(note, 240)) .. "</span>") or ""
    if t.reason then note_html = esc(t.reason) .. " " .. note_html end
    if t.kind == "flow" and t.run_id then
      local link = listed[t.run_id] and string.format('<a href="#run-%s">run %s</a>', esc(t.run_id), esc(t.run_id))
        or ("run " .. esc(t.run_id))
      note_html = link .. " " .. note_html
    end
    local bar = d and max_d > 0 and string.format('<span class="cellbar" style="width:%.1f%%"></span>', 100 * d / max_d) or ""
    rows[i] = { esc(t.name), esc(t.kind or "task"), state_html(t.state), tostring(attempts),
      bar .. '<span class="cellv">' .. esc(html.duration(d)) .. "</span>", note_html }
  end
  local out = { '<table class="tasks"><colgroup><col style="width:28%"><col style="width:7%"><col style="width:11%">',
    '<col style="width:8%"><col style="width:14%"><col></colgroup>',
    '<thead><tr><th>Task</th><th>Kind</th><th>State</th><th class="num">Attempts</th>',
    '<th class="num">Duration</th><th>Note</th></tr></thead><tbody>' }
  for _, row in ipairs(rows) do
    out[#out + 1] = string.format('<tr><td>%s</td><td>%s</td><td>%s</td><td class="num">%s</td><td class="num">%s</td><td>%s</td></tr>',
      table.unpack(row))
  end
  if #rows == 0 then out[#out + 1] = '<tr><td colspan="6" class="empty">no tasks recorded</td></tr>' end
  out[#out + 1] = "</tbody></table>"
  return table.concat(out)
end

local function runs_table(list)
  local listed = {}
  for _, r in ipairs(list) do listed[r.run_id] = true end
  local out = { '<table class="runs"><thead><tr><th>Started</th><th>Flow</th><th>State</th><th class="num">Duration</th>',
    '<th class="num">Tasks</th><th>Run</th><th>Parent run</th></tr></thead><tbody>' }
  for _, r in ipairs(list) do
    local parent = r.parent_run_id and (listed[r.parent_run_id] and string.format('<a href="#run-%s">%s</a>', esc(r.parent_run_id),
      esc(r.parent_run_id)) or esc(r.parent_run_id)) or ""
    local err = type(r.error) == "table" and r.error.message and
      ('<br><span class="err">' .. esc(clip(r.error.message, 240)) .. "</span>") or ""
    out[#out + 1] = string.format('<tr id="run-%s"><td>%s</td><td>%s</td><td>%s%s%s</td><td ' ..
        'class="num">%s</td><td class="num">%d</td><td class="mono">%s</td><td class="mono">%s</td></tr>',
      esc(r.run_id), esc(html.time(r.start)), esc(r.flow), state_html(r.state), r.reason and (" " .. esc(r.reason)) or "", err,
      esc(html.duration(num(r.duration_seconds))), type(r.tasks) == "table" and #r.tasks or 0, esc(r.run_id), parent)
    out[#out + 1] = '<tr><td colspan="7" class="tasks">' .. tasks_table(r, listed) .. "</td></tr>"
  end
  out[#out + 1] = "</tbody></table>"
  return table.concat(out)
end

-- The run history section body for run records `list` (newest first), or a note when there are none.
function report_runs.section(list)
  if #list == 0 then return html.unavailable("runs/*/run.json", "missing (no recorded runs in this output directory)") end
  return '<div class="grid">' .. html.panel(nil, durations_chart(list), "wide") ..
    html.panel("Runs and tasks", runs_table(list), "wide") .. "</div>"
end

return report_runs
