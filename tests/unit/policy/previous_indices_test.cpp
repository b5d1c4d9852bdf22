// previousIndices: which registry of the old topology each new one was, when
// a reload or a catalog edit removes, adds, reorders or keeps registries.
#include <catch2/catch.hpp>

#include <string>
#include <unordered_set>
#include <vector>

#include "policy/topology.h"

using namespace switchyard::policy;

namespace {

Topology named(const std::vector<std::string>& names) {
  Topology t;
  for (const auto& n : names) {
    Registry r;
    r.name = n;
    t.addRegistry(std::move(r));
  }
  return t;
}

}  // namespace

TEST_CASE("previousIndices: kept, removed, added and moved registries map to where they were") {
  Topology before = named({"a", "b", "c", "d", "e"});
  // c removed, x added after a, e moved to the front, y added at the end.
  Topology after = named({"e", "a", "x", "b", "d", "y"});
  CHECK(previousIndices(before, after) == std::vector<uint32_t>{4, 0, kNoIndex, 1, 3, kNoIndex});
  CHECK(previousIndices(before, before) == std::vector<uint32_t>{0, 1, 2, 3, 4});
  CHECK(previousIndices(Topology{}, after) == std::vector<uint32_t>(6, kNoIndex));
  CHECK(previousIndices(before, Topology{}).empty());
  // Without the name index (a topology built by hand) the scan finds them too.
  Topology unindexed = before;
  unindexed.registry_by_name.clear();
  CHECK(previousIndices(unindexed, after) == std::vector<uint32_t>{4, 0, kNoIndex, 1, 3, kNoIndex});
}

TEST_CASE("registriesChanged: a reload's added, edited and removed registries, or nullopt when settings moved") {
  Topology before = named({"a", "b", "c", "d"});
  Topology after = named({"a", "x", "b", "d"});  // c removed, x added
  after.registries.edit(2).regional_endpoints = true;  // b edited
  auto changed = registriesChanged(before, after);
  REQUIRE(changed);
  CHECK(*changed == std::unordered_set<std::string>{"b", "c", "x"});
  CHECK(registriesChanged(before, before)->empty());
  // One field deep inside a replica counts.
  Topology deep = before;
  deep.registries.edit(3).replicas.push_back(Replica{});
  Topology deeper = deep;
  deeper.registries.edit(3).replicas[0].addresses.push_back(*switchyard::IpAddress::parse("192.0.2.1"));
  CHECK(*registriesChanged(deep, deeper) == std::unordered_set<std::string>{"d"});
  deeper = deep;
  deeper.registries.edit(3).health.interval = Millis(1234);
  CHECK(*registriesChanged(deep, deeper) == std::unordered_set<std::string>{"d"});
  // Anything outside the registries: every answer may move.
  Topology other = before;
  other.ttl.global = 5;
  CHECK_FALSE(registriesChanged(before, other));
  other = before;
  other.regions.push_back({"westus", 1, 2});
  CHECK_FALSE(registriesChanged(before, other));
  other = before;
  other.announce.webhooks.push_back("http://127.0.0.1:1/hook");
  CHECK_FALSE(registriesChanged(before, other));
}
