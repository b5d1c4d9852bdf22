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
#include <set>
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
  // quorum: the fleet.quorum key (default: a majority).
  // prefix: the fleet.prefix key (default: the default prefix).
  std::string config(const std::string& name, uint16_t probe_port, std::vector<size_t> members = {},
                     const std::string& quorum = "", const std::string& prefix = "") const {
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
fleet: { node: )" + name + ", etcd: [" + endpoints + "], lease_ttl: 2s" + (quorum.empty() ? "" : ", quorum: " + quorum) +
           (prefix.empty() ? "" : ", prefix: " + prefix) + R"( }
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
  n2.rewriteConfig(f.config("n2", f.dead_port));
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

namespace {

// The first A answer (or NXDOMAIN) for `name` as node `d` gives it to an eastus client.
std::string answerOf(const DaemonProcess& d, const std::string& name) {
  auto p = query(d.v4(), name, LDNS_RR_TYPE_A, {.ecs = IpPrefix::parse("198.51.100.0/26").value(), .timeout_ms = 500});
  if (!p) return "(no answer)";
  if (ldns_pkt_get_rcode(p.get()) == LDNS_RCODE_NXDOMAIN) return "NXDOMAIN";
  auto a = answers(p.get());
  return a.empty() ? "(empty)" : a[0];
}

}  // namespace

TEST_CASE("fleet: registries made through any node's API are every node's, and a node that was away catches up") {
  Fleet f;
  REQUIRE(f.etcd.ready());
  uint16_t port = f.replicas[0]->address().port;
  std::string state2 = makeTempDir();
  // One vote decides (quorum 1), so a node can come back to decisions made
  // without it. No state directory on n1: in a fleet etcd holds the catalog.
  DaemonProcess n1(f.config("n1", port, {}, "1"));
  auto n2 = std::make_unique<DaemonProcess>(f.config("n2", port, {}, "1"), "--state-dir " + state2);
  REQUIRE(n1.running());
  REQUIRE(n2->running());
  INFO(n1.log());
  Strings nearest{"A " + f.ip(0)};
  REQUIRE(untilAll({&n1, n2.get()}, [&](const DaemonProcess& d) { return global(d) == nearest; },
                   std::chrono::seconds(10)) >= 0);
  AdminClient api1(n1);
  const std::string name = "newreg.cr.example.test";

  // Made through n1, waiting for its home replica; the replica through n2.
  auto [s1, made] = api1.send("PUT", "/v1/registries/newreg", R"({"home": "westus"})");
  INFO(made.dump());
  REQUIRE(s1 == 201);
  CHECK(made["serving"] == false);
  {
    AdminClient api2(*n2);
    // n1 replied once its own watch had the entry; n2 has it within the watch latency.
    CHECK(untilAll({n2.get()}, [&](const DaemonProcess& d) {
            return AdminClient(d).get("/v1/registries/newreg").first == 200;
          }, std::chrono::seconds(5)) >= 0);
    auto [s2, rep] = api2.send("PUT", "/v1/registries/newreg/replications/westus",
                               R"({"addresses": [")" + f.ip(1) + R"("]})");
    INFO(rep.dump());
    REQUIRE(s2 == 201);
  }
  // Both nodes serve it once the fleet has decided its first probes.
  std::string west = "A " + f.ip(1);
  CHECK(untilAll({&n1, n2.get()}, [&](const DaemonProcess& d) { return answerOf(d, name) == west; },
                 std::chrono::seconds(10)) >= 0);

  // An eastus replica through n1: eastus clients move to it on both.
  REQUIRE(api1.send("PUT", "/v1/registries/newreg/replications/eastus", R"({"addresses": [")" + f.ip(0) + R"("]})")
              .first == 201);
  std::string east = "A " + f.ip(0);
  CHECK(untilAll({&n1, n2.get()}, [&](const DaemonProcess& d) { return answerOf(d, name) == east; },
                 std::chrono::seconds(10)) >= 0);
  // n2 raised the event too: it applied the change from the watch.
  {
    auto [se, events] = AdminClient(*n2).get("/v1/events?since=0");
    int made_here = 0;
    for (const auto& e : events)
      made_here += (e["type"] == "replication_created" && e["replica"] == "eastus") || e["type"] == "registry_created";
    CHECK(made_here == 2);
  }

  // A batch through n2: all of it on both nodes.
  {
    std::string batch = R"({"name": "batch1", "home": "eastus", "replications": {"eastus": {"addresses": [")" +
                        f.ip(0) + R"("]}}})" "\n" R"({"name": "batch2", "home": "eastus", "replications": {"eastus": {"addresses": [")" +
                        f.ip(2) + "\"]}}}\n";
    auto [sb, body] = AdminClient(*n2).send("POST", "/v1/registries:batch", batch);
    INFO(body.dump());
    REQUIRE(sb == 200);
    CHECK(untilAll({&n1, n2.get()}, [&](const DaemonProcess& d) {
            return answerOf(d, "batch1.cr.example.test") == east && answerOf(d, "batch2.cr.example.test") == "A " + f.ip(2);
          }, std::chrono::seconds(10)) >= 0);
  }
  // Two nodes change one registry at once: each reply tells the truth
  // (201: the replica is there on both nodes; 409: it is not, retry), never a
  // lost update where both say 201 and one replica is missing.
  {
    int st1 = 0, st2 = 0;
    std::thread a([&] {
      st1 = AdminClient(n1).send("PUT", "/v1/registries/batch1/replications/westus",
                                 R"({"addresses": [")" + f.ip(1) + R"("]})").first;
    });
    std::thread b([&] {
      st2 = AdminClient(*n2).send("PUT", "/v1/registries/batch1/replications/westeurope",
                                  R"({"addresses": [")" + f.ip(2) + R"("]})").first;
    });
    a.join();
    b.join();
    INFO("westus " << st1 << ", westeurope " << st2);
    CHECK((st1 == 201 || st1 == 409));
    CHECK((st2 == 201 || st2 == 409));
    CHECK((st1 == 201 || st2 == 201));  // one of them always lands
    auto regions = [](const DaemonProcess& d) {
      std::set<std::string> out;
      for (const auto& r : AdminClient(d).get("/v1/registries/batch1/replications").second)
        out.insert(r["region"].get<std::string>());
      return out;
    };
    std::set<std::string> want{"eastus"};
    if (st1 == 201) want.insert("westus");
    if (st2 == 201) want.insert("westeurope");
    CHECK(untilAll({&n1, n2.get()}, [&](const DaemonProcess& d) { return regions(d) == want; },
                   std::chrono::seconds(5)) >= 0);
  }
  // Past what one etcd transaction holds: refused as a whole, with the way out.
  {
    std::string big;
    for (int i = 0; i < 130; ++i)
      big += R"({"name": "bulk)" + std::to_string(i) + R"(", "home": "eastus", "replications": {"eastus": {"addresses": [")" +
             f.ip(0) + "\"]}}}\n";
    auto [sb, body] = api1.send("POST", "/v1/registries:batch", big);
    CHECK(sb == 413);
    CHECK_THAT(body.value("error", ""), Catch::Contains("--lines"));
    CHECK(api1.get("/v1/registries/bulk0").first == 404);
    // switchyardctl sends the same file again in halves until each fits, and
    // the deletes (three operations each) likewise.
    std::string file = makeTempDir() + "/bulk.ndjson", gone = file + ".delete";
    writeFile(file, big);
    std::string deletes;
    for (int i = 0; i < 130; ++i) deletes += R"({"name": "bulk)" + std::to_string(i) + R"(", "delete": true})" "\n";
    writeFile(gone, deletes);
    auto imported = runCtl(ctlArgs(n1, "registry import --file " + file), 120);
    INFO(imported.output);
    CHECK(imported.exit_code == 0);
    CHECK_THAT(imported.output, Catch::Contains("sending 65 at a time") && Catch::Contains("created 130, updated 0"));
    CHECK(untilAll({n2.get()}, [&](const DaemonProcess& d) { return answerOf(d, "bulk129.cr.example.test") == east; },
                   std::chrono::seconds(10)) >= 0);
    auto removed = runCtl(ctlArgs(n1, "registry import --file " + gone), 120);
    INFO(removed.output);
    CHECK(removed.exit_code == 0);
    CHECK_THAT(removed.output, Catch::Contains("deleted 130 registries"));
    CHECK(api1.get("/v1/registries/bulk0").first == 404);
  }
  // A file registry stays the file's in a fleet too.
  CHECK(api1.send("PUT", "/v1/registries/myregistry", R"({"home": "eastus"})").first == 409);

  // n2 stops; newreg and batch2 go through n1 meanwhile; n2 comes back with
  // its local copy (which still has them) and drops them once it reads etcd.
  n2.reset();
  REQUIRE(api1.send("DELETE", "/v1/registries/newreg", "").first == 200);
  REQUIRE(api1.send("DELETE", "/v1/registries/batch2", "").first == 200);
  CHECK(answerOf(n1, name) == "NXDOMAIN");
  // And one made meanwhile: n1 alone decides its probes, so n2 reads that
  // decision with the entry, before it has the pair (it must not be lost).
  // Two replicas: eastus clients get the eastus one once n1 alone has
  // probed it; then a fault injected meanwhile moves them to westus.
  REQUIRE(api1.send("PUT", "/v1/registries/later", R"({"home": "westus", "replications": {"westus": {"addresses": [")" +
                                                       f.ip(1) + R"("]}, "eastus": {"addresses": [")" + f.ip(0) +
                                                       R"("]}}})")
              .first == 201);
  CHECK(untilAll({&n1}, [&](const DaemonProcess& d) { return answerOf(d, "later.cr.example.test") == east; },
                 std::chrono::seconds(10)) >= 0);
  REQUIRE(api1.send("POST", "/v1/registries/later/replications/eastus/fault", R"({"health": "down"})").first == 200);
  CHECK(untilAll({&n1}, [&](const DaemonProcess& d) { return answerOf(d, "later.cr.example.test") == west; },
                 std::chrono::seconds(10)) >= 0);
  n2 = std::make_unique<DaemonProcess>(f.config("n2", port, {}, "1"), "--state-dir " + state2);
  REQUIRE(n2->running());
  INFO(n2->log());
  CHECK(untilAll({n2.get()}, [&](const DaemonProcess& d) {
          return answerOf(d, name) == "NXDOMAIN" && answerOf(d, "batch2.cr.example.test") == "NXDOMAIN";
        }, std::chrono::seconds(10)) >= 0);
  CHECK(answerOf(*n2, "batch1.cr.example.test") == east);
  CHECK_THAT(n2->log(), Catch::Contains("event=fleet_catalog_dropped registry=newreg"));
  // n2 never probed `later` before it read it: the fault that came with it
  // (and n1's decisions) hold, westus from the first answer on.
  CHECK(untilAll({n2.get()}, [&](const DaemonProcess& d) { return answerOf(d, "later.cr.example.test") == west; },
                 std::chrono::seconds(10)) >= 0);
  auto held = Clock::now();
  while (Clock::now() - held < std::chrono::milliseconds(1500)) {
    REQUIRE(answerOf(*n2, "later.cr.example.test") == west);
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }

  // A registry homed where n2's file has no region: n2 refuses it and keeps
  // serving the rest. Its reload adds centralus (not southus): the one it now
  // fits is admitted and counted, the other stays refused.
  auto withRegions = [](std::string text, const std::string& lines) {
    return text.replace(text.find("regions:\n") + 9, 0, lines);
  };
  const std::string central = "  centralus: { location: [41.59, -93.62] }\n";
  const std::string south = "  southus: { location: [29.42, -98.49] }\n";
  n1.rewriteConfig(withRegions(f.config("n1", port, {}, "1"), central + south));
  REQUIRE(api1.send("POST", "/v1/reload", "").first == 200);
  for (const std::string& reg : {std::string("central"), std::string("south")}) {
    std::string home = reg + "us";
    REQUIRE(api1.send("PUT", "/v1/registries/" + reg, R"({"home": ")" + home + R"(", "replications": {")" + home +
                                                          R"(": {"addresses": [")" + f.ip(0) + R"("]}}})")
                .first == 201);
  }
  CHECK(untilAll({n2.get()}, [&](const DaemonProcess& d) {
          return d.log().find("event=fleet_catalog_refused registry=south") != std::string::npos;
        }, std::chrono::seconds(5)) >= 0);
  CHECK_THAT(n2->log(), Catch::Contains("event=fleet_catalog_refused registry=central"));
  CHECK(answerOf(*n2, "central.cr.example.test") == "NXDOMAIN");
  CHECK(answerOf(*n2, "batch1.cr.example.test") == east);
  n2->rewriteConfig(withRegions(f.config("n2", port, {}, "1"), central));
  REQUIRE(AdminClient(*n2).send("POST", "/v1/reload", "").first == 200);
  CHECK_THAT(n2->log(), Catch::Contains("event=fleet_catalog_admitted registries=1"));
  CHECK(untilAll({n2.get()}, [&](const DaemonProcess& d) { return answerOf(d, "central.cr.example.test") == east; },
                 std::chrono::seconds(10)) >= 0);
  CHECK(answerOf(*n2, "south.cr.example.test") == "NXDOMAIN");
  REQUIRE(api1.send("DELETE", "/v1/registries/central", "").first == 200);
  REQUIRE(api1.send("DELETE", "/v1/registries/south", "").first == 200);

  // Every API registry deleted while n2 is away: etcd's catalog is empty,
  // but it was made, so n2's copy must not seed it again (the registries
  // would come back on every node).
  n2.reset();
  REQUIRE(api1.send("DELETE", "/v1/registries/batch1", "").first == 200);
  REQUIRE(api1.send("DELETE", "/v1/registries/later", "").first == 200);
  n2 = std::make_unique<DaemonProcess>(f.config("n2", port, {}, "1"), "--state-dir " + state2);
  REQUIRE(n2->running());
  CHECK(untilAll({n2.get()}, [&](const DaemonProcess& d) {
          return answerOf(d, "batch1.cr.example.test") == "NXDOMAIN" && answerOf(d, "later.cr.example.test") == "NXDOMAIN";
        }, std::chrono::seconds(10)) >= 0);
  CHECK_THAT(n2->log(), !Catch::Contains("event=fleet_catalog_seeded"));
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  CHECK(answerOf(n1, "batch1.cr.example.test") == "NXDOMAIN");
  for (const DaemonProcess* d : std::vector<const DaemonProcess*>{&n1, n2.get()})
    for (const auto& r : AdminClient(*d).get("/v1/registries").second) CHECK(r["source"] != "api");

  // A prefix etcd holds nothing under (fleet mode just turned on): n2's
  // copy seeds it instead of being dropped, and n2 can change it there.
  REQUIRE(api1.send("PUT", "/v1/registries/seedme", R"({"home": "eastus", "replications": {"eastus": {"addresses": [")" +
                                                        f.ip(0) + R"("]}}})")
              .first == 201);
  CHECK(untilAll({n2.get()}, [&](const DaemonProcess& d) { return answerOf(d, "seedme.cr.example.test") == east; },
                 std::chrono::seconds(10)) >= 0);
  n2.reset();
  n2 = std::make_unique<DaemonProcess>(f.config("n2", port, {}, "1", "/fresh/"), "--state-dir " + state2);
  REQUIRE(n2->running());
  CHECK(untilAll({n2.get()}, [&](const DaemonProcess& d) {
          return d.log().find("event=fleet_catalog_seeded registries=1") != std::string::npos;
        }, std::chrono::seconds(10)) >= 0);
  CHECK_THAT(n2->log(), !Catch::Contains("seed_failed"));
  CHECK(answerOf(*n2, "seedme.cr.example.test") == east);
  // Changing it is guarded by the seeded key's revision: it came back
  // through n2's watch.
  auto [sw, west_added] = AdminClient(*n2).send("PUT", "/v1/registries/seedme/replications/westus",
                                                R"({"addresses": [")" + f.ip(1) + R"("]})");
  INFO(west_added.dump());
  CHECK(sw == 201);
}
