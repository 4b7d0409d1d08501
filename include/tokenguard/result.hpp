#ifndef TOKENGUARD_RESULT_HPP
#define TOKENGUARD_RESULT_HPP

/// Results of loading and compiling: a value, or an error whose message says
/// what went wrong and where. The request path never uses these; it returns a
/// `decision` instead.

#include <string>
#include <utility>
#include <variant>

namespace tokenguard {

struct error {
  std::string message;
};

template <class T>
class [[nodiscard]] result {
 public:
  result(T value)
      : state_(std::in_place_index<0>, std::move(value)) {}  // NOLINT(google-explicit-constructor)
  result(error err)
      : state_(std::in_place_index<1>, std::move(err)) {}  // NOLINT(google-explicit-constructor)

  [[nodiscard]] bool ok() const noexcept { return state_.index() == 0; }
  explicit operator bool() const noexcept { return ok(); }

  [[nodiscard]] T& value() & { return std::get<0>(state_); }
  [[nodiscard]] const T& value() const& { return std::get<0>(state_); }
  [[nodiscard]] T&& value() && { return std::get<0>(std::move(state_)); }
  [[nodiscard]] const std::string& message() const { return std::get<1>(state_).message; }

 private:
  std::variant<T, error> state_;
};

}  // namespace tokenguard

#endif  // TOKENGUARD_RESULT_HPP
