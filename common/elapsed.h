// Milliseconds between two steady_clock points, as the control plane's
// timing logs print them (event=rebuild, event=topology_applied, ...).
// Thread safety: a pure function.
#pragma once

#include <chrono>

namespace switchyard {

inline double millisBetween(std::chrono::steady_clock::time_point from, std::chrono::steady_clock::time_point to) {
  return std::chrono::duration<double, std::milli>(to - from).count();
}

}  // namespace switchyard
