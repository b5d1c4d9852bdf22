// libFuzzer target aimed at EDNS and Client Subnet: a valid question for the
// global name with one OPT record whose class (UDP size), TTL (extended
// RCODE, version, DO) and RDATA (options, ECS) come from the input. Random
// bytes rarely get this far through fuzz_query's header and question checks.
// Asked of the test zone as is and with a shared region (the sticky pick).
// Input: 2 bytes UDP size, 4 bytes TTL, the rest is RDATA (cut at 65535).
#include <cstddef>
#include <cstdint>
#include <vector>

#include "tests/fuzz/answer_check.h"
#include "tests/support/test_zone.h"

using namespace switchyard;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const test::Zone zone;
  // eastus down: its clients (192.0.2.1 and most ECS addresses) are shared, so
  // ECS addresses of every family and prefix reach the sticky pick.
  static const test::Zone shared = [] {
    test::Zone z;
    z.states[0][0].health = policy::Health::Down;
    z.rebuild();
    return z;
  }();
  static const std::vector<uint8_t> question = [] {
    auto q = test::buildQuery("myregistry.cr.example.test", 1, {.edns = false});
    return q;  // header + question, no additional records
  }();
  static uint8_t out[65535];
  if (size < 6) return 0;
  std::vector<uint8_t> q = question;
  q[11] = 1;  // ARCOUNT = 1
  size_t rdlen = std::min<size_t>(size - 6, 65535 - q.size() - 11);
  const uint8_t opt_head[] = {0, 0, 41, data[0], data[1], data[2], data[3], data[4], data[5],
                              static_cast<uint8_t>(rdlen >> 8), static_cast<uint8_t>(rdlen)};
  q.insert(q.end(), opt_head, opt_head + sizeof opt_head);
  q.insert(q.end(), data + 6, data + 6 + rdlen);
  dns::Query scratch;
  for (const auto* z : {&zone, &shared})
    for (auto transport : {dns::Transport::Udp, dns::Transport::Tcp}) {
      size_t n = dns::respond(*z->set, q.data(), q.size(), IpAddress::parse("192.0.2.1").value(), transport, scratch,
                              out, sizeof out);
      fuzz::checkAnswer(q.data(), q.size(), out, n, sizeof out, transport);
    }
  return 0;
}
