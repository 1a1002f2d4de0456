-- testlib.lua: helpers for mercado's Lua tests: temporary directories, running the mercado binary as a child
-- process with captured output, and assertions that say what differed.
local sys = require "mercado.sys"

local T = {}

T.bin = os.getenv("MERCADO_BIN") or sys.exe_path()
T.root = os.getenv("MERCADO_SOURCE_ROOT") or "."

local failures, checks = 0, 0

function T.check(cond, fmt, ...)
  checks = checks + 1
  if not cond then
    failures = failures + 1
    io.stderr:write("FAIL: ", string.format(fmt, ...), "\n", debug.traceback("", 2), "\n")
  end
  return cond
end

function T.eq(got, want, what)
  return T.check(got == want, "%s: got %s, want %s", what, tostring(got), tostring(want))
end

function T.near(got, want, tol, what)
  return T.check(type(got) == "number" and math.abs(got - want) <= tol, "%s: got %s, want %s (+-%s)", what,
    tostring(got), tostring(want), tostring(tol))
end

function T.contains(s, sub, what)
  return T.check(type(s) == "string" and s:find(sub, 1, true) ~= nil, "%s: %q not found in:\n%s", what, sub, tostring(s))
end

function T.not_contains(s, sub, what)
  return T.check(type(s) == "string" and s:find(sub, 1, true) == nil, "%s: %q unexpectedly found in:\n%s", what, sub, tostring(s))
end

-- A fresh temporary directory (removed at exit unless MERCADO_KEEP_TMP is set).
local tmpdirs = {}
function T.tmpdir(tag)
  local base = os.getenv("TMPDIR") or "/tmp"
  local dir = string.format("%s/mercado-test-%s-%d-%d", base, tag or "t", sys.getpid(), #tmpdirs + 1)
  os.execute("rm -rf '" .. dir .. "'")
  assert(sys.mkdirs(dir))
  tmpdirs[#tmpdirs + 1] = dir
  return dir
end

function T.read(path)
  local f = io.open(path, "rb")
  if not f then return nil end
  local s = f:read("a")
  f:close()
  return s
end

function T.write(path, text)
  local f = assert(io.open(path, "wb"))
  f:write(text)
  f:close()
end

-- Runs mercado with args in dir; returns exit code, stdout, stderr. opts: stdin, env, timeout (s).
function T.mercado(args, opts)
  opts = opts or {}
  local dir = opts.dir or "."
  local outp, errp = os.tmpname(), os.tmpname()
  local argv = { "/bin/sh", "-c", 'cd "$1" && shift && exec "$@"', "sh", dir, T.bin }
  for _, a in ipairs(args) do argv[#argv + 1] = a end
  local pid = assert(sys.spawn(argv, { stdout = outp, stderr = errp, stdin = opts.stdin, env = opts.env }))
  if opts.background then return pid, outp, errp end
  local how, code = sys.wait(pid, opts.timeout or 120)
  if how == "running" then
    sys.kill(pid, "KILL")
    sys.wait(pid)
    how, code = "timeout", -1
  end
  local out, err = T.read(outp), T.read(errp)
  os.remove(outp)
  os.remove(errp)
  if how == "signaled" then code = 128 + code end
  return code, out, err
end

-- Waits until a file exists (or the timeout passes); returns whether it appeared.
function T.wait_for(path, timeout)
  local t0 = sys.monotonic()
  while sys.monotonic() - t0 < (timeout or 10) do
    if sys.stat(path) then return true end
    sys.sleep(0.02)
  end
  return false
end

function T.done()
  if not os.getenv("MERCADO_KEEP_TMP") then
    for _, d in ipairs(tmpdirs) do os.execute("rm -rf '" .. d .. "'") end
  end
  io.stdout:write(string.format("%d checks, %d failed\n", checks, failures))
  os.exit(failures == 0 and 0 or 1)
end

return T
