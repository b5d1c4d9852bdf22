// A wildcard listen address (0.0.0.0:53, [::]:53, as the compose, Kubernetes
// and fleet examples use) on a host with several addresses (issue 18, item 8):
// each UDP answer must leave from the address its query was sent to. Before,
// the kernel picked the source by route, so a query to 127.a.b.c was answered
// from 127.0.0.1 and a client that checks the source (dig, any connected UDP
// socket) timed out. The loopback net has every 127/8 address: several
// addresses without a private network namespace.
#include <catch2/catch.hpp>

#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <optional>
#include <random>

#include "config/config_loader.h"
#include "control/router.h"
#include "dns/dns_server.h"
#include "dns/socket_util.h"
#include "tests/support/dns_client.h"
#include "tests/support/raw_wire.h"
#include "tests/support/test_topology.h"

using namespace switchyard;
using namespace switchyard::test;

namespace {

struct WildcardServer {
  dns::AnswerPublisher publisher;
  std::unique_ptr<control::Router> router;
  std::unique_ptr<dns::DnsServer> server;
  WildcardServer() {
    std::string text = testConfig();
    text.replace(text.find("@DNS@"), 5, R"(["0.0.0.0:0", "[::]:0"])");
    auto topology = config::loadTopologyText(text, "wildcard.yaml").value();
    router = std::make_unique<control::Router>(topology, publisher);
    server = std::move(dns::DnsServer::start(topology->listen_dns, 2, publisher, {}).value());
  }
  uint16_t port(bool v6) const {
    for (const auto& b : server->bound())
      if (b.address.isV4() != v6) return b.port;
    return 0;
  }
};

// Asks `to` over a connected UDP socket, which (like dig) accepts a reply
// only from `to`; returns the reply's length, or -1 when none came in 2 s.
ssize_t askConnected(const SocketAddress& to) {
  int fd = socket(to.address.isV4() ? AF_INET : AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  socklen_t len = 0;
  sockaddr_storage ss = dns::toSockaddr(to, len);
  if (connect(fd, reinterpret_cast<sockaddr*>(&ss), len) != 0) {
    close(fd);
    return -1;
  }
  Bytes q = buildQuery("myregistry.cr.example.test", LDNS_RR_TYPE_A, {});
  send(fd, q.data(), q.size(), 0);
  pollfd p{fd, POLLIN, 0};
  ssize_t n = -1;
  uint8_t buf[1500];
  if (poll(&p, 1, 2000) == 1) n = recv(fd, buf, sizeof buf, 0);
  close(fd);
  return n;
}

// Asks `to` from an unconnected socket; the address the reply came from.
std::optional<IpAddress> replySource(const SocketAddress& to) {
  int fd = socket(to.address.isV4() ? AF_INET : AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  socklen_t len = 0;
  sockaddr_storage ss = dns::toSockaddr(to, len);
  Bytes q = buildQuery("myregistry.cr.example.test", LDNS_RR_TYPE_A, {});
  sendto(fd, q.data(), q.size(), 0, reinterpret_cast<sockaddr*>(&ss), len);
  pollfd p{fd, POLLIN, 0};
  std::optional<IpAddress> from;
  uint8_t buf[1500];
  sockaddr_storage peer{};
  socklen_t peer_len = sizeof peer;
  if (poll(&p, 1, 2000) == 1 &&
      recvfrom(fd, buf, sizeof buf, 0, reinterpret_cast<sockaddr*>(&peer), &peer_len) > 0)
    from = dns::toIpAddress(reinterpret_cast<sockaddr*>(&peer));
  close(fd);
  return from;
}

}  // namespace

TEST_CASE("a wildcard UDP listener answers from the address each query was sent to") {
  WildcardServer s;
  uint16_t port = s.port(false);
  REQUIRE(port != 0);
  std::mt19937 rng(std::random_device{}());
  for (int i = 0; i < 8; ++i) {
    // 127.0.0.1 is the route's preferred source; any other 127/8 address
    // is a second address of this host.
    std::string a = "127." + std::to_string(rng() % 250 + 2) + "." + std::to_string(rng() % 250 + 1) + "." +
                    std::to_string(rng() % 250 + 1);
    SocketAddress to{IpAddress::parse(a).value(), port};
    INFO("query to " << to.toString());
    CHECK(askConnected(to) > 12);
    auto from = replySource(to);
    REQUIRE(from);
    CHECK(from->toString() == a);
  }
  // The query's own destination also when it is the preferred one, and on
  // an IPv6 wildcard socket (the only IPv6 loopback address is ::1).
  CHECK(askConnected({IpAddress::parse("127.0.0.1").value(), port}) > 12);
  uint16_t port6 = s.port(true);
  REQUIRE(port6 != 0);
  SocketAddress six{IpAddress::parse("::1").value(), port6};
  CHECK(askConnected(six) > 12);
  auto from6 = replySource(six);
  REQUIRE(from6);
  CHECK(from6->toString() == "::1");
  // TCP answers always leave from the connection's address: still served.
  CHECK(query({IpAddress::parse("127.3.4.5").value(), port}, "myregistry.cr.example.test", LDNS_RR_TYPE_A,
              {.tcp = true}));
}
