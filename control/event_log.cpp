#include "control/event_log.h"

#include <chrono>
#include <ctime>

namespace switchyard::control {

std::string nowRfc3339() {
  auto now = std::chrono::system_clock::now();
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
  std::time_t t = std::chrono::system_clock::to_time_t(now);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[40];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  char out[48];
  std::snprintf(out, sizeof out, "%s.%03dZ", buf, static_cast<int>(ms));
  return out;
}

uint64_t EventLog::add(const std::string& type, nlohmann::json fields) {
  nlohmann::json e{{"id", next_id_}, {"time", nowRfc3339()}, {"type", type}};
  if (fields.is_object()) e.update(fields);
  events_.push_back(std::move(e));
  if (events_.size() > capacity_) events_.pop_front();
  return next_id_++;
}

nlohmann::json EventLog::since(uint64_t since, size_t limit) const {
  // Ids are consecutive (invariant 1), so the first one wanted is found by
  // arithmetic: a poll or a webhook costs O(limit), not a scan of the log.
  nlohmann::json out = nlohmann::json::array();
  uint64_t oldest = next_id_ - events_.size();  // id of events_.front()
  size_t from = since < oldest ? 0 : static_cast<size_t>(since - oldest + 1);
  for (size_t i = from; i < events_.size() && out.size() < limit; ++i) out.push_back(events_[i]);
  return out;
}

}  // namespace switchyard::control
