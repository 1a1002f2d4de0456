-- test_faults.lua: faults while a flow writes its outputs.
--   1. SIGKILL at spread-out moments of a run that rewrites 40 outputs: after every kill each output is the
--      complete old or the complete new version (values recomputed here), and the run ledger still parses.
--   2. Disk full: a file-size limit (`ulimit -f`, SIGXFSZ ignored, so write() fails with EFBIG) and, where this
--      process may mount, a small tmpfs (ENOSPC): the flow fails (exit 1) naming the file and the reason, the
--      previous version of that output is intact and no temporary file is left behind.
--   3. A read-only output directory (chmod 555, or for root a read-only bind mount or chattr +i): exit 2 with a
--      message naming the directory before any work (the flow's first action never happens); a read-only
--      subdirectory met mid-run fails the flow naming the file.
package.path = (os.getenv("MERCADO_SOURCE_ROOT") or ".") .. "/tests/?.lua;" .. (os.getenv("MERCADO_SOURCE_ROOT") or ".")
  .. "/tests/lib/?.lua;" .. package.path
local T = require "testlib"
local R = require "reliability.rlib"
local sys = require "mercado.sys"

local WRITER = T.root .. "/tests/reliability/fixtures/writer.lua"
local FILES, ITEMS = 40, 10000

-- Same formula as the fixture flow (tests/reliability/fixtures/writer.lua).
local function value(version, i, k) return (version * 7919 + i * 104729 + k * 31) % 1000003 end

-- Reads part i; returns its version if it is a complete, correct file, else nil and why.
local function part_version(dir, i, items)
  local v, why = R.read_json(string.format("%s/data/part_%02d.json", dir, i))
  if not v then return nil, why end
  if v.index ~= i or v.n ~= items or type(v.payload) ~= "table" or #v.payload ~= items then
    return nil, "wrong shape"
  end
  for k = 1, items do
    if v.payload[k] ~= value(v.version, i, k) then return nil, "value " .. k .. " does not match its version" end
  end
  return v.version
end

local function run_writer(dir, params, opts)
  opts = opts or {}
  local args = { "run", WRITER, "-q", table.unpack(opts.args or {}) }
  for _, kv in ipairs(params) do args[#args + 1] = "-p"; args[#args + 1] = kv end
  local pid, o, e = R.spawn(T.bin, args, { dir = dir, prologue = opts.prologue })
  if opts.background then return pid, o, e end
  return R.finish(pid, o, e, opts.timeout or 120)
end

-- 1. SIGKILL while writing.
do
  local dir = T.tmpdir("kill")
  local out = dir .. "/output"
  local t0 = sys.monotonic()
  local code, _, err = run_writer(dir, { "version=1", "items=" .. ITEMS })
  local full = sys.monotonic() - t0
  T.eq(code, 0, "first complete run exit code (" .. err .. ")")
  local cur = {}
  for i = 1, FILES do
    cur[i] = part_version(out, i, ITEMS)
    T.eq(cur[i], 1, "part " .. i .. " after the complete run")
  end
  local rounds, mixed, leftovers = 8, 0, 0
  for r = 1, rounds do
    local version = r + 1
    local pid, o, e = run_writer(dir, { "version=" .. version, "items=" .. ITEMS }, { background = true })
    sys.sleep(full * (0.05 + 0.9 * (r - 1) / (rounds - 1)) * (0.9 + 0.2 * math.random()))
    sys.kill(pid, "KILL")
    local kcode = R.finish(pid, o, e, 30)
    local new, old = 0, 0
    for i = 1, FILES do
      local v, why = part_version(out, i, ITEMS)
      T.check(v == cur[i] or v == version, "round %d (exit %d): part %d is neither the complete old (%s) nor the "
        .. "complete new (%d) version: %s", r, kcode, i, tostring(cur[i]), version, tostring(why or v))
      if v == version then new = new + 1 elseif v == cur[i] then old = old + 1 end
      cur[i] = v or cur[i]
    end
    if new > 0 and old > 0 then mixed = mixed + 1 end
    local problems = R.check_tree(out)
    T.check(#problems == 0, "round %d: unreadable files after SIGKILL:\n%s", r, table.concat(problems, "\n"))
    leftovers = #R.leftover_tmp(out)
  end
  -- the kills are spread over the run, so some must have landed while parts were being rewritten
  T.check(mixed >= 1, "no kill landed while outputs were being written (run takes %.2f s): the test proves nothing", full)
  print(string.format("ok sigkill: %d kills over a %.2f s run, %d mid-write, %d temporary files left behind",
    rounds, full, mixed, leftovers))
  -- a later complete run replaces everything
  T.eq((run_writer(dir, { "version=100", "items=" .. ITEMS })), 0, "complete run after the kills")
  for i = 1, FILES do T.eq(part_version(out, i, ITEMS), 100, "part " .. i .. " after the final run") end
  T.eq((R.read_json(out .. "/data/done.json") or {}).version, 100, "done.json after the final run")
end

-- 2. Disk full: `prologue` runs in the shell before exec (the file-size limit); `out` is the output directory.
local function check_disk_full(tag, dir, out, prologue, reason)
  local function writer(version, bytes)
    local args = { "run", WRITER, "--output", out, "-p", "version=" .. version, "-p", "big_bytes=" .. bytes,
      "-p", "files=1", "-p", "items=10", "-q" }
    local pid, o, e = R.spawn(T.bin, args, { dir = dir, prologue = prologue })
    return R.finish(pid, o, e, 60)
  end
  local code, _, err = writer(1, 200000)
  T.eq(code, 0, tag .. ": first run fits (" .. err .. ")")
  local code2, _, err2 = writer(2, 8000000)
  T.eq(code2, 1, tag .. ": exit code when the disk fills")
  T.contains(err2, "big.json", tag .. ": the error names the file")
  T.contains(err2, reason, tag .. ": the error gives the reason")
  local big = R.read_json(dir .. "/" .. out .. "/data/big.json") or {}
  T.eq(big.version, 1, tag .. ": the previous big.json is kept")
  T.eq(type(big.pad) == "string" and #big.pad, 200000, tag .. ": the previous big.json is complete")
  T.eq(part_version(dir .. "/" .. out, 1, 10), 2, tag .. ": the part written before the failure is the new one")
  T.eq((R.read_json(dir .. "/" .. out .. "/data/done.json") or {}).version, 1, tag .. ": done.json not rewritten")
  local left = R.leftover_tmp(dir .. "/" .. out)
  T.check(#left == 0, "%s: temporary files left after the failed write: %s", tag, table.concat(left, ", "))
  local problems = R.check_tree(dir .. "/" .. out)
  T.check(#problems == 0, "%s: unreadable files:\n%s", tag, table.concat(problems, "\n"))
  local runs = sys.glob(dir .. "/" .. out .. "/runs/*/run.json")
  table.sort(runs)
  local rec = R.read_json(runs[#runs]) or {}
  T.eq(rec.state, "Failed", tag .. ": the run is recorded as Failed")
  T.contains(rec.error and rec.error.message or "", reason, tag .. ": the recorded error gives the reason")
  print("ok disk full (" .. tag .. ")")
end

do -- a file-size limit: 4096 blocks (2 MiB in dash's 512-byte blocks, 4 MiB in bash's 1 KiB ones)
  local dir = T.tmpdir("fsize")
  check_disk_full("ulimit -f", dir, "output", "ulimit -f 4096 && trap '' XFSZ", "File too large")
end

do -- a 4 MiB tmpfs, where this process may mount one
  local dir = T.tmpdir("tmpfs")
  sys.mkdirs(dir .. "/small")
  if R.is_root() and R.sh("mount -t tmpfs -o size=4m tmpfs " .. R.q(dir .. "/small")) then
    local ok, e = pcall(check_disk_full, "tmpfs", dir, "small", nil, "No space left on device")
    R.sh("umount " .. R.q(dir .. "/small"))
    if not ok then error(e, 0) end
  else
    print("skip: cannot mount a tmpfs here (needs root and CAP_SYS_ADMIN); the file-size limit case covers disk full")
  end
end

-- 3. Read-only output directory.
do
  local dir = T.tmpdir("readonly")
  local ro = dir .. "/ro"
  T.eq((run_writer(dir, { "version=1", "files=2", "items=10" }, { args = { "--output", "ro" } })), 0,
    "first run into the directory made read-only next")
  local how, undo = R.make_readonly(ro)
  if not how then
    print("skip: no way to make a read-only directory here: " .. undo)
  else
    local ok, e = pcall(function()
      for _, out in ipairs { "ro", "ro/sub" } do
        local marker = dir .. "/started-" .. out:gsub("/", "_")
        local args = { "run", WRITER, "--output", out, "-p", "marker=" .. marker, "-p", "files=2", "-p", "items=10" }
        local pid, o, er = R.spawn(T.bin, args, { dir = dir })
        local code, _, err = R.finish(pid, o, er, 60)
        T.eq(code, 2, "read-only --output " .. out .. " (" .. how .. "): exit code")
        T.contains(err, out, "read-only --output " .. out .. ": the directory is named")
        T.check(err:find("Read%-only file system") or err:find("Permission denied") or err:find("Operation not permitted"),
          "read-only --output %s: the reason is given: %s", out, err)
        T.check(sys.stat(marker) == nil, "read-only --output %s: the flow started working", out)
      end
      T.eq(part_version(ro, 1, 10), 1, "outputs in the read-only directory intact")
    end)
    undo()
    if not ok then error(e, 0) end
    -- a read-only subdirectory met while running: the flow fails naming the file; earlier outputs stay
    local how2, undo2 = R.make_readonly(ro .. "/data")
    if how2 then
      local ok2, e2 = pcall(function()
        local pid, o, er = R.spawn(T.bin, { "run", WRITER, "--output", "ro", "-p", "version=2", "-p", "files=2",
          "-p", "items=10", "-q" }, { dir = dir })
        local code, _, err = R.finish(pid, o, er, 60)
        T.eq(code, 1, "read-only data/ (" .. how2 .. "): exit code")
        T.contains(err, "part_01.json", "read-only data/: the file is named")
        T.eq(part_version(ro, 1, 10), 1, "read-only data/: previous output intact")
      end)
      undo2()
      if not ok2 then error(e2, 0) end
    end
    print("ok read-only output directory (" .. how .. ")")
  end
end

T.done()
