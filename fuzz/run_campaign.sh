#!/usr/bin/env bash
# Bounded fuzzing campaign over every fuzz target (issue 6): builds the
# libFuzzer targets with clang + ASan + UBSan, runs each for a bounded time,
# then replays the corpus it grew through an uninstrumented build, which times
# every input and, for rules and decision, every evaluate()/decide() call.
# Prints executions, exec/s and findings per target; exits 1 when any target
# found something (crash, leak, UB, timeout, confirmed slow unit, OOM), when a
# replayed input took over the hang limit, or when one decision (rules,
# decision) took over the decision limit (issue 6: 100 ms).
#
# usage: fuzz/run_campaign.sh [seconds-per-target] [target...]
#   seconds-per-target  default 60 (CI); a longer campaign passes more
#   target              rules store credentials canonical_url decision service
#                       (default: every target that is built)
# environment:
#   TOKENGUARD_FUZZ_BUILD  build directory (default build-fuzz)
#   TOKENGUARD_FUZZ_WORK   where corpora and findings go (default $BUILD/campaign)
#   TOKENGUARD_FUZZ_DECISION_MS  limit for one decide()/evaluate() in the replay (default 100)
#   TOKENGUARD_FUZZ_HANG_MS  limit for one whole input in the replay (default 1000; the
#                          harnesses compile rules, and decision runs an unbounded reference)
#   TOKENGUARD_FUZZ_JOBS   build parallelism (default 1: the machine is shared)
#   TOKENGUARD_FUZZ_SEED   libFuzzer's -seed (default: a random seed each run); CI fixes
#                          it, so that a finding can be chased with the same seed
#   TOKENGUARD_FUZZ_SANITIZE  sanitizers beside libFuzzer (default address,undefined).
#                          "undefined" fuzzes at 2-3 times the speed, for long campaigns;
#                          the corpus each run grew is then replayed through an
#                          ASan+UBSan build ($BUILD-asan) with leak detection, so every
#                          input the campaign kept is also checked for memory errors
#                          and leaks.
#
# A campaign may span several runs on one work directory: each run resumes
# from the corpus the previous ones grew, appends a line to
# $WORK/<target>/runs.tsv, and the summary prints the executions of all runs.
#
# One libFuzzer process per target, one worker (equivalent to -jobs=1
# -workers=1, without the fork). New inputs go to the work directory, never
# into fuzz/corpus/: a reproducer becomes a regression input there by hand,
# after the fix lands.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=${1:-60}
shift || true
build=${TOKENGUARD_FUZZ_BUILD:-build-fuzz}
work=${TOKENGUARD_FUZZ_WORK:-$build/campaign}
decision_ms=${TOKENGUARD_FUZZ_DECISION_MS:-100}
hang_ms=${TOKENGUARD_FUZZ_HANG_MS:-1000}
jobs=${TOKENGUARD_FUZZ_JOBS:-1}
sanitize=${TOKENGUARD_FUZZ_SANITIZE:-address,undefined}
asan_replay=0
[[ ",$sanitize," == *,address,* ]] || asan_replay=1
revision=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)

all_targets=(rules store credentials canonical_url decision)
[[ -f include/tokenguard/service.hpp && -f fuzz/fuzz_service.cpp ]] && all_targets+=(service)
targets=("$@")
[[ ${#targets[@]} -eq 0 ]] && targets=("${all_targets[@]}")

cmake -S fuzz -B "$build" -G Ninja -DCMAKE_CXX_COMPILER=clang++ \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo -DTOKENGUARD_BUILD_FUZZERS=ON \
  -DTOKENGUARD_FUZZ_SANITIZE="$sanitize" >/dev/null
build_targets=()
for t in "${targets[@]}"; do build_targets+=("fuzz_$t" "tokenguard_fuzz_replay_$t"); done
cmake --build "$build" -j "$jobs" --target "${build_targets[@]}"
if [[ $asan_replay -eq 1 ]]; then
  cmake -S fuzz -B "$build-asan" -G Ninja -DCMAKE_CXX_COMPILER=clang++ \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo -DTOKENGUARD_BUILD_FUZZERS=ON \
    -DTOKENGUARD_FUZZ_SANITIZE=address,undefined >/dev/null
  asan_targets=()
  for t in "${targets[@]}"; do asan_targets+=("fuzz_$t"); done
  cmake --build "$build-asan" -j "$jobs" --target "${asan_targets[@]}"
fi

# -timeout: seconds, libFuzzer's unit; the 100 ms target is checked by the
#   uninstrumented replay below (sanitizers make most inputs 2-5x slower and
#   Boost's regex compiler 20-40x: a store whose rules compile in 50 ms took
#   over 2 s, and the differential target also runs the unbounded reference
#   matcher). A slow unit or timeout is then judged uninstrumented.
# -report_slow_units: report any input over 2 s while fuzzing.
# -rss_limit_mb: an input that needs more than 2 GiB is a finding (OOM).
# -detect_leaks=1: LeakSanitizer at exit and on suspicious inputs.
options=(-max_total_time="$seconds" -timeout=10 -report_slow_units=2 -rss_limit_mb=2048
         -detect_leaks=1 -print_final_stats=1 -print_pcs=0)
[[ -n "${TOKENGUARD_FUZZ_SEED:-}" ]] && options+=(-seed="$TOKENGUARD_FUZZ_SEED")

summary=()
failed=0
for t in "${targets[@]}"; do
  dir="$work/$t"
  mkdir -p "$dir/corpus" "$dir/findings"
  log="$dir/fuzz.log"
  dict=()
  [[ -f "fuzz/dict/$t.dict" ]] && dict=(-dict="fuzz/dict/$t.dict")
  echo "=== fuzz_$t: ${seconds}s (log: $log)"
  started=$SECONDS
  set +e
  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    "$build/fuzz_$t" "${options[@]}" "${dict[@]}" -artifact_prefix="$dir/findings/" \
    "$dir/corpus" "fuzz/corpus/fuzz_$t" >"$log" 2>&1
  status=$?
  set -e
  elapsed=$((SECONDS - started))
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
  # A slow unit or a timeout under the sanitizers may be their cost (Boost's
  # regex compiler runs 20-40 times slower under ASan+UBSan) or the machine's
  # load: it is a finding only when the uninstrumented build, the one that
  # ships, also takes over the hang limit on it (the fastest of three runs).
  unconfirmed=0
  timeouts_confirmed=0
  for unit in "$dir"/findings/slow-unit-* "$dir"/findings/timeout-*; do
    [[ -e "$unit" ]] || continue
    fastest=999999
    for _ in 1 2 3; do
      ms=$(timeout 120 "$build/tokenguard_fuzz_replay_$t" "$unit" 2>&1 |
           sed -n 's/^replayed .*slowest \([0-9]*\)\.[0-9]* ms.*/\1/p')
      [[ -n "$ms" && "$ms" -lt "$fastest" ]] && fastest=$ms
    done
    if [[ "$fastest" -lt "$hang_ms" ]]; then
      echo "    $(basename "$unit"): ${fastest} ms uninstrumented, under ${hang_ms} ms: the sanitizers' cost, not a finding"
      mkdir -p "$dir/unconfirmed"
      mv "$unit" "$dir/unconfirmed/"
      unconfirmed=$((unconfirmed + 1))
    elif [[ "$(basename "$unit")" == timeout-* ]]; then
      timeouts_confirmed=$((timeouts_confirmed + 1))
    fi
  done
  # libFuzzer stops with status 70 at a timeout; one the replay cleared is not a failure.
  if [[ $status -eq 70 && $timeouts_confirmed -eq 0 && -d "$dir/unconfirmed" ]]; then
    status=0
  fi
  findings=$(find "$dir/findings" -type f | wc -l)
  corpus=$(find "$dir/corpus" -type f | wc -l)
  # The grown corpus through an uninstrumented build: the slowest input.
  set +e
  replay=$("$build/tokenguard_fuzz_replay_$t" --quiet --slow-ms="$hang_ms" "$dir/corpus" \
             "fuzz/corpus/fuzz_$t" 2>&1)
  replay_status=$?
  set -e
  slowest_replay=$(printf '%s\n' "$replay" | sed -n 's/^replayed .*slowest \([0-9.]*\) ms.*/\1/p')
  fuzzing_figures=$(grep -h '^fuzz_.* figures:' "$log" | tail -1 || true)
  figures=$(printf '%s\n' "$replay" | grep -h '^fuzz_.* figures:' | tail -1 || true)
  slowest_decision=$(printf '%s\n' "$figures" |
                     sed -n 's/.*slowest \(decision\|evaluation\) \([0-9.]*\) ms.*/\2/p')
  # A fast (UBSan only) run: every input it kept, through ASan+UBSan with leak detection.
  asan_status=0
  if [[ $asan_replay -eq 1 ]]; then
    set +e
    ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
      "$build-asan/fuzz_$t" -runs=0 -timeout=60 -rss_limit_mb=2048 -detect_leaks=1 \
      -artifact_prefix="$dir/findings/asan-replay-" "$dir/corpus" "fuzz/corpus/fuzz_$t" \
      >"$dir/asan-replay.log" 2>&1
    asan_status=$?
    set -e
    findings=$(find "$dir/findings" -type f | wc -l)
  fi
  # date, revision, sanitizers, seconds asked, executions, exec/s, findings,
  # exit status (fuzzing/ASan replay), seconds the fuzzing took (a timeout ends a run early)
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$(date -u +%FT%TZ)" "$revision" "$sanitize" \
    "$seconds" "${runs:-0}" "${rate:-0}" "$findings" "$status/$asan_status" "$elapsed" >>"$dir/runs.tsv"
  total_runs=$(awk -F'\t' '{ n += $5 } END { print n + 0 }' "$dir/runs.tsv")
  run_count=$(wc -l <"$dir/runs.tsv")
  line=$(printf '%-14s runs %12s  exec/s %7s  findings %s  exit %s  corpus %6s  slowest %s ms (replay)%s' \
         "$t" "${runs:-?}" "${rate:-?}" "$findings" "$status" "$corpus" "${slowest_replay:-?}" \
         "$([[ $unconfirmed -ne 0 ]] && echo ", $unconfirmed slow only under sanitizers")")
  [[ $asan_replay -eq 1 ]] && line+=", ASan+UBSan replay exit $asan_status"
  [[ $run_count -gt 1 ]] && line+=", $total_runs executions in $run_count runs on this corpus"
  echo "$line"
  [[ -n "$fuzzing_figures" ]] && echo "               fuzzing (sanitizers): $fuzzing_figures"
  [[ -n "$figures" ]] && echo "               replay (uninstrumented): $figures"
  summary+=("$line")
  if [[ $status -ne 0 || $findings -ne 0 ]]; then
    failed=1
    echo "--- fuzz_$t found something; the end of its log:"
    tail -40 "$log"
    ls -l "$dir/findings"
  fi
  if [[ $asan_status -ne 0 ]]; then
    failed=1
    echo "--- the ASan+UBSan replay of the fuzz_$t corpus failed; the end of its log:"
    tail -40 "$dir/asan-replay.log"
  fi
  if [[ -n "$slowest_decision" ]] &&
     awk -v a="$slowest_decision" -v b="$decision_ms" 'BEGIN { exit !(a > b) }'; then
    failed=1
    echo "--- fuzz_$t: one decision took ${slowest_decision} ms, over ${decision_ms} ms"
  fi
  if [[ $replay_status -ne 0 ]]; then
    failed=1
    echo "--- replay of the fuzz_$t corpus failed:"
    printf '%s\n' "$replay" | grep -v '^replay ' | tail -20
  fi
done

echo
echo "=== campaign summary (${seconds}s per target, clang -fsanitize=fuzzer,$sanitize)"
printf '%s\n' "${summary[@]}"
exit $failed
