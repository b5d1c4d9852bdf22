// previousIndices: which registry of the old topology each new one was, when
// a reload or a catalog edit removes, adds, reorders or keeps registries.
#include <catch2/catch.hpp>

#include <string>
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
