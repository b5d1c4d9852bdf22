#include <catch2/catch.hpp>

#include "control/event_log.h"

using switchyard::control::EventLog;

TEST_CASE("event log: since() returns the events after an id, oldest first, within the kept window and the limit") {
  EventLog log(5);
  for (int i = 1; i <= 8; ++i) CHECK(log.add("health", {{"n", i}}) == static_cast<uint64_t>(i));
  // Kept: ids 4..8.
  auto all = log.since(0);
  REQUIRE(all.size() == 5);
  CHECK(all[0]["id"] == 4);
  CHECK(all[4]["id"] == 8);
  CHECK(all[0]["type"] == "health");
  CHECK(all[0]["n"] == 4);
  auto after6 = log.since(6);
  REQUIRE(after6.size() == 2);
  CHECK(after6[0]["id"] == 7);
  CHECK(log.since(8).empty());
  CHECK(log.since(100).empty());
  auto limited = log.since(3, 2);
  REQUIRE(limited.size() == 2);
  CHECK(limited[1]["id"] == 5);
  CHECK(log.last()["id"] == 8);
  CHECK(log.lastId() == 8);
}
