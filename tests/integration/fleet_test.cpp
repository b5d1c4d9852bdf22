// Fleet mode end to end (issue 8): a real 3-member etcd cluster and three
// Switchyard nodes on loopback. An exclusion through any node changes every
// node's answer; one node whose probes all fail cannot fail a replica, two
// can; losing one etcd member and one node leaves the others serving and
// agreeing.
#include <catch2/catch.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <random>
#include <thread>

#include "tests/support/admin_client.h"
#include "tests/support/daemon_process.h"
#include "tests/support/dns_client.h"
#include "tests/support/etcd_process.h"
#include "tests/support/test_http_server.h"

using namespace switchyard;
using namespace switchyard::test;
using Strings = std::vector<std::string>;
using Clock = std::chrono::steady_clock;

namespace {

struct Fleet {
  EtcdCluster etcd{3};
  std::vector<std::unique_ptr<TestHttpServer>> replicas = serversOnOnePort(3);
  uint16_t dead_port = freeLoopback().port;  // nothing listens there on the replica addresses

  std::string ip(int i) const { return replicas[static_cast<size_t>(i)]->address().address.toString(); }

  // Node `name`'s config; probe_port: where it probes (the dead port makes
  // every one of its probes fail).
  // members: which etcd members the node knows (default: all).
  std::string config(const std::string& name, uint16_t probe_port, std::vector<size_t> members = {}) const {
    if (members.empty())
      for (size_t i = 0; i < etcd.endpoints().size(); ++i) members.push_back(i);
    std::string endpoints;
    for (size_t m : members) endpoints += (endpoints.empty() ? "\"" : ", \"") + etcd.endpoints()[m] + "\"";
    return R"(zone: cr.example.test
nameservers: [{ name: ns1.cr.example.test, addresses: [127.0.0.1] }]
listen: { dns: @DNS@, admin: "@ADMIN@" }
admin: { token_file: admin.token }
regions:
  eastus:     { location: [37.37, -79.82] }
  westus:     { location: [37.78, -122.42] }
  westeurope: { location: [52.37, 4.90] }
clients:
  default_region: eastus
  networks:
    - { cidr: 198.51.100.0/26,  region: eastus }
fleet: { node: )" + name + ", etcd: [" + endpoints + R"(], lease_ttl: 2s }
health: { scheme: http, port: )" + std::to_string(probe_port) + R"(, interval: 100ms, timeout: 80ms, fall: 2, rise: 2 }
registries:
  - name: myregistry
    home: eastus
    replicas:
      - { region: eastus, addresses: [)" + ip(0) + R"(] }
      - { region: westus, addresses: [)" + ip(1) + R"(] }
      - { region: westeurope, addresses: [)" + ip(2) + R"(] }
)";
  }
};

Strings global(const DaemonProcess& d) {
  auto p = query(d.v4(), "myregistry.cr.example.test", LDNS_RR_TYPE_A,
                 {.ecs = IpPrefix::parse("198.51.100.0/26").value(), .timeout_ms = 500});
  return p ? answers(p.get()) : Strings{"(no answer)"};
}

// Health state of each replica as node `d` decided it: "eastus=up ...".
std::string healthOf(const DaemonProcess& d) {
  AdminClient api(d);
  auto r = api.get("/v1/registries/myregistry/replications");
  std::string out;
  for (const auto& rep : r.second) out += rep["region"].get<std::string>() + "=" + rep["health"]["state"].get<std::string>() + " ";
  return out;
}

// Polls until every node satisfies `ok`, at most `limit`; seconds taken or -1.
double untilAll(const std::vector<DaemonProcess*>& nodes, const std::function<bool(const DaemonProcess&)>& ok,
                std::chrono::milliseconds limit) {
  auto start = Clock::now();
  while (Clock::now() - start < limit) {
    bool all = true;
    for (auto* n : nodes) all = all && ok(*n);
    if (all) return std::chrono::duration<double>(Clock::now() - start).count();
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return -1;
}

}  // namespace

TEST_CASE("fleet: an exclusion through any node changes every node's answer") {
  Fleet f;
  REQUIRE(f.etcd.ready());
  uint16_t port = f.replicas[0]->address().port;
  DaemonProcess n1(f.config("n1", port)), n2(f.config("n2", port)), n3(f.config("n3", port));
  REQUIRE(n1.running());
  REQUIRE(n2.running());
  REQUIRE(n3.running());
  std::vector<DaemonProcess*> all{&n1, &n2, &n3};
  Strings nearest{"A " + f.ip(0)};
  INFO(n1.log());
  REQUIRE(untilAll(all, [&](const DaemonProcess& d) { return global(d) == nearest; }, std::chrono::seconds(10)) >= 0);

  // Excluded through n2: every node stops answering eastus.
  AdminClient api2(n2);
  auto asked = Clock::now();
  REQUIRE(api2.send("PATCH", "/v1/registries/myregistry/replications/eastus", R"({"globalEndpointRouting": false})")
              .first == 200);
  double acked = std::chrono::duration<double>(Clock::now() - asked).count();
  double agreed = untilAll(all, [&](const DaemonProcess& d) { return global(d) != nearest && global(d).size() >= 1 &&
                                                                     global(d)[0] != "(no answer)"; },
                           std::chrono::seconds(5));
  CHECK(agreed >= 0);
  // The figure for docs/fleet.md: request sent -> all three answer the new way.
  WARN("PATCH acknowledged after " << acked * 1000 << " ms; all three nodes answered without eastus "
                                   << (acked + agreed) * 1000 << " ms after it was sent");
  for (auto* d : all) CHECK(global(*d) == global(n1));
  // The routing view says which etcd revision it reflects.
  AdminClient api1(n1);
  CHECK(api1.get("/v1/registries/myregistry/routing").second.value("revision", 0) > 0);

  // Re-included through n3.
  AdminClient api3(n3);
  REQUIRE(api3.send("PATCH", "/v1/registries/myregistry/replications/eastus", R"({"globalEndpointRouting": true})")
              .first == 200);
  CHECK(untilAll(all, [&](const DaemonProcess& d) { return global(d) == nearest; }, std::chrono::seconds(5)) >= 0);

  // A fault injected through one node is every node's fault.
  REQUIRE(api1.send("POST", "/v1/registries/myregistry/replications/eastus/fault", R"({"health": "down"})").first ==
          200);
  CHECK(untilAll(all, [&](const DaemonProcess& d) { return global(d) != nearest; }, std::chrono::seconds(5)) >= 0);
  REQUIRE(api1.send("POST", "/v1/registries/myregistry/replications/eastus/fault", R"({"health": "none"})").first ==
          200);
  CHECK(untilAll(all, [&](const DaemonProcess& d) { return global(d) == nearest; }, std::chrono::seconds(5)) >= 0);
}

TEST_CASE("fleet: one node whose probes all fail cannot fail a replica, two of three can") {
  Fleet f;
  REQUIRE(f.etcd.ready());
  uint16_t port = f.replicas[0]->address().port;
  // n1 probes a port nothing listens on: it sees every replica down.
  DaemonProcess n1(f.config("n1", f.dead_port)), n2(f.config("n2", port)), n3(f.config("n3", port));
  REQUIRE(n1.running());
  REQUIRE(n2.running());
  REQUIRE(n3.running());
  std::vector<DaemonProcess*> all{&n1, &n2, &n3};
  const std::string up = "eastus=up westus=up westeurope=up ";
  INFO(n1.log());
  CHECK(untilAll(all, [&](const DaemonProcess& d) { return healthOf(d) == up; }, std::chrono::seconds(10)) >= 0);
  // It stays that way (n1 keeps voting down all along).
  std::this_thread::sleep_for(std::chrono::milliseconds(600));
  for (auto* d : all) CHECK(healthOf(*d) == up);
  CHECK(global(n1) == Strings{"A " + f.ip(0)});

  // n2 now probes the dead port too: two of three see every replica down.
  std::string path = n2.dir() + "/switchyard.yaml";
  std::string text = f.config("n2", f.dead_port);
  text.replace(text.find("@DNS@"), 5, "[\"" + n2.v4().toString() + "\", \"" + n2.v6().toString() + "\"]");
  text.replace(text.find("@ADMIN@"), 7, n2.admin().toString());
  writeFile(path, text);
  AdminClient api2(n2);
  REQUIRE(api2.send("POST", "/v1/reload", "").first == 200);
  const std::string down = "eastus=down westus=down westeurope=down ";
  CHECK(untilAll(all, [&](const DaemonProcess& d) { return healthOf(d) == down; }, std::chrono::seconds(10)) >= 0);
  CHECK_THAT(n3.log(), Catch::Contains("fleet: 2 of 3 reporting nodes"));
}

TEST_CASE("fleet: with one etcd member and one node gone, the others keep serving and agreeing") {
  Fleet f;
  REQUIRE(f.etcd.ready());
  uint16_t port = f.replicas[0]->address().port;
  DaemonProcess n1(f.config("n1", port)), n2(f.config("n2", port));
  auto n3 = std::make_unique<DaemonProcess>(f.config("n3", port));
  REQUIRE(n1.running());
  REQUIRE(n2.running());
  REQUIRE(n3->running());
  Strings nearest{"A " + f.ip(0)};
  std::vector<DaemonProcess*> both{&n1, &n2};
  REQUIRE(untilAll(both, [&](const DaemonProcess& d) { return global(d) == nearest; }, std::chrono::seconds(10)) >= 0);

  f.etcd.kill(0);
  n3.reset();  // SIGTERM; its lease lapses
  AdminClient api1(n1);
  // The PATCH may land on the dead member first: the client moves on.
  REQUIRE(api1.send("PATCH", "/v1/registries/myregistry/replications/eastus", R"({"globalEndpointRouting": false})")
              .first == 200);
  CHECK(untilAll(both, [&](const DaemonProcess& d) { return global(d) != nearest && global(d)[0] != "(no answer)"; },
                 std::chrono::seconds(10)) >= 0);
  CHECK(global(n1) == global(n2));
  // n3's lease expires (2 s): the survivors count two live nodes.
  auto live = [&](const DaemonProcess& d) {
    httplib::Client c(d.admin().address.toString(), d.admin().port);
    auto r = c.Get("/metrics");
    return r && r->body.find("switchyard_fleet_live_nodes 2") != std::string::npos;
  };
  CHECK(untilAll(both, live, std::chrono::seconds(10)) >= 0);
}

TEST_CASE("fleet: a node that loses etcd keeps serving its last table and says so") {
  Fleet f;
  REQUIRE(f.etcd.ready());
  uint16_t port = f.replicas[0]->address().port;
  DaemonProcess n1(f.config("n1", port));
  REQUIRE(n1.running());
  Strings nearest{"A " + f.ip(0)};
  REQUIRE(untilAll({&n1}, [&](const DaemonProcess& d) { return global(d) == nearest; }, std::chrono::seconds(10)) >= 0);
  for (size_t i = 0; i < 3; ++i) f.etcd.kill(i);
  auto says = [](const DaemonProcess& d) {
    httplib::Client c(d.admin().address.toString(), d.admin().port);
    auto ready = c.Get("/readyz");
    auto metrics = c.Get("/metrics");
    return ready && ready->status == 200 && ready->body.find("\"fleet\":\"disconnected\"") != std::string::npos &&
           metrics && metrics->body.find("switchyard_fleet_connected{node=\"n1\"} 0") != std::string::npos;
  };
  CHECK(untilAll({&n1}, says, std::chrono::seconds(10)) >= 0);
  CHECK(global(n1) == nearest);
  // An exclusion cannot be shared now: refused, nothing applied.
  AdminClient api(n1);
  auto refused = api.send("PATCH", "/v1/registries/myregistry/replications/eastus", R"({"globalEndpointRouting": false})");
  CHECK(refused.first == 503);
  CHECK(global(n1) == nearest);
  CHECK_THAT(n1.log(), Catch::Contains("event=fleet_disconnected"));
}

TEST_CASE("fleet: a node cut off from etcd catches up on what changed meanwhile when it is back") {
  Fleet f;
  REQUIRE(f.etcd.ready());
  uint16_t port = f.replicas[0]->address().port;
  // n1 knows only member 0; n2 knows the other two.
  DaemonProcess n1(f.config("n1", port, {0})), n2(f.config("n2", port, {1, 2}));
  REQUIRE(n1.running());
  REQUIRE(n2.running());
  Strings nearest{"A " + f.ip(0)};
  std::vector<DaemonProcess*> both{&n1, &n2};
  REQUIRE(untilAll(both, [&](const DaemonProcess& d) { return global(d) == nearest; }, std::chrono::seconds(10)) >= 0);

  f.etcd.kill(0);  // n1 is cut off; the cluster (2 of 3) goes on
  auto connected = [](const DaemonProcess& d, bool want) {
    httplib::Client c(d.admin().address.toString(), d.admin().port);
    auto r = c.Get("/readyz");
    return r && r->body.find(want ? "\"fleet\":\"connected\"" : "\"fleet\":\"disconnected\"") != std::string::npos;
  };
  REQUIRE(untilAll({&n1}, [&](const DaemonProcess& d) { return connected(d, false); }, std::chrono::seconds(10)) >= 0);
  AdminClient api2(n2);
  REQUIRE(api2.send("PATCH", "/v1/registries/myregistry/replications/eastus", R"({"globalEndpointRouting": false})")
              .first == 200);
  REQUIRE(untilAll({&n2}, [&](const DaemonProcess& d) { return global(d) != nearest; }, std::chrono::seconds(5)) >= 0);
  CHECK(global(n1) == nearest);  // n1 serves its last table meanwhile

  f.etcd.restart(0);
  CHECK(untilAll({&n1}, [&](const DaemonProcess& d) { return connected(d, true); }, std::chrono::seconds(20)) >= 0);
  CHECK(untilAll(both, [&](const DaemonProcess& d) { return global(d) != nearest; }, std::chrono::seconds(10)) >= 0);
  CHECK(global(n1) == global(n2));
  CHECK_THAT(n1.log(), Catch::Contains("event=fleet_connected"));
}
