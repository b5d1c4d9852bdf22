#include <catch2/catch.hpp>

#include "config/config_loader.h"
#include "health/health_tracker.h"
#include "health/probe_target.h"

using namespace switchyard;
using namespace switchyard::health;
using policy::Health;
using T = HealthTracker::Transition;

namespace {
ProbeReport r(ProbeResult result) { return ProbeReport{result, 0, 0.01, "", ""}; }
}  // namespace

TEST_CASE("the first probe decides an unknown pair at once") {
  HealthTracker up(3, 2);
  CHECK(up.record(r(ProbeResult::Ok)) == T::Changed);
  CHECK(up.state() == Health::Up);
  HealthTracker down(3, 2);
  CHECK(down.record(r(ProbeResult::Timeout)) == T::Changed);
  CHECK(down.state() == Health::Down);
}

TEST_CASE("fall consecutive failures fail over, one transient failure moves nothing") {
  HealthTracker t(3, 2, Health::Up);
  CHECK(t.record(r(ProbeResult::Timeout)) == T::Pending);
  CHECK(t.record(r(ProbeResult::ConnectError)) == T::Pending);
  CHECK(t.record(r(ProbeResult::Ok)) == T::Pending);  // streak broken
  CHECK(t.state() == Health::Up);
  CHECK(t.record(r(ProbeResult::HttpError)) == T::Pending);
  CHECK(t.record(r(ProbeResult::TlsError)) == T::Pending);
  CHECK(t.record(r(ProbeResult::Timeout)) == T::Changed);
  CHECK(t.state() == Health::Down);
  CHECK(t.recent().back().result == ProbeResult::Timeout);
}

TEST_CASE("rise consecutive successes fail back with no cooldown") {
  HealthTracker t(3, 2, Health::Down);
  CHECK(t.record(r(ProbeResult::Ok)) == T::Pending);
  CHECK(t.record(r(ProbeResult::Timeout)) == T::Pending);
  CHECK(t.record(r(ProbeResult::Ok)) == T::Pending);
  CHECK(t.record(r(ProbeResult::Ok)) == T::Changed);
  CHECK(t.state() == Health::Up);
}

TEST_CASE("throttled counts as up: a 429 never fails a replica over") {
  HealthTracker t(2, 2, Health::Up);
  for (int i = 0; i < 10; ++i) CHECK(t.record(r(ProbeResult::Throttled)) == T::Unchanged);
  CHECK(t.state() == Health::Up);
  HealthTracker d(2, 2, Health::Down);
  d.record(r(ProbeResult::Throttled));
  CHECK(d.record(r(ProbeResult::Throttled)) == T::Changed);
}

TEST_CASE("fall 1 and rise 1 switch on every disagreeing probe") {
  HealthTracker t(1, 1, Health::Up);
  CHECK(t.record(r(ProbeResult::Timeout)) == T::Changed);
  CHECK(t.record(r(ProbeResult::Ok)) == T::Changed);
  CHECK(t.recent().size() == 2);
  for (int i = 0; i < 20; ++i) t.record(r(ProbeResult::Ok));
  CHECK(t.recent().size() == HealthTracker::kKeep);
}

TEST_CASE("probe targets: probe address, port, path and the regional name as Host") {
  std::string text = R"(zone: cr.example.test
nameservers: [{ name: ns1.example.net }]
listen: { dns: ["127.0.0.1:53"] }
regions: { eastus: { location: [37, -79] }, westus: { location: [37, -122] } }
clients: { default_region: eastus }
health: { port: 8443, scheme: https, path: /v2/_catalog, headers: { X-Probe: sy } }
registries:
  - name: reg
    home: eastus
    replicas:
      - { region: eastus, addresses: ["2001:db8::1", 127.0.0.5] }
      - { region: westus, addresses: [127.0.0.6], probe_address: 127.0.0.66 }
  - name: other
    home: westus
    health: { host_header: "probe.{zone}", scheme: tcp }
    replicas:
      - { region: westus, target: other.example.net. }
)";
  auto t = config::loadTopologyText(text, "t.yaml");
  REQUIRE(t);
  auto targets = buildTargets(**t);
  REQUIRE(targets.size() == 3);
  CHECK(targets[0].key().str() == "reg/eastus");
  CHECK(targets[0].connect_host == "2001:db8::1");
  CHECK(targets[0].host == "reg.eastus.geo.cr.example.test");
  CHECK(targets[0].url() == "https://reg.eastus.geo.cr.example.test:8443/v2/_catalog");
  CHECK(targets[1].connect_host == "127.0.0.66");
  CHECK(targets[2].connect_host == "other.example.net");
  CHECK(targets[2].host == "probe.cr.example.test");
  CHECK(targets[2].spec.port == 8443);  // inherited
}
