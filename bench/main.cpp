// tokenguard_bench: the decision against its baselines, loading and memory.
// Run it through bench/run.sh, which builds in Release, repeats each
// benchmark and prints medians and ratios. Benchmarks in other bench_*.cpp
// files register themselves with BENCHMARK() and join this binary.

#include <benchmark/benchmark.h>

namespace tgbench {
void register_loading_benchmarks();
void register_piece_benchmarks();
void register_decision_benchmarks();
}  // namespace tgbench

int main(int argc, char** argv) {
  // Memory and loading first, while the heap is fresh; then the steps of a
  // decision on their own; then the decisions.
  tgbench::register_loading_benchmarks();
  tgbench::register_piece_benchmarks();
  tgbench::register_decision_benchmarks();
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
