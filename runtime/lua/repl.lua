-- repl.lua: the interactive Lua session (mercado repl), following lua.c 5.4: an expression line prints its values,
-- an incomplete statement continues on the next line (">>"), errors are shown and the session goes on, Ctrl-C
-- interrupts a running statement, Ctrl-D (end of input) leaves. Line editing and history come from libedit.
local sys = require "mercado.sys"

local repl = {}

local MAX_ITEMS, MAX_DEPTH = 40, 3

local function is_identifier(k) return type(k) == "string" and k:match("^[%a_][%w_]*$") ~= nil end

-- Pretty-prints a value: tables with sorted keys, nested up to a depth, long ones elided.
function repl.pretty(v, depth, seen)
  depth = depth or 0
  seen = seen or {}
  if type(v) == "string" then return string.format("%q", v) end
  if type(v) ~= "table" or getmetatable(v) and getmetatable(v).__tostring then return tostring(v) end
  if seen[v] then return "<cycle>" end
  if depth >= MAX_DEPTH then return "{...}" end
  seen[v] = true
  local parts, n = {}, #v
  for i = 1, math.min(n, MAX_ITEMS) do parts[#parts + 1] = repl.pretty(v[i], depth + 1, seen) end
  if n > MAX_ITEMS then parts[#parts + 1] = string.format("... (%d items)", n) end
  local keys = {}
  for k in pairs(v) do
    if not (math.type(k) == "integer" and k >= 1 and k <= n) then keys[#keys + 1] = k end
  end
  table.sort(keys, function(a, b) return tostring(a) < tostring(b) end)
  for i, k in ipairs(keys) do
    if i > MAX_ITEMS then parts[#parts + 1] = string.format("... (%d more keys)", #keys - MAX_ITEMS) break end
    local key = is_identifier(k) and k or ("[" .. repl.pretty(k, depth + 1, seen) .. "]")
    parts[#parts + 1] = key .. " = " .. repl.pretty(v[k], depth + 1, seen)
  end
  seen[v] = nil
  local one = "{ " .. table.concat(parts, ", ") .. " }"
  if #one <= 100 then return #parts == 0 and "{}" or one end
  local pad = string.rep("  ", depth + 1)
  return "{\n" .. pad .. table.concat(parts, ",\n" .. pad) .. "\n" .. string.rep("  ", depth) .. "}"
end

-- Compiles a line as "return <line>" first (an expression), else as a statement; "incomplete" when more is needed.
local function compile(source)
  local chunk = load("return " .. source, "=stdin")
  if chunk then return chunk end
  local c2, err = load(source, "=stdin")
  if c2 then return c2 end
  if err:match("<eof>$") then return nil, "incomplete" end
  return nil, err
end

local function preload_globals()
  local mods = { cs = "mercado.colstore", stats = "mercado.stats", kmeans = "mercado.kmeans",
    fpgrowth = "mercado.fpgrowth", pg = "mercado.pg", json = "mercado.json", sys = "mercado.sys",
    flow = "mercado.flow", cjson = "cjson", lfs = "lfs" }
  for g, m in pairs(mods) do
    local ok, mod = pcall(require, m)
    if ok then rawset(_G, g, mod) end
  end
end

function repl.run()
  preload_globals()
  sys.signal_mode("cancel")
  local interactive = sys.isatty(0)
  local history = (os.getenv("MERCADO_HISTORY") or ((os.getenv("HOME") or ".") .. "/.mercado_history"))
  if interactive then
    sys.history_file("read", history)
    io.stdout:write("mercado ", sys.version(), " (", _VERSION, ")  modules: cs stats kmeans fpgrowth pg json sys flow\n")
  end
  local buffer = nil
  while true do
    local line = sys.readline(interactive and (buffer and ">> " or "> ") or nil)
    if line == nil then break end      -- end of input
    if line == false then              -- Ctrl-C at the prompt
      io.stdout:write("\n")
      sys.clear_interrupt(true)
      buffer = nil
    else
      local source = buffer and (buffer .. "\n" .. line) or line
      local chunk, cerr = compile(source)
      if cerr == "incomplete" then
        buffer = source
      else
        buffer = nil
        if interactive and source:match("%S") then sys.add_history(source) end
        if not chunk then
          io.stderr:write(cerr, "\n")
        else
          sys.clear_interrupt(true)
          local res = table.pack(sys.call(nil, chunk))
          sys.clear_interrupt(true)
          if res[1] then
            if res.n > 1 then
              local parts = {}
              for i = 2, res.n do parts[#parts + 1] = repl.pretty(res[i]) end
              io.stdout:write(table.concat(parts, "\t"), "\n")
            end
          else
            local e = res[2]
            if type(e) == "table" and e.kind == "cancelled" then io.stderr:write("interrupted\n")
            else io.stderr:write(tostring(type(e) == "table" and e.message or e), "\n") end
          end
          io.stdout:flush()
        end
      end
    end
  end
  if interactive then
    io.stdout:write("\n")
    sys.history_file("write", history)
  end
  return 0
end

return repl
