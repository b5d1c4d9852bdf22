// Replication freshness inside the real daemon, against controllable HTTP
// servers that answer manifest HEADs like registry replicas (a digest, 404,
// 401): the majority reference, errors that change nothing, the API and
// metrics, and a reload that removes freshness. (tests/e2e/freshness_e2e.sh
// does the home reference with real docker-registry replicas and skopeo.)
#include <catch2/catch.hpp>

#include <chrono>
#include <fstream>
#include <functional>
#include <sstream>
#include <string>
#include <thread>

#include "tests/support/admin_client.h"
#include "tests/support/daemon_process.h"
#include "tests/support/dns_client.h"
#include "tests/support/test_http_server.h"

using namespace switchyard;
using namespace switchyard::test;
using Clock = std::chrono::steady_clock;

namespace {

std::string digestOf(char c) { return "sha256:" + std::string(64, c); }

std::string ip(const std::unique_ptr<TestHttpServer>& s) { return s->address().address.toString(); }

std::string readFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

std::string config(const std::vector<std::unique_ptr<TestHttpServer>>& s) {
  std::string text = R"(zone: cr.example.test
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
    - { cidr: 198.51.100.64/26, region: westus }
routing: { failover_spread: 1 }
registries:
  - name: myregistry
    home: eastus
    health: { port: )" + std::to_string(s[0]->address().port) + R"(, interval: 100ms, timeout: 80ms }
    replicas:
      - { region: eastus, addresses: [)" + ip(s[0]) + R"(] }
      - { region: westus, addresses: [)" + ip(s[1]) + R"(] }
      - { region: westeurope, addresses: [)" + ip(s[2]) + "] }\n";
  return text + "    freshness: { canaries: [\"canary/hb:latest\"], max_staleness: 400ms, reference: majority }\n";
}

// The global answer for a westus client.
std::string westusAnswer(const DaemonProcess& d) {
  auto p = query(d.v4(), "myregistry.cr.example.test", LDNS_RR_TYPE_A,
                 {.ecs = IpPrefix::parse("198.51.100.64/26").value()});
  auto a = p ? answers(p.get()) : std::vector<std::string>{};
  return a.size() == 1 ? a[0].substr(2) : "(" + std::to_string(a.size()) + " answers)";
}

// Seconds until `f` is true (polled every 20 ms), or -1 after `limit`.
double waitUntil(const std::function<bool()>& f, std::chrono::milliseconds limit) {
  auto start = Clock::now();
  while (Clock::now() - start < limit) {
    if (f()) return std::chrono::duration<double>(Clock::now() - start).count();
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return -1;
}

nlohmann::json replica(AdminClient& api, const std::string& name) {
  for (const auto& r : api.get("/v1/registries/myregistry/replications").second)
    if (r["name"] == name) return r;
  return nullptr;
}

}  // namespace

TEST_CASE("freshness, majority reference: a replica off the majority's digest leaves global routing, errors change "
          "nothing, and a reload without freshness brings it back") {
  auto s = serversOnOnePort(3);
  for (auto& server : s) server->respondToManifests(200, digestOf('1'));
  DaemonProcess d(config(s));
  REQUIRE(d.running());
  INFO(d.log());
  AdminClient api(d);
  REQUIRE(waitUntil([&] { return replica(api, "westus")["freshness"]["state"] == "fresh"; },
                    std::chrono::seconds(5)) >= 0);
  CHECK(westusAnswer(d) == ip(s[1]));
  auto r = replica(api, "westus");
  CHECK(r["endpoint"]["url"] == "http://myregistry.westus.geo.cr.example.test:" + std::to_string(s[1]->address().port));
  CHECK(r["endpoint"]["connectTo"] == ip(s[1]));
  CHECK(r["freshness"]["reference"] == "majority");
  CHECK(r["freshness"]["canaries"][0]["served"] == digestOf('1'));

  // westus falls behind: out of global routing only after max_staleness (400 ms).
  auto changed = Clock::now();
  s[1]->respondToManifests(200, digestOf('0'));
  REQUIRE(waitUntil([&] { return westusAnswer(d) == ip(s[0]); }, std::chrono::seconds(5)) >= 0);
  double moved = std::chrono::duration<double>(Clock::now() - changed).count();
  CHECK(moved >= 0.35);
  r = replica(api, "westus");
  CHECK(r["freshness"]["state"] == "lagging");
  CHECK(r["freshness"]["lagging"] == true);
  CHECK(r["freshness"]["canaries"][0]["served"] == digestOf('0'));
  CHECK(r["freshness"]["canaries"][0]["reference"] == digestOf('1'));
  CHECK(r["globalEndpointRouting"] == true);  // the operator flag is not the lag
  CHECK(r["servingClients"].empty());

  // No majority of the three (one answers 401, the others disagree): nothing
  // is re-judged, westus stays out. 401 keeps the replica healthy.
  s[0]->respondToManifests(401);
  s[1]->respondToManifests(200, digestOf('2'));
  std::this_thread::sleep_for(std::chrono::milliseconds(600));
  CHECK(westusAnswer(d) == ip(s[0]));
  CHECK(replica(api, "eastus")["freshness"]["detail"].get<std::string>().find("HTTP 401") != std::string::npos);

  // A tag the majority lacks (404 = "absent") is the reference then: the
  // replicas still serving it are behind, westus now matches and comes back.
  s[0]->respondToManifests(404);
  s[1]->respondToManifests(404);
  REQUIRE(waitUntil([&] { return westusAnswer(d) == ip(s[1]); }, std::chrono::seconds(5)) >= 0);
  CHECK(replica(api, "westus")["freshness"]["canaries"][0]["reference"] == "absent");
  REQUIRE(waitUntil([&] { return replica(api, "westeurope")["freshness"]["state"] == "lagging"; },
                    std::chrono::seconds(5)) >= 0);
  auto metrics = api.client.Get("/metrics");
  REQUIRE(metrics);
  CHECK_THAT(metrics->body, Catch::Contains(
      "switchyard_replica_freshness{registry=\"myregistry\",replica=\"westeurope\",state=\"lagging\"} 1"));
  CHECK_THAT(metrics->body, Catch::Contains("switchyard_routing_changes_total{registry=\"myregistry\",cause=\"freshness\"}"));
  auto events = api.get("/v1/events?since=0").second;
  int lagging_events = 0;
  for (const auto& e : events) lagging_events += e["type"] == "freshness" && e["state"] == "lagging";
  CHECK(lagging_events >= 2);  // westus, then westeurope

  // A reload without freshness: nothing can clear the marks any more, so they go.
  s[1]->respondToManifests(200, digestOf('9'));
  std::string path = d.dir() + "/switchyard.yaml", text = readFile(path);
  auto line = text.find("    freshness:");
  REQUIRE(line != std::string::npos);
  writeFile(path, text.erase(line, text.find('\n', line) + 1 - line));
  REQUIRE(api.send("POST", "/v1/reload", "").first == 200);
  CHECK_FALSE(replica(api, "westeurope").contains("freshness"));
  CHECK(westusAnswer(d) == ip(s[1]));
  metrics = api.client.Get("/metrics");
  REQUIRE(metrics);
  CHECK(metrics->body.find("switchyard_replica_freshness") == std::string::npos);
}
