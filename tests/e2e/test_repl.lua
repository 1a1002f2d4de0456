-- test_repl.lua: the REPL driven through standard input (and through a pseudo-terminal when `script` is
-- available): evaluates expressions, keeps state between lines, continues incomplete statements, survives errors,
-- and Ctrl-C interrupts a running statement and returns to the prompt.
package.path = (os.getenv("MERCADO_SOURCE_ROOT") or ".") .. "/tests/lib/?.lua;" .. package.path
local T = require "testlib"
local sys = require "mercado.sys"

local dir = T.tmpdir("repl")

do
  local input = table.concat({
    "x = 20 + 1",
    "x * 2",
    "error('boom')",
    "x + 1",
    "function f(a)",
    "  return a * 3",
    "end",
    "f(x)",
    "{1, 2, k = 'v'}",
    "#cs.column('int32', {1, 2, 3})",
    "json.encode({a = 1})",
    "",
  }, "\n")
  local code, out, err = T.mercado({ "repl" }, { dir = dir, stdin = input, env = { HOME = dir } })
  T.eq(code, 0, "repl exit code at end of input")
  T.contains(out, "42", "expression value printed")
  T.contains(err, "boom", "error shown")
  T.contains(out, "22", "state kept after an error")
  T.contains(out, "63", "multi-line function defined and called")
  T.contains(out, '{ 1, 2, k = "v" }', "table pretty-printed")
  T.contains(out, "\n3\n", "modules preloaded (cs)")
  T.contains(out, '"{\\"a\\":1}"', "json preloaded")
end

-- Ctrl-C interrupts a running statement; the next lines still run.
do
  local outp, errp = os.tmpname(), os.tmpname()
  local marker = dir .. "/looping"
  local pid = assert(sys.spawn({ "/bin/sh", "-c", 'cd "$1" && exec "$2" repl', "sh", dir, T.bin },
    { stdin = "y = 5\nio.open('" .. marker .. "', 'w'):close() while true do end\nprint('after', y)\n",
      stdout = outp, stderr = errp, env = { HOME = dir } }))
  T.check(T.wait_for(marker, 60), "the loop started")
  sys.kill(pid, "INT")
  local how, code = sys.wait(pid, 20)
  if how == "running" then sys.kill(pid, "KILL") end
  T.eq(how .. tostring(code), "exited0", "repl survives Ctrl-C and ends at end of input")
  T.contains(T.read(errp), "interrupted", "interruption reported")
  T.contains(T.read(outp), "after\t5", "prompt returned with state intact")
  os.remove(outp); os.remove(errp)
end

-- Through a pseudo-terminal (line editing path), when util-linux `script` is present.
if os.execute("command -v script >/dev/null 2>&1") then
  local outp = os.tmpname()
  local cmd = string.format("cd '%s' && printf 'z = 6 * 7\\nz\\n' | HOME='%s' timeout 60 script -qec '%s repl' /dev/null > '%s' 2>&1",
    dir, dir, T.bin, outp)
  os.execute(cmd)
  T.contains(T.read(outp) or "", "42", "value printed through a pty")
  os.remove(outp)
else
  print("skip: no `script` command for the pseudo-terminal test")
end

T.done()
