-- cli.lua: the mercado command line. main(argv) dispatches to a command and returns the exit code:
-- 0 success, 1 a flow failed, 2 usage or parameter error, 130 interrupted.
local json = require "mercado.json"
local sys = require "mercado.sys"
local util = require "mercado.util"
local strict = require "mercado.strict"
local decl = require "mercado.params_decl"

local cli = {}

local EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130

local HELP = {
  main = [[
usage: mercado <command> [options]

Retail sales analytics: flows over transaction CSVs or PostgreSQL, written as Lua, run natively.

commands:
  run FLOW [-p name=value]... [--params FILE.json] [--output DIR] [--quiet|--verbose]
                          run a flow (a shipped flow name or a .lua file) and record the run
  flows [NAME]            list shipped flows, or show one flow's parameters
  runs [--flow NAME] [--last N] [--output DIR]
                          list recorded runs; `runs show ID` shows one
  logs ID [--level L] [--output DIR]
                          print a run's log
  gen --baskets N --seed S --out DIR [--dirty RATE]
                          generate a realistic data set in the real file format
  schedule [--config FILE] [--list]
                          run flows on cron schedules and intervals
  exec FILE.lua [args]    run a Lua script with every module available
  -e CODE                 run a Lua chunk
  repl                    interactive Lua with every module loaded
  version                 print the version
  help [COMMAND]          this text, or a command's help

`mercado COMMAND --help` explains each command. Exit codes: 0 success, 1 flow failed, 2 usage error,
130 interrupted.]],
  run = [[
usage: mercado run FLOW [-p name=value]... [--params FILE.json] [--output DIR] [--quiet|--verbose]

Runs FLOW: a shipped flow name (see `mercado flows`) or a path to a .lua file returning flow.define{...}.
  -p, --param name=value   set a parameter (parsed as its declared type, never evaluated); repeatable.
                           name.param=value sets a parameter of a subflow (e.g. -p clustering.n_clusters=5)
  --params FILE.json       parameter values from a JSON object (applied before -p values)
  --output DIR             where results and the run record go (default: output)
  -q, --quiet              only warnings and errors on the terminal
  -v, --verbose            also debug messages
The run is recorded in DIR/runs/<run_id>/ (run.json, log.jsonl).
Shipped flows are looked up in $MERCADO_FLOWS, next to the installed binary (../share/mercado/flows), then ./flows.]],
  flows = [[
usage: mercado flows [NAME]

Without NAME, lists the shipped flows with their descriptions. With NAME, shows its parameters: type, default,
allowed values and documentation.]],
  runs = [[
usage: mercado runs [--flow NAME] [--last N] [--output DIR]
       mercado runs show ID [--output DIR]
       mercado runs prune [--keep N] [--older-than DAYS] [--output DIR]

Lists recorded runs (newest first): id, flow, state, start, duration. `show` prints a run's parameters, tasks,
attempts, durations and errors. Runs left Running by a process that died are marked Crashed. `prune` deletes
finished runs beyond the newest N and/or older than DAYS (runs in progress are kept).]],
  logs = [[
usage: mercado logs ID [--level debug|info|warning|error] [--output DIR]

Prints the log of a run (from DIR/runs/ID/log.jsonl).]],
  exec = [[
usage: mercado exec FILE.lua [args...]
       mercado -e CODE

Runs a Lua script or chunk with every mercado module available (require "mercado.colstore", ...). The script's
arguments are in the global `arg` (arg[0] is the script). Exit code 1 if it raises an error.]],
  repl = [[
usage: mercado repl

Interactive Lua 5.4 with the mercado modules loaded as globals: cs (colstore), stats, kmeans, fpgrowth, pg, json,
sys, flow. Expressions print their values (tables pretty-printed); incomplete statements continue on the next
line; Ctrl-C interrupts a running statement; Ctrl-D leaves. History is kept in ~/.mercado_history.]],
  gen = [[
usage: mercado gen --baskets N --seed S --out DIR [--dirty RATE]

Writes DIR/transactions/<store>_Tran.csv and DIR/products/{Categories,ProductCategory}.csv in the real format,
byte-identical for the same N and seed. --dirty RATE also injects bad rows, a BOM, CRLF lines and a duplicate
file, and writes DIR/dirty_manifest.json with the exact expected reader counts.]],
  schedule = [[
usage: mercado schedule [--config FILE] [--list]

Runs flows on 5-field cron expressions and fixed intervals listed in a Lua config file (default:
$MERCADO_SCHEDULE or ./mercado_schedule.lua); each run is an ordinary recorded `mercado run`. One run at a
time; never two runs of a flow at once; ticks missed while busy or suspended run once. SIGTERM/SIGINT stop it
after the running flow (a second signal cancels the flow, exit 130). --list prints each entry's next five fire
times.]],
  version = "usage: mercado version\n\nPrints the mercado version.",
}

local function out(...) io.stdout:write(...) end
local function err(...) io.stderr:write(...) end

local function usage_error(msg, cmd)
  err("mercado: ", msg, "\n")
  if cmd then err("try `mercado ", cmd, " --help`\n") end
  return EXIT_USAGE
end

-- ---- finding and loading flows ----

-- Directories of flows given by path: their sibling flows (subflows) and lib/ are found there first.
local extra_dirs = {}

local function flow_dirs()
  local dirs = {}
  for _, d in ipairs(extra_dirs) do dirs[#dirs + 1] = d end
  local env = os.getenv("MERCADO_FLOWS")
  if env and env ~= "" then
    for d in env:gmatch("[^:]+") do dirs[#dirs + 1] = d end
  end
  local exe = sys.exe_path()
  if exe then
    local bindir = util.dirname(exe)
    dirs[#dirs + 1] = util.join(bindir, "../share/mercado/flows")
    dirs[#dirs + 1] = util.join(bindir, "flows")
  end
  dirs[#dirs + 1] = "flows"
  local installed, source_tree = sys.install_flows_dir()
  dirs[#dirs + 1] = installed
  dirs[#dirs + 1] = source_tree
  local seen, outd = {}, {}
  for _, d in ipairs(dirs) do
    local real = sys.realpath(d)
    if real and util.is_dir(real) and not seen[real] then
      seen[real] = true
      outd[#outd + 1] = real
    end
  end
  return outd
end
cli.flow_dirs = flow_dirs

-- Makes `require "lib.x"` find flows/lib/x.lua (with strict globals) in the flow directories.
local function install_lib_searcher(dirs)
  if cli.searcher_installed then return end
  cli.searcher_installed = true
  table.insert(package.searchers, 2, function(name)
    local rel = name:gsub("%.", "/") .. ".lua"
    for _, d in ipairs(dirs) do
      local path = util.join(d, rel)
      if util.exists(path) then
        local chunk, lerr = loadfile(path, "t", strict.env(nil, path))
        if not chunk then error(lerr, 0) end
        return chunk, path
      end
    end
    return "\n\tno flow library " .. rel .. " in " .. table.concat(dirs, ", ")
  end)
end

local function load_flow_file(path)
  local chunk, lerr = loadfile(path, "t", strict.env(nil, path))
  if not chunk then return nil, lerr end
  local ok, def = pcall(chunk)
  if not ok then return nil, tostring(type(def) == "table" and def.message or def) end
  local flow = require "mercado.flow"
  if not flow.is_flow(def) then return nil, path .. " does not return flow.define{...}" end
  return def
end

-- Finds a flow by name (or path); returns its definition, or nil and a message listing where it looked.
function cli.find_flow(name)
  local dirs = flow_dirs()
  install_lib_searcher(dirs)
  if name:find("/") or name:match("%.lua$") then
    if not util.exists(name) then return nil, "no flow file " .. name end
    local d = util.dirname(sys.realpath(name) or name)
    local found = false
    for _, x in ipairs(extra_dirs) do if x == d then found = true end end
    if not found then
      table.insert(extra_dirs, d)
      table.insert(dirs, 1, d)
    end
    return load_flow_file(name)
  end
  for _, d in ipairs(dirs) do
    local path = util.join(d, name .. ".lua")
    if util.exists(path) then return load_flow_file(path) end
  end
  return nil, string.format("no flow named '%s' (looked in %s; `mercado flows` lists them)", name,
    #dirs > 0 and table.concat(dirs, ", ") or "no flow directory found")
end

local function flow_loader(name)
  local def, ferr = cli.find_flow(name)
  if not def then error({ kind = "usage", message = ferr }, 0) end
  return def
end

-- ---- argument parsing ----

-- Parses options of the form --name value, --name=value, -x value and flags; returns opts, positional.
local function parse_args(args, spec, cmd)
  local opts, pos = {}, {}
  local i = 1
  while i <= #args do
    local a = args[i]
    if a == "--" then
      for j = i + 1, #args do pos[#pos + 1] = args[j] end
      break
    end
    local name, inline = a:match("^%-%-([%w%-]+)=(.*)$")
    if not name then name = a:match("^%-%-([%w%-]+)$") or a:match("^%-(%a)$") end
    if name then
      local s = spec[name]
      if not s then error({ kind = "usage", message = "unknown option " .. a, cmd = cmd }, 0) end
      if s.flag then
        opts[s.key] = true
      else
        local v = inline
        if v == nil then
          i = i + 1
          v = args[i]
          if v == nil then error({ kind = "usage", message = "option " .. a .. " needs a value", cmd = cmd }, 0) end
        end
        if s.many then
          opts[s.key] = opts[s.key] or {}
          table.insert(opts[s.key], v)
        else
          opts[s.key] = v
        end
      end
    elseif a:sub(1, 1) == "-" and a ~= "-" then
      error({ kind = "usage", message = "unknown option " .. a, cmd = cmd }, 0)
    else
      pos[#pos + 1] = a
    end
    i = i + 1
  end
  return opts, pos
end

local function wants_help(args)
  for _, a in ipairs(args) do
    if a == "--help" or a == "-h" then return true end
    if a == "--" then return false end
  end
  return false
end

local function to_int(v, what, cmd)
  local n = math.tointeger(tonumber(v))
  if not n then error({ kind = "usage", message = what .. " must be an integer, got '" .. tostring(v) .. "'", cmd = cmd }, 0) end
  return n
end

-- ---- commands ----

local commands = {}

function commands.version()
  out("mercado ", sys.version(), " (", _VERSION, ")\n")
  return EXIT_OK
end

local RUN_SPEC = {
  p = { key = "p", many = true }, param = { key = "p", many = true }, params = { key = "params" },
  output = { key = "output" }, o = { key = "output" }, quiet = { key = "quiet", flag = true },
  q = { key = "quiet", flag = true }, verbose = { key = "verbose", flag = true }, v = { key = "verbose", flag = true },
}

-- Checks that the output directory can be written before any work starts.
local function check_output_dir(dir)
  local ok, merr = sys.mkdirs(dir)
  if not ok then return nil, merr end
  ok, merr = sys.access(dir, "w")
  if not ok then return nil, "output directory is not writable: " .. merr end
  return true
end

function commands.run(args)
  local opts, pos = parse_args(args, RUN_SPEC, "run")
  if #pos ~= 1 then return usage_error("run needs exactly one FLOW", "run") end
  local log = require "mercado.log"
  log.configure { quiet = opts.quiet, verbose = opts.verbose }
  sys.set_progress(not opts.quiet)
  local def, ferr = cli.find_flow(pos[1])
  if not def then return usage_error(ferr) end
  local file
  if opts.params then
    local text, rerr = util.read_file(opts.params)
    if not text then return usage_error("cannot read --params file: " .. tostring(rerr)) end
    local ok, decoded = pcall(json.decode, text)
    if not ok or type(decoded) ~= "table" or decoded[1] ~= nil then
      return usage_error("--params " .. opts.params .. ": a JSON object expected" .. (ok and "" or (" (" .. tostring(decoded) .. ")")))
    end
    file = decoded
  end
  local overrides = {}
  local P = require "mercado.params"
  for _, kv in ipairs(opts.p or {}) do
    local name, value = P.split_assignment(kv)
    if not name then return usage_error("-p " .. kv .. ": " .. value, "run") end
    overrides[#overrides + 1] = { name, value }
  end
  local values, nested = decl.resolve(def, file, overrides, flow_loader)
  local output = opts.output or "output"
  local ok, oerr = check_output_dir(output)
  if not ok then return usage_error(oerr) end
  local runs = require "mercado.runs"
  runs.reap_crashed(output)
  local flow = require "mercado.flow"
  local result = flow.run(def, {
    values = values, nested = nested, output = output, loader = flow_loader,
    command = util.scrub_secrets("mercado run " .. table.concat(args, " ")),
  })
  if result.state == "Completed" then return EXIT_OK end
  if result.state == "Cancelled" then return EXIT_INTERRUPTED end
  return EXIT_FAILED
end

function commands.flows(args)
  local _, pos = parse_args(args, {}, "flows")
  if pos[1] then
    local def, ferr = cli.find_flow(pos[1])
    if not def then return usage_error(ferr) end
    out(def.name, ": ", def.description, "\n")
    if #def.subflows > 0 then out("subflows: ", table.concat(def.subflows, ", "), " (set their parameters with -p subflow.param=value)\n") end
    out("parameters:\n")
    local lines = decl.describe(def)
    if #lines == 0 then out("  (none)\n") end
    for _, l in ipairs(lines) do out(l, "\n") end
    return EXIT_OK
  end
  local dirs = flow_dirs()
  install_lib_searcher(dirs)
  local seen = {}
  local any = false
  for _, d in ipairs(dirs) do
    local files = util.glob(d, "*.lua")
    for _, f in ipairs(files) do
      local name = util.basename(f):gsub("%.lua$", "")
      if not seen[name] then
        seen[name] = true
        any = true
        local def, ferr = load_flow_file(f)
        if def then out(string.format("  %-22s %s\n", name, def.description))
        else out(string.format("  %-22s (cannot load: %s)\n", name, ferr)) end
      end
    end
  end
  if not any then err("mercado: no flows found (looked in ", table.concat(dirs, ", "), ")\n") return EXIT_FAILED end
  return EXIT_OK
end

local function run_file_or_code(chunk, cerr, argv)
  if not chunk then
    err("mercado: ", tostring(cerr), "\n")
    return EXIT_FAILED
  end
  arg = argv
  local ok, e = sys.call(nil, chunk, table.unpack(argv))
  if ok then return EXIT_OK end
  if type(e) == "table" and e.kind == "cancelled" then
    err("mercado: interrupted\n")
    return EXIT_INTERRUPTED
  end
  err("mercado: ", tostring(type(e) == "table" and e.message or e), "\n")
  if type(e) == "table" and e.traceback then err(e.traceback, "\n") end
  return EXIT_FAILED
end

function commands.exec(args)
  if #args < 1 then return usage_error("exec needs a FILE.lua", "exec") end
  install_lib_searcher(flow_dirs())
  local argv = { [0] = args[1] }
  for i = 2, #args do argv[i - 1] = args[i] end
  local chunk, cerr = loadfile(args[1])
  return run_file_or_code(chunk, cerr, argv)
end

function commands.e(args)
  if #args < 1 then return usage_error("-e needs CODE", "exec") end
  install_lib_searcher(flow_dirs())
  local argv = { [0] = "-e" }
  for i = 2, #args do argv[i - 1] = args[i] end
  local chunk, cerr = load(args[1], "=(command line)")
  return run_file_or_code(chunk, cerr, argv)
end

function commands.repl(args)
  if #args > 0 then return usage_error("repl takes no arguments", "repl") end
  install_lib_searcher(flow_dirs())
  return require("mercado.repl").run()
end

local RUNS_SPEC = { flow = { key = "flow" }, last = { key = "last" }, output = { key = "output" }, o = { key = "output" },
  keep = { key = "keep" }, ["older-than"] = { key = "older_than" } }

local function short_time(iso) return iso and iso:sub(1, 19):gsub("T", " ") or "-" end

function commands.runs(args)
  local opts, pos = parse_args(args, RUNS_SPEC, "runs")
  local output = opts.output or "output"
  local runs = require "mercado.runs"
  if util.is_dir(output) then runs.reap_crashed(output) end
  if pos[1] == "show" then
    if not pos[2] then return usage_error("runs show needs a run ID", "runs") end
    local rec, lerr = runs.load(output, pos[2])
    if not rec then return usage_error("no run " .. pos[2] .. " in " .. output .. " (" .. tostring(lerr) .. ")") end
    out(string.format("run %s\n  flow      %s\n  state     %s%s\n  started   %s\n  ended     %s\n  duration  %s\n",
      rec.run_id, rec.flow, rec.state, rec.reason and (" (" .. rec.reason .. ")") or "", short_time(rec.start),
      short_time(rec["end"]), util.format_duration(rec.duration_seconds)))
    if rec.parent_run_id then out("  parent    ", rec.parent_run_id, "\n") end
    out("  host      ", tostring(rec.host), " pid ", tostring(rec.pid), ", mercado ", tostring(rec.mercado_version), "\n")
    out("parameters:\n")
    for _, k in ipairs(util.sorted_keys(rec.params or {})) do
      local v = rec.params[k]
      if type(v) == "table" then v = json.encode(v) end
      out(string.format("  %-20s %s\n", k, tostring(v == json.null and "null" or v)))
    end
    out("tasks:\n")
    for _, t in ipairs(rec.tasks or {}) do
      out(string.format("  %-34s %-10s %s%s\n", t.name, t.state, util.format_duration(t.duration_seconds),
        t.run_id and ("  run " .. t.run_id) or ""))
      for _, a in ipairs(t.attempts or {}) do
        out(string.format("      attempt %d  %-10s %s\n", a.attempt, a.state or "", util.format_duration(a.duration_seconds)))
        if a.error and a.error ~= json.null then
          out("        error: ", tostring(a.error.message), "\n")
          if a.error.traceback and a.error.traceback ~= json.null then
            out("        ", (tostring(a.error.traceback):gsub("\n", "\n        ")), "\n")
          end
        end
      end
    end
    if rec.error and rec.error ~= json.null then out("error: ", tostring(rec.error.message), "\n") end
    return EXIT_OK
  elseif pos[1] == "prune" then
    if not opts.keep and not opts.older_than then return usage_error("runs prune needs --keep N and/or --older-than DAYS", "runs") end
    local keep = opts.keep and to_int(opts.keep, "--keep", "runs")
    local days = opts.older_than and tonumber(opts.older_than)
    if opts.older_than and not days then return usage_error("--older-than must be a number of days", "runs") end
    local n, perr = runs.prune(output, keep, days)
    if not n then err("mercado: ", tostring(perr), "\n") return EXIT_FAILED end
    out(string.format("removed %d runs from %s\n", n, runs.dir(output)))
    return EXIT_OK
  elseif pos[1] then
    return usage_error("unknown runs subcommand '" .. pos[1] .. "'", "runs")
  end
  local list = runs.list(output, { flow = opts.flow, last = opts.last and to_int(opts.last, "--last", "runs") or 20 })
  if #list == 0 then
    out("no runs recorded in ", output, "\n")
    return EXIT_OK
  end
  out(string.format("%-46s %-22s %-10s %-20s %s\n", "RUN ID", "FLOW", "STATE", "STARTED", "DURATION"))
  for _, r in ipairs(list) do
    out(string.format("%-46s %-22s %-10s %-20s %s\n", r.run_id, r.flow, r.state, short_time(r.start),
      util.format_duration(r.duration_seconds)))
  end
  return EXIT_OK
end

function commands.logs(args)
  local opts, pos = parse_args(args, { level = { key = "level" }, output = { key = "output" }, o = { key = "output" } }, "logs")
  if not pos[1] then return usage_error("logs needs a run ID", "logs") end
  if opts.level and not ({ debug = 1, info = 1, warning = 1, error = 1 })[opts.level] then
    return usage_error("--level must be debug, info, warning or error", "logs")
  end
  local runs = require "mercado.runs"
  local events, lerr = runs.events(opts.output or "output", pos[1], opts.level)
  if not events then return usage_error("no log for run " .. pos[1] .. " (" .. tostring(lerr) .. ")") end
  for _, ev in ipairs(events) do
    local where = ev.flow .. ((ev.task and ev.task ~= json.null) and ("/" .. ev.task) or "")
    out(string.format("%s %-7s %s  %s\n", short_time(ev.ts) .. (ev.ts and ev.ts:sub(20, 23) or ""),
      ev.level:upper(), where, tostring(ev.message)))
  end
  return EXIT_OK
end

local GEN_SPEC = { baskets = { key = "baskets" }, seed = { key = "seed" }, out = { key = "out" }, dirty = { key = "dirty" } }

function commands.gen(args)
  local opts, pos = parse_args(args, GEN_SPEC, "gen")
  if #pos > 0 then return usage_error("unexpected argument " .. pos[1], "gen") end
  if not opts.baskets or not opts.out then return usage_error("gen needs --baskets N and --out DIR", "gen") end
  local dirty = 0
  if opts.dirty then
    dirty = tonumber(opts.dirty)
    if not dirty then return usage_error("--dirty must be a number in [0, 0.5]", "gen") end
  end
  local gen = require "mercado.gen"
  if not gen.generate then return usage_error("this build has no data generator") end
  local t0 = sys.monotonic()
  local summary = gen.generate {
    baskets = to_int(opts.baskets, "--baskets", "gen"), seed = to_int(opts.seed or "42", "--seed", "gen"),
    out = opts.out, dirty = dirty,
  }
  out(string.format("wrote %s baskets (%s units, %s customers) to %s in %.2f s\n", tostring(summary.baskets),
    tostring(summary.units), tostring(summary.customers), opts.out, sys.monotonic() - t0))
  return EXIT_OK
end

function commands.schedule(args)
  local sched = require "mercado.schedule"
  return sched.main(args, { usage_error = usage_error, parse_args = parse_args, find_flow = cli.find_flow })
end

function commands.help(args)
  local topic = args[1]
  if topic and HELP[topic] then out(HELP[topic], "\n") return EXIT_OK end
  if topic then return usage_error("no help for '" .. topic .. "'") end
  out(HELP.main, "\n")
  return EXIT_OK
end

-- main(argv) -> exit code
function cli.main(argv)
  local args = {}
  for i = 1, #argv do args[i] = argv[i] end
  local cmd = table.remove(args, 1)
  if cmd == nil or cmd == "--help" or cmd == "-h" then
    out(HELP.main, "\n")
    return cmd == nil and EXIT_USAGE or EXIT_OK
  end
  if cmd == "--version" then cmd = "version" end
  if cmd == "-e" then cmd = "e" end
  local fn = commands[cmd]
  if not fn or cmd == "e" and argv[1] ~= "-e" then return usage_error("unknown command '" .. cmd .. "'; try `mercado --help`") end
  if cmd ~= "e" and cmd ~= "exec" and cmd ~= "help" and wants_help(args) then
    out(HELP[cmd] or HELP.main, "\n")
    return EXIT_OK
  end
  local ok, res = sys.call(nil, fn, args)
  if ok then return res end
  if type(res) == "table" and res.kind == "usage" then return usage_error(res.message, res.cmd) end
  if type(res) == "table" and res.kind == "cancelled" then
    err("mercado: interrupted\n")
    return EXIT_INTERRUPTED
  end
  err("mercado: ", tostring(type(res) == "table" and res.message or res), "\n")
  if os.getenv("MERCADO_DEBUG") and type(res) == "table" and res.traceback then err(res.traceback, "\n") end
  return EXIT_FAILED
end

return cli
