// TCP resource limits of the DNS workers, with short limits so the test is quick.
#include <catch2/catch.hpp>

#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstring>

#include "config/config_loader.h"
#include "control/router.h"
#include "dns/dns_server.h"
#include "tests/support/dns_client.h"
#include "tests/support/test_topology.h"

using namespace switchyard;

namespace {

int connectTo(const SocketAddress& a) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(a.port);
  std::memcpy(&sa.sin_addr, a.address.bytes.data(), 4);
  if (connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

// Waits (bounded) until the peer closes: recv returns 0 or an error.
bool closedByPeer(int fd, int within_ms) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(within_ms);
  while (std::chrono::steady_clock::now() < deadline) {
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, 50) == 1) {
      char c;
      return recv(fd, &c, 1, 0) <= 0;
    }
  }
  return false;
}

struct Server {
  dns::AnswerPublisher publisher;
  std::unique_ptr<control::Router> router;
  std::unique_ptr<dns::DnsServer> server;
  explicit Server(dns::WorkerOptions options) {
    std::string text = test::testConfig();
    text.replace(text.find("@DNS@"), 5, "[\"127.0.0.1:0\"]");
    auto topology = config::loadTopologyText(text, "tcp.yaml").value();
    router = std::make_unique<control::Router>(topology, publisher);
    server = std::move(dns::DnsServer::start(topology->listen_dns, 1, publisher, options).value());
  }
  SocketAddress address() const { return server->bound()[0]; }
};

}  // namespace

TEST_CASE("an idle TCP connection is closed after the idle timeout") {
  Server s({.tcp_idle = std::chrono::milliseconds(200), .max_tcp = 16});
  int fd = connectTo(s.address());
  REQUIRE(fd >= 0);
  auto start = std::chrono::steady_clock::now();
  CHECK(closedByPeer(fd, 3000));
  CHECK(std::chrono::steady_clock::now() - start >= std::chrono::milliseconds(150));
  close(fd);
}

TEST_CASE("connections beyond the cap are closed at once and the server keeps answering") {
  Server s({.tcp_idle = std::chrono::milliseconds(5000), .max_tcp = 2});
  int a = connectTo(s.address());
  int b = connectTo(s.address());
  REQUIRE(a >= 0);
  REQUIRE(b >= 0);
  int c = connectTo(s.address());
  REQUIRE(c >= 0);
  CHECK(closedByPeer(c, 2000));
  close(c);
  CHECK(test::query(s.address(), "myregistry.cr.example.test", LDNS_RR_TYPE_A, {.edns = true}));
  close(a);
  close(b);
  // Once the first two are gone, TCP serves again.
  bool served = false;
  for (int i = 0; i < 20 && !served; ++i) {
    served = test::query(s.address(), "cr.example.test", LDNS_RR_TYPE_SOA, {.tcp = true}) != nullptr;
    if (!served) usleep(50'000);
  }
  CHECK(served);
}

TEST_CASE("a client that keeps sending a byte now and then is closed at the connection's lifetime") {
  Server s({.tcp_idle = std::chrono::milliseconds(1000), .tcp_lifetime = std::chrono::milliseconds(2000), .max_tcp = 16});
  int fd = connectTo(s.address());
  REQUIRE(fd >= 0);
  // A message that never completes: one byte every 100 ms keeps the idle timer fresh.
  const uint8_t drip[] = {0, 200, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20,
                          21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40};
  auto start = std::chrono::steady_clock::now();
  bool closed = false;
  for (size_t i = 0; i < sizeof drip && !closed; ++i) {
    if (send(fd, drip + i, 1, MSG_NOSIGNAL) != 1) {
      closed = true;
      break;
    }
    closed = closedByPeer(fd, 100);
  }
  auto took = std::chrono::steady_clock::now() - start;
  CHECK(closed);
  CHECK(took >= std::chrono::milliseconds(1900));  // not the idle timeout: the drip kept it fresh
  close(fd);
  CHECK(test::query(s.address(), "cr.example.test", LDNS_RR_TYPE_SOA, {.tcp = true}) != nullptr);
}
