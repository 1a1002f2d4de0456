-- lib/report_html.lua: the HTML side of the report: escaping, number and date formatting, tables, cards, notes
-- for unavailable inputs, and the page shell with its stylesheet (screen and print). Everything it returns is a
-- string of HTML; text from data always goes through html.esc.
local json = require "mercado.json"

local html = {}

local ENTITIES = { ["&"] = "&amp;", ["<"] = "&lt;", [">"] = "&gt;", ['"'] = "&quot;", ["'"] = "&#39;" }

-- Escapes text for HTML/SVG content and attribute values; nil and JSON null become "".
function html.esc(s)
  if s == nil or s == json.null then return "" end
  return (tostring(s):gsub("[&<>\"']", ENTITIES))
end

-- A JSON value with null read as nil.
function html.val(x)
  if x == json.null then return nil end
  return x
end

-- A number when x is one (not null, not NaN), else nil.
function html.num(x)
  if type(x) == "number" and x == x then return x end
  return nil
end

local function group_digits(int_text)
  local sign, digits = int_text:match("^(-?)(%d+)$")
  if not digits then return int_text end
  local out = digits:reverse():gsub("(%d%d%d)", "%1,"):reverse()
  return sign .. out:gsub("^,", "")
end

-- 1234567 -> "1,234,567"; with decimals d: 1234.5 -> "1,234.50". Non-numbers give "–".
function html.fmt(x, d)
  x = html.num(x)
  if not x then return "–" end
  if x == math.huge or x == -math.huge then return x > 0 and "∞" or "-∞" end
  d = d or 0
  local text = string.format("%." .. d .. "f", x)
  local int, frac = text:match("^(-?%d+)(.*)$")
  return group_digits(int) .. frac
end

-- Integers without decimals, other numbers with d decimals (default 2).
function html.fmt_auto(x, d)
  x = html.num(x)
  if not x then return "–" end
  if math.type(x) == "integer" or x == math.floor(x) and math.abs(x) < 1e15 then return html.fmt(x, 0) end
  return html.fmt(x, d or 2)
end

-- Compact numbers for axis ticks: 950, 1.2k, 34k, 1.5M.
function html.compact(x)
  local a = math.abs(x)
  local function trim(s) return (s:gsub("%.0$", "")) end
  if a >= 1e9 then return trim(string.format("%.1f", x / 1e9)) .. "G" end
  if a >= 1e6 then return trim(string.format("%.1f", x / 1e6)) .. "M" end
  if a >= 1e4 then return trim(string.format("%.0f", x / 1e3)) .. "k" end
  if a >= 1e3 then return trim(string.format("%.1f", x / 1e3)) .. "k" end
  if x == math.floor(x) then return string.format("%d", math.floor(x)) end
  if a >= 1 then return trim(string.format("%.1f", x)) end
  return (string.format("%.2f", x):gsub("0+$", ""):gsub("%.$", ""))
end

-- Percent with d decimals (x already in percent).
function html.pct(x, d)
  x = html.num(x)
  if not x then return "–" end
  return string.format("%." .. (d or 1) .. "f %%", x)
end

-- Seconds as "850 ms", "12.3 s", "4 min 05 s".
function html.duration(s)
  s = html.num(s)
  if not s then return "–" end
  if s < 1 then return string.format("%.0f ms", s * 1000) end
  if s < 120 then return string.format("%.1f s", s) end
  return string.format("%d min %02d s", math.floor(s // 60), math.floor(s % 60))
end

-- "2026-11-28T01:29:58.244971" -> "2026-11-28 01:29:58".
function html.time(iso)
  iso = html.val(iso)
  if type(iso) ~= "string" then return "–" end
  local d, t = iso:match("^(%d%d%d%d%-%d%d%-%d%d)T(%d%d:%d%d:%d%d)")
  if not d then return iso end
  return d .. " " .. t
end

-- A note standing in for a section or chart whose input is missing or unusable; label names the chart or table.
function html.unavailable(what, why, label)
  return string.format('<p class="unavailable">%snot available: %s %s</p>', label and ("<b>" .. html.esc(label) .. "</b>: ") or "",
    html.esc(what), html.esc(why))
end

-- A table. cols: array of {title, class ("num" right-aligns), bar (true: an inline bar scaled to the column's
-- maximum)}; rows: array of arrays of cell values; a cell is text (escaped) or {html = raw} or a number.
function html.table(cols, rows, opts)
  opts = opts or {}
  local out = { '<table' .. (opts.class and (' class="' .. opts.class .. '"') or "") .. '>' }
  if opts.caption then out[#out + 1] = "<caption>" .. html.esc(opts.caption) .. "</caption>" end
  out[#out + 1] = "<thead><tr>"
  for _, c in ipairs(cols) do
    out[#out + 1] = string.format('<th%s>%s</th>', c.class and (' class="' .. c.class .. '"') or "", html.esc(c.title))
  end
  out[#out + 1] = "</tr></thead><tbody>"
  local maxima = {}
  for j, c in ipairs(cols) do
    if c.bar then
      local m = 0
      for _, r in ipairs(rows) do
        local v = html.num(r[j])
        if v and v > m then m = v end
      end
      maxima[j] = m
    end
  end
  for _, r in ipairs(rows) do
    out[#out + 1] = "<tr>"
    for j, c in ipairs(cols) do
      local v = r[j]
      local cell
      if type(v) == "table" and v.html then cell = v.html
      elseif type(v) == "number" then cell = c.format and c.format(v) or html.fmt_auto(v)
      else cell = html.esc(v) end
      if maxima[j] and maxima[j] > 0 and html.num(v) then
        cell = string.format('<span class="cellbar" style="width:%.1f%%"></span><span class="cellv">%s</span>',
          100 * v / maxima[j], cell)
      end
      out[#out + 1] = string.format('<td%s>%s</td>', c.class and (' class="' .. c.class .. '"') or "", cell)
    end
    out[#out + 1] = "</tr>"
  end
  if #rows == 0 then
    out[#out + 1] = string.format('<tr><td colspan="%d" class="empty">no rows</td></tr>', #cols)
  end
  out[#out + 1] = "</tbody></table>"
  return table.concat(out)
end

-- A KPI card: label, value (text), unit and an optional detail line.
function html.kpi(label, value, unit, detail)
  return string.format('<div class="kpi"><div class="kpi-label">%s</div><div class="kpi-value">%s<span ' ..
      'class="kpi-unit">%s</span></div>%s</div>',
    html.esc(label), html.esc(value), unit and unit ~= "" and (" " .. html.esc(unit)) or "",
    detail and ('<div class="kpi-detail">' .. html.esc(detail) .. "</div>") or "")
end

-- A titled block inside a section (a table or a chart with a heading).
function html.panel(title, body, class)
  return string.format('<div class="panel%s">%s%s</div>', class and (" " .. class) or "",
    title and ("<h3>" .. html.esc(title) .. "</h3>") or "", body)
end

-- A section with an anchor id, a heading, an optional intro line and a body.
function html.section(id, title, intro, body)
  return string.format('<section id="%s"><h2>%s</h2>%s%s</section>', id, html.esc(title),
    intro and ('<p class="intro">' .. html.esc(intro) .. "</p>") or "", body)
end

local CSS = [[
:root { --ink: #1d2733; --muted: #5b6875; --line: #d9dee4; --bg: #f5f7f9; --card: #fff; --accent: #2563a8;
  --bad: #b42318; --warn: #b54708; --ok: #067647; }
* { box-sizing: border-box; }
html { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
body { margin: 0; background: var(--bg); color: var(--ink);
  font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
.page { max-width: 1200px; margin: 0 auto; padding: 20px 24px 40px; }
header.top { border-bottom: 3px solid var(--accent); margin-bottom: 12px; padding-bottom: 8px; }
header.top h1 { margin: 0 0 4px; font-size: 26px; }
header.top .meta { color: var(--muted); font-size: 13px; }
nav.toc { margin: 8px 0 16px; font-size: 13px; }
nav.toc a { color: var(--accent); text-decoration: none; margin-right: 14px; white-space: nowrap; }
section { margin: 22px 0 8px; }
h2 { font-size: 20px; margin: 0 0 8px; padding-bottom: 4px; border-bottom: 1px solid var(--line); }
h3 { font-size: 15px; margin: 0 0 8px; }
p.intro { color: var(--muted); margin: 0 0 10px; }
.grid { display: grid; grid-template-columns: repeat(auto-fit, minmax(480px, 1fr)); gap: 14px; }
.grid.small { grid-template-columns: repeat(auto-fit, minmax(260px, 1fr)); }
.panel, .kpi, .cluster { background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: 12px 14px; }
.panel.wide { grid-column: 1 / -1; }
.kpis { display: grid; grid-template-columns: repeat(auto-fill, minmax(180px, 1fr)); gap: 10px; }
.kpi-label { color: var(--muted); font-size: 12px; text-transform: uppercase; letter-spacing: .03em; }
.kpi-value { font-size: 24px; font-weight: 650; font-variant-numeric: tabular-nums; }
.kpi-unit { font-size: 13px; font-weight: 400; color: var(--muted); }
.kpi-detail { font-size: 12px; color: var(--muted); overflow-wrap: anywhere; }
figure.chart { margin: 0; }
figure.chart svg { display: block; width: 100%; height: auto; }
figure.chart figcaption { font-size: 12px; color: var(--muted); margin-top: 4px; }
svg text { font-family: system-ui, -apple-system, "Segoe UI", Roboto, Arial, sans-serif; fill: var(--ink); }
svg .chart-title { font-size: 14px; font-weight: 650; }
svg .axis-label { font-size: 12px; fill: var(--muted); }
svg .tick { font-size: 11px; fill: var(--muted); }
svg .grid-line { stroke: #e6e9ed; stroke-width: 1; }
svg .axis { stroke: #8893a0; stroke-width: 1; }
svg .value-label { font-size: 11px; }
table { width: 100%; border-collapse: collapse; font-size: 13px; font-variant-numeric: tabular-nums; }
th, td { text-align: left; padding: 4px 6px; border-bottom: 1px solid var(--line); vertical-align: top; }
th { background: #eef1f4; font-weight: 600; }
td.num, th.num { text-align: right; }
td { position: relative; }
.cellbar { position: absolute; right: 0; top: 3px; bottom: 3px; background: rgba(37, 99, 168, .14); }
.cellv { position: relative; }
td.empty { color: var(--muted); text-align: center; }
.unavailable { color: var(--warn); background: #fffaeb; border: 1px dashed #f5c56b; border-radius: 6px;
  padding: 8px 10px; margin: 6px 0; }
.cluster h3 { display: flex; align-items: center; gap: 8px; }
.swatch { display: inline-block; width: 12px; height: 12px; border-radius: 3px; }
.cluster .desc { color: var(--muted); font-size: 13px; }
.cluster ul { margin: 6px 0 0 18px; padding: 0; font-size: 13px; }
.cluster dl { display: grid; grid-template-columns: auto auto; gap: 2px 12px; margin: 8px 0; font-size: 13px; }
.cluster dt { color: var(--muted); }
.cluster dd { margin: 0; text-align: right; font-variant-numeric: tabular-nums; }
.state { font-weight: 600; }
.state-Completed { color: var(--ok); }
.state-Failed, .state-Crashed { color: var(--bad); }
.state-Cancelled, .state-Retrying { color: var(--warn); }
.state-Running, .state-Pending { color: var(--accent); }
table.runs > tbody > tr > td:first-child { white-space: nowrap; }
table.runs td.tasks { padding: 2px 6px 8px 28px; background: #fafbfc; }
table.tasks { font-size: 12px; table-layout: fixed; }
table.tasks td, table.tasks th { padding: 2px 6px; }
.err { color: var(--bad); font-size: 12px; }
.mono { font-family: ui-monospace, "SFMono-Regular", Menlo, Consolas, monospace; font-size: 12px; }
footer { margin-top: 28px; color: var(--muted); font-size: 12px; }
@media (max-width: 700px) { .grid, .grid.small { grid-template-columns: 1fr; } }
@page { size: A4; margin: 12mm; }
@media print {
  body { background: #fff; font-size: 10.5pt; }
  .page { max-width: none; padding: 0; }
  nav.toc { display: none; }
  .grid, .grid.small { display: block; }
  .grid > * { margin-bottom: 8px; }
  .kpis { grid-template-columns: repeat(4, 1fr); }
  .panel, .kpi, .cluster { break-inside: avoid; border-color: #c8ced6; }
  figure.chart, tr { break-inside: avoid; }
  thead { display: table-header-group; }
  h2, h3, p.intro { break-after: avoid; }
}
]]

-- The whole document: title, a line of context under it, a table of contents (array of {id, title}), the body.
function html.page(title, meta, toc, body)
  local links = {}
  for _, t in ipairs(toc) do links[#links + 1] = string.format('<a href="#%s">%s</a>', t[1], html.esc(t[2])) end
  return table.concat {
    "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n",
    "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n",
    "<meta name=\"generator\" content=\"mercado report\">\n",
    "<title>", html.esc(title), "</title>\n<style>", CSS, "</style>\n</head>\n<body>\n<div class=\"page\">\n",
    "<header class=\"top\"><h1>", html.esc(title), "</h1><div class=\"meta\">", meta, "</div></header>\n",
    "<nav class=\"toc\">", table.concat(links), "</nav>\n",
    body,
    "\n</div>\n</body>\n</html>\n",
  }
end

return html
