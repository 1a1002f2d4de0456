-- test_schedule.lua: `mercado schedule` end to end with real child processes, signals and files: config validation
-- (exit 2, messages naming the entry), --list against hand-computed times, a simulated week on the injectable clock
-- (dry run checked against a brute-force cron matcher written here; real runs checked in the run history; local
-- time across a DST change), busy coalescing, overlap prevention between two schedulers, a suspended scheduler,
-- a lock left by a killed scheduler, and SIGTERM/SIGINT handling (stop after the flow, cancel on the second signal,
-- a Ctrl-C to the whole process group).
package.path = (os.getenv("MERCADO_SOURCE_ROOT") or ".") .. "/tests/lib/?.lua;" .. package.path
local T = require "testlib"
local json = require "mercado.json"
local sys = require "mercado.sys"

-- ---- fixtures ----

local TICK = [[
local flow = require "mercado.flow"
return flow.define { name = "tick", description = "test: quick",
  params = { n = { type = "int", default = 1 }, x = { type = "number", default = 0.5 },
    flag = { type = "bool", default = false }, tags = { type = "list", default = {} } },
  run = function(ctx, p) return p.n end }
]]

local SLEEPY = [[
local flow = require "mercado.flow"
local sys = require "mercado.sys"
return flow.define { name = "sleepy", description = "test: sleeps",
  params = { seconds = { type = "number", default = 2 } },
  run = function(ctx, p)
    ctx:task("sleep", {}, function()
      sys.append(ctx.output .. "/sleepy_started", sys.getpid() .. "\n")
      sys.sleep(p.seconds)
    end)
  end }
]]

local function setup(tag)
  local dir = T.tmpdir(tag)
  assert(sys.mkdirs(dir .. "/flows"))
  T.write(dir .. "/flows/tick.lua", TICK)
  T.write(dir .. "/flows/sleepy.lua", SLEEPY)
  return dir
end

local function config(dir, text, name)
  T.write(dir .. "/" .. (name or "s.lua"), text)
end

local UTC_ENV = { TZ = "UTC" }

-- All scheduler log events (decoded), in order.
local function sched_log(dir, out)
  local events = {}
  for _, f in ipairs(sys.glob(dir .. "/" .. (out or "out") .. "/schedule/log-*.jsonl")) do
    for line in (T.read(f) or ""):gmatch("[^\n]+") do events[#events + 1] = json.decode(line) end
  end
  return events
end

local function actions(events, action)
  local out = {}
  for _, e in ipairs(events) do
    if type(e.data) == "table" and e.data.action == action then out[#out + 1] = e.data end
  end
  return out
end

local function run_records(dir, flow, out)
  local recs = {}
  for _, f in ipairs(sys.glob(dir .. "/" .. (out or "out") .. "/runs/*-" .. flow .. "-*/run.json")) do
    recs[#recs + 1] = json.decode(T.read(f))
  end
  table.sort(recs, function(a, b) return a.start < b.start end)
  return recs
end

local function days_from_civil(y, m, d)
  y = m <= 2 and y - 1 or y
  local era = (y >= 0 and y or y - 399) // 400
  local yoe = y - era * 400
  local doy = (153 * (m + (m > 2 and -3 or 9)) + 2) // 5 + d - 1
  return era * 146097 + yoe * 365 + yoe // 4 - yoe // 100 + doy - 719468
end

-- "2026-03-09T06:30" (UTC) -> seconds
local function utc(s)
  local y, mo, d, h, mi = s:match("^(%d+)-(%d+)-(%d+)T(%d+):(%d+)$")
  return days_from_civil(tonumber(y), tonumber(mo), tonumber(d)) * 86400 + tonumber(h) * 3600 + tonumber(mi) * 60
end

-- Waits until pred() is true (polling) or the timeout passes.
local function wait_until(pred, timeout)
  local t0 = sys.monotonic()
  while sys.monotonic() - t0 < timeout do
    if pred() then return true end
    sys.sleep(0.05)
  end
  return false
end

local function finish(pid, outp, errp, timeout)
  local how, code = sys.wait(pid, timeout or 30)
  if how == "running" then
    sys.kill(pid, "KILL")
    sys.wait(pid)
  end
  local out, err = T.read(outp), T.read(errp)
  os.remove(outp)
  os.remove(errp)
  return how, code, out, err
end

-- ---- a brute-force cron matcher (independent of runtime/cron.c) ----

local NAMES = { jan = 1, feb = 2, mar = 3, apr = 4, may = 5, jun = 6, jul = 7, aug = 8, sep = 9, oct = 10, nov = 11,
  dec = 12, sun = 0, mon = 1, tue = 2, wed = 3, thu = 4, fri = 5, sat = 6 }

local function field_set(text, lo, hi, star_hi)
  local set = {}
  for item in text:gmatch("[^,]+") do
    local range, step = item:match("^([^/]+)/(%d+)$")
    range, step = range or item, tonumber(step) or 1
    local a, b
    if range == "*" then a, b = lo, star_hi
    else
      local x, y = range:match("^(%w+)-(%w+)$")
      a = tonumber(x or range) or NAMES[(x or range):lower()]
      b = y and (tonumber(y) or NAMES[y:lower()]) or (item:find("/") and star_hi or a)
    end
    for v = a, b, step do set[v] = true end
  end
  return set
end

local function matcher(expr)
  local f = {}
  for w in expr:gmatch("%S+") do f[#f + 1] = w end
  local mins, hours, doms = field_set(f[1], 0, 59, 59), field_set(f[2], 0, 23, 23), field_set(f[3], 1, 31, 31)
  local months, dows = field_set(f[4], 1, 12, 12), field_set(f[5], 0, 7, 6)
  if dows[7] then dows[0] = true end
  local dom_r, dow_r = f[3]:sub(1, 1) ~= "*", f[5]:sub(1, 1) ~= "*"
  return function(t)
    local d = os.date("!*t", t)
    if not (mins[d.min] and hours[d.hour] and months[d.month]) then return false end
    local a, b = doms[d.day] == true, dows[d.wday - 1] == true
    if dom_r and dow_r then return a or b end
    return a and b
  end
end

-- ---- config validation ----

do
  local dir = setup("validate")
  local cases = {
    { "return { jobs = { { flow = 'flows/tick.lua', cron = '61 * * * *' } } }",
      "jobs[1] (tick): cron \"61 * * * *\": minute field: '61': 61 is out of range 0-59" },
    { "return { jobs = { { flow = 'flows/tick.lua', cron = '0 0 * * fri-mon' } } }",
      "day-of-week field: 'fri-mon': range 5-1 is backwards" },
    { "return { jobs = { { flow = 'flows/tick.lua', every = '2x' } } }", "jobs[1] (tick): every: bad interval '2x'" },
    { "return { jobs = { { flow = 'flows/tick.lua', every = 120 } } }", "every must be a string such as \"2m\"" },
    { "return { jobs = { { flow = 'flows/tick.lua', every = '2m', cron = '* * * * *' } } }", "give exactly one of 'cron'" },
    { "return { jobs = { { flow = 'flows/tick.lua' } } }", "give exactly one of 'cron'" },
    { "return { jobs = { { flow = 'flows/tick.lua', evry = '2m' } } }", "jobs[1]: unknown key 'evry'" },
    { "return { jobs = { { flow = 'no_such_flow', every = '2m' } } }", "no flow named 'no_such_flow'" },
    { "return { jobs = { { flow = 'flows/tick.lua', every = '2m', params = { n = 'abc' } } } }",
      "flow 'tick': parameter 'n' = 'abc': expected an integer" },
    { "return { jobs = { { flow = 'flows/tick.lua', every = '2m', params = { bogus = 1 } } } }",
      "unknown parameter 'bogus' for flow 'tick'" },
    { "return { jobs = { { flow = 'flows/tick.lua', every = '2m', tz = 'UTC' } } }", "tz applies to cron entries only" },
    { "return { tz = 'Europe/Madrid', jobs = { { flow = 'flows/tick.lua', every = '2m' } } }",
      "tz must be \"local\" or \"UTC\"" },
    { "return { jobs = { { flow = 'flows/tick.lua', every = '2m' }, { flow = 'flows/tick.lua', every = '1h' } } }",
      "jobs[2]: the name 'tick' is used twice" },
    { "return { jobs = {} }", "jobs must be a non-empty list" },
    { "return { output = 'out', jobz = {} }", "unknown key 'jobz'" },
    { "return 42", "must return a table (got number)" },
    { "return { jobs = { { flow = 'flows/tick.lua', every = '2m' } }", "s.lua:1:" },
    { "os.execute('touch pwned') return {}", "global 'os'" },
    { "io.open('pwned', 'w') return {}", "global 'io'" },
    { "while true do end", "timed out" },
  }
  for _, c in ipairs(cases) do
    config(dir, c[1])
    local code, _, err = T.mercado({ "schedule", "--config", "s.lua", "--list" }, { dir = dir, timeout = 30 })
    T.eq(code, 2, "exit code for config: " .. c[1])
    T.contains(err, c[2], "message for config: " .. c[1])
    T.contains(err, "s.lua", "the message names the config file: " .. c[1])
  end
  T.check(sys.stat(dir .. "/pwned") == nil, "the sandboxed config could not run commands or write files")
  local code, _, err = T.mercado({ "schedule", "--list" }, { dir = dir })
  T.eq(code, 2, "no config: exit code")
  T.contains(err, "no schedule config mercado_schedule.lua", "no config: the default name is given")
  -- the default name, then MERCADO_SCHEDULE
  config(dir, "return { jobs = { { flow = 'flows/tick.lua', name = 'default_file', every = '1h' } } }", "mercado_schedule.lua")
  config(dir, "return { jobs = { { flow = 'flows/tick.lua', name = 'from_env', every = '1h' } } }", "env.lua")
  local c1, o1 = T.mercado({ "schedule", "--list" }, { dir = dir })
  T.eq(c1, 0, "default config file: exit code")
  T.contains(o1, "default_file", "./mercado_schedule.lua is read by default")
  local c2, o2 = T.mercado({ "schedule", "--list" }, { dir = dir, env = { MERCADO_SCHEDULE = "env.lua" } })
  T.eq(c2, 0, "MERCADO_SCHEDULE: exit code")
  T.contains(o2, "from_env", "MERCADO_SCHEDULE names the config")
  T.eq(T.mercado({ "schedule", "--config", "env.lua", "--bogus" }, { dir = dir }), 2, "unknown option exit code")
end

-- ---- --list: next five fire times, hand-computed ----

do
  local dir = setup("list")
  config(dir, [[return { tz = "UTC", jobs = {
    { flow = "flows/tick.lua", name = "quarter", cron = "*/15 * * * *" },
    { flow = "flows/tick.lua", name = "workhours", cron = "0 9-17/2 * * 1-5", params = { n = 3, tags = { "a,b", "c" } } },
    { flow = "flows/tick.lua", name = "sunday", cron = "5 4 * * sun" },
    { flow = "flows/tick.lua", name = "monthly", cron = "0 0 1 * *" },
    { flow = "flows/tick.lua", name = "two_minutes", every = "2m" },
  } }]])
  local code, out, err = T.mercado({ "schedule", "--config", "s.lua", "--list", "--simulate-from", "2026-01-01T00:00Z" },
    { dir = dir, env = UTC_ENV })
  T.eq(code, 0, "--list exit code: " .. tostring(err))
  local want = {
    "quarter  flow flows/tick.lua, cron \"*/15 * * * *\" (UTC)",
    "  2026-01-01 00:15:00 Thu UTC", "  2026-01-01 00:30:00 Thu UTC", "  2026-01-01 00:45:00 Thu UTC",
    "  2026-01-01 01:00:00 Thu UTC", "  2026-01-01 01:15:00 Thu UTC",
    "workhours  flow flows/tick.lua, cron \"0 9-17/2 * * 1-5\" (UTC), -p n=3 -p tags=a\\,b,c",
    "  2026-01-01 09:00:00 Thu UTC", "  2026-01-01 11:00:00 Thu UTC", "  2026-01-01 13:00:00 Thu UTC",
    "  2026-01-01 15:00:00 Thu UTC", "  2026-01-01 17:00:00 Thu UTC",
    "sunday  flow flows/tick.lua, cron \"5 4 * * sun\" (UTC)",
    "  2026-01-04 04:05:00 Sun UTC", "  2026-01-11 04:05:00 Sun UTC", "  2026-01-18 04:05:00 Sun UTC",
    "  2026-01-25 04:05:00 Sun UTC", "  2026-02-01 04:05:00 Sun UTC",
    "monthly  flow flows/tick.lua, cron \"0 0 1 * *\" (UTC)",
    "  2026-02-01 00:00:00 Sun UTC", "  2026-03-01 00:00:00 Sun UTC", "  2026-04-01 00:00:00 Wed UTC",
    "  2026-05-01 00:00:00 Fri UTC", "  2026-06-01 00:00:00 Mon UTC",
    "two_minutes  flow flows/tick.lua, every 2m",
    "  2026-01-01 00:02:00 Thu +0000", "  2026-01-01 00:04:00 Thu +0000", "  2026-01-01 00:06:00 Thu +0000",
    "  2026-01-01 00:08:00 Thu +0000", "  2026-01-01 00:10:00 Thu +0000",
  }
  T.eq(out, table.concat(want, "\n") .. "\n", "--list output")
end

-- ---- a simulated week, dry run: every tick at its time, in order (brute force) ----

do
  local dir = setup("week_dry")
  local jobs = {
    { "quarter", "*/15 * * * *" }, { "monthly", "0 0 1 * *" }, { "sunday", "5 4 * * sun" },
    { "workhours", "0 9-17/2 * * 1-5" }, { "midweek", "30 12 * * mon,wed" }, { "lists", "15,45 2-3 1-7 feb,mar sat" },
  }
  local lines = {}
  for _, j in ipairs(jobs) do
    lines[#lines + 1] = string.format("{ flow = 'flows/tick.lua', name = '%s', cron = '%s' },", j[1], j[2])
  end
  lines[#lines + 1] = "{ flow = 'flows/tick.lua', name = 'six_hours', every = '6h' },"
  config(dir, "return { output = 'out', tz = 'UTC', jobs = {\n" .. table.concat(lines, "\n") .. "\n} }")
  local from, to = "2026-02-26T00:00", "2026-03-05T00:00" -- Thursday to Thursday; includes March 1st (a Sunday)
  local t0 = sys.monotonic()
  local code, _, err = T.mercado({ "schedule", "--config", "s.lua", "--dry-run", "--simulate-from", from .. "Z",
    "--simulate-until", to .. "Z" }, { dir = dir, env = UTC_ENV, timeout = 120 })
  T.eq(code, 0, "dry-run week exit code: " .. tostring(err))
  T.check(sys.monotonic() - t0 < 30, "a simulated week takes seconds (%.1f s)", sys.monotonic() - t0)
  local want = {}
  for t = utc(from) + 60, utc(to) - 60, 60 do
    for _, j in ipairs(jobs) do
      if matcher(j[2])(t) then want[#want + 1] = { j[1], t } end
    end
    if t % (6 * 3600) == 0 then want[#want + 1] = { "six_hours", t } end
  end
  local got = actions(sched_log(dir), "would_run")
  T.eq(#got, #want, "number of ticks in the week")
  local counts = {}
  for i = 1, math.max(#got, #want) do
    local g, w = got[i] or {}, want[i] or {}
    if not T.check(g.job == w[1] and g.scheduled == w[2] and g.missed == 0, "tick %d: got %s at %s, want %s at %s", i,
      tostring(g.job), tostring(g.scheduled), tostring(w[1]), tostring(w[2])) then break end
    counts[g.job] = (counts[g.job] or 0) + 1
  end
  -- hand-counted: 7 days x 96 quarters; 1 first-of-month; 1 Sunday; 5 weekdays x 5; Mon+Wed; Sat Feb 28 (day 28:
  -- Saturday, OR rule) and Mar 1-4 (days 1-7, OR rule) x 2 hours x 2 minutes; 27 six-hour ticks (00:00 excluded)
  T.eq(counts.quarter, 7 * 96 - 1, "quarter-hour ticks (the week's last instant is excluded)")
  T.eq(counts.monthly, 1, "monthly ticks")
  T.eq(counts.sunday, 1, "Sunday ticks")
  T.eq(counts.workhours, 25, "weekday ticks")
  T.eq(counts.midweek, 2, "Monday/Wednesday ticks")
  T.eq(counts.lists, 5 * 4, "list/range ticks")
  T.eq(counts.six_hours, 27, "6h interval ticks")
  T.eq(#run_records(dir, "tick"), 0, "a dry run starts nothing")
end

-- ---- local time across DST changes (America/New_York), dry run; hand-computed UTC instants ----

if not sys.stat("/usr/share/zoneinfo/America/New_York") then
  print("skip: no zone data for America/New_York (install tzdata)")
else
  local dir = setup("dst")
  config(dir, [[return { output = 'out', jobs = {
    { flow = 'flows/tick.lua', name = 'spring', cron = '30 2 * * *' },
    { flow = 'flows/tick.lua', name = 'fall', cron = '30 1 * * *' } } }]])
  local env = { TZ = "America/New_York" }
  local code, _, err = T.mercado({ "schedule", "--config", "s.lua", "--dry-run", "--simulate-from", "2026-03-05",
    "--simulate-until", "2026-03-12" }, { dir = dir, env = env })
  T.eq(code, 0, "DST spring exit code: " .. tostring(err))
  local want = { -- 02:30 EST = 07:30Z; 2026-03-08 02:30 does not exist; then 02:30 EDT = 06:30Z; 01:30 always exists
    { "fall", "2026-03-05T06:30" }, { "spring", "2026-03-05T07:30" }, { "fall", "2026-03-06T06:30" },
    { "spring", "2026-03-06T07:30" }, { "fall", "2026-03-07T06:30" }, { "spring", "2026-03-07T07:30" },
    { "fall", "2026-03-08T06:30" }, { "fall", "2026-03-09T05:30" }, { "spring", "2026-03-09T06:30" },
    { "fall", "2026-03-10T05:30" }, { "spring", "2026-03-10T06:30" }, { "fall", "2026-03-11T05:30" },
    { "spring", "2026-03-11T06:30" },
  }
  local got = actions(sched_log(dir), "would_run")
  T.eq(#got, #want, "DST spring: number of ticks")
  for i, w in ipairs(want) do
    T.check(got[i] and got[i].job == w[1] and got[i].scheduled == utc(w[2]), "DST spring tick %d: got %s %s, want %s %s",
      i, tostring(got[i] and got[i].job), tostring(got[i] and got[i].scheduled), w[1], utc(w[2]))
  end
  local dir2 = setup("dst_fall")
  config(dir2, [[return { output = 'out', jobs = { { flow = 'flows/tick.lua', name = 'fall', cron = '30 1 * * *' },
    { flow = 'flows/tick.lua', name = 'half', cron = '*/30 0-3 1 11 *' } } }]])
  code, _, err = T.mercado({ "schedule", "--config", "s.lua", "--dry-run", "--simulate-from", "2026-10-31T12:00",
    "--simulate-until", "2026-11-02T12:00" }, { dir = dir2, env = env })
  T.eq(code, 0, "DST fall exit code: " .. tostring(err))
  want = { -- Nov 1: 00:00, 00:30, 01:00, 01:30 EDT (04:00Z..05:30Z), the repeated 01:00/01:30 EST skipped, 02:00 EST...
    { "half", "2026-11-01T04:00" }, { "half", "2026-11-01T04:30" }, { "half", "2026-11-01T05:00" },
    { "fall", "2026-11-01T05:30" }, { "half", "2026-11-01T05:30" }, { "half", "2026-11-01T07:00" },
    { "half", "2026-11-01T07:30" }, { "half", "2026-11-01T08:00" }, { "half", "2026-11-01T08:30" },
    { "fall", "2026-11-02T06:30" },
  }
  got = actions(sched_log(dir2), "would_run")
  T.eq(#got, #want, "DST fall: number of ticks")
  for i, w in ipairs(want) do
    T.check(got[i] and got[i].job == w[1] and got[i].scheduled == utc(w[2]), "DST fall tick %d: got %s %s, want %s %s",
      i, tostring(got[i] and got[i].job), tostring(got[i] and got[i].scheduled), w[1], utc(w[2]))
  end
end

-- ---- a simulated week with real runs: each tick is an ordinary run in the history ----

do
  local dir = setup("week_real")
  config(dir, [[return { output = 'out', tz = 'UTC', jobs = {
    { flow = 'flows/tick.lua', name = 'half_day', every = '12h',
      params = { n = 7, x = 0.1, flag = true, tags = { 'a,b', 'c\\d' } } },
    { flow = 'flows/tick.lua', name = 'workhours', cron = '0 9-17/2 * * 1-5' } } }]])
  local code, _, err = T.mercado({ "schedule", "--config", "s.lua", "--simulate-from", "2026-02-26T00:00Z",
    "--simulate-until", "2026-03-05T00:00Z" }, { dir = dir, env = UTC_ENV, timeout = 300 })
  T.eq(code, 0, "real-run week exit code: " .. tostring(err))
  local finished = actions(sched_log(dir), "finished")
  T.eq(#finished, 13 + 25, "runs in the week: 13 half-day + 25 weekday")
  local recs = run_records(dir, "tick")
  T.eq(#recs, 13 + 25, "run records in the history")
  local by_id = {}
  for _, r in ipairs(recs) do by_id[r.run_id] = r end
  local wd = matcher("0 9-17/2 * * 1-5")
  for i, f in ipairs(finished) do
    local rec = by_id[f.run_id or ""]
    T.check(rec ~= nil and rec.state == "Completed" and f.exit == 0, "run %d (%s) recorded Completed", i, tostring(f.run_id))
    if f.job == "half_day" then
      T.check(f.scheduled % 43200 == 0, "half-day tick at %d", f.scheduled)
      if rec then
        T.check(rec.params.n == 7 and rec.params.x == 0.1 and rec.params.flag == true and rec.params.tags[1] == "a,b"
          and rec.params.tags[2] == "c\\d", "params reach the run: %s", json.encode(rec.params))
      end
    else
      T.check(wd(f.scheduled), "weekday tick at %d", f.scheduled)
      if rec then T.eq(rec.params.n, 1, "defaults for a job without params") end
    end
  end
  local c2, out2 = T.mercado({ "runs", "--output", "out", "--last", "100" }, { dir = dir })
  T.eq(c2, 0, "mercado runs exit code")
  local listed = 0
  for line in out2:gmatch("[^\n]+") do
    if line:find("-tick-", 1, true) and line:find("Completed", 1, true) then listed = listed + 1 end
  end
  T.eq(listed, 38, "mercado runs lists the scheduled runs")
end

-- ---- busy: ticks missed during a long run coalesce into one (virtual clock, runs scaled 60x) ----

do
  local dir = setup("busy")
  config(dir, [[return { output = 'out', jobs = { { flow = 'flows/sleepy.lua', every = '1m', params = { seconds = 2 } } } }]])
  local code, _, err = T.mercado({ "schedule", "--config", "s.lua", "--simulate-from", "2026-01-01T00:00:30Z",
    "--simulate-until", "2026-01-01T00:09:00Z", "--simulate-scale", "60" }, { dir = dir, env = UTC_ENV, timeout = 120 })
  T.eq(code, 0, "busy exit code: " .. tostring(err))
  local started = actions(sched_log(dir), "started")
  local ticks, coalesced = 0, 0
  for _, s in ipairs(started) do
    ticks = ticks + 1 + s.missed
    if s.missed > 0 then coalesced = coalesced + 1 end
  end
  T.check(#started >= 2 and #started <= 4, "runs of 2 s (= 120 virtual s) every minute: %d runs", #started)
  T.check(coalesced >= 1, "some runs coalesced missed ticks")
  T.check(ticks >= 6 and ticks <= 8, "every tick is run or coalesced exactly once: %d ticks", ticks)
  for i = 2, #started do
    T.check(started[i].scheduled > started[i - 1].scheduled, "ticks advance")
  end
end

-- ---- overlap: two schedulers, one flow, never two runs at once; busy ticks coalesce ----

do
  local dir = setup("overlap")
  config(dir, [[return { output = 'out', jobs = { { flow = 'flows/sleepy.lua', every = '1s', params = { seconds = 1.5 } } } }]])
  local a, ao, ae = T.mercado({ "schedule", "--config", "s.lua" }, { dir = dir, background = true })
  local b, bo, be = T.mercado({ "schedule", "--config", "s.lua" }, { dir = dir, background = true })
  sys.sleep(6)
  sys.kill(a, "TERM")
  sys.kill(b, "TERM")
  local ha, ca = finish(a, ao, ae)
  local hb, cb = finish(b, bo, be)
  T.eq(ha .. tostring(ca), "exited0", "scheduler A stops cleanly")
  T.eq(hb .. tostring(cb), "exited0", "scheduler B stops cleanly")
  local recs = run_records(dir, "sleepy")
  T.check(#recs >= 2 and #recs <= 5, "1.5 s runs in 6 s: %d runs", #recs)
  for i, r in ipairs(recs) do
    T.eq(r.state, "Completed", "overlap run " .. i .. " state")
    if i > 1 then
      T.check(r.start >= (recs[i - 1]["end"] or "~"), "run %d started %s before run %d ended %s", i, r.start, i - 1,
        tostring(recs[i - 1]["end"]))
    end
  end
  local ev = sched_log(dir)
  T.check(#actions(ev, "skipped") >= 1, "a tick was skipped because the other scheduler's run was active")
  local coalesced = false
  for _, s in ipairs(actions(ev, "started")) do if s.missed > 0 then coalesced = true end end
  T.check(coalesced, "ticks missed while busy were coalesced")
end

-- ---- suspended: ticks missed while stopped run once ----

do
  local dir = setup("suspend")
  config(dir, [[return { output = 'out', jobs = { { flow = 'flows/tick.lua', every = '1s' } } }]])
  local pid, o, e = T.mercado({ "schedule", "--config", "s.lua" }, { dir = dir, background = true })
  T.check(wait_until(function() return #actions(sched_log(dir), "finished") >= 1 end, 20), "a first run finished")
  os.execute("kill -STOP " .. pid)
  sys.sleep(5)
  local before = #actions(sched_log(dir), "started")
  os.execute("kill -CONT " .. pid)
  T.check(wait_until(function() return #actions(sched_log(dir), "finished") > before end, 20), "a run after resuming")
  sys.sleep(1.5)
  sys.kill(pid, "TERM")
  local how, code = finish(pid, o, e)
  T.eq(how .. tostring(code), "exited0", "suspended scheduler stops cleanly")
  local started = actions(sched_log(dir), "started")
  local resumed = started[before + 1]
  T.check(resumed ~= nil and resumed.missed >= 2, "the first run after resuming coalesced the missed ticks (missed = %s)",
    tostring(resumed and resumed.missed))
  T.check(#started - before <= 3, "no burst of runs after resuming: %d runs in the 1.5 s after", #started - before)
end

-- ---- a lock left by a killed scheduler does not wedge the flow; its orphaned run is respected ----

do
  local dir = setup("crash")
  config(dir, [[return { output = 'out', jobs = { { flow = 'flows/sleepy.lua', every = '1h', run_at_start = true,
    params = { seconds = 2.5 } } } }]], "a.lua")
  config(dir, [[return { output = 'out', jobs = { { flow = 'flows/sleepy.lua', every = '1s', params = { seconds = 0.2 } } } }]], "b.lua")
  local a, ao, ae = T.mercado({ "schedule", "--config", "a.lua" }, { dir = dir, background = true })
  T.check(T.wait_for(dir .. "/out/sleepy_started", 20), "scheduler A started its run")
  sys.kill(a, "KILL")
  finish(a, ao, ae)
  local orphan = run_records(dir, "sleepy")[1]
  T.eq(orphan and orphan.state, "Running", "A's run continues after A was killed")
  local b, bo, be = T.mercado({ "schedule", "--config", "b.lua" }, { dir = dir, background = true })
  T.check(wait_until(function() return #actions(sched_log(dir), "finished") >= 1 end, 20), "B runs the flow after the orphan finished")
  sys.kill(b, "TERM")
  local how, code = finish(b, bo, be)
  T.eq(how .. tostring(code), "exited0", "scheduler B stops cleanly")
  local skipped = actions(sched_log(dir), "skipped")
  T.check(#skipped >= 1 and skipped[1].active_run == (orphan and orphan.run_id), "B skipped ticks while A's orphaned run was active")
  local recs = run_records(dir, "sleepy")
  T.eq(recs[1] and recs[1].state, "Completed", "the orphaned run completed")
  for i = 2, #recs do
    T.check(recs[i].start >= (recs[i - 1]["end"] or "~"), "runs never overlap (%d)", i)
  end
end

-- ---- signals ----

local function sleepy_config(dir, seconds)
  config(dir, string.format([[return { output = 'out', jobs = { { flow = 'flows/sleepy.lua', every = '1s',
    run_at_start = true, params = { seconds = %s } } } }]], seconds))
end

-- SIGTERM while a flow runs: the flow finishes, nothing new starts, exit 0.
do
  local dir = setup("term")
  sleepy_config(dir, 2)
  local pid, o, e = T.mercado({ "schedule", "--config", "s.lua" }, { dir = dir, background = true })
  T.check(T.wait_for(dir .. "/out/sleepy_started", 20), "the flow started")
  sys.kill(pid, "TERM")
  local t0 = sys.monotonic()
  local how, code, _, err = finish(pid, o, e)
  T.eq(how .. tostring(code), "exited0", "SIGTERM: exit 0 after the flow")
  T.check(sys.monotonic() - t0 > 0.8, "the scheduler waited for the running flow")
  T.contains(err, "stopping after flows/sleepy.lua finishes", "SIGTERM is acknowledged on the terminal")
  local recs = run_records(dir, "sleepy")
  T.eq(#recs, 1, "no run started after SIGTERM")
  T.eq(recs[1].state, "Completed", "the running flow completed")
end

-- A second signal cancels the flow (recorded Cancelled) and exits 130.
do
  local dir = setup("term2")
  sleepy_config(dir, 30)
  local pid, o, e = T.mercado({ "schedule", "--config", "s.lua" }, { dir = dir, background = true })
  T.check(T.wait_for(dir .. "/out/sleepy_started", 20), "the flow started")
  sys.kill(pid, "TERM")
  sys.sleep(0.5)
  sys.kill(pid, "INT")
  local t0 = sys.monotonic()
  local how, code = finish(pid, o, e)
  T.eq(how .. tostring(code), "exited130", "second signal: exit 130")
  T.check(sys.monotonic() - t0 < 10, "the flow was cancelled, not waited for")
  local recs = run_records(dir, "sleepy")
  T.eq(#recs, 1, "one run")
  T.eq(recs[1].state, "Cancelled", "the cancelled run is recorded Cancelled")
end

-- SIGINT while idle: exit 0 at once.
do
  local dir = setup("idle")
  config(dir, [[return { output = 'out', jobs = { { flow = 'flows/tick.lua', cron = '0 0 1 1 *' } } }]])
  local pid, o, e = T.mercado({ "schedule", "--config", "s.lua" }, { dir = dir, background = true })
  T.check(wait_until(function() return #actions(sched_log(dir), "start") == 1 end, 20), "the scheduler started")
  local t0 = sys.monotonic()
  sys.kill(pid, "INT")
  local how, code = finish(pid, o, e)
  T.eq(how .. tostring(code), "exited0", "idle SIGINT: exit 0")
  T.check(sys.monotonic() - t0 < 3, "idle scheduler stops promptly (%.2f s)", sys.monotonic() - t0)
end

-- Ctrl-C in a terminal signals the whole process group: the running flow must not see it (it runs in its own
-- session), so the scheduler still stops after the flow completes.
do
  local dir = setup("pgroup")
  sleepy_config(dir, 1.5)
  local outp, errp = os.tmpname(), os.tmpname()
  local pid = assert(sys.spawn({ "setsid", "/bin/sh", "-c", 'cd "$1" && exec "$2" schedule --config s.lua', "sh", dir,
    T.bin }, { stdout = outp, stderr = errp }))
  T.check(T.wait_for(dir .. "/out/sleepy_started", 20), "the flow started")
  sys.kill(-pid, "INT") -- the whole group, as a terminal does
  local how, code = finish(pid, outp, errp)
  T.eq(how .. tostring(code), "exited0", "group SIGINT: the scheduler stops after the flow")
  local recs = run_records(dir, "sleepy")
  T.eq(recs[1] and recs[1].state, "Completed", "the flow was not interrupted by the group's SIGINT")
end

T.done()
