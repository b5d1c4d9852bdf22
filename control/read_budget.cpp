// See read_budget.h for why this file defines recv() and read().
#include "control/read_budget.h"

#include <dlfcn.h>
#include <sys/types.h>

#include <cerrno>
#include <cstddef>

namespace switchyard::control {
namespace {

thread_local long t_left = -1;  // bytes this thread may still read; -1: no limit

// The definition this file hides: the next in lookup order (libc's, or a
// sanitizer's interceptor in front of it).
template <typename Fn>
Fn next(const char* name) {
  return reinterpret_cast<Fn>(dlsym(RTLD_NEXT, name));
}

// Calls `real` for at most what the budget leaves, and counts what it got.
template <typename Call>
ssize_t budgeted(size_t wanted, Call real) {
  if (t_left < 0) return real(wanted);
  if (t_left == 0) {
    errno = ECONNRESET;
    return -1;
  }
  ssize_t got = real(wanted < static_cast<size_t>(t_left) ? wanted : static_cast<size_t>(t_left));
  if (got > 0) t_left -= got;
  return got;
}

}  // namespace

void setReadBudget(long bytes) { t_left = bytes; }

}  // namespace switchyard::control

extern "C" ssize_t recv(int fd, void* buf, size_t n, int flags) {
  using Fn = ssize_t (*)(int, void*, size_t, int);
  static const Fn real = switchyard::control::next<Fn>("recv");
  return switchyard::control::budgeted(n, [&](size_t len) { return real(fd, buf, len, flags); });
}

extern "C" ssize_t read(int fd, void* buf, size_t n) {
  using Fn = ssize_t (*)(int, void*, size_t);
  static const Fn real = switchyard::control::next<Fn>("read");
  return switchyard::control::budgeted(n, [&](size_t len) { return real(fd, buf, len); });
}
