-- rlib.lua: helpers shared by the reliability tests: running mercado under a /bin/sh prologue (ulimit, trap),
-- listing and checking an output tree (every JSON file parses, nothing outside runs/ after a failed run), making a
-- directory read-only in a way that also stops root, and sampling a child's peak memory.
local sys = require "mercado.sys"
local json = require "mercado.json"

local R = {}

-- Whether this process runs as root (chmod does not stop root from writing).
function R.is_root()
  local p = io.popen("id -u 2>/dev/null")
  local uid = p and p:read("l")
  if p then p:close() end
  return uid == "0"
end

-- Runs a shell command quietly; returns whether it succeeded.
function R.sh(cmd)
  return os.execute(cmd .. " >/dev/null 2>&1") == true
end

-- Quotes a string for /bin/sh.
function R.q(s) return "'" .. tostring(s):gsub("'", "'\\''") .. "'" end

-- Spawns `bin args...` in dir after a shell prologue (e.g. "ulimit -f 4096; trap '' XFSZ"); returns the pid (the
-- shell execs mercado, so it is mercado's pid) and the stdout/stderr paths.
function R.spawn(bin, args, opts)
  opts = opts or {}
  local outp, errp = os.tmpname(), os.tmpname()
  local script = 'cd "$1" || exit 126; shift; ' .. (opts.prologue and (opts.prologue .. "; ") or "") .. 'exec "$@"'
  local argv = { "/bin/sh", "-c", script, "sh", opts.dir or ".", bin }
  for _, a in ipairs(args) do argv[#argv + 1] = a end
  local pid = assert(sys.spawn(argv, { stdout = outp, stderr = errp, env = opts.env, stdin = opts.stdin }))
  return pid, outp, errp
end

local function slurp(p)
  local f = io.open(p, "rb")
  local s = f and f:read("a") or ""
  if f then f:close() end
  os.remove(p)
  return s
end

local function peak_rss_kib(pid)
  local f = io.open("/proc/" .. pid .. "/status")
  if not f then return 0 end
  local text = f:read("a")
  f:close()
  return tonumber(text:match("VmHWM:%s*(%d+)")) or 0
end

-- Waits for spawned children running at the same time. jobs: array of {pid, outp, errp, sample_rss, timeout};
-- fills each with code (128 + signal when killed by one, -1 when it ran past its timeout (seconds, default the
-- `timeout` argument): it is then killed), out, err, how, and peak_kib (the highest resident memory seen while
-- polling /proc, when sample_rss is set).
function R.finish_all(jobs, timeout)
  local t0, left = sys.monotonic(), #jobs
  for _, j in ipairs(jobs) do j.peak_kib = 0 end
  while left > 0 do
    for _, j in ipairs(jobs) do
      if not j.how then
        if j.sample_rss then j.peak_kib = math.max(j.peak_kib, peak_rss_kib(j.pid)) end
        local how, code = sys.wait(j.pid, 0)
        if how ~= "running" then
          j.how, j.code, left = how, how == "signaled" and 128 + code or code, left - 1
        elseif sys.monotonic() - t0 > (j.timeout or timeout) then
          sys.kill(j.pid, "KILL")
          sys.wait(j.pid)
          j.how, j.code, left = "timeout", -1, left - 1
        end
        if j.how then j.out, j.err = slurp(j.outp), slurp(j.errp) end
      end
    end
    if left > 0 then sys.sleep(0.05) end
  end
  return jobs
end

-- Waits for one spawned child; returns code, stdout, stderr (see finish_all).
function R.finish(pid, outp, errp, timeout)
  local j = R.finish_all({ { pid = pid, outp = outp, errp = errp } }, timeout)[1]
  return j.code, j.out, j.err
end

-- Every regular file under dir (relative paths, sorted), optionally skipping the run ledger (runs/).
function R.files(dir, skip_runs)
  local out = {}
  local p = io.popen("cd " .. R.q(dir) .. " 2>/dev/null && find . -type f -print 2>/dev/null")
  if not p then return out end
  for line in p:lines() do
    local rel = line:gsub("^%./", "")
    if not (skip_runs and rel:match("^runs/")) then out[#out + 1] = rel end
  end
  p:close()
  table.sort(out)
  return out
end

-- Decodes a JSON file; returns the value or nil and why.
function R.read_json(path)
  local f = io.open(path, "rb")
  if not f then return nil, "missing" end
  local text = f:read("a")
  f:close()
  local ok, v = pcall(json.decode, text)
  if not ok then return nil, "not valid JSON (" .. tostring(v) .. ", " .. #text .. " bytes)" end
  return v
end

-- Checks an output tree: every *.json (and each line of every *.jsonl) parses. Returns a list of problems.
function R.check_tree(dir)
  local problems = {}
  for _, rel in ipairs(R.files(dir)) do
    local path = dir .. "/" .. rel
    if rel:match("%.json$") then
      local v, why = R.read_json(path)
      if v == nil then problems[#problems + 1] = rel .. ": " .. why end
    elseif rel:match("%.jsonl$") then
      local n = 0
      for line in io.lines(path) do
        n = n + 1
        if not pcall(json.decode, line) then problems[#problems + 1] = string.format("%s:%d: not a JSON line", rel, n) end
      end
    end
  end
  return problems
end

-- Temporary files left by interrupted atomic writes (name.tmp.<pid>) under dir.
function R.leftover_tmp(dir)
  local out = {}
  for _, rel in ipairs(R.files(dir)) do
    if rel:match("%.tmp%.%d+$") then out[#out + 1] = rel end
  end
  return out
end

-- Makes dir read-only in a way that stops the current user (root included). Returns a description of the method
-- and an undo function, or nil and why no method works here. Methods, in order: chmod 555 (not root), a read-only
-- bind mount of the directory onto itself, the immutable attribute (chattr +i).
function R.make_readonly(dir)
  local function refuses_writes()
    if sys.access(dir, "w") then return false end
    local probe = dir .. "/.probe"
    local f = io.open(probe, "w")
    if f then
      f:close()
      os.remove(probe)
      return false
    end
    return true
  end
  if not R.is_root() then
    R.sh("chmod 555 " .. R.q(dir))
    if refuses_writes() then return "chmod 555", function() R.sh("chmod 755 " .. R.q(dir)) end end
    R.sh("chmod 755 " .. R.q(dir))
    return nil, "chmod 555 does not stop writes here"
  end
  if R.sh("mount --bind " .. R.q(dir) .. " " .. R.q(dir)) then
    if R.sh("mount -o remount,bind,ro " .. R.q(dir)) and refuses_writes() then
      return "read-only bind mount", function() R.sh("umount " .. R.q(dir)) end
    end
    R.sh("umount " .. R.q(dir))
  end
  if R.sh("chattr +i " .. R.q(dir)) then
    if refuses_writes() then return "chattr +i", function() R.sh("chattr -i " .. R.q(dir)) end end
    R.sh("chattr -i " .. R.q(dir))
  end
  return nil, "running as root and neither a read-only bind mount nor chattr +i works here"
end

return R
