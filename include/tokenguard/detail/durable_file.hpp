#ifndef TOKENGUARD_DETAIL_DURABLE_FILE_HPP
#define TOKENGUARD_DETAIL_DURABLE_FILE_HPP

/// Files that survive a crash at any moment (SPEC 9): a change is written to a
/// temporary file in the same directory, fsynced, renamed over the old file,
/// and the directory is fsynced, so the path names either the old bytes or the
/// new ones, never a mix, and the new ones are on disk before we answer.
/// POSIX only; the management path, never the request path.

#include <dirent.h>
#include <fcntl.h>
#include <simdjson.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>

#include "tokenguard/result.hpp"

namespace tokenguard::detail {

[[nodiscard]] inline std::string errno_text(int code) { return std::strerror(code); }

/// Splits "dir/name" into ("dir", "name"); a bare name lives in ".".
[[nodiscard]] inline std::pair<std::string, std::string> split_path(const std::string& path) {
  const std::size_t slash = path.rfind('/');
  if (slash == std::string::npos) return {".", path};
  if (slash == 0) return {"/", path.substr(1)};
  return {path.substr(0, slash), path.substr(slash + 1)};
}

/// The prefix of our temporary files: hidden, and named after the file they replace.
[[nodiscard]] inline std::string temp_prefix(const std::string& base) {
  return "." + base + ".tmp-";
}

/// Closes a descriptor when it goes out of scope.
class unique_fd {
 public:
  explicit unique_fd(int fd = -1) noexcept : fd_(fd) {}
  unique_fd(const unique_fd&) = delete;
  unique_fd& operator=(const unique_fd&) = delete;
  unique_fd(unique_fd&& other) noexcept : fd_(other.release()) {}
  unique_fd& operator=(unique_fd&& other) noexcept {
    if (this != &other) reset(other.release());
    return *this;
  }
  ~unique_fd() { reset(); }
  [[nodiscard]] int get() const noexcept { return fd_; }
  int release() noexcept {
    const int fd = fd_;
    fd_ = -1;
    return fd;
  }
  void reset(int fd = -1) noexcept {
    if (fd_ >= 0) ::close(fd_);
    fd_ = fd;
  }

 private:
  int fd_;
};

inline bool write_all(int fd, std::string_view data) noexcept {
  while (!data.empty()) {
    const ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

inline bool fsync_retrying(int fd) noexcept {
  while (::fsync(fd) != 0) {
    if (errno != EINTR) return false;
  }
  return true;
}

/// Makes a rename or a new directory entry durable.
[[nodiscard]] inline result<bool> sync_directory(const std::string& dir) {
  unique_fd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (fd.get() < 0) return error{"cannot open directory '" + dir + "': " + errno_text(errno)};
  if (!fsync_retrying(fd.get())) {
    return error{"cannot fsync directory '" + dir + "': " + errno_text(errno)};
  }
  return true;
}

/// Replaces `path` with `data` durably. The new file keeps the old one's
/// permission bits; a new file is 0600, as it may hold secrets.
[[nodiscard]] inline result<bool> replace_file_durably(const std::string& path,
                                                       std::string_view data) {
  const auto [dir, base] = split_path(path);
  mode_t mode = S_IRUSR | S_IWUSR;
  struct stat existing {};
  if (::stat(path.c_str(), &existing) == 0) mode = existing.st_mode & 07777;

  std::string temp = dir + "/" + temp_prefix(base) + "XXXXXX";
  unique_fd fd(::mkostemp(temp.data(), O_CLOEXEC));
  if (fd.get() < 0) {
    return error{"cannot create a temporary file in '" + dir + "': " + errno_text(errno)};
  }
  auto fail = [&temp](const std::string& what) -> result<bool> {
    const std::string message = what + ": " + errno_text(errno);
    ::unlink(temp.c_str());
    return error{message};
  };
  if (::fchmod(fd.get(), mode) != 0) return fail("cannot set the mode of '" + temp + "'");
  if (!write_all(fd.get(), data)) return fail("cannot write '" + temp + "'");
  if (!fsync_retrying(fd.get())) return fail("cannot fsync '" + temp + "'");
  if (::close(fd.release()) != 0) return fail("cannot close '" + temp + "'");
  if (::rename(temp.c_str(), path.c_str()) != 0) {
    return fail("cannot rename '" + temp + "' to '" + path + "'");
  }
  return sync_directory(dir);
}

/// Asks the kernel to map every page of a large buffer that is about to be
/// written through: one call instead of a page fault per 4 KiB, which is most
/// of the cost of reading a large store into fresh memory. Best effort: a
/// kernel before 5.14 refuses it, and the pages then fault in as they are
/// written.
inline void populate_for_writing(char* data, std::size_t size) noexcept {
#if defined(MADV_POPULATE_WRITE)
  constexpr std::size_t worth_it = std::size_t{1} << 20;  // smaller ones come from the heap
  if (size < worth_it) return;
  const auto page = static_cast<std::uintptr_t>(::sysconf(_SC_PAGESIZE));
  const auto first = (reinterpret_cast<std::uintptr_t>(data) + page - 1) & ~(page - 1);
  const auto last = (reinterpret_cast<std::uintptr_t>(data) + size) & ~(page - 1);
  if (last > first) {
    // NOLINTNEXTLINE(performance-no-int-to-ptr): madvise takes the page address
    ::madvise(reinterpret_cast<void*>(first), last - first, MADV_POPULATE_WRITE);
  }
#else
  (void)data;
  (void)size;
#endif
}

/// A file opened to be read, and its size when it was opened.
struct opened_file {
  unique_fd fd;
  std::size_t size = 0;
};

/// Opens a file to read it; nullopt when it does not exist. Refuses a file
/// over `max_bytes` before reading any of it.
[[nodiscard]] inline result<std::optional<opened_file>> open_file_if_exists(const std::string& path,
                                                                            std::size_t max_bytes) {
  unique_fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) {
    if (errno == ENOENT) return std::optional<opened_file>();
    return error{"cannot open '" + path + "': " + errno_text(errno)};
  }
  struct stat info {};
  if (::fstat(fd.get(), &info) != 0)
    return error{"cannot stat '" + path + "': " + errno_text(errno)};
  if (static_cast<std::uint64_t>(info.st_size) > max_bytes) {
    return error{"'" + path + "' is " + std::to_string(info.st_size) +
                 " bytes, over the limit of " + std::to_string(max_bytes) + " (max_store_bytes)"};
  }
  return std::optional<opened_file>(
      opened_file{std::move(fd), static_cast<std::size_t>(info.st_size)});
}

/// Reads up to `n` bytes of `file` at `offset`: how many, 0 at its end, -1
/// on an error (errno says which).
[[nodiscard]] inline ssize_t read_at(const opened_file& file, char* into, std::size_t n,
                                     std::size_t offset) noexcept {
  while (true) {
    const ssize_t got = ::pread(file.fd.get(), into, n, static_cast<off_t>(offset));
    if (got < 0 && errno == EINTR) continue;
    return got;
  }
}

/// Reads an opened file whole, from its start, as its size was when it was
/// opened. The text comes with simdjson's padding past its end, so that it
/// is parsed in place; only the padding is zeroed (the read writes the rest,
/// and zeroing 0.5 GB first cost a fifth of the read).
[[nodiscard]] inline result<simdjson::padded_string> read_whole(const opened_file& file,
                                                                const std::string& path) {
  const std::size_t size = file.size;
  simdjson::padded_string data(size);
  if (data.data() == nullptr) {
    return error{"cannot read '" + path + "': out of memory for its " + std::to_string(size) +
                 " bytes"};
  }
  populate_for_writing(data.data(), size);
  std::size_t got = 0;
  while (got < size) {
    const ssize_t n = read_at(file, data.data() + got, size - got, got);
    if (n < 0) return error{"cannot read '" + path + "': " + errno_text(errno)};
    if (n == 0) break;  // the file shrank under us: what we have is what it holds
    got += static_cast<std::size_t>(n);
  }
  if (got < size) data = simdjson::padded_string(std::string_view(data.data(), got));
  return data;
}

/// Reads a whole file; nullopt when it does not exist. Refuses a file over
/// `max_bytes` before reading it.
[[nodiscard]] inline result<std::optional<simdjson::padded_string>> read_file_if_exists(
    const std::string& path, std::size_t max_bytes) {
  auto opened = open_file_if_exists(path, max_bytes);
  if (!opened) return error{opened.message()};
  if (!opened.value()) return std::optional<simdjson::padded_string>();
  auto text = read_whole(*opened.value(), path);
  if (!text) return error{text.message()};
  return std::optional<simdjson::padded_string>(std::move(text).value());
}

/// An exclusive advisory lock on "<path>.lock", held while the object lives.
/// Two processes owning one store would overwrite each other's changes; the
/// kernel drops the lock when the holder dies, even by SIGKILL.
class file_lock {
 public:
  [[nodiscard]] static result<file_lock> acquire(const std::string& path) {
    const std::string lock_path = path + ".lock";
    unique_fd fd(::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, S_IRUSR | S_IWUSR));
    if (fd.get() < 0) return error{"cannot open '" + lock_path + "': " + errno_text(errno)};
    while (::flock(fd.get(), LOCK_EX | LOCK_NB) != 0) {
      if (errno == EINTR) continue;
      if (errno == EWOULDBLOCK) {
        return error{"the store '" + path + "' is owned by another process (lock file '" +
                     lock_path + "')"};
      }
      return error{"cannot lock '" + lock_path + "': " + errno_text(errno)};
    }
    file_lock out;
    out.fd_ = std::move(fd);
    return out;
  }

 private:
  unique_fd fd_;
};

/// Removes temporary files that a crash left beside `path`. Only call it while
/// holding the store's file_lock: no live writer can own them then.
inline void remove_stale_temp_files(const std::string& path) {
  const auto [dir, base] = split_path(path);
  const std::string prefix = temp_prefix(base);
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return;
  while (const dirent* e = ::readdir(d)) {
    const std::string_view name = e->d_name;
    if (name.size() == prefix.size() + 6 && name.substr(0, prefix.size()) == prefix) {
      ::unlinkat(::dirfd(d), e->d_name, 0);
    }
  }
  ::closedir(d);
}

}  // namespace tokenguard::detail

#endif  // TOKENGUARD_DETAIL_DURABLE_FILE_HPP
