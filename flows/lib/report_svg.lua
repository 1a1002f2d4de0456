-- lib/report_svg.lua: the report's charts as inline SVG strings: line charts over dates, vertical, horizontal and
-- stacked bars, boxplots from five-number summaries, a correlation heatmap with a legend, and a scatter plot by
-- group. Every chart carries data-chart="<id>", a visible title, axis labels with units and a <title> for screen
-- readers; marks carry data-* attributes with the values they draw, so tests can check the geometry.
local html = require "lib.report_html"

local svg = {}
local esc, compact = html.esc, html.compact

-- Colour-blind-safe categorical colours (Okabe-Ito, then Tableau), then golden-angle hues.
local PALETTE = { "#0072B2", "#E69F00", "#009E73", "#CC79A7", "#D55E00", "#56B4E9", "#8C564B", "#4E79A7",
  "#B07AA1", "#59A14F", "#EDC948", "#76B7B2" }

-- The i-th categorical colour (1-based; any i).
function svg.color(i)
  if PALETTE[i] then return PALETTE[i] end
  return string.format("hsl(%d, 55%%, 42%%)", math.floor((i * 137.508) % 360))
end

local function f1(x) return string.format("%.1f", x) end

-- ---- scales and ticks ----

local function nice_step(span, n)
  local raw = span / n
  local mag = 10 ^ math.floor(math.log(raw, 10))
  local f = raw / mag
  local m = f <= 1 and 1 or f <= 2 and 2 or f <= 2.5 and 2.5 or f <= 5 and 5 or 10
  return m * mag
end

-- Nice axis bounds and ticks covering [lo, hi] with about n intervals: returns lo', hi', {ticks}.
function svg.ticks(lo, hi, n)
  if lo == hi then
    if lo == 0 then hi = 1 else lo, hi = lo - math.abs(lo) * 0.1, hi + math.abs(hi) * 0.1 end
  end
  local step = nice_step(hi - lo, n or 5)
  local a, b = math.floor(lo / step + 1e-9) * step, math.ceil(hi / step - 1e-9) * step
  local ticks = {}
  for i = 0, math.floor((b - a) / step + 0.5) do ticks[#ticks + 1] = a + i * step end
  return a, b, ticks
end

local function linear(d0, d1, r0, r1)
  local k = d1 ~= d0 and (r1 - r0) / (d1 - d0) or 0
  return function(v) return r0 + (v - d0) * k end
end

-- ---- dates (days since 1970-01-01, proleptic Gregorian) ----

-- "YYYY-MM-DD" -> days since the epoch, or nil.
function svg.days(s)
  local y, m, d = tostring(s):match("^(%d%d%d%d)%-(%d%d?)%-(%d%d?)")
  if not y then return nil end
  y, m, d = tonumber(y), tonumber(m), tonumber(d)
  y = m <= 2 and y - 1 or y
  local era = (y >= 0 and y or y - 399) // 400
  local yoe = y - era * 400
  local doy = (153 * (m + (m > 2 and -3 or 9)) + 2) // 5 + d - 1
  local doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
  return era * 146097 + doe - 719468
end

local function civil(z)
  z = z + 719468
  local era = (z >= 0 and z or z - 146096) // 146097
  local doe = z - era * 146097
  local yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
  local doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
  local mp = (5 * doy + 2) // 153
  local d = doy - (153 * mp + 2) // 5 + 1
  local m = mp < 10 and mp + 3 or mp - 9
  return yoe + era * 400 + (m <= 2 and 1 or 0), m, d
end

local MONTHS = { "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" }

-- Date ticks over [d0, d1]: month starts for long spans, Mondays for weeks, days for short ones.
local function date_ticks(d0, d1)
  local span, ticks = d1 - d0, {}
  if span > 62 then
    local y, m = civil(d0)
    local months = math.ceil(span / 30.44)
    local every = math.max(1, math.ceil(months / 9))
    local first = true
    while true do
      local day = svg.days(string.format("%04d-%02d-01", y, m))
      if day > d1 then break end
      if day >= d0 and (m - 1) % every == 0 then
        ticks[#ticks + 1] = { day, (first or m == 1) and (MONTHS[m] .. " " .. y) or MONTHS[m] }
        first = false
      end
      m = m + 1
      if m > 12 then m, y = 1, y + 1 end
    end
  else
    local step = span > 14 and 7 or (span > 7 and 2 or 1)
    local start = d0
    if step == 7 then start = d0 + (7 - (d0 + 3) % 7) % 7 end -- 1970-01-01 was a Thursday: next Monday
    for day = start, d1, step do
      local _, m, d = civil(day)
      ticks[#ticks + 1] = { day, string.format("%d %s", d, MONTHS[m]) }
    end
  end
  return ticks
end

-- ---- frame pieces ----

local function open(spec, w, h)
  local id = spec.id
  return {
    string.format('<figure class="chart"><svg data-chart="%s" viewBox="0 0 %d %d" width="%d" height="%d" ' ..
        'style="max-width:%dpx" role="img" aria-labelledby="chart-%s-title">',
      esc(id), w, h, w, h, w, esc(id)),
    string.format('<title id="chart-%s-title">%s</title>', esc(id), esc(spec.title)),
    string.format('<text class="chart-title" x="%d" y="18">%s</text>', 8, esc(spec.title)),
  }
end

local function close(out, spec)
  out[#out + 1] = "</svg>"
  if spec.caption then out[#out + 1] = "<figcaption>" .. esc(spec.caption) .. "</figcaption>" end
  out[#out + 1] = "</figure>"
  return table.concat(out)
end

local function x_axis_label(out, text, cx, y)
  out[#out + 1] = string.format('<text class="axis-label" x="%s" y="%s" text-anchor="middle">%s</text>', f1(cx), f1(y), esc(text))
end

local function y_axis_label(out, text, x, cy)
  out[#out + 1] = string.format('<text class="axis-label" transform="translate(%s,%s) rotate(-90)" text-anchor="middle">%s</text>',
    f1(x), f1(cy), esc(text))
end

-- Horizontal grid lines and value ticks on the left axis.
local function y_grid(out, ticks, sy, x0, x1, fmt)
  for _, t in ipairs(ticks) do
    local y = sy(t)
    out[#out + 1] = string.format('<line class="grid-line" x1="%s" x2="%s" y1="%s" y2="%s"/>', f1(x0), f1(x1), f1(y), f1(y))
    out[#out + 1] = string.format('<text class="tick" x="%s" y="%s" text-anchor="end">%s</text>', f1(x0 - 6), f1(y + 4),
      esc((fmt or compact)(t)))
  end
end

-- Vertical grid lines and value ticks on the bottom axis.
local function x_grid(out, ticks, sx, y0, y1, fmt)
  for _, t in ipairs(ticks) do
    local x = sx(t)
    out[#out + 1] = string.format('<line class="grid-line" x1="%s" x2="%s" y1="%s" y2="%s"/>', f1(x), f1(x), f1(y0), f1(y1))
    out[#out + 1] = string.format('<text class="tick" x="%s" y="%s" text-anchor="middle">%s</text>', f1(x), f1(y1 + 15),
      esc((fmt or compact)(t)))
  end
end

local function axes(out, x0, y0, x1, y1)
  out[#out + 1] = string.format('<path class="axis" fill="none" d="M%s %sV%sH%s"/>', f1(x0), f1(y0), f1(y1), f1(x1))
end

-- A legend row: items {label, color} laid out left to right from (x, y), wrapping at width w.
local function legend(out, items, x, y, w)
  local cx, cy = x, y
  for _, it in ipairs(items) do
    local text = it.label
    local tw = 16 + #text * 6.2 + 14
    if cx + tw > x + w and cx > x then cx, cy = x, cy + 16 end
    out[#out + 1] = string.format('<g class="legend-item"><rect x="%s" y="%s" width="10" height="10" rx="2" ' ..
        'fill="%s"/><text class="tick" x="%s" y="%s">%s</text></g>',
      f1(cx), f1(cy - 9), it.color, f1(cx + 14), f1(cy), esc(text))
    cx = cx + tw
  end
  return cy
end

local function no_data(out, w, h)
  out[#out + 1] = string.format('<text class="axis-label" x="%d" y="%d" text-anchor="middle">no data</text>', w // 2, h // 2)
end

local function truncate(s, n)
  s = tostring(s)
  if utf8.len(s) and utf8.len(s) > n then
    return s:sub(1, (utf8.offset(s, n) or (n + 1)) - 1) .. "…"
  end
  return s
end
svg.truncate = truncate

-- ---- charts ----

-- Line chart over dates. spec: id, title, x_label, y_label, series = {{name, dates = {"YYYY-MM-DD"...},
-- values = {...}, color}}, ref = {value, label} (a dashed reference line), markers (bool), width, height, caption.
function svg.line_chart(spec)
  local w, h = spec.width or 560, spec.height or 300
  local L, R, T, B = 64, 16, 46, 48
  local out = open(spec, w, h)
  local xs, lo, hi = {}, math.huge, -math.huge
  for si, s in ipairs(spec.series) do
    xs[si] = {}
    for i, d in ipairs(s.dates) do xs[si][i] = svg.days(d) end
    for _, v in ipairs(s.values) do lo, hi = math.min(lo, v), math.max(hi, v) end
  end
  local d0, d1 = math.huge, -math.huge
  for _, col in ipairs(xs) do for _, d in ipairs(col) do d0, d1 = math.min(d0, d), math.max(d1, d) end end
  local items = {}
  for si, s in ipairs(spec.series) do items[si] = { label = s.name, color = s.color or svg.color(si) } end
  if spec.ref then items[#items + 1] = { label = spec.ref.label, color = "#8893a0" } end
  legend(out, items, L, 36, w - L - R)
  if d0 > d1 then
    no_data(out, w, h)
  else
    if spec.ref and spec.ref.value then lo, hi = math.min(lo, spec.ref.value), math.max(hi, spec.ref.value) end
    local ylo, yhi, yt = svg.ticks(spec.zero and math.min(0, lo) or lo, hi, 5)
    if d1 == d0 then d0, d1 = d0 - 1, d1 + 1 end
    local sx, sy = linear(d0, d1, L + 4, w - R - 4), linear(ylo, yhi, h - B, T)
    y_grid(out, yt, sy, L, w - R)
    for _, t in ipairs(date_ticks(d0, d1)) do
      local x = sx(t[1])
      out[#out + 1] = string.format('<line class="axis" x1="%s" x2="%s" y1="%d" y2="%d"/>', f1(x), f1(x), h - B, h - B + 4)
      out[#out + 1] = string.format('<text class="tick" x="%s" y="%d" text-anchor="middle">%s</text>', f1(x), h - B + 16, esc(t[2]))
    end
    axes(out, L, T - 4, w - R, h - B)
    if spec.ref and spec.ref.value then
      local y = sy(spec.ref.value)
      out[#out + 1] = string.format('<line data-ref="%s" x1="%d" x2="%d" y1="%s" y2="%s" stroke="#8893a0" stroke-dasharray="5 4"/>',
        tostring(spec.ref.value), L, w - R, f1(y), f1(y))
    end
    for si = #spec.series, 1, -1 do -- the first series is drawn last, on top
      local s = spec.series[si]
      local pts = {}
      for i, v in ipairs(s.values) do pts[i] = f1(sx(xs[si][i])) .. "," .. f1(sy(v)) end
      local color = s.color or svg.color(si)
      out[#out + 1] = string.format('<polyline data-series="%s" data-n="%d" fill="none" stroke="%s" ' ..
          'stroke-width="%s"%s stroke-linejoin="round" points="%s"/>',
        esc(s.key or s.name), #pts, color, si == 1 and "1.8" or "1.2", s.dash and (' stroke-dasharray="' .. s.dash .. '"') or "",
        table.concat(pts, " "))
      if spec.markers or #pts == 1 then
        for i, v in ipairs(s.values) do
          out[#out + 1] = string.format('<circle cx="%s" cy="%s" r="2.6" fill="%s"><title>%s: %s</title></circle>',
            f1(sx(xs[si][i])), f1(sy(v)), color, esc(s.dates[i]), esc(html.fmt_auto(v)))
        end
      end
    end
  end
  x_axis_label(out, spec.x_label, (L + w - R) / 2, h - 10)
  y_axis_label(out, spec.y_label, 16, (T + h - B) / 2)
  return close(out, spec)
end

-- Vertical bar chart. spec: id, title, x_label, y_label, bars = {{label, value, color, tip}}, value_labels (bool),
-- value_format (function), width, height, caption.
function svg.bar_chart(spec)
  local w, h = spec.width or 560, spec.height or 300
  local L, R, T, B = 64, 16, 34, 52
  local out = open(spec, w, h)
  local bars = spec.bars
  if #bars == 0 then
    no_data(out, w, h)
  else
    local hi = 0
    for _, b in ipairs(bars) do hi = math.max(hi, b.value) end
    local _, yhi, yt = svg.ticks(0, hi * (spec.value_labels and 1.08 or 1), 5)
    local sy = linear(0, yhi, h - B, T)
    y_grid(out, yt, sy, L, w - R)
    local slot = (w - L - R) / #bars
    local bw = math.min(slot * 0.72, 64)
    for i, b in ipairs(bars) do
      local cx = L + slot * (i - 0.5)
      local y = sy(b.value)
      out[#out + 1] = string.format('<rect data-value="%s" x="%s" y="%s" width="%s" height="%s" fill="%s"><title>%s: %s</title></rect>',
        tostring(b.value), f1(cx - bw / 2), f1(y), f1(bw), f1(h - B - y), b.color or svg.color(1), esc(b.label),
        esc(b.tip or html.fmt_auto(b.value)))
      if spec.value_labels then
        out[#out + 1] = string.format('<text class="value-label" x="%s" y="%s" text-anchor="middle">%s</text>', f1(cx), f1(y - 4),
          esc((spec.value_format or compact)(b.value)))
      end
      out[#out + 1] = string.format('<text class="tick" x="%s" y="%d" text-anchor="middle">%s</text>', f1(cx), h - B + 15,
        esc(truncate(b.label, math.max(3, math.floor(slot / 6.5)))))
    end
    axes(out, L, T - 4, w - R, h - B)
  end
  x_axis_label(out, spec.x_label, (L + w - R) / 2, h - 12)
  y_axis_label(out, spec.y_label, 16, (T + h - B) / 2)
  return close(out, spec)
end

-- Horizontal bars, optionally stacked. spec: id, title, x_label, y_label, rows = {{label, parts = {{value, color,
-- tip}}, value_text}} (one part = a plain bar), legend = {{label, color}}, value_labels (bool), value_format, width,
-- row_height, tick_format, caption.
function svg.hbar_chart(spec)
  local rows = spec.rows
  local longest = 0
  for _, r in ipairs(rows) do longest = math.max(longest, utf8.len(r.label) or #r.label) end
  local L = math.floor(math.min(math.max(longest, 6), 34) * 6.4 + 40)
  local w, R, B = spec.width or 560, 50, 46
  local T = spec.legend and 52 or 34
  local rh = spec.row_height or 22
  local h = T + math.max(#rows, 1) * rh + B
  local out = open(spec, w, h)
  if spec.legend then legend(out, spec.legend, L, 38, w - L - R) end
  if #rows == 0 then
    no_data(out, w, h)
  else
    local hi = 0
    for _, r in ipairs(rows) do
      local s = 0
      for _, p in ipairs(r.parts) do s = s + p.value end
      hi = math.max(hi, s)
    end
    local _, xhi, xt = svg.ticks(0, hi, 5)
    local sx = linear(0, xhi, L, w - R)
    x_grid(out, xt, sx, T, h - B, spec.tick_format)
    for i, r in ipairs(rows) do
      local y = T + (i - 1) * rh + rh * 0.15
      local x, total = L, 0
      for j, p in ipairs(r.parts) do
        local bw = sx(total + p.value) - sx(total)
        out[#out + 1] = string.format('<rect data-value="%s" x="%s" y="%s" width="%s" height="%s" fill="%s"><title>%s</title></rect>',
          tostring(p.value), f1(x), f1(y), f1(bw), f1(rh * 0.7), p.color or svg.color(j),
          esc(r.label .. ": " .. (p.tip or html.fmt_auto(p.value))))
        x, total = x + bw, total + p.value
      end
      out[#out + 1] = string.format('<text class="tick" x="%d" y="%s" text-anchor="end">%s<title>%s</title></text>', L - 6,
        f1(y + rh * 0.5), esc(truncate(r.label, 34)), esc(r.label))
      if spec.value_labels then
        out[#out + 1] = string.format('<text class="value-label" x="%s" y="%s">%s</text>', f1(x + 4), f1(y + rh * 0.5),
          esc(r.value_text or (spec.value_format or compact)(total)))
      end
    end
    axes(out, L, T - 2, w - R, h - B)
  end
  x_axis_label(out, spec.x_label, (L + w - R) / 2, h - 10)
  if spec.y_label then y_axis_label(out, spec.y_label, 14, (T + h - B) / 2) end
  return close(out, spec)
end

-- Boxplots from summaries. spec: id, title, x_label, y_label, groups = {{label, min, q1, median, q3, max, mean,
-- whisker_low, whisker_high, outliers_low, outliers_high, count}}, width, height, caption. The value axis covers the
-- whiskers; points beyond them are reported as counts with the extreme value.
function svg.boxplot(spec)
  local w, h = spec.width or 560, spec.height or 320
  local L, R, T, B = 64, 16, 48, 52
  local out = open(spec, w, h)
  local groups = spec.groups
  if #groups == 0 then
    no_data(out, w, h)
  else
    local lo, hi = math.huge, -math.huge
    for _, g in ipairs(groups) do lo, hi = math.min(lo, g.whisker_low, g.mean), math.max(hi, g.whisker_high, g.mean) end
    local ylo, yhi, yt = svg.ticks(math.min(lo, 0), hi, 5)
    local sy = linear(ylo, yhi, h - B, T + 24)
    y_grid(out, yt, sy, L, w - R)
    local slot = (w - L - R) / #groups
    local bw = math.min(slot * 0.5, 90)
    for i, g in ipairs(groups) do
      local cx = L + slot * (i - 0.5)
      out[#out + 1] = string.format('<g class="box" data-q1="%s" data-median="%s" data-q3="%s" ' ..
          'data-whisker-low="%s" data-whisker-high="%s">',
        tostring(g.q1), tostring(g.median), tostring(g.q3), tostring(g.whisker_low), tostring(g.whisker_high))
      out[#out + 1] = string.format('<title>%s: n=%s, min %s, Q1 %s, median %s, Q3 %s, max %s, mean %s</title>', esc(g.label),
        html.fmt(g.count), html.fmt_auto(g.min), html.fmt_auto(g.q1), html.fmt_auto(g.median), html.fmt_auto(g.q3),
        html.fmt_auto(g.max), html.fmt_auto(g.mean))
      local ylw, yhw, yq1, yq3, ymed = sy(g.whisker_low), sy(g.whisker_high), sy(g.q1), sy(g.q3), sy(g.median)
      out[#out + 1] = string.format('<path d="M%s %sV%sM%s %sV%s" stroke="#44505c" fill="none"/>', f1(cx), f1(ylw), f1(yq1),
        f1(cx), f1(yq3), f1(yhw))
      out[#out + 1] = string.format('<path d="M%s %sH%sM%s %sH%s" stroke="#44505c" fill="none"/>', f1(cx - bw / 4), f1(ylw),
        f1(cx + bw / 4), f1(cx - bw / 4), f1(yhw), f1(cx + bw / 4))
      out[#out + 1] = string.format('<rect x="%s" y="%s" width="%s" height="%s" fill="%s" fill-opacity=".28" stroke="%s"/>',
        f1(cx - bw / 2), f1(yq3), f1(bw), f1(math.max(yq1 - yq3, 0.5)), svg.color(1), svg.color(1))
      out[#out + 1] = string.format('<line x1="%s" x2="%s" y1="%s" y2="%s" stroke="#1d2733" stroke-width="2.2"/>',
        f1(cx - bw / 2), f1(cx + bw / 2), f1(ymed), f1(ymed))
      local ym = sy(g.mean)
      out[#out + 1] = string.format('<path d="M%s %sl4 4l-4 4l-4 -4z" fill="%s"><title>mean %s</title></path>', f1(cx), f1(ym - 4),
        svg.color(4), esc(html.fmt_auto(g.mean)))
      if (g.outliers_high or 0) > 0 then
        out[#out + 1] = string.format('<text class="value-label" data-outliers-high="%s" x="%s" y="%s" ' ..
            'text-anchor="middle">▲ %s above<tspan x="%s" dy="11">max %s</tspan></text>',
          tostring(g.outliers_high), f1(cx), f1(yhw - 19), html.fmt(g.outliers_high), f1(cx), esc(html.fmt_auto(g.max)))
      end
      if (g.outliers_low or 0) > 0 then
        out[#out + 1] = string.format('<text class="value-label" data-outliers-low="%s" x="%s" y="%s" ' ..
            'text-anchor="middle">▼ %s below<tspan x="%s" dy="11">min %s</tspan></text>',
          tostring(g.outliers_low), f1(cx), f1(ylw + 12), html.fmt(g.outliers_low), f1(cx), esc(html.fmt_auto(g.min)))
      end
      out[#out + 1] = "</g>"
      out[#out + 1] = string.format('<text class="tick" x="%s" y="%d" text-anchor="middle">%s</text>', f1(cx), h - B + 15, esc(g.label))
      out[#out + 1] = string.format('<text class="tick" x="%s" y="%d" text-anchor="middle">n=%s</text>', f1(cx), h - B + 28,
        html.fmt(g.count))
    end
    axes(out, L, T - 4, w - R, h - B)
    legend(out, { { label = "box: Q1–Q3, line: median", color = svg.color(1) }, { label = "mean", color = svg.color(4) },
      { label = "whiskers: 1.5 IQR", color = "#44505c" } }, L, 36, w - L - R)
  end
  x_axis_label(out, spec.x_label, (L + w - R) / 2, h - 8)
  y_axis_label(out, spec.y_label, 16, (T + h - B) / 2)
  return close(out, spec)
end

-- Diverging colour for r in [-1, 1]: blue (negative), white (0), red (positive).
function svg.diverging(r)
  local function mix(a, b, t) return math.floor(a + (b - a) * t + 0.5) end
  local t = math.min(math.abs(r), 1)
  local c = r < 0 and { 33, 102, 172 } or { 178, 24, 43 }
  return string.format("#%02x%02x%02x", mix(255, c[1], t), mix(255, c[2], t), mix(255, c[3], t))
end

-- Correlation heatmap. spec: id, title, x_label, y_label, labels = {names}, value = function(i, j) -> r or nil,
-- legend_label, width, caption. Empty cells (no value) are grey with "n/a".
function svg.heatmap(spec)
  local labels = spec.labels
  local n = #labels
  local longest = 0
  for _, l in ipairs(labels) do longest = math.max(longest, utf8.len(l) or #l) end
  local L = math.floor(math.min(longest, 32) * 6.4 + 34)
  local w = spec.width or 560
  local legend_w = 96
  local cell = math.floor(math.min(64, (w - L - legend_w - 10) / math.max(n, 1)))
  local T = 36
  local B = math.floor(math.min(longest, 32) * 4.6 + 44)
  local h = T + n * cell + B
  local out = open(spec, w, h)
  out[#out + 1] = string.format('<defs><linearGradient id="grad-%s" x1="0" y1="1" x2="0" y2="0">', esc(spec.id))
  for k = 0, 8 do
    local r = -1 + k * 0.25
    out[#out + 1] = string.format('<stop offset="%s" stop-color="%s"/>', f1(k / 8 * 100) .. "%", svg.diverging(r))
  end
  out[#out + 1] = "</linearGradient></defs>"
  for i = 1, n do
    local y = T + (i - 1) * cell
    out[#out + 1] = string.format('<text class="tick" x="%d" y="%s" text-anchor="end">%s</text>', L - 6, f1(y + cell / 2 + 4),
      esc(truncate(labels[i], 32)))
    for j = 1, n do
      local x = L + (j - 1) * cell
      local r = spec.value(i, j)
      if r then
        out[#out + 1] = string.format('<rect data-value="%s" x="%d" y="%d" width="%d" height="%d" fill="%s" ' ..
            'stroke="#fff"><title>%s × %s: r = %.3f</title></rect>',
          tostring(r), x, y, cell, cell, svg.diverging(r), esc(labels[i]), esc(labels[j]), r)
        out[#out + 1] = string.format('<text class="value-label" x="%s" y="%s" text-anchor="middle" style="fill:%s">%.2f</text>',
          f1(x + cell / 2), f1(y + cell / 2 + 4), math.abs(r) > 0.6 and "#fff" or "#1d2733", r)
      else
        out[#out + 1] = string.format('<rect data-value="null" x="%d" y="%d" width="%d" height="%d" ' ..
            'fill="#e4e7eb" stroke="#fff"><title>%s × %s: not defined</title></rect>',
          x, y, cell, cell, esc(labels[i]), esc(labels[j]))
        out[#out + 1] = string.format('<text class="tick" x="%s" y="%s" ' ..
            'text-anchor="middle">n/a</text>', f1(x + cell / 2), f1(y + cell / 2 + 4))
      end
    end
  end
  for j = 1, n do
    local x = L + (j - 0.5) * cell
    out[#out + 1] = string.format('<text class="tick" transform="translate(%s,%d) rotate(-35)" text-anchor="end">%s</text>', f1(x + 4),
      T + n * cell + 12, esc(truncate(labels[j], 32)))
  end
  local lx, ly, lh = L + n * cell + 24, T, n * cell
  out[#out + 1] = string.format('<rect x="%d" y="%d" width="14" height="%d" fill="url(#grad-%s)" ' ..
      'stroke="#c8ced6"/>', lx, ly, lh, esc(spec.id))
  for k = 0, 4 do
    local r = -1 + k * 0.5
    local y = ly + lh - k / 4 * lh
    out[#out + 1] = string.format('<text class="tick" x="%d" y="%s">%s</text>', lx + 18, f1(y + 4), r > 0 and ("+" .. r) or tostring(r))
  end
  y_axis_label(out, spec.legend_label or "r", lx + 66, ly + lh / 2)
  x_axis_label(out, spec.x_label, L + n * cell / 2, h - 8)
  y_axis_label(out, spec.y_label, 12, T + n * cell / 2)
  return close(out, spec)
end

-- Scatter plot by group. spec: id, title, x_label, y_label, points = {{x, y, group, tip}}, groups = {{key, label,
-- color}}, width, height, caption.
function svg.scatter(spec)
  local w, h = spec.width or 560, spec.height or 380
  local L, R, T, B = 60, 16, 34, 48
  local out = open(spec, w, h)
  local items = {}
  for _, g in ipairs(spec.groups) do items[#items + 1] = { label = g.label, color = g.color } end
  local last = legend(out, items, L, 36, w - L - R)
  T = last + 12
  local pts = spec.points
  if #pts == 0 then
    no_data(out, w, h)
  else
    local x0, x1, y0, y1 = math.huge, -math.huge, math.huge, -math.huge
    for _, p in ipairs(pts) do
      x0, x1, y0, y1 = math.min(x0, p.x), math.max(x1, p.x), math.min(y0, p.y), math.max(y1, p.y)
    end
    local xlo, xhi, xt = svg.ticks(x0, x1, 6)
    local ylo, yhi, yt = svg.ticks(y0, y1, 5)
    local sx, sy = linear(xlo, xhi, L, w - R), linear(ylo, yhi, h - B, T)
    y_grid(out, yt, sy, L, w - R)
    x_grid(out, xt, sx, T, h - B)
    axes(out, L, T - 4, w - R, h - B)
    for _, g in ipairs(spec.groups) do
      local marks = {}
      for _, p in ipairs(pts) do
        if p.group == g.key then
          marks[#marks + 1] = string.format('<circle cx="%s" cy="%s" r="2.4"/>', f1(sx(p.x)), f1(sy(p.y)))
        end
      end
      out[#out + 1] = string.format('<g data-group="%s" data-n="%d" fill="%s" fill-opacity=".6"><title>%s</title>%s</g>',
        esc(g.key), #marks, g.color, esc(g.label), table.concat(marks))
    end
  end
  x_axis_label(out, spec.x_label, (L + w - R) / 2, h - 8)
  y_axis_label(out, spec.y_label, 14, (T + h - B) / 2)
  return close(out, spec)
end

return svg
