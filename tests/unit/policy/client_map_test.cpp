#include <catch2/catch.hpp>

#include <random>

#include "policy/client_map.h"

using namespace switchyard;
using namespace switchyard::policy;

namespace {

ClientNetwork net(const char* cidr, uint32_t region) { return {IpPrefix::parse(cidr).value(), region}; }
IpAddress ip(const char* s) { return IpAddress::parse(s).value(); }

// The definition: longest matching prefix, else the default.
uint32_t bruteForce(const std::vector<ClientNetwork>& nets, uint32_t def, const IpAddress& a) {
  int best = -1;
  uint32_t region = def;
  for (const auto& n : nets)
    if (n.prefix.contains(a) && n.prefix.length > best) {
      best = n.prefix.length;
      region = n.region;
    }
  return region;
}

}  // namespace

TEST_CASE("client region is the longest matching network, else the default region") {
  std::vector<ClientNetwork> nets{net("198.51.100.0/26", 0), net("198.51.100.64/26", 1),
                                  net("198.51.100.128/26", 2), net("2001:db8:4::/48", 3),
                                  net("10.0.0.0/8", 1), net("10.1.0.0/16", 2)};
  ClientMap map(nets, 0);
  CHECK(map.lookup(ip("198.51.100.5")).region == 0);
  CHECK(map.lookup(ip("198.51.100.70")).region == 1);
  CHECK(map.lookup(ip("198.51.100.130")).region == 2);
  CHECK(map.lookup(ip("198.51.100.200")).region == 0);  // unmatched: default
  CHECK(map.lookup(ip("2001:db8:4::1")).region == 3);
  CHECK(map.lookup(ip("2001:db8:5::1")).region == 0);
  CHECK(map.lookup(ip("10.1.2.3")).region == 2);
  CHECK(map.lookup(ip("10.2.0.0")).region == 1);
}

TEST_CASE("ECS scope covers exactly the addresses that get the same region") {
  ClientMap map({net("10.0.0.0/8", 1), net("10.1.0.0/16", 2), net("2001:db8:4::/48", 3)}, 0);
  CHECK(map.lookup(ip("10.1.2.3")).scope == 16);
  // 10.2.0.0/15 is all region 1; /14 would include 10.1/16.
  CHECK(map.lookup(ip("10.2.0.0")).scope == 15);
  CHECK(map.lookup(ip("2001:db8:4::1")).scope == 48);
  // Outside every network: the scope still stops where a network begins.
  auto outside = map.lookup(ip("192.0.2.1"));
  CHECK(outside.region == 0);
  CHECK(outside.scope == 1);  // 128.0.0.0/1 holds no network
}

TEST_CASE("neighbouring networks of one region merge into a shorter scope") {
  ClientMap map({net("10.0.0.0/9", 1), net("10.128.0.0/9", 1)}, 0);
  CHECK(map.lookup(ip("10.5.0.0")).region == 1);
  CHECK(map.lookup(ip("10.5.0.0")).scope == 8);
}

TEST_CASE("with no networks every client is in the default region with scope 0") {
  ClientMap map({}, 2);
  CHECK(map.lookup(ip("203.0.113.9")).region == 2);
  CHECK(map.lookup(ip("203.0.113.9")).scope == 0);
  CHECK(map.lookup(ip("2001:db8::1")).scope == 0);
}

TEST_CASE("randomised: every address inside the returned scope maps to the same region") {
  std::mt19937 rng(7);
  for (int round = 0; round < 20; ++round) {
    std::vector<ClientNetwork> nets;
    for (int i = 0; i < 30; ++i) {
      IpAddress a = IpAddress::v4(10, static_cast<uint8_t>(rng() % 4), static_cast<uint8_t>(rng()),
                                  static_cast<uint8_t>(rng()));
      int len = 8 + static_cast<int>(rng() % 25);
      for (int b = len; b < 32; ++b) a.bytes[b / 8] &= static_cast<uint8_t>(~(0x80 >> (b % 8)));
      bool dup = false;
      for (const auto& n : nets) dup = dup || (n.prefix.address == a && n.prefix.length == len);
      if (!dup) nets.push_back({{a, len}, static_cast<uint32_t>(rng() % 3)});
    }
    ClientMap map(nets, 3);
    for (int q = 0; q < 200; ++q) {
      IpAddress a = IpAddress::v4(10, static_cast<uint8_t>(rng() % 4), static_cast<uint8_t>(rng()),
                                  static_cast<uint8_t>(rng()));
      auto got = map.lookup(a);
      REQUIRE(got.region == bruteForce(nets, 3, a));
      // Flip random bits past the scope: the region must not change.
      for (int k = 0; k < 20 && got.scope < 32; ++k) {
        IpAddress b = a;
        for (int bit = got.scope; bit < 32; ++bit)
          if (rng() % 2) b.bytes[bit / 8] ^= static_cast<uint8_t>(0x80 >> (bit % 8));
        REQUIRE(bruteForce(nets, 3, b) == got.region);
      }
    }
  }
}
