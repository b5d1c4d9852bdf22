// StallWatchdog: decides when probing itself has stalled (no probe result for
// longer than `limit`) and when it has recovered, so the control thread says so
// once per stall instead of serving stale health silently.
// Thread safety: a plain value owned by the control thread.
#pragma once

#include <cstdint>

namespace switchyard::control {

class StallWatchdog {
 public:
  enum class Event { None, Stalled, Recovered };

  // limit_ms == 0: nothing is probed, never stalled.
  void setLimit(int64_t limit_ms) { limit_ms_ = limit_ms; }
  // `last_result_ms`: time of the newest probe result (0: none yet);
  // `started_ms`: when probing started (the clock for "none yet").
  Event check(int64_t now_ms, int64_t last_result_ms, int64_t started_ms) {
    if (limit_ms_ == 0) return Event::None;
    int64_t since = now_ms - (last_result_ms > started_ms ? last_result_ms : started_ms);
    if (since > limit_ms_ && !stalled_) {
      stalled_ = true;
      return Event::Stalled;
    }
    if (since <= limit_ms_ && stalled_) {
      stalled_ = false;
      return Event::Recovered;
    }
    return Event::None;
  }
  bool stalled() const { return stalled_; }
  int64_t limit() const { return limit_ms_; }

 private:
  int64_t limit_ms_ = 0;
  bool stalled_ = false;
};

}  // namespace switchyard::control
