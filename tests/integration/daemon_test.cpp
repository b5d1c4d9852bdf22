// The real daemon on a random loopback address, queried with a real client
// over UDP and TCP, IPv4 and IPv6, with and without ECS.
#include <catch2/catch.hpp>

#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <thread>

#include "dns/wire.h"
#include "tests/support/daemon_process.h"
#include "tests/support/dns_client.h"
#include "tests/support/raw_wire.h"
#include "tests/support/test_topology.h"

using namespace switchyard;
using namespace switchyard::test;
using Strings = std::vector<std::string>;

namespace {
const char* kGlobal = "myregistry.cr.example.test";
IpPrefix prefix(const char* s) { return IpPrefix::parse(s).value(); }
}  // namespace

TEST_CASE("daemon serves every name over UDP and TCP on IPv4 and IPv6") {
  DaemonProcess d(testConfig());
  REQUIRE(d.running());
  INFO(d.log());
  for (bool tcp : {false, true}) {
    INFO("tcp=" << tcp);
    // Source 127.x is in 127.0.0.0/8 -> westus; ::1 -> westeurope.
    CHECK(answers(query(d.v4(), kGlobal, LDNS_RR_TYPE_A, {.tcp = tcp}).get()) == Strings{"A 127.0.0.12"});
    CHECK(answers(query(d.v6(), kGlobal, LDNS_RR_TYPE_A, {.tcp = tcp}).get()) == Strings{"A 127.0.0.13"});
    CHECK(answers(query(d.v6(), kGlobal, LDNS_RR_TYPE_AAAA, {.tcp = tcp}).get()) == Strings{"AAAA 2001:db8::13"});
    CHECK(answers(query(d.v4(), "myregistry.eastus.geo.cr.example.test", LDNS_RR_TYPE_A, {.tcp = tcp}).get()) ==
          Strings{"A 127.0.0.11"});
    CHECK(answers(query(d.v6(), "myregistry.westus.data.cr.example.test", LDNS_RR_TYPE_A, {.tcp = tcp}).get()) ==
          Strings{"A 127.0.0.112"});
    auto nx = query(d.v4(), "missing.cr.example.test", LDNS_RR_TYPE_A, {.tcp = tcp});
    REQUIRE(nx);
    CHECK(ldns_pkt_get_rcode(nx.get()) == LDNS_RCODE_NXDOMAIN);
    auto refused = query(d.v6(), "example.org", LDNS_RR_TYPE_A, {.tcp = tcp});
    REQUIRE(refused);
    CHECK(ldns_pkt_get_rcode(refused.get()) == LDNS_RCODE_REFUSED);
  }
}

TEST_CASE("daemon routes each client region by ECS with the right scope") {
  DaemonProcess d(testConfig());
  REQUIRE(d.running());
  struct Case {
    const char* subnet;
    const char* answer;
    int scope;
  };
  for (auto c : {Case{"198.51.100.0/24", "A 127.0.0.11", 26}, Case{"198.51.100.64/26", "A 127.0.0.12", 26},
                 Case{"198.51.100.130/32", "A 127.0.0.13", 26}, Case{"2001:db8:4::/56", "A 127.0.0.13", 48},
                 Case{"203.0.113.0/24", "A 127.0.0.11", 5}}) {
    for (bool tcp : {false, true}) {
      INFO(c.subnet << " tcp=" << tcp);
      auto p = query(tcp ? d.v6() : d.v4(), kGlobal, LDNS_RR_TYPE_A, {.tcp = tcp, .ecs = prefix(c.subnet)});
      REQUIRE(p);
      CHECK(answers(p.get()) == Strings{c.answer});
      auto ecs = ecsOf(p.get());
      REQUIRE(ecs);
      CHECK(ecs->first == prefix(c.subnet).length);
      CHECK(ecs->second == c.scope);
    }
  }
}

TEST_CASE("daemon answers several pipelined queries on one TCP connection") {
  DaemonProcess d(testConfig());
  REQUIRE(d.running());
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(d.v4().port);
  std::memcpy(&sa.sin_addr, d.v4().address.bytes.data(), 4);
  REQUIRE(connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0);
  std::vector<uint8_t> out;
  for (const char* name : {kGlobal, "myregistry.westus.geo.cr.example.test", "teamb.cr.example.test"}) {
    auto q = buildQuery(name, LDNS_RR_TYPE_A);
    out.push_back(static_cast<uint8_t>(q.size() >> 8));
    out.push_back(static_cast<uint8_t>(q.size()));
    out.insert(out.end(), q.begin(), q.end());
  }
  // Send the three queries split awkwardly across writes.
  REQUIRE(send(fd, out.data(), 7, 0) == 7);
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  REQUIRE(send(fd, out.data() + 7, out.size() - 7, 0) == static_cast<ssize_t>(out.size() - 7));
  std::vector<uint8_t> in;
  int replies = 0;
  for (int i = 0; i < 50 && replies < 3; ++i) {
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, 100) != 1) continue;
    uint8_t buf[4096];
    ssize_t n = recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    in.insert(in.end(), buf, buf + n);
    std::vector<std::vector<uint8_t>> messages;
    test::takeTcpMessages(in, messages);
    for (const auto& m : messages) {
      auto p2 = parse(m);
      REQUIRE(p2);
      CHECK(ldns_pkt_ancount(p2.get()) >= 1);
      ++replies;
    }
  }
  close(fd);
  CHECK(replies == 3);
}

TEST_CASE("daemon survives malformed packets and keeps answering") {
  DaemonProcess d(testConfig());
  REQUIRE(d.running());
  for (const auto& junk : std::vector<std::vector<uint8_t>>{
           {}, {0}, {1, 2, 3}, std::vector<uint8_t>(12, 0xff), std::vector<uint8_t>(600, 0x41),
           {0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xC0, 12, 0, 1, 0, 1}}) {
    auto reply = exchange(d.v4(), junk, false, 200);
    // Whatever comes back is a FORMERR or NOTIMP (an opcode from the garbage).
    if (!reply.empty()) CHECK(((reply[3] & 0x0F) == dns::rcode::FormErr || (reply[3] & 0x0F) == dns::rcode::NotImp));
  }
  CHECK(answers(query(d.v4(), kGlobal, LDNS_RR_TYPE_A).get()) == Strings{"A 127.0.0.12"});
  CHECK(d.running());
}

TEST_CASE("SIGHUP reloads a good file and keeps serving the old one on a bad file") {
  DaemonProcess d(testConfig());
  REQUIRE(d.running());
  auto ttl = [&] {
    auto p = query(d.v4(), kGlobal, LDNS_RR_TYPE_A);
    return p && ldns_pkt_ancount(p.get()) ? ldns_rr_ttl(ldns_rr_list_rr(ldns_pkt_answer(p.get()), 0)) : 0u;
  };
  REQUIRE(ttl() == 30);
  std::string path = d.dir() + "/switchyard.yaml";
  std::string text = testConfig();
  std::string listen = "[\"" + d.v4().toString() + "\", \"" + d.v6().toString() + "\"]";
  text.replace(text.find("@DNS@"), 5, listen);

  writeFile(path, text + "bogus_key: 1\n");
  d.signal(SIGHUP);
  bool logged = false;
  for (int i = 0; i < 50 && !logged; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    logged = d.log().find("reload_failed") != std::string::npos;
  }
  CHECK(logged);
  CHECK_THAT(d.log(), Catch::Contains("bogus_key: unknown key"));
  CHECK(ttl() == 30);

  std::string good = text;
  good.replace(good.find("global: 30"), 10, "global: 45");
  writeFile(path, good);
  d.signal(SIGHUP);
  unsigned got = 0;
  for (int i = 0; i < 50 && got != 45; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    got = ttl();
  }
  INFO(d.log());
  CHECK(got == 45);
  CHECK(d.stop() == 0);
}

TEST_CASE("SIGTERM stops the daemon with exit status 0") {
  DaemonProcess d(testConfig());
  REQUIRE(d.running());
  CHECK(d.stop() == 0);
  CHECK_THAT(d.log(), Catch::Contains("event=stopped"));
}

TEST_CASE("SIGPIPE does not stop the daemon: a peer that hangs up mid-write is an error, not an exit") {
  // OpenSSL writes to its sockets with write(), not send(MSG_NOSIGNAL): an
  // Unbound control peer or an admin TLS client that resets a connection
  // while the daemon writes raises SIGPIPE, whose default action ends the
  // process. Sent here directly, as the kernel would.
  DaemonProcess d(testConfig());
  REQUIRE(d.running());
  d.signal(SIGPIPE);
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  INFO(d.log());
  CHECK(d.running());
  CHECK(d.stop() == 0);
}

TEST_CASE("check mode (--check) validates and exits 0 or 1 with file:line:column") {
  std::string dir = makeTempDir();
  std::string text = testConfig();
  text.replace(text.find("@DNS@"), 5, "[\"127.0.0.1:53\"]");
  writeFile(dir + "/good.yaml", text);
  auto good = runDaemon("--check --config " + dir + "/good.yaml");
  CHECK(good.exit_code == 0);
  CHECK_THAT(good.output, Catch::Contains("ok (2 registries, 4 regions)"));

  std::string broken = text;
  broken.replace(broken.find("198.51.100.64/26"), 16, "198.51.100.64/99");
  writeFile(dir + "/bad.yaml", broken);
  auto bad = runDaemon("--check --config " + dir + "/bad.yaml");
  CHECK(bad.exit_code == 1);
  CHECK_THAT(bad.output, Catch::Contains(dir + "/bad.yaml:19:15: clients.networks[1].cidr: bad prefix length"));

  auto missing = runDaemon("--check --config " + dir + "/none.yaml");
  CHECK(missing.exit_code == 1);
  [[maybe_unused]] int rc = std::system(("rm -rf " + dir).c_str());
}

TEST_CASE("a listen address that cannot be bound stops start-up with a clear error") {
  std::string dir = makeTempDir();
  std::string text = testConfig();
  text.replace(text.find("@DNS@"), 5, "[\"192.0.2.1:53\"]");  // not an address of this host
  writeFile(dir + "/sy.yaml", text);
  auto r = runDaemon("--config " + dir + "/sy.yaml");
  CHECK(r.exit_code == 1);
  CHECK_THAT(r.output, Catch::Contains("bind udp 192.0.2.1:53"));
  [[maybe_unused]] int rc = std::system(("rm -rf " + dir).c_str());
}
