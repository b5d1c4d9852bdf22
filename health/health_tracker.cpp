#include "health/health_tracker.h"

namespace switchyard::health {

HealthTracker::Transition HealthTracker::record(const ProbeReport& report) {
  return record(report, countsAsUp(report.result));
}

HealthTracker::Transition HealthTracker::record(const ProbeReport& report, bool up) {
  ++probes_;
  recent_.push_back(report);
  if (recent_.size() > kKeep) recent_.pop_front();
  if (state_ == policy::Health::Unknown) {
    state_ = up ? policy::Health::Up : policy::Health::Down;
    streak_ = 0;
    return Transition::Changed;
  }
  bool agrees = up == (state_ == policy::Health::Up);
  if (agrees) {
    bool was_pending = streak_ > 0;
    streak_ = 0;
    return was_pending ? Transition::Pending : Transition::Unchanged;
  }
  ++streak_;
  if (streak_ >= (up ? rise_ : fall_)) {
    state_ = up ? policy::Health::Up : policy::Health::Down;
    streak_ = 0;
    return Transition::Changed;
  }
  return Transition::Pending;
}

}  // namespace switchyard::health
