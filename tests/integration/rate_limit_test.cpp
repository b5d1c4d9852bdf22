// Response Rate Limiting over real sockets (issue 7): a burst of UDP queries
// from one client gets its budget of full answers, every second limited one
// slips out truncated and the rest are dropped; TCP and exempt networks are
// never limited; a reload changes the limits live; metrics count it all.
#include <catch2/catch.hpp>

#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <sstream>
#include <string>

#include "dns/socket_util.h"
#include "tests/support/admin_client.h"
#include "tests/support/daemon_process.h"
#include "tests/support/dns_client.h"
#include "tests/support/raw_wire.h"
#include "tests/support/test_topology.h"

using namespace switchyard;
using namespace switchyard::test;

namespace {

struct Burst {
  int full = 0;     // answered with records (or NXDOMAIN), TC clear
  int slipped = 0;  // TC set, no records
  int silent = 0;   // no reply
  int sent = 0;
};

// Sends `n` queries from one socket as fast as it can (names from `name_of`),
// then collects replies until 1 s passes without one.
template <typename NameOf>
Burst burst(const SocketAddress& to, int n, NameOf name_of) {
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  int big = 1 << 20;
  setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &big, sizeof big);
  socklen_t len = 0;
  sockaddr_storage ss = dns::toSockaddr(to, len);
  Burst b;
  for (int i = 0; i < n; ++i) {
    Bytes q = buildQuery(name_of(i), LDNS_RR_TYPE_A);
    if (sendto(fd, q.data(), q.size(), 0, reinterpret_cast<sockaddr*>(&ss), len) > 0) ++b.sent;
  }
  int replies = 0;
  for (int i = 0; i < 10 * n; ++i) {  // bounded: one reply per pass at most
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, 1000) != 1) break;
    uint8_t buf[1500];
    ssize_t got = recv(fd, buf, sizeof buf, 0);
    if (got < 12) continue;
    ++replies;
    bool tc = buf[2] & 0x02;
    int records = (buf[6] << 8 | buf[7]) + (buf[8] << 8 | buf[9]);
    if (tc && records == 0) ++b.slipped;
    else ++b.full;
  }
  close(fd);
  b.silent = b.sent - replies;
  return b;
}

std::string scrape(const DaemonProcess& d) {
  httplib::Client c(d.admin().address.toString(), d.admin().port);
  auto r = c.Get("/metrics");
  return r && r->status == 200 ? r->body : "";
}

double sample(const std::string& page, const std::string& series) {
  auto at = page.find("\n" + series + " ");
  return at == std::string::npos ? -1 : std::stod(page.substr(at + series.size() + 2));
}

std::string readAll(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

const std::string kRegional = "myregistry.westus.geo.cr.example.test";

}  // namespace

TEST_CASE("rate limiting: a burst gets its budget, every second limited answer slips truncated, the rest drop") {
  DaemonProcess d(adminConfig() + "rate_limit: { responses_per_second: 5, slip: 2 }\n");
  REQUIRE(d.running());
  constexpr int kQueries = 60;
  Burst b = burst(d.v4(), kQueries, [](int) { return kRegional; });
  INFO("full " << b.full << " slipped " << b.slipped << " silent " << b.silent);
  REQUIRE(b.sent == kQueries);
  // 5 a second; a burst that straddles a second boundary may see two budgets.
  CHECK(b.full >= 5);
  CHECK(b.full <= 10);
  int limited = kQueries - b.full;
  CHECK(b.slipped >= limited / 2 - 1);
  CHECK(b.slipped <= limited / 2 + 1);
  CHECK(b.silent == limited - b.slipped);

  SECTION("the metrics count what the client saw") {
    std::string page = scrape(d);
    CHECK(sample(page, "switchyard_dns_rate_limited_total{action=\"dropped\"}") == b.silent);
    CHECK(sample(page, "switchyard_dns_rate_limited_total{action=\"slipped\"}") == b.slipped);
  }
  SECTION("TCP is never limited, and another name has its own budget") {
    auto tcp = query(d.v4(), kRegional, LDNS_RR_TYPE_A, {.tcp = true});
    REQUIRE(tcp);
    CHECK(!answers(tcp.get()).empty());
    Burst other = burst(d.v4(), 3, [](int) { return std::string("teamb.westeurope.geo.cr.example.test"); });
    CHECK(other.full == 3);
  }
  SECTION("NXDOMAIN for random names shares one budget per client") {
    Burst nx = burst(d.v4(), 40, [](int i) { return "nope" + std::to_string(i) + ".cr.example.test"; });
    INFO("full " << nx.full << " slipped " << nx.slipped << " silent " << nx.silent);
    CHECK(nx.full >= 5);
    CHECK(nx.full <= 10);
    CHECK(nx.silent > 0);
  }
  SECTION("a reload changes the limits live: exempt networks are never limited") {
    std::string path = d.dir() + "/switchyard.yaml";
    std::string text = readAll(path);
    text.replace(text.find("rate_limit:"), std::string::npos,
                 "rate_limit: { responses_per_second: 5, slip: 2, exempt: [127.0.0.0/8] }\n");
    writeFile(path, text);
    AdminClient api(d);
    REQUIRE(api.send("POST", "/v1/reload", "").first == 200);
    Burst after = burst(d.v4(), kQueries, [](int) { return kRegional; });
    CHECK(after.full == kQueries);
  }
  CHECK(d.running());
}

TEST_CASE("rate limiting: slip 0 drops every limited answer, slip 1 truncates every one") {
  for (int slip : {0, 1}) {
    DYNAMIC_SECTION("slip " << slip) {
      DaemonProcess d(testConfig() + "rate_limit: { responses_per_second: 3, slip: " + std::to_string(slip) + " }\n");
      REQUIRE(d.running());
      Burst b = burst(d.v4(), 30, [](int) { return kRegional; });
      INFO("full " << b.full << " slipped " << b.slipped << " silent " << b.silent);
      CHECK(b.full >= 3);
      CHECK(b.full <= 6);
      if (slip == 0) CHECK(b.slipped == 0);
      else CHECK(b.silent == 0);
    }
  }
}
