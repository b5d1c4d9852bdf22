#include <catch2/catch.hpp>

#include "fleet/quorum.h"

using switchyard::fleet::Quorum;
using switchyard::policy::Health;

TEST_CASE("quorum: a majority of live nodes must see a pair down, and dead nodes' votes do not count") {
  Quorum q;
  for (const char* n : {"a", "b", "c"}) q.setAlive(n, true);
  CHECK(q.needed() == 2);
  CHECK(q.decide("reg/eastus") == Health::Unknown);
  q.observe("reg/eastus", "a", Health::Down);
  q.observe("reg/eastus", "b", Health::Up);
  q.observe("reg/eastus", "c", Health::Up);
  CHECK(q.decide("reg/eastus") == Health::Up);  // one node's trouble
  q.observe("reg/eastus", "b", Health::Down);
  CHECK(q.decide("reg/eastus") == Health::Down);
  CHECK(q.explain("reg/eastus") == "2 of 3 reporting nodes (3 live) see it down; 2 needed");
  // b dies: its vote goes; 1 of 2 live is not a majority of 2.
  q.setAlive("b", false);
  CHECK(q.needed() == 2);
  CHECK(q.decide("reg/eastus") == Health::Up);
  // A lone survivor decides alone.
  q.setAlive("c", false);
  CHECK(q.needed() == 1);
  CHECK(q.decide("reg/eastus") == Health::Down);
  // Forgetting the last live view leaves no decision.
  q.observe("reg/eastus", "a", Health::Unknown);
  CHECK(q.decide("reg/eastus") == Health::Unknown);
}

TEST_CASE("quorum: a configured number, capped at the live nodes") {
  Quorum q(3);
  for (const char* n : {"a", "b", "c", "d", "e"}) q.setAlive(n, true);
  CHECK(q.needed() == 3);
  q.observe("p", "a", Health::Down);
  q.observe("p", "b", Health::Down);
  q.observe("p", "c", Health::Up);
  CHECK(q.decide("p") == Health::Up);
  q.observe("p", "d", Health::Down);
  CHECK(q.decide("p") == Health::Down);
  for (const char* n : {"c", "d", "e"}) q.setAlive(n, false);
  CHECK(q.needed() == 2);  // only two alive
  CHECK(q.decide("p") == Health::Down);
  CHECK(q.pairs() == std::set<std::string>{"p"});
}
