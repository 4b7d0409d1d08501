// Replays inputs through a fuzz target without libFuzzer, so that any
// compiler can build the targets and ordinary CI can run the seed corpora
// (and the regression inputs kept beside them) as tests.
//
// usage: <replay-binary> [--slow-ms=N] [--quiet] FILE_OR_DIRECTORY...
// Directories are read one level deep, files in name order. A target reports
// a broken invariant by aborting, so reaching the end means every input passed.
// Each input is timed; the slowest is printed, and with --slow-ms=N an input
// that takes longer than N milliseconds (the fastest of three runs) fails the
// run (exit 1), which is how run_campaign.sh checks an uninstrumented build
// against the 100 ms target.

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

namespace {

bool read_file(const std::filesystem::path& path, std::vector<std::uint8_t>& out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  out.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  return !in.bad();
}

}  // namespace

int main(int argc, char** argv) {
  double slow_ms = -1;
  bool quiet = false;
  std::vector<std::filesystem::path> inputs;
  bool any_argument = false;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg_text(argv[i]);
    if (arg_text.starts_with("--slow-ms=")) {
      slow_ms = std::strtod(argv[i] + 10, nullptr);
      continue;
    }
    if (arg_text == "--quiet") {
      quiet = true;
      continue;
    }
    any_argument = true;
    const std::filesystem::path arg(argv[i]);
    std::error_code ec;
    if (std::filesystem::is_directory(arg, ec)) {
      std::vector<std::filesystem::path> files;
      for (const auto& entry : std::filesystem::directory_iterator(arg, ec)) {
        if (entry.is_regular_file()) files.push_back(entry.path());
      }
      if (ec) {
        std::fprintf(stderr, "cannot list %s: %s\n", argv[i], ec.message().c_str());
        return 2;
      }
      std::sort(files.begin(), files.end());
      inputs.insert(inputs.end(), files.begin(), files.end());
    } else if (std::filesystem::is_regular_file(arg, ec)) {
      inputs.push_back(arg);
    } else {
      std::fprintf(stderr, "no such file or directory: %s\n", argv[i]);
      return 2;
    }
  }
  if (!any_argument) {
    std::fprintf(stderr, "usage: %s [--slow-ms=N] [--quiet] FILE_OR_DIRECTORY...\n", argv[0]);
    return 2;
  }
  if (inputs.empty()) {
    std::fprintf(stderr, "no inputs: an empty corpus replays nothing\n");
    return 2;
  }
  std::vector<std::uint8_t> bytes;
  double slowest_ms = 0;
  std::string slowest;
  std::size_t slow_count = 0;
  for (const auto& path : inputs) {
    if (!read_file(path, bytes)) {
      std::fprintf(stderr, "cannot read %s\n", path.string().c_str());
      return 2;
    }
    // Exact-size heap copy: a read past the end is caught by ASan in sanitizer builds.
    const std::size_t size = bytes.size();
    std::unique_ptr<std::uint8_t[]> copy(new std::uint8_t[size == 0 ? 1 : size]);
    std::copy(bytes.begin(), bytes.end(), copy.get());
    if (!quiet) std::fprintf(stderr, "replay %s (%zu bytes)\n", path.string().c_str(), size);
    const auto timed_run = [&] {
      const auto start = std::chrono::steady_clock::now();
      LLVMFuzzerTestOneInput(copy.get(), size);
      return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
          .count();
    };
    double ms = timed_run();
    // On a shared machine a run can lose the CPU: a slow input counts only when
    // it is slow every time, so it is run twice more and its fastest time kept.
    for (int again = 0; again < 2 && slow_ms >= 0 && ms > slow_ms; ++again) {
      ms = std::min(ms, timed_run());
    }
    if (ms > slowest_ms) {
      slowest_ms = ms;
      slowest = path.string();
    }
    if (slow_ms >= 0 && ms > slow_ms) {
      ++slow_count;
      std::fprintf(stderr, "slow input: %s took %.1f ms (limit %.1f ms)\n", path.string().c_str(),
                   ms, slow_ms);
    }
  }
  std::fprintf(stderr, "replayed %zu inputs; slowest %.2f ms (%s)\n", inputs.size(), slowest_ms,
               slowest.c_str());
  if (slow_count != 0) {
    std::fprintf(stderr, "%zu inputs over %.1f ms\n", slow_count, slow_ms);
    return 1;
  }
  return 0;
}
