// Names the calling thread (at most 15 characters), so `top -H`, `perf` and
// gdb tell the DNS workers, the health thread and the others apart.
// Thread safety: names only the calling thread.
#pragma once

#include <pthread.h>

#include <string>

namespace switchyard {

inline void nameThisThread(const std::string& name) {
  pthread_setname_np(pthread_self(), name.substr(0, 15).c_str());
}

}  // namespace switchyard
