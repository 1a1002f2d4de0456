#!/bin/sh
# valgrind.sh [DRIVER.lua...]: runs mercado under Valgrind memcheck for complete runs and fails on any memory error
# or any definitely or indirectly lost block. Each DRIVER is a Lua test run natively with MERCADO_BIN pointing at a
# wrapper that execs valgrind, one log file per mercado process; the logs are checked at the end. Default drivers:
# tests/reliability/valgrind_runs.lua (flows with retries, executive_summary and analytics, master on generated
# data, runs/logs, the REPL on stdin and its Ctrl-C, gen, -e, a cancelled run, reader errors, a full disk) and the
# CLI end-to-end test tests/e2e/test_flow_engine.lua. (tests/e2e/test_repl.lua sends its Ctrl-C 1 s after start,
# before a valgrind-slowed REPL has its handler, so valgrind_runs.lua covers that path waiting for a marker.)
# Environment (set by meson): MERCADO_BIN (a build without sanitizers; -g gives readable stacks),
# MERCADO_SOURCE_ROOT. Exit 77 (meson: skipped) when valgrind is missing or the binary has ASan in it.
set -u
bin=${MERCADO_BIN:?MERCADO_BIN must name the mercado binary}
root=${MERCADO_SOURCE_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
drivers="$*"
[ -n "$drivers" ] || drivers="$root/tests/reliability/valgrind_runs.lua $root/tests/e2e/test_flow_engine.lua"

if ! command -v valgrind >/dev/null 2>&1; then
  echo "skip: valgrind is not installed (apt-get install valgrind)"
  exit 77
fi
if grep -q __asan_init "$bin" 2>/dev/null; then
  echo "skip: $bin is built with AddressSanitizer; valgrind needs a build without sanitizers"
  exit 77
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir "$work/logs"
# The wrapper: every mercado started as $MERCADO_BIN runs under memcheck. A run on a terminal (the REPL driven
# through `script` in test_repl.lua) runs without valgrind: its input is typed into the pseudo-terminal before the
# slow valgrind start-up has set the terminal up, which then discards it and the test would wait forever.
cat >"$work/mercado" <<EOF
#!/bin/sh
[ -t 0 ] && exec "$bin" "\$@"
exec valgrind -q --leak-check=full --show-leak-kinds=definite,indirect --errors-for-leak-kinds=definite,indirect \\
  --error-exitcode=99 --num-callers=30 --suppressions="$root/tests/reliability/valgrind.supp" \\
  --log-file="$work/logs/vg.%p.log" "$bin" "\$@"
EOF
chmod +x "$work/mercado"

failed=0
start=$(date +%s)
run() { # run LABEL FILE.lua: a Lua test driving $MERCADO_BIN (the wrapper); the driver itself runs natively
  t0=$(date +%s)
  if MERCADO_BIN="$work/mercado" MERCADO_SOURCE_ROOT="$root" "$bin" exec "$2" >"$work/out.txt" 2>&1; then
    cat "$work/out.txt"
    echo "ok $1 ($(( $(date +%s) - t0 )) s)"
  else
    echo "FAIL: $1 (exit $?):"
    tail -n 60 "$work/out.txt"
    failed=1
  fi
}
for t in $drivers; do run "$(basename "$t") under valgrind" "$t"; done

# The logs: with -q valgrind writes nothing for a clean process, so any text is an error or a leak record.
# A process killed by SIGKILL (the crash tests) leaves an empty log: it never reached its leak check.
nlogs=$(find "$work/logs" -name 'vg.*.log' | wc -l)
bad=0
for f in "$work"/logs/vg.*.log; do
  [ -s "$f" ] || continue
  bad=$((bad + 1))
  echo "---- valgrind report $(basename "$f"):"
  head -n 80 "$f"
done
echo "$nlogs mercado processes ran under valgrind, $bad with errors or leaks ($(( $(date +%s) - start )) s)"
[ "$nlogs" -ge 5 ] || { echo "FAIL: too few processes ran under valgrind: the wrapper was not used"; failed=1; }
[ "$bad" -eq 0 ] || failed=1
exit $failed
