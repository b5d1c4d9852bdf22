// A process's memory as the kernel reports it (/proc/PID/status), for tests
// that prove a flood leaves memory bounded: VmRSS now, VmHWM the peak.
#pragma once

#include <sys/types.h>

#include <fstream>
#include <string>

namespace switchyard::test {

// Under AddressSanitizer freed memory sits in a quarantine (256 MiB by
// default) and every block has shadow and redzones: RSS says little about
// what the program holds, so memory bounds are checked in normal builds only.
#ifdef __SANITIZE_ADDRESS__
inline constexpr bool kRssMeaningful = false;
#else
inline constexpr bool kRssMeaningful = true;
#endif

// The value of `field` ("VmRSS", "VmHWM") in KiB, or -1 when unreadable.
inline long procStatusKiB(pid_t pid, const std::string& field) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind(field + ":", 0) == 0) return std::stol(line.substr(field.size() + 1));
  return -1;
}

// Resets VmHWM to the current RSS (Linux >= 4.0: "5" to clear_refs), so a
// test measures the peak of what it does, not of start-up. False if refused.
inline bool resetPeakRss(pid_t pid) {
  std::ofstream out("/proc/" + std::to_string(pid) + "/clear_refs");
  out << "5";
  out.flush();
  return static_cast<bool>(out);
}

}  // namespace switchyard::test
