// Result<T>: a value or a human-readable error, without exceptions.
//
// Used wherever bad input is expected (config, wire data, addresses): the error
// travels back to whoever can name the input (file:line:col, packet, API call).
// Thread safety: a plain value type.
// Invariants:
//   1. Exactly one of value() / error() is meaningful; ok() says which.
#pragma once

#include <stdexcept>
#include <string>
#include <utility>
#include <variant>

namespace switchyard {

struct Error {
  std::string message;
};

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}            // NOLINT: implicit by design
  Result(Error error) : v_(std::move(error)) {}        // NOLINT: implicit by design

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }

  // REQUIRES: ok(). Broken, it throws with the error's own message rather
  // than std::variant's "wrong index", so a failed test or start says why.
  T& value() & { return get(*this); }
  const T& value() const& { return get(*this); }
  T&& value() && { return std::move(get(*this)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() { return value(); }
  const T& operator*() const { return value(); }

  // REQUIRES: !ok()
  const std::string& error() const { return std::get<1>(v_).message; }

 private:
  template <typename Self>
  static auto& get(Self& self) {
    if (!self.ok()) throw std::runtime_error("Result::value() on an error: " + self.error());
    return std::get<0>(self.v_);
  }
  std::variant<T, Error> v_;
};

inline Error makeError(std::string message) { return Error{std::move(message)}; }

}  // namespace switchyard
