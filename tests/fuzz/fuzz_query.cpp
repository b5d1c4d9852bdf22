// libFuzzer target: any bytes as a DNS query, over UDP and TCP, from an IPv4
// and an IPv6 source, against the test zone. The parser must never read out
// of bounds, and every answer must be well-formed (answer_check.h). A UDP
// answer's rate-limited "slip" form (truncateResponse) must be well-formed
// too and never larger than the query (no amplification).
#include <cstddef>
#include <cstdint>

#include "tests/fuzz/answer_check.h"
#include "tests/support/test_zone.h"

using namespace switchyard;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const test::Zone zone;
  static const IpAddress sources[] = {IpAddress::parse("198.51.100.7").value(), IpAddress::parse("2001:db8:4::1").value()};
  static uint8_t out[65535];
  dns::Query scratch;
  for (auto transport : {dns::Transport::Udp, dns::Transport::Tcp})
    for (const auto& source : sources) {
      dns::ResponseInfo info;
      size_t n = dns::respond(*zone.set, data, size, source, transport, scratch, out, sizeof out, &info);
      fuzz::checkAnswer(data, size, out, n, sizeof out, transport);
      if (n == 0 || transport != dns::Transport::Udp) continue;
      size_t slipped = dns::truncateResponse(scratch, info, out, 1232);
      fuzz::checkAnswer(data, size, out, slipped, 1232, transport);
      FUZZ_EXPECT(slipped <= size);
      FUZZ_EXPECT(out[2] & 0x02);  // TC
    }
  return 0;
}
