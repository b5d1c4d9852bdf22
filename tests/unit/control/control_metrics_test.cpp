// The control plane's families on prometheus-cpp: what the events count, what
// a scrape derives from the Router, and that a reload takes the series of
// what it removed with it (no stale series).
#include <catch2/catch.hpp>

#include <sstream>

#include "config/config_loader.h"
#include "control/control_metrics.h"
#include "control/metrics_scrape.h"
#include "control/router.h"
#include "tests/support/test_topology.h"

using namespace switchyard;

namespace {

config::TopologyPtr topology(const std::vector<std::pair<std::string, std::string>>& edits = {}) {
  std::string text = test::testConfig();
  text.replace(text.find("@DNS@"), 5, "[\"127.0.0.1:53\"]");
  for (const auto& [from, to] : edits) {
    auto at = text.find(from);
    REQUIRE(at != std::string::npos);
    text.replace(at, from.size(), to);
  }
  return config::loadTopologyText(text, "t.yaml").value();
}

std::vector<std::string> linesWith(const std::string& page, const std::string& needle) {
  std::istringstream in(page);
  std::vector<std::string> out;
  for (std::string line; std::getline(in, line);)
    if (line[0] != '#' && line.find(needle) != std::string::npos) out.push_back(line);
  return out;
}

health::ProbeReport report(health::ProbeResult result, double seconds) {
  health::ProbeReport r;
  r.result = result;
  r.seconds = seconds;
  return r;
}

const char* kWestus =
    "      - region: westus\n        addresses: [127.0.0.12]\n        data_addresses: [127.0.0.112]\n";

}  // namespace

TEST_CASE("control metrics count events, derive routing state at scrape time, and a reload drops what it removed") {
  dns::AnswerPublisher pub;
  auto t1 = topology();
  control::Router router(t1, pub);
  control::ControlMetrics m;
  m.retain(t1);
  router.onChange([&](const control::PairChange& c) { m.change(c, router); });
  auto page = [&] {
    m.scraped(router, 0.001);
    return control::MetricsScrape{{}, control::RoutingMetrics::take(router), m.events(), m.registry()}.text();
  };

  m.probe("myregistry", "westus", report(health::ProbeResult::Ok, 0.004));
  m.probe("myregistry", "westus", report(health::ProbeResult::Timeout, 0.08));
  m.probe("teamb", "southeastasia", report(health::ProbeResult::Ok, 0.002));
  REQUIRE(router.setHealth("myregistry", "westus", policy::Health::Down, "test").value());
  REQUIRE(router.setOperatorFlag("myregistry", "eastus", false).value());
  health::FreshnessStatus fresh;
  fresh.state = health::FreshnessState::Behind;
  fresh.seconds_behind = 12;
  m.freshness("myregistry", "westus", fresh);

  std::string before = page();
  INFO(before);
  CHECK_THAT(before, Catch::Contains(
                         R"(switchyard_probes_total{registry="myregistry",replica="westus",result="timeout"} 1)"));
  CHECK_THAT(before, Catch::Contains(R"(switchyard_probe_duration_seconds_count{replica="westus"} 2)"));
  CHECK_THAT(before, Catch::Contains(R"(switchyard_health_transitions_total{registry="myregistry",replica="westus",to="down"} 1)"));
  CHECK_THAT(before, Catch::Contains(R"(switchyard_routing_changes_total{registry="myregistry",cause="operator"} 1)"));
  CHECK_THAT(before, Catch::Contains(R"(switchyard_replica_up{registry="myregistry",replica="westus"} 0)"));
  CHECK_THAT(before, Catch::Contains(R"(switchyard_replica_up{registry="myregistry",replica="eastus"} 1)"));
  CHECK_THAT(before, Catch::Contains(R"(switchyard_replica_global_routing{registry="myregistry",replica="eastus"} 0)"));
  CHECK_THAT(before, Catch::Contains(R"(switchyard_replica_freshness{registry="myregistry",replica="westus",state="behind"} 1)"));
  CHECK_THAT(before, Catch::Contains(R"(switchyard_replica_seconds_behind{registry="myregistry",replica="westus"} 12)"));
  CHECK_THAT(before, Catch::Contains(R"(switchyard_fail_open_total{registry="teamb"} 0)"));
  CHECK_THAT(before, Catch::Contains("switchyard_purge_seconds_count 2"));
  CHECK_THAT(before, Catch::Contains("switchyard_metrics_renders_total 1"));
  CHECK_FALSE(linesWith(before, "replica=\"westus\"").empty());

  // westus leaves myregistry and teamb leaves the config.
  auto t2 = topology({{kWestus, ""}, {"  - name: teamb\n", "  - name: teamc\n"}});
  router.applyTopology(t2);
  m.retain(t2);
  // A report queued before the reload, for a pair it removed, adds nothing.
  m.probe("myregistry", "westus", report(health::ProbeResult::Ok, 0.004));
  m.probe("teamb", "southeastasia", report(health::ProbeResult::Ok, 0.004));
  std::string after = page();
  INFO(after);
  CHECK(linesWith(after, "replica=\"westus\"").empty());  // probes, duration, transitions, freshness, state
  CHECK(linesWith(after, "registry=\"teamb\"").empty());
  CHECK_THAT(after, Catch::Contains(R"(switchyard_fail_open_total{registry="teamc"} 0)"));
  CHECK_THAT(after, Catch::Contains(R"(switchyard_probe_duration_seconds_count{replica="southeastasia"} 1)"));
  CHECK_THAT(after, Catch::Contains(R"(switchyard_replica_up{registry="myregistry",replica="westeurope"} 1)"));
  CHECK_THAT(after, Catch::Contains(R"(switchyard_routing_changes_total{registry="myregistry",cause="operator"} 1)"));
  CHECK_THAT(after, Catch::Contains("switchyard_metrics_renders_total 2"));

  // Freshness turned off for a registry drops its freshness series only.
  m.freshness("myregistry", "eastus", fresh);
  CHECK_FALSE(linesWith(page(), "switchyard_replica_freshness{").empty());
  m.forgetFreshness("myregistry");
  std::string off = page();
  CHECK(linesWith(off, "switchyard_replica_freshness{").empty());
  CHECK(linesWith(off, "switchyard_replica_seconds_behind{").empty());
}
