#!/bin/sh
# run_fuzzer.sh FUZZER SECONDS CORPUS: runs a libFuzzer target for a fixed time on a copy of its checked-in corpus
# (new inputs go to a temporary directory, never into the source tree). A crash fails the test; the crashing input
# is kept in ${TMPDIR:-/tmp}/mercado-fuzz-crashes/ (add it to the corpus once fixed).
set -eu
fuzzer=$1 seconds=$2 corpus=$3
work=$(mktemp -d)
keep="${TMPDIR:-/tmp}/mercado-fuzz-crashes"
mkdir -p "$keep"
trap 'rm -rf "$work"' EXIT
cd "$work"
mkdir new
status=0
"$fuzzer" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
  -artifact_prefix="$keep/$(basename "$fuzzer")-" new "$corpus" >log 2>&1 || status=$?
tail -n 15 log
[ "$status" -eq 0 ] && exit 0
# libFuzzer reports a crash with exit status 77, which meson would count as a skipped test: always fail with 1
echo "fuzzer failed (status $status); crashing inputs are in $keep"
exit 1
