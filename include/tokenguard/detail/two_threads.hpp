#ifndef TOKENGUARD_DETAIL_TWO_THREADS_HPP
#define TOKENGUARD_DETAIL_TWO_THREADS_HPP

/// Two pieces of a load at once: loading a large store is a few independent
/// passes (parsing two parts of the file, hashing two halves of the secrets,
/// zeroing the probe table while the tokens are checked), and a gateway's
/// reload is the one time a second core has nothing better to do. Load time
/// only; the request path never starts a thread.

#include <exception>
#include <system_error>
#include <thread>

namespace tokenguard::detail {

/// Runs `aside` on a thread of its own while `here` runs on this one, and
/// returns when both are done; an exception of either is thrown here, after
/// both ended (`here`'s first). On a machine of one core, or when no thread
/// can be started, `aside` runs first, then `here`. The two must not share
/// anything that either writes.
template <class Aside, class Here>
void run_beside(Aside&& aside, Here&& here) {
  std::exception_ptr aside_failed;
  const auto guarded = [&]() noexcept {
    try {
      aside();
    } catch (...) {
      aside_failed = std::current_exception();
    }
  };
  {
    std::jthread worker;
    if (std::thread::hardware_concurrency() != 1) {
      try {
        worker = std::jthread(guarded);
      } catch (const std::system_error&) {
        // No thread to be had: one after the other.
      }
    }
    if (!worker.joinable()) guarded();
    here();
  }  // the worker has ended here, even when `here` threw
  if (aside_failed) std::rethrow_exception(aside_failed);
}

}  // namespace tokenguard::detail

#endif  // TOKENGUARD_DETAIL_TWO_THREADS_HPP
