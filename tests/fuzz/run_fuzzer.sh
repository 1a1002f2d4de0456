#!/bin/sh
# run_fuzzer.sh FUZZER SECONDS CORPUS: runs a libFuzzer target for a fixed time on a copy of its checked-in corpus
# (new inputs go to a temporary directory, never into the source tree). A crash fails the test and leaves the
# crashing input in the working directory (add it to the corpus once fixed).
set -eu
fuzzer=$1 seconds=$2 corpus=$3
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
mkdir new
"$fuzzer" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 new "$corpus" 2>&1 | tail -n 15
