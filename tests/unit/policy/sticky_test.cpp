// Properties of the sticky pick (policy/sticky.h) over many client subnets.
#include <catch2/catch.hpp>

#include <map>
#include <random>
#include <string>
#include <vector>

#include "policy/sticky.h"

using namespace switchyard;
using namespace switchyard::policy;

namespace {

std::vector<uint64_t> seedsOf(const std::string& registry, const std::vector<std::string>& regions) {
  std::vector<uint64_t> seeds;
  for (const auto& r : regions) seeds.push_back(replicaSeed(registry, r));
  return seeds;
}

// The i-th /24 of 10.0.0.0/8 (i < 65536).
uint64_t v4Subnet(uint32_t i) {
  uint8_t a[4] = {10, static_cast<uint8_t>(i >> 8), static_cast<uint8_t>(i), 0};
  return subnetKey(true, a, 24);
}

const std::vector<std::string> kRegions{"eastus", "westus", "westeurope", "southeastasia", "japaneast"};

}  // namespace

TEST_CASE("sticky: addresses of one subnet share a key, other subnets do not") {
  uint8_t a[4] = {198, 51, 100, 7}, b[4] = {198, 51, 100, 250}, c[4] = {198, 51, 101, 7};
  CHECK(subnetKey(true, a, 24) == subnetKey(true, b, 24));
  CHECK(subnetKey(true, a, 24) != subnetKey(true, c, 24));
  CHECK(subnetKey(true, a, 25) != subnetKey(true, b, 25));
  CHECK(subnetKey(true, a, 16) == subnetKey(true, c, 16));
  auto v6 = [](const char* s) { return IpAddress::parse(s).value(); };
  auto k6 = [&](const char* s, int p) { return subnetKey(false, v6(s).bytes.data(), p); };
  CHECK(k6("2001:db8:0:100::1", 56) == k6("2001:db8:0:1ff:ffff::9", 56));
  CHECK(k6("2001:db8:0:100::1", 56) != k6("2001:db8:0:200::1", 56));
  CHECK(k6("2001:db8::1", 128) != k6("2001:db8::2", 128));
  CHECK(k6("2001:db8::1", 127) != k6("2001:db8::2", 127));
  CHECK(k6("2001:db8::2", 127) == k6("2001:db8::3", 127));
  // The family is part of the key: 0.0.0.0/0 and ::/0 are different subnets.
  uint8_t zero[16] = {};
  CHECK(subnetKey(true, zero, 0) != subnetKey(false, zero, 0));
  CHECK(stickySubnet(v6("198.51.100.77"), {}).toString() == "198.51.100.0/24");
  CHECK(stickySubnet(v6("::ffff:198.51.100.77"), {}).toString() == "198.51.100.0/24");
  CHECK(stickySubnet(v6("2001:db8:0:1ab::5"), {}).toString() == "2001:db8:0:100::/56");
}

TEST_CASE("sticky: the same subnet always gets the same replica, whatever the set's order") {
  auto seeds = seedsOf("myregistry", {"westus", "westeurope", "japaneast"});
  auto reversed = seedsOf("myregistry", {"japaneast", "westeurope", "westus"});
  for (uint32_t i = 0; i < 2000; ++i) {
    size_t p = stickyPick(seeds, v4Subnet(i));
    CHECK(stickyPick(seeds, v4Subnet(i)) == p);
    CHECK(reversed[stickyPick(reversed, v4Subnet(i))] == seeds[p]);
  }
}

TEST_CASE("sticky: over 10,000 subnets the split is even within a few percent") {
  for (size_t n = 2; n <= kRegions.size(); ++n) {
    std::vector<std::string> set(kRegions.begin(), kRegions.begin() + static_cast<long>(n));
    auto seeds = seedsOf("myregistry", set);
    std::vector<int> count(n, 0);
    const int subnets = 10000;
    for (int i = 0; i < subnets; ++i) ++count[stickyPick(seeds, v4Subnet(static_cast<uint32_t>(i)))];
    double fair = subnets / static_cast<double>(n);
    for (size_t r = 0; r < n; ++r) {
      INFO(n << " replicas, " << set[r] << ": " << count[r] << " of " << subnets);
      CHECK(std::abs(count[r] - fair) < 0.04 * fair);
    }
  }
  // IPv6 /56s too.
  auto seeds = seedsOf("acme", {"westus", "westeurope"});
  std::mt19937_64 rng(7);
  int first = 0;
  for (int i = 0; i < 10000; ++i) {
    uint8_t a[16] = {0x20, 0x01, 0x0d, 0xb8};
    uint64_t r = rng();
    for (int b = 4; b < 7; ++b) a[b] = static_cast<uint8_t>(r >> (8 * b));
    first += stickyPick(seeds, subnetKey(false, a, 56)) == 0;
  }
  CHECK(std::abs(first - 5000) < 200);
}

TEST_CASE("sticky: when a replica leaves only its subnets move, and they come back when it returns") {
  auto all = seedsOf("myregistry", {"westus", "westeurope", "japaneast"});
  auto without = seedsOf("myregistry", {"westus", "japaneast"});  // westeurope left
  int moved = 0;
  for (uint32_t i = 0; i < 10000; ++i) {
    uint64_t before = all[stickyPick(all, v4Subnet(i))];
    uint64_t after = without[stickyPick(without, v4Subnet(i))];
    if (before == all[1]) {
      ++moved;  // the leaving replica's subnets go to one of the others
    } else {
      CHECK(after == before);  // nobody else moves
    }
    CHECK(all[stickyPick(all, v4Subnet(i))] == before);  // back: exactly as before
  }
  CHECK(moved > 3000);
  CHECK(moved < 3700);
}

TEST_CASE("sticky: registries split independently") {
  auto a = seedsOf("acme", {"westus", "westeurope"});
  auto b = seedsOf("teamb", {"westus", "westeurope"});
  int same = 0;
  for (uint32_t i = 0; i < 10000; ++i) same += stickyPick(a, v4Subnet(i)) == stickyPick(b, v4Subnet(i));
  CHECK(std::abs(same - 5000) < 250);  // uncorrelated, not one registry's split copied
}
