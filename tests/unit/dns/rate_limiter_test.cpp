#include <catch2/catch.hpp>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "dns/rate_limiter.h"

using namespace switchyard;
using dns::RateClass;
using dns::RateLimiter;

namespace {

IpAddress ip(const char* text) { return IpAddress::parse(text).value(); }

policy::RateLimit settings(uint32_t rate, uint32_t errors = 0) {
  policy::RateLimit s;
  s.responses_per_second = rate;
  s.errors_per_second = errors ? errors : rate;
  return s;
}

int allowed(RateLimiter& l, const policy::RateLimit& s, const char* source, int n, RateClass cls = RateClass::Answer,
            uint32_t name = 7, uint32_t now = 100) {
  int ok = 0;
  for (int i = 0; i < n; ++i) ok += l.allow(s, ip(source), cls, name, now);
  return ok;
}

}  // namespace

TEST_CASE("a client prefix gets its budget per second and per name, then is limited") {
  RateLimiter l(1024);
  auto s = settings(5);
  CHECK(allowed(l, s, "192.0.2.1", 20) == 5);
  // The same /24 shares the budget; the next /24 has its own.
  CHECK(allowed(l, s, "192.0.2.200", 3) == 0);
  CHECK(allowed(l, s, "192.0.3.1", 20) == 5);
  // Another name has its own budget; the next second restores it.
  CHECK(allowed(l, s, "192.0.2.1", 20, RateClass::Answer, 8) == 5);
  CHECK(allowed(l, s, "192.0.2.1", 20, RateClass::Answer, 7, 101) == 5);
}

TEST_CASE("NXDOMAIN and errors share one budget per prefix whatever the name, set by errors_per_second") {
  RateLimiter l(1024);
  auto s = settings(100, 3);
  int ok = 0;
  for (uint32_t name = 0; name < 50; ++name) ok += l.allow(s, ip("198.51.100.9"), RateClass::NxDomain, name, 5);
  CHECK(ok == 3);
  CHECK(allowed(l, s, "198.51.100.9", 10, RateClass::Error, 0, 5) == 3);  // its own class
  CHECK(allowed(l, s, "198.51.100.9", 150, RateClass::Answer, 1, 5) == 100);
}

TEST_CASE("IPv6 clients are grouped by ipv6_prefix and mapped IPv4 counts as IPv4") {
  RateLimiter l(1024);
  auto s = settings(4);
  CHECK(allowed(l, s, "2001:db8:0:1::1", 10) == 4);
  CHECK(allowed(l, s, "2001:db8:0:1:ffff::2", 10) == 0);  // same /56
  CHECK(allowed(l, s, "2001:db8:0:100::1", 10) == 4);     // another /56
  s.ipv6_prefix = 128;
  RateLimiter exact(1024);
  CHECK(allowed(exact, s, "2001:db8::1", 10) == 4);
  CHECK(allowed(exact, s, "2001:db8::2", 10) == 4);
  RateLimiter mapped(1024);
  CHECK(allowed(mapped, s, "::ffff:192.0.2.1", 10) == 4);
  CHECK(allowed(mapped, s, "192.0.2.77", 10) == 0);
}

TEST_CASE("ipv6_prefix 64 groups every address of one /64 into one budget (no 64-bit shift)") {
  // The most common IPv6 prefix: a shift by 64 once gave every /128 its own
  // budget, so 20 addresses of one /64 got 80 answers instead of 4.
  RateLimiter l(1024);
  auto s = settings(4);
  s.ipv6_prefix = 64;
  int ok = 0;
  for (int i = 1; i <= 20; ++i) {
    std::string a = "2001:db8:0:42:" + std::to_string(i) + "::" + std::to_string(i);
    ok += l.allow(s, ip(a.c_str()), RateClass::Answer, 7, 100);
  }
  CHECK(ok == 4);
  CHECK(allowed(l, s, "2001:db8:0:43::1", 10) == 4);  // the next /64 has its own
  for (int bits : {0, 1, 63, 65, 127}) {
    RateLimiter each(1024);
    s.ipv6_prefix = bits;
    CHECK(allowed(each, s, "2001:db8:0:42::1", 10) == 4);
    CHECK(allowed(each, s, "2001:db8:0:42::1", 10) == 0);
  }
}

TEST_CASE("exempt networks are never limited") {
  RateLimiter l(1024);
  auto s = settings(2);
  s.exempt.push_back(IpPrefix::parse("10.1.0.0/16").value());
  CHECK(allowed(l, s, "10.1.2.3", 100) == 100);
  CHECK(allowed(l, s, "10.2.2.3", 100) == 2);
}

TEST_CASE("threads counting in one bucket never let more than the budget through by much") {
  // Lost compare-and-swap races let an answer through (never block wrongly);
  // with 4 attempts per answer that stays a handful.
  RateLimiter l(1024);
  auto s = settings(1000);
  std::atomic<int> ok{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&] { ok += allowed(l, s, "203.0.113.5", 5000); });
  for (auto& t : threads) t.join();
  CHECK(ok.load() >= 1000);
  CHECK(ok.load() <= 1200);
}
