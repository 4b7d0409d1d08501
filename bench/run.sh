#!/usr/bin/env bash
# One command: build tokenguard_bench in Release (in build-bench), run the
# suite with repetitions, print medians and ratios to each baseline.
#
#   bench/run.sh [--rev REV] [--repetitions N] [--min-time SECONDS] [--filter REGEX]
#
#   --rev REV        measure the library headers of commit REV (exported from
#                    git) instead of the working tree's include/
#   --repetitions N  repetitions of each benchmark; the report takes medians (default 5)
#   --min-time S     minimum time of one repetition of a decision benchmark (default 0.05)
#   --filter REGEX   only the benchmarks whose name matches (Google Benchmark syntax)
#
# Environment: TOKENGUARD_BENCH_BUILD (build directory, default build-bench),
# TOKENGUARD_BENCH_JOBS (parallel compile jobs, default 1).
# Output: the Markdown report on stdout and in $build/report.md; the raw JSON
# in $build/results.json.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${TOKENGUARD_BENCH_BUILD:-$root/build-bench}
jobs=${TOKENGUARD_BENCH_JOBS:-1}
rev=""
repetitions=5
min_time=0.05
filter=""
while [ $# -gt 0 ]; do
  case "$1" in
    --rev) rev=$2; shift 2 ;;
    --repetitions) repetitions=$2; shift 2 ;;
    --min-time) min_time=$2; shift 2 ;;
    --filter) filter=$2; shift 2 ;;
    -h|--help) sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "bench/run.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done

mkdir -p "$build"
include_dir=""
if [ -n "$rev" ]; then
  sha=$(git -C "$root" rev-parse --verify "$rev^{commit}")
  # Keyed by include/'s tree: commits that leave the library alone reuse the build.
  tree=$(git -C "$root" rev-parse "$sha:include")
  include_dir="$build/library-$tree/include"
  if [ ! -d "$include_dir" ]; then
    rm -rf "$build/library-$tree.partial"
    mkdir -p "$build/library-$tree.partial"
    git -C "$root" archive "$sha" include | tar -x -C "$build/library-$tree.partial"
    mv "$build/library-$tree.partial" "$build/library-$tree"
  fi
  measured="commit $sha (headers exported from git)"
else
  sha=$(git -C "$root" rev-parse HEAD 2>/dev/null || echo unknown)
  if [ -n "$(git -C "$root" status --porcelain -- include 2>/dev/null)" ]; then
    measured="working tree on $sha, with uncommitted changes in include/"
  else
    measured="commit $sha"
  fi
fi

cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DTOKENGUARD_BUILD_BENCHMARKS=ON -DTOKENGUARD_BUILD_TESTS=OFF -DTOKENGUARD_BUILD_TOOLS=OFF \
  -DTOKENGUARD_INSTALL=OFF -DTOKENGUARD_BENCH_INCLUDE_DIR="$include_dir" >/dev/null
ninja -C "$build" -j "$jobs" tokenguard_bench >&2

args=(--benchmark_repetitions="$repetitions" --benchmark_report_aggregates_only=true
      --benchmark_min_time="$min_time" --benchmark_out="$build/results.json"
      --benchmark_out_format=json)
[ -n "$filter" ] && args+=(--benchmark_filter="$filter")

# The generated store files (about 400 MB each) live in the build directory
# for the run only.
trap 'rm -f "$build"/tokenguard-bench-store-*.json' EXIT
echo "running tokenguard_bench (progress on stderr) ..." >&2
TOKENGUARD_BENCH_DIR="$build" "$build/tokenguard_bench" "${args[@]}" >&2

model=$(lscpu | sed -n 's/^Model name: *//p' | head -n 1)
cores=$(nproc)
command="bench/run.sh"
[ -n "$rev" ] && command+=" --rev $rev"
[ "$repetitions" != 5 ] && command+=" --repetitions $repetitions"
[ "$min_time" != 0.05 ] && command+=" --min-time $min_time"
[ -n "$filter" ] && command+=" --filter '$filter'"
python3 "$root/bench/report.py" "$build/results.json" --commit "$measured" \
  --machine "$model, $cores cores ($(uname -m)), $(free -g | awk '/^Mem:/ {print $2}') GiB RAM, g++ $(g++ -dumpfullversion), CMake Release (-O3)" \
  --command "$command" | tee "$build/report.md"
