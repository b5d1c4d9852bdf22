// EventLog: the bounded in-memory log of what happened to routing: health
// transitions, routing changes and their cause, exclusions, faults, reloads.
// Served by GET /v1/events?since=ID, oldest first.
// Thread safety: owned by the control thread (the API reads it there).
// Invariants:
//   1. Ids start at 1 and increase by one per event; the oldest are dropped
//      beyond `capacity`, so `since` may point before the oldest kept.
#pragma once

#include <cstdint>
#include <deque>
#include <string>

#include <nlohmann/json.hpp>

namespace switchyard::control {

// The current UTC time as "2026-11-29T10:00:00.123Z" (event and report times).
std::string nowRfc3339();

class EventLog {
 public:
  explicit EventLog(size_t capacity = 2000) : capacity_(capacity) {}

  // `type`: health | routing | exclusion | fault | reload. `fields` is merged
  // into the event object. Returns the event's id.
  uint64_t add(const std::string& type, nlohmann::json fields);
  // Events with id > since, oldest first, at most `limit`.
  nlohmann::json since(uint64_t since, size_t limit = 1000) const;
  uint64_t lastId() const { return next_id_ - 1; }
  // REQUIRES: at least one event was added.
  const nlohmann::json& last() const { return events_.back(); }

 private:
  size_t capacity_;
  uint64_t next_id_ = 1;
  std::deque<nlohmann::json> events_;
};

}  // namespace switchyard::control
