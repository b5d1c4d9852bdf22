#include <catch2/catch.hpp>

#include "control/stall_watchdog.h"

using switchyard::control::StallWatchdog;
using E = StallWatchdog::Event;

TEST_CASE("the watchdog reports a stall once, and the recovery once") {
  StallWatchdog w;
  w.setLimit(1000);
  CHECK(w.check(500, 0, 0) == E::None);      // start-up: no result yet, within the limit
  CHECK(w.check(1500, 0, 0) == E::Stalled);  // nothing at all since start
  CHECK(w.check(2500, 0, 0) == E::None);     // still stalled: said once
  CHECK(w.stalled());
  CHECK(w.check(2600, 2550, 0) == E::Recovered);
  CHECK(w.check(3000, 2950, 0) == E::None);
  CHECK(w.check(4100, 3000, 0) == E::Stalled);  // results stopped again
}

TEST_CASE("with nothing probed the watchdog never fires") {
  StallWatchdog w;
  CHECK(w.check(1'000'000, 0, 0) == E::None);
  CHECK_FALSE(w.stalled());
}
