#!/bin/sh
# Builds and runs the C baseline of pin_user_pages_fast + unpin_user_pages (see
# pin_baseline.c). Usage: Benchmarks/CPinBaseline/run.sh [MiB] [rounds] [model|thp]
set -e
dir=$(cd "$(dirname "$0")" && pwd)
out=${TMPDIR:-/tmp}/pin_baseline.$$
cc -O2 -std=c11 -o "$out" "$dir/pin_baseline.c"
"$out" "$@"
rm -f "$out"
