-- log.lua: run logging. Every event goes to <run>/log.jsonl as one JSON object; events at or above the console
-- level are also printed to stderr as one readable line (time, flow/task, level, message), coloured on a terminal.
local json = require "mercado.json"
local sys = require "mercado.sys"

local log = {}

local LEVELS = { debug = 10, info = 20, warning = 30, error = 40 }
log.LEVELS = LEVELS

local COLORS = { debug = "\27[2m", info = "\27[36m", warning = "\27[33m", error = "\27[31m" }
local EVENT_COLORS = { Completed = "\27[32m", Failed = "\27[31m", Cancelled = "\27[33m", Crashed = "\27[31m" }

local Event = json.shape { "ts", "level", "run_id", "flow", "task", "event", "message", "data" }

-- Console settings shared by all loggers of this process (set once by the CLI).
local console = { level = LEVELS.info, color = nil, stream = io.stderr }

function log.configure(opts)
  if opts.quiet then console.level = LEVELS.warning end
  if opts.verbose then console.level = LEVELS.debug end
  if opts.level then console.level = LEVELS[opts.level] or console.level end
  if opts.color ~= nil then console.color = opts.color end
end

local function use_color()
  if console.color == nil then
    local term = os.getenv("TERM")
    console.color = sys.isatty(2) and os.getenv("NO_COLOR") == nil and term ~= nil and term ~= "dumb"
  end
  return console.color
end

local Logger = {}
Logger.__index = Logger

-- log.new{run_id =, flow =, path = <jsonl path or nil>} -> logger
function log.new(opts)
  return setmetatable({ run_id = opts.run_id, flow = opts.flow, path = opts.path, task = nil }, Logger)
end

-- Writes one event. level: debug/info/warning/error; event: "log" or a state change ("task", "flow").
function Logger:emit(level, message, event, data, task)
  task = task or self.task
  local now = sys.now()
  if self.path then
    local line = json.encode(Event {
      ts = sys.isotime(now), level = level, run_id = self.run_id, flow = self.flow, task = task,
      event = event or "log", message = message, data = data,
    })
    local ok, err = sys.append(self.path, line .. "\n")
    if not ok and not self.append_failed then
      self.append_failed = true
      io.stderr:write("mercado: cannot write the run log: ", err, "\n")
    end
  end
  if LEVELS[level] >= console.level then
    local where = self.flow .. (task and ("/" .. task) or "")
    local clock = os.date("%H:%M:%S", math.floor(now)) .. string.format(".%03d", math.floor((now % 1) * 1000))
    local lvl = level:upper()
    if use_color() then
      local state = data and data.state
      local c = (state and EVENT_COLORS[state]) or COLORS[level]
      console.stream:write(string.format("\27[2m%s\27[0m %s%-7s\27[0m \27[1m%s\27[0m  %s\n", clock, c, lvl, where, message))
    else
      console.stream:write(string.format("%s %-7s %s  %s\n", clock, lvl, where, message))
    end
    console.stream:flush()
  end
end

-- The printf-style functions flows use: ctx.log.info("loaded %d rows", n)
function Logger:functions()
  local fns = {}
  for level in pairs(LEVELS) do
    fns[level] = function(fmt, ...)
      local msg = select("#", ...) > 0 and string.format(fmt, ...) or tostring(fmt)
      self:emit(level, msg)
    end
  end
  return fns
end

return log
