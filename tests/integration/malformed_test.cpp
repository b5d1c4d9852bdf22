// Hostile DNS input over real sockets (issue 7): every malformed packet gets
// FORMERR (or NOTIMP / BADVERS where the RFCs say so) or is dropped, and the
// server keeps answering a good query after each one. TCP: oversized or lying
// length prefixes and garbage streams cost only their own connection.
#include <catch2/catch.hpp>

#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "dns/socket_util.h"
#include "tests/support/daemon_process.h"
#include "tests/support/dns_client.h"
#include "tests/support/raw_wire.h"
#include "tests/support/test_topology.h"

using namespace switchyard;
using namespace switchyard::test;

namespace {

Bytes header(uint16_t qd, uint16_t an, uint16_t ns, uint16_t ar, uint8_t flags_hi = 0x01) {
  return {0xab, 0xcd, flags_hi, 0, static_cast<uint8_t>(qd >> 8), static_cast<uint8_t>(qd), 0,
          static_cast<uint8_t>(an), 0, static_cast<uint8_t>(ns), 0, static_cast<uint8_t>(ar)};
}
Bytes cat(std::initializer_list<Bytes> parts) {
  Bytes out;
  for (const auto& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}
// "myregistry.cr.example.test" in wire format.
Bytes qname() {
  Bytes b;
  for (std::string l : {"myregistry", "cr", "example", "test"}) {
    b.push_back(static_cast<uint8_t>(l.size()));
    b.insert(b.end(), l.begin(), l.end());
  }
  b.push_back(0);
  return b;
}
const Bytes kTypeA{0, 1, 0, 1};
Bytes question() { return cat({qname(), kTypeA}); }
// Sends one datagram; the reply, or nullopt when none came within `ms`.
std::optional<Bytes> udpExchange(const SocketAddress& to, const Bytes& packet, int ms = 300) {
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  socklen_t len = 0;
  sockaddr_storage ss = dns::toSockaddr(to, len);
  sendto(fd, packet.data(), packet.size(), 0, reinterpret_cast<sockaddr*>(&ss), len);
  pollfd p{fd, POLLIN, 0};
  std::optional<Bytes> out;
  if (poll(&p, 1, ms) == 1) {
    Bytes buf(65535);
    ssize_t n = recv(fd, buf.data(), buf.size(), 0);
    if (n >= 0) {
      buf.resize(static_cast<size_t>(n));
      out = std::move(buf);
    }
  }
  close(fd);
  return out;
}

int rcodeOf(const Bytes& reply) { return reply.size() >= 4 ? reply[3] & 0x0f : -1; }

bool goodQueryAnswered(const DaemonProcess& d) {
  auto p = query(d.v4(), "myregistry.cr.example.test", LDNS_RR_TYPE_A);
  return p && ldns_pkt_get_rcode(p.get()) == LDNS_RCODE_NOERROR && !answers(p.get()).empty();
}

enum class Expect { Drop, FormErr, NotImp, BadVers, Refused };

// What a reply keeps of the query (RFC 1035 §4.1.1, RFC 6891 §6.1.1 and §7):
// the opcode always, the question when it parsed, an OPT when the query had
// one (even the bad OPT a FORMERR is about).
enum Keep : unsigned { kNothing = 0, kQuestion = 1, kOpt = 2 };

struct Case {
  const char* what;
  Bytes packet;
  Expect expect;
  unsigned keep = kNothing;
};

// The client's SOA an IXFR query carries in its authority section (RFC 1995 §3).
Bytes soaRecord() {
  Bytes rdata = cat({{0}, {0}, {0, 0, 0, 7, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1}});
  return cat({qname(), {0, 6, 0, 1, 0, 0, 0, 60, 0, static_cast<uint8_t>(rdata.size())}, rdata});
}

std::vector<Case> udpCases() {
  Bytes long_label = qname();
  long_label[0] = 64;  // a label length over 63 (the 0b01 prefix: an extended label type)
  Bytes name_over_255;
  for (int i = 0; i < 5; ++i) {
    name_over_255.push_back(63);
    name_over_255.insert(name_over_255.end(), 63, 'a');
  }
  name_over_255.push_back(0);
  Bytes full_name = qname();
  Bytes cut_name(full_name.begin(), full_name.begin() + 7);
  Bytes pointer_loop{0xc0, 12};  // points at itself: offset 12 is the question name
  Bytes pointer_forward{0xc0, 0x20};
  return {
      {"empty datagram", {}, Expect::Drop},
      {"truncated header (11 bytes)", Bytes(11, 0), Expect::Drop},
      {"a response (QR set)", cat({header(1, 0, 0, 0, 0x81), question()}), Expect::Drop},
      {"QDCOUNT 0", header(0, 0, 0, 0), Expect::FormErr},
      // RFC 7873 §5.4: a cookie probe is QDCOUNT 0 with an OPT; its FORMERR
      // still says we speak EDNS.
      {"QDCOUNT 0 with an OPT", cat({header(0, 0, 0, 1), opt({})}), Expect::FormErr, kOpt},
      {"QDCOUNT 2 with an OPT", cat({header(2, 0, 0, 1), question(), question(), opt({})}), Expect::FormErr, kOpt},
      {"QDCOUNT 2", cat({header(2, 0, 0, 0), question(), question()}), Expect::FormErr},
      {"QDCOUNT 1 but no question", header(1, 0, 0, 0), Expect::FormErr},
      {"question cut inside the name", cat({header(1, 0, 0, 0), cut_name}), Expect::FormErr},
      {"question without type and class", cat({header(1, 0, 0, 0), qname()}), Expect::FormErr},
      {"an answer record in a query", cat({header(1, 1, 0, 0), question(), soaRecord()}), Expect::FormErr, kQuestion},
      {"an authority record in an A query", cat({header(1, 0, 1, 0), question(), soaRecord()}), Expect::FormErr,
       kQuestion},
      {"an authority count with no record", cat({header(1, 0, 1, 0), question()}), Expect::FormErr, kQuestion},
      {"label over 63", cat({header(1, 0, 0, 0), long_label, kTypeA}), Expect::FormErr},
      {"name over 255", cat({header(1, 0, 0, 0), name_over_255, kTypeA}), Expect::FormErr},
      {"compression pointer loop in the question", cat({header(1, 0, 0, 0), pointer_loop, kTypeA}), Expect::FormErr},
      {"compression pointer past the end", cat({header(1, 0, 0, 0), pointer_forward, kTypeA}), Expect::FormErr},
      {"compression pointer after a label", cat({header(1, 0, 0, 0), {3, 'a', 'b', 'c', 0xc0, 12}, kTypeA}), Expect::FormErr},
      {"trailing garbage after the question", cat({header(1, 0, 0, 0), question(), {1, 2, 3}}), Expect::FormErr, kQuestion},
      {"trailing garbage after the OPT", cat({header(1, 0, 0, 1), question(), opt({}), {1, 2, 3}}), Expect::FormErr,
       kQuestion | kOpt},
      {"ARCOUNT 1 but no record", cat({header(1, 0, 0, 1), question()}), Expect::FormErr, kQuestion},
      {"two OPT records", cat({header(1, 0, 0, 2), question(), opt({}), opt({})}), Expect::FormErr, kQuestion | kOpt},
      // Owner byte 1 makes the rest a label, not an OPT: nothing to echo.
      {"OPT owner not root", cat({header(1, 0, 0, 1), question(), opt({}, 0, 1)}), Expect::FormErr, kQuestion},
      {"OPT owned by a name", cat({header(1, 0, 0, 1), question(), {1, 'a'}, opt({})}), Expect::FormErr,
       kQuestion | kOpt},
      {"OPT rdata length past the end", cat({header(1, 0, 0, 1), question(), Bytes{0, 0, 41, 4, 208, 0, 0, 0, 0, 0, 50}}), Expect::FormErr, kQuestion | kOpt},
      {"option length past the rdata", cat({header(1, 0, 0, 1), question(), opt({0, 8, 0, 40, 0, 1, 24, 0})}), Expect::FormErr, kQuestion | kOpt},
      {"ECS family 3", cat({header(1, 0, 0, 1), question(), opt(ecs(3, 24, {198, 51, 100}))}), Expect::FormErr, kQuestion | kOpt},
      {"ECS IPv4 prefix 33", cat({header(1, 0, 0, 1), question(), opt(ecs(1, 33, {198, 51, 100, 7, 1}))}), Expect::FormErr, kQuestion | kOpt},
      {"ECS IPv6 prefix 129", cat({header(1, 0, 0, 1), question(), opt(ecs(2, 129, Bytes(17, 0x20)))}), Expect::FormErr, kQuestion | kOpt},
      {"ECS address longer than the prefix needs", cat({header(1, 0, 0, 1), question(), opt(ecs(1, 24, {198, 51, 100, 0}))}), Expect::FormErr, kQuestion | kOpt},
      {"ECS bits set past the prefix", cat({header(1, 0, 0, 1), question(), opt(ecs(1, 23, {198, 51, 101}))}), Expect::FormErr, kQuestion | kOpt},
      {"ECS twice", cat({header(1, 0, 0, 1), question(), opt(cat({ecs(1, 24, {198, 51, 100}), ecs(1, 24, {198, 51, 100})}))}), Expect::FormErr, kQuestion | kOpt},
      {"opcode STATUS", cat({header(1, 0, 0, 0, 0x10), question()}), Expect::NotImp, kQuestion},
      {"opcode NOTIFY with its SOA and EDNS", cat({header(1, 1, 0, 1, 0x20), question(), soaRecord(), opt({})}),
       Expect::NotImp, kQuestion | kOpt},
      {"opcode UPDATE", cat({header(1, 0, 0, 0, 0x28), question()}), Expect::NotImp, kQuestion},
      {"opcode UPDATE with a cut record", cat({header(1, 0, 1, 0, 0x28), question(), {0, 0, 6}}), Expect::NotImp,
       kQuestion},
      {"opcode 15 and garbage", {0x12, 0x34, 0x78, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0x3f}, Expect::NotImp},
      {"IXFR with the client's SOA in authority", cat({header(1, 0, 1, 0), qname(), {0, 251, 0, 1}, soaRecord()}),
       Expect::Refused, kQuestion},
      {"IXFR with the client's SOA and EDNS", cat({header(1, 0, 1, 1), qname(), {0, 251, 0, 1}, soaRecord(), opt({})}),
       Expect::Refused, kQuestion | kOpt},
      {"EDNS version 1", cat({header(1, 0, 0, 1), question(), opt({}, 1)}), Expect::BadVers, kQuestion | kOpt},
      {"garbage with QR clear", {0xde, 0xad, 0x01, 0xef, 0x00, 0x01, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x13, 0x37}, Expect::FormErr},
      {"garbage with QR set", {0xde, 0xad, 0xbe, 0xef, 0x00, 0x01, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x13, 0x37}, Expect::Drop},
  };
}

const char* expectName(Expect e) {
  switch (e) {
    case Expect::Drop: return "dropped";
    case Expect::FormErr: return "FORMERR";
    case Expect::NotImp: return "NOTIMP";
    case Expect::BadVers: return "BADVERS";
    case Expect::Refused: return "REFUSED";
  }
  return "?";
}

int connectTcp(const SocketAddress& to) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  socklen_t len = 0;
  sockaddr_storage ss = dns::toSockaddr(to, len);
  if (connect(fd, reinterpret_cast<sockaddr*>(&ss), len) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

// Reads until the peer closes or `ms` pass; true if it closed.
bool peerCloses(int fd, int ms) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
  char buf[4096];
  while (std::chrono::steady_clock::now() < deadline) {
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, 50) != 1) continue;
    ssize_t n = recv(fd, buf, sizeof buf, 0);
    if (n <= 0) return true;
  }
  return false;
}

}  // namespace

TEST_CASE("malformed UDP queries get FORMERR, NOTIMP or BADVERS or are dropped, and good queries keep working") {
  DaemonProcess d(testConfig());
  INFO(d.log());
  REQUIRE(d.running());
  REQUIRE(goodQueryAnswered(d));
  for (const auto& c : udpCases()) {
    INFO(c.what << ": expected " << expectName(c.expect));
    auto reply = udpExchange(d.v4(), c.packet);
    switch (c.expect) {
      case Expect::Drop:
        CHECK_FALSE(reply.has_value());
        break;
      case Expect::FormErr:
      case Expect::NotImp:
      case Expect::Refused: {
        REQUIRE(reply.has_value());
        int want = c.expect == Expect::FormErr ? 1 : c.expect == Expect::NotImp ? 4 : 5;
        CHECK(rcodeOf(*reply) == want);
        CHECK((*reply)[0] == c.packet[0]);  // the ID is echoed
        CHECK((*reply)[1] == c.packet[1]);
        CHECK((*reply)[2] & 0x80);          // a response
        CHECK(((*reply)[2] & 0x78) == (c.packet[2] & 0x78));  // with the query's opcode
        CHECK(((*reply)[2] & 0x01) == (c.packet[2] & 0x01));  // and its RD
        auto p = parse(*reply);  // well-formed: ldns reads it
        REQUIRE(p);
        CHECK(ldns_pkt_qdcount(p.get()) == ((c.keep & kQuestion) ? 1 : 0));
        CHECK(ldns_pkt_ancount(p.get()) == 0);
        CHECK(((*reply)[10] << 8 | (*reply)[11]) == ((c.keep & kOpt) ? 1 : 0));  // ldns hides the OPT
        if (c.keep & kQuestion) {
          // The question exactly as sent.
          size_t qlen = qname().size() + 4;
          REQUIRE(reply->size() >= 12 + qlen);
          CHECK(Bytes(reply->begin() + 12, reply->begin() + 12 + static_cast<long>(qlen)) ==
                Bytes(c.packet.begin() + 12, c.packet.begin() + 12 + static_cast<long>(qlen)));
        }
        if (c.keep & kOpt) CHECK(ldns_pkt_edns_udp_size(p.get()) == 1232);
        break;
      }
      case Expect::BadVers: {
        REQUIRE(reply.has_value());
        auto p = parse(*reply);
        REQUIRE(p);
        CHECK(ldns_pkt_get_rcode(p.get()) == 0);  // BADVERS = 16: low bits 0, high bits in the OPT TTL
        CHECK(ldns_pkt_edns_extended_rcode(p.get()) == 1);
        CHECK(ldns_pkt_qdcount(p.get()) == 1);
        break;
      }
    }
    CHECK(goodQueryAnswered(d));
  }
  CHECK(d.running());
}

TEST_CASE("hostile TCP streams cost only their own connection") {
  DaemonProcess d(testConfig());
  INFO(d.log());
  REQUIRE(d.running());
  SECTION("a length prefix of 65535 with a few bytes behind it, then silence") {
    int fd = connectTcp(d.v4());
    REQUIRE(fd >= 0);
    Bytes lie{0xff, 0xff, 0xab, 0xcd, 1, 0};
    send(fd, lie.data(), lie.size(), MSG_NOSIGNAL);
    CHECK(goodQueryAnswered(d));
    CHECK(query(d.v4(), "myregistry.cr.example.test", LDNS_RR_TYPE_A, {.tcp = true}) != nullptr);
    close(fd);
  }
  SECTION("a zero length prefix, then a malformed message, then a good one on the same connection") {
    int fd = connectTcp(d.v4());
    REQUIRE(fd >= 0);
    Bytes good = buildQuery("myregistry.cr.example.test", 1, {});
    Bytes bad = header(0, 0, 0, 0);
    Bytes stream{0, 0};
    stream.push_back(static_cast<uint8_t>(bad.size() >> 8));
    stream.push_back(static_cast<uint8_t>(bad.size()));
    stream.insert(stream.end(), bad.begin(), bad.end());
    stream.push_back(static_cast<uint8_t>(good.size() >> 8));
    stream.push_back(static_cast<uint8_t>(good.size()));
    stream.insert(stream.end(), good.begin(), good.end());
    send(fd, stream.data(), stream.size(), MSG_NOSIGNAL);
    // The empty message is dropped; the malformed one gets FORMERR and the
    // good one its answer, in order, on the same connection.
    std::vector<Bytes> messages;
    Bytes in;
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (messages.size() < 2 && std::chrono::steady_clock::now() < deadline) {
      pollfd p{fd, POLLIN, 0};
      if (poll(&p, 1, 50) != 1) continue;
      uint8_t buf[4096];
      ssize_t n = recv(fd, buf, sizeof buf, 0);
      if (n <= 0) break;
      in.insert(in.end(), buf, buf + n);
      takeTcpMessages(in, messages);
    }
    close(fd);
    REQUIRE(messages.size() == 2);
    CHECK(rcodeOf(messages[0]) == 1);
    CHECK(messages[0][0] == 0xab);
    auto answer = parse(messages[1]);
    REQUIRE(answer);
    CHECK(ldns_pkt_get_rcode(answer.get()) == LDNS_RCODE_NOERROR);
    CHECK(!answers(answer.get()).empty());
    CHECK(goodQueryAnswered(d));
  }
  SECTION("garbage bytes") {
    int fd = connectTcp(d.v4());
    REQUIRE(fd >= 0);
    Bytes junk(3000);
    for (size_t i = 0; i < junk.size(); ++i) junk[i] = static_cast<uint8_t>(i * 131 + 7);
    send(fd, junk.data(), junk.size(), MSG_NOSIGNAL);
    CHECK(goodQueryAnswered(d));
    close(fd);
    CHECK(d.running());
  }
  SECTION("a client that stops mid-message is closed at the idle timeout") {
    int fd = connectTcp(d.v4());
    REQUIRE(fd >= 0);
    Bytes half{0, 40, 0xab};
    send(fd, half.data(), half.size(), MSG_NOSIGNAL);
    CHECK(peerCloses(fd, 15'000));  // the idle timeout is 10 s
    close(fd);
    CHECK(goodQueryAnswered(d));
  }
}
