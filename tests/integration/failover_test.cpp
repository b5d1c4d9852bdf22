// Failover and failback end to end: the real daemon probes real HTTP servers
// on loopback (100 ms interval) and a real DNS client watches the global name.
#include <catch2/catch.hpp>

#include <signal.h>

#include <chrono>
#include <fstream>
#include <functional>
#include <memory>
#include <random>
#include <sstream>
#include <thread>

#include "tests/support/daemon_process.h"
#include "tests/support/dns_client.h"
#include "tests/support/test_http_server.h"

using namespace switchyard;
using namespace switchyard::test;
using Strings = std::vector<std::string>;
using Clock = std::chrono::steady_clock;
using Servers = std::vector<std::unique_ptr<TestHttpServer>>;

namespace {

std::string ip(const std::unique_ptr<TestHttpServer>& s) { return s->address().address.toString(); }

struct Fleet {
  Servers a = serversOnOnePort(3);  // myregistry: eastus, westus, westeurope
  Servers b = serversOnOnePort(2);  // teamb: eastus, westus
  Fleet() { a[1]->respond(401); }   // a registry answers an anonymous /v2/ with 401: healthy

  std::string config(int fall = 3, int rise = 2) const {
    auto health = [&](const Servers& s) {
      return "    health: { port: " + std::to_string(s[0]->address().port) +
             ", interval: 100ms, timeout: 80ms, fall: " + std::to_string(fall) + ", rise: " + std::to_string(rise) +
             " }\n";
    };
    return R"(zone: cr.example.test
nameservers: [{ name: ns1.cr.example.test, addresses: [127.0.0.1] }]
listen: { dns: @DNS@ }
regions:
  eastus:     { location: [37.37, -79.82] }
  westus:     { location: [37.78, -122.42] }
  westeurope: { location: [52.37, 4.90] }
clients:
  default_region: eastus
  networks:
    - { cidr: 198.51.100.0/26,  region: eastus }
    - { cidr: 198.51.100.64/26, region: westus }
registries:
  - name: myregistry
    home: eastus
)" + health(a) + "    replicas:\n      - { region: eastus, addresses: [" + ip(a[0]) +
           "] }\n      - { region: westus, addresses: [" + ip(a[1]) + "] }\n      - { region: westeurope, addresses: [" +
           ip(a[2]) + "] }\n  - name: teamb\n    home: eastus\n" + health(b) +
           "    replicas:\n      - { region: eastus, addresses: [" + ip(b[0]) + "] }\n      - { region: westus, addresses: [" +
           ip(b[1]) + "] }\n";
  }
};

Strings global(const DaemonProcess& d, const char* name = "myregistry.cr.example.test") {
  auto p = query(d.v4(), name, LDNS_RR_TYPE_A, {.ecs = IpPrefix::parse("198.51.100.0/26").value()});
  return p ? answers(p.get()) : Strings{"(no answer)"};
}

Strings addresses(std::initializer_list<std::string> ips) {
  Strings out;
  for (const auto& i : ips) out.push_back("A " + i);
  std::sort(out.begin(), out.end());
  return out;
}

// Polls `f` every 20 ms until it returns `want` or `limit` passes; returns the
// time it took, or -1.
double waitFor(const std::function<Strings()>& f, const Strings& want, std::chrono::milliseconds limit) {
  auto start = Clock::now();
  while (Clock::now() - start < limit) {
    if (f() == want) return std::chrono::duration<double>(Clock::now() - start).count();
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return -1;
}

}  // namespace

TEST_CASE("a dead replica fails over after fall probes and fails back after rise probes") {
  Fleet fleet;
  DaemonProcess d(fleet.config());
  REQUIRE(d.running());
  INFO(d.log());
  auto nearest = addresses({ip(fleet.a[0])});
  // westus and westeurope share eastus's clients; global()'s subnet
  // (198.51.100.0/24) gets westus of the two (routing.spread sticky).
  auto spread = addresses({ip(fleet.a[1])});
  REQUIRE(waitFor([&] { return global(d); }, nearest, std::chrono::seconds(5)) >= 0);

  fleet.a[0]->setMode(TestHttpServer::Mode::Refuse);
  double failover = waitFor([&] { return global(d); }, spread, std::chrono::seconds(5));
  CHECK(failover >= 0);
  // fall = 3 probes 100 ms apart: never before the second interval.
  CHECK(failover >= 0.15);
  // Regional-style isolation: the other registry did not move.
  CHECK(global(d, "teamb.cr.example.test") == addresses({ip(fleet.b[0])}));

  fleet.a[0]->respond(200);
  double failback = waitFor([&] { return global(d); }, nearest, std::chrono::seconds(5));
  CHECK(failback >= 0);
  CHECK_THAT(d.log(), Catch::Contains("registry=myregistry replica=eastus health=down"));
  CHECK_THAT(d.log(), Catch::Contains("probes="));
  CHECK_THAT(d.log(), Catch::Contains("connect_error,connect_error,connect_error"));
  CHECK_THAT(d.log(), Catch::Contains("registry=myregistry replica=eastus health=up"));
}

TEST_CASE("one transient failure and throttling (429) move nothing") {
  Fleet fleet;
  DaemonProcess d(fleet.config(3, 2));
  REQUIRE(d.running());
  INFO(d.log());
  auto nearest = addresses({ip(fleet.a[0])});
  REQUIRE(waitFor([&] { return global(d); }, nearest, std::chrono::seconds(5)) >= 0);

  // At most two probes (>= 90 ms apart) can fall into 150 ms: below fall = 3.
  fleet.a[0]->setMode(TestHttpServer::Mode::Close);
  auto end = Clock::now() + std::chrono::milliseconds(150);
  bool moved = false;
  while (Clock::now() < end) moved = moved || global(d) != nearest;
  fleet.a[0]->respond(200);
  end = Clock::now() + std::chrono::milliseconds(600);
  while (Clock::now() < end) moved = moved || global(d) != nearest;
  CHECK_FALSE(moved);

  fleet.a[0]->respond(429);
  end = Clock::now() + std::chrono::milliseconds(1000);
  while (Clock::now() < end) moved = moved || global(d) != nearest;
  CHECK_FALSE(moved);
  CHECK(fleet.a[0]->requests() >= 8);  // it really was probed all along
}

TEST_CASE("a hung replica does not delay detection of another replica's failure") {
  Fleet fleet;
  DaemonProcess d(fleet.config(2, 1));
  REQUIRE(d.running());
  INFO(d.log());
  REQUIRE(waitFor([&] { return global(d); }, addresses({ip(fleet.a[0])}), std::chrono::seconds(5)) >= 0);
  // westeurope hangs (accepts, never answers): every probe of it takes the
  // whole timeout. eastus then dies; the answer must still move promptly.
  fleet.a[2]->setMode(TestHttpServer::Mode::Hang);
  fleet.a[0]->setMode(TestHttpServer::Mode::Refuse);
  double t = waitFor([&] { return global(d); }, addresses({ip(fleet.a[1])}), std::chrono::seconds(5));
  CHECK(t >= 0);
  CHECK(t < 2.0);
}

TEST_CASE("per-registry health: one registry's failure does not move another") {
  Fleet fleet;
  DaemonProcess d(fleet.config(2, 1));
  REQUIRE(d.running());
  REQUIRE(waitFor([&] { return global(d, "teamb.cr.example.test"); }, addresses({ip(fleet.b[0])}),
                  std::chrono::seconds(5)) >= 0);
  fleet.b[0]->setMode(TestHttpServer::Mode::Refuse);
  CHECK(waitFor([&] { return global(d, "teamb.cr.example.test"); }, addresses({ip(fleet.b[1])}),
                std::chrono::seconds(5)) >= 0);
  CHECK(global(d) == addresses({ip(fleet.a[0])}));
}

TEST_CASE("a restart restores the last known health and serves it at once") {
  Fleet fleet;
  std::string state = makeTempDir();
  // westus and westeurope share eastus's clients; global()'s subnet
  // (198.51.100.0/24) gets westus of the two (routing.spread sticky).
  auto spread = addresses({ip(fleet.a[1])});
  {
    DaemonProcess d(fleet.config(2, 1), "--state-dir " + state);
    REQUIRE(d.running());
    fleet.a[0]->setMode(TestHttpServer::Mode::Refuse);
    REQUIRE(waitFor([&] { return global(d); }, spread, std::chrono::seconds(5)) >= 0);
    std::this_thread::sleep_for(std::chrono::milliseconds(200));  // the state write is asynchronous
    CHECK(d.stop() == 0);
  }
  std::ifstream in(state + "/health.json");
  std::stringstream saved;
  saved << in.rdbuf();
  CHECK_THAT(saved.str(), Catch::Contains("\"myregistry/eastus\": \"down\""));

  DaemonProcess again(fleet.config(2, 1), "--state-dir " + state);
  REQUIRE(again.running());
  // The very first answer already reflects the restored state.
  CHECK(global(again) == spread);
  CHECK_THAT(again.log(), Catch::Contains("event=serving"));
  CHECK_THAT(again.log(), !Catch::Contains("waiting_for_first_probe_round"));
  [[maybe_unused]] int rc = std::system(("rm -rf " + state).c_str());
}

TEST_CASE("a corrupt health state file is reported and ignored") {
  Fleet fleet;
  std::string state = makeTempDir();
  writeFile(state + "/health.json", "{ not json");
  DaemonProcess d(fleet.config(), "--state-dir " + state);
  REQUIRE(d.running());
  CHECK(waitFor([&] { return global(d); }, addresses({ip(fleet.a[0])}), std::chrono::seconds(5)) >= 0);
  CHECK_THAT(d.log(), Catch::Contains("event=state_ignored"));
  [[maybe_unused]] int rc = std::system(("rm -rf " + state).c_str());
}

TEST_CASE("at start-up the first answer waits for the first probe round") {
  Fleet fleet;
  fleet.a[0]->setMode(TestHttpServer::Mode::Refuse);  // dead before we start
  DaemonProcess d(fleet.config());
  REQUIRE(d.running());
  // No guessing from "unknown": the dead replica is never handed out.
  CHECK(global(d) == addresses({ip(fleet.a[1])}));  // westus: global()'s subnet's share of westus + westeurope
  CHECK_THAT(d.log(), Catch::Contains("event=first_probe_round_done"));
}

TEST_CASE("a reload stops probing removed replicas, probes new ones and keeps unchanged state") {
  Fleet fleet;
  std::string full = fleet.config(2, 1);
  // Start without westeurope.
  std::string line = "      - { region: westeurope, addresses: [" + ip(fleet.a[2]) + "] }\n";
  std::string without = full;
  without.erase(without.find(line), line.size());
  DaemonProcess d(without);
  REQUIRE(d.running());
  INFO(d.log());
  fleet.a[0]->setMode(TestHttpServer::Mode::Refuse);
  REQUIRE(waitFor([&] { return global(d); }, addresses({ip(fleet.a[1])}), std::chrono::seconds(5)) >= 0);
  CHECK(fleet.a[2]->requests() == 0);

  // Swap westus for westeurope; eastus stays, and stays down.
  std::string swapped = full;
  std::string west = "      - { region: westus, addresses: [" + ip(fleet.a[1]) + "] }\n";
  swapped.erase(swapped.find(west), west.size());
  d.rewriteConfig(swapped);
  d.signal(SIGHUP);
  CHECK(waitFor([&] { return global(d); }, addresses({ip(fleet.a[2])}), std::chrono::seconds(5)) >= 0);
  // Its first probe said healthy (a new pair waits for it).
  for (int i = 0; i < 100 && fleet.a[2]->requests() == 0; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  CHECK(fleet.a[2]->requests() > 0);
  int west_probes = fleet.a[1]->requests();
  std::this_thread::sleep_for(std::chrono::milliseconds(400));
  CHECK(fleet.a[1]->requests() <= west_probes + 1);  // at most one already in flight
  CHECK_THAT(d.log(), Catch::Contains("event=reload"));
}

namespace {

// eastus and (when west_ip is given) westus of one registry, probed every
// 1.5 s with a 1.5 s timeout, and a westus client subnet: the two reload
// tests below.
std::string eastWestConfig(uint16_t port, const std::string& east_ip, const std::string& west_ip, int fall) {
  std::string text = R"(zone: cr.example.test
nameservers: [{ name: ns1.cr.example.test, addresses: [127.0.0.1] }]
listen: { dns: @DNS@ }
regions:
  eastus: { location: [37.37, -79.82] }
  westus: { location: [37.78, -122.42] }
clients:
  default_region: eastus
  networks:
    - { cidr: 198.51.100.64/26, region: westus }
registries:
  - name: myregistry
    home: eastus
    health: { port: )" + std::to_string(port) +
                     ", interval: 1500ms, timeout: 1500ms, fall: " + std::to_string(fall) +
                     ", rise: 1 }\n    replicas:\n      - { region: eastus, addresses: [" + east_ip + "] }\n";
  if (!west_ip.empty()) text += "      - { region: westus, addresses: [" + west_ip + "] }\n";
  return text;
}

Strings westClient(const DaemonProcess& d) {
  auto p = query(d.v4(), "myregistry.cr.example.test", LDNS_RR_TYPE_A, {.ecs = IpPrefix::parse("198.51.100.64/26").value()});
  return p ? answers(p.get()) : Strings{"(no answer)"};
}

// Writes `text` as the daemon's config (its own listen addresses) and SIGHUPs it.
void reloadWith(const DaemonProcess& d, const std::string& text) {
  d.rewriteConfig(text);
  d.signal(SIGHUP);
}

}  // namespace

TEST_CASE("a replica added by a reload joins global routing only after its first probe says healthy") {
  // eastus answers; westus, added by the reload, hangs its first probe for
  // 1.5 s. Its clients must keep getting eastus meanwhile, not a guess.
  Servers s = serversOnOnePort(2);
  s[1]->setMode(TestHttpServer::Mode::Hang);
  uint16_t port = s[0]->address().port;
  DaemonProcess d(eastWestConfig(port, ip(s[0]), "", 1));
  INFO(d.log());
  REQUIRE(d.running());
  auto west = [&] { return westClient(d); };
  REQUIRE(west() == addresses({ip(s[0])}));

  reloadWith(d, eastWestConfig(port, ip(s[0]), ip(s[1]), 1));
  // The reload is applied once westus's first probe is under way (its
  // connection held by the server); from then until that probe ends, 1.5 s
  // later, its clients stay on eastus.
  for (int i = 0; i < 250 && s[1]->requests() == 0; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  REQUIRE(s[1]->requests() > 0);
  auto held_since = Clock::now();
  int answers_checked = 0;
  while (Clock::now() - held_since < std::chrono::milliseconds(1000)) {
    CHECK(west() == addresses({ip(s[0])}));
    ++answers_checked;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  CHECK(answers_checked >= 5);
  // Healthy from the next probe on: westus's clients move to it.
  s[1]->respond(200);
  CHECK(waitFor(west, addresses({ip(s[1])}), std::chrono::seconds(6)) >= 0);
}

TEST_CASE("a replica a reload moves to another address is probed there before its clients go to it") {
  // westus answers at s[1]; the reload moves it to s[2], which hangs its
  // probes. The old "up" says nothing about s[2]: westus's clients must
  // not be sent there on it.
  Servers s = serversOnOnePort(3);
  s[2]->setMode(TestHttpServer::Mode::Hang);
  uint16_t port = s[0]->address().port;
  DaemonProcess d(eastWestConfig(port, ip(s[0]), ip(s[1]), 3));
  INFO(d.log());
  REQUIRE(d.running());
  auto west = [&] { return westClient(d); };
  REQUIRE(waitFor(west, addresses({ip(s[1])}), std::chrono::seconds(5)) >= 0);

  reloadWith(d, eastWestConfig(port, ip(s[0]), ip(s[2]), 3));
  for (int i = 0; i < 250 && s[2]->requests() == 0; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  REQUIRE(s[2]->requests() > 0);  // probed at once at the new address
  auto since = Clock::now();
  while (Clock::now() - since < std::chrono::milliseconds(1000)) {
    CHECK(west() == addresses({ip(s[0])}));
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  CHECK_THAT(d.log(), Catch::Contains("event=probe_endpoint_changed pair=myregistry/westus"));
  s[2]->respond(200);
  CHECK(waitFor(west, addresses({ip(s[2])}), std::chrono::seconds(6)) >= 0);
}
