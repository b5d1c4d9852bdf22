// /metrics of the real daemon: promtool accepts it, the counters move, and a
// real Prometheus (Debian's, started here on loopback) scrapes it and answers
// PromQL about an exclusion and an injected failure.
#include <catch2/catch.hpp>

#include <httplib.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <fstream>
#include <sstream>
#include <thread>

#include "tests/support/daemon_process.h"
#include "tests/support/dns_client.h"
#include "tests/support/test_topology.h"

using namespace switchyard;
using namespace switchyard::test;
using nlohmann::json;

namespace {

std::string scrape(const DaemonProcess& d) {
  httplib::Client c(d.admin().address.toString(), d.admin().port);
  auto r = c.Get("/metrics");
  return r && r->status == 200 ? r->body : "";
}

void patch(const DaemonProcess& d, const std::string& path, const std::string& body, bool post = false) {
  httplib::Client c(d.admin().address.toString(), d.admin().port);
  httplib::Headers h{{"Authorization", "Bearer " + d.token()}};
  auto r = post ? c.Post(path, h, body, "application/json") : c.Patch(path, h, body, "application/json");
  REQUIRE(r);
  REQUIRE(r->status == 200);
}

}  // namespace

TEST_CASE("metrics: promtool accepts the page and the counters follow DNS and routing") {
  DaemonProcess d(adminConfig());
  REQUIRE(d.running());
  for (int i = 0; i < 3; ++i) query(d.v4(), "myregistry.cr.example.test", LDNS_RR_TYPE_A);
  query(d.v4(), "missing.cr.example.test", LDNS_RR_TYPE_A);
  patch(d, "/v1/registries/myregistry/replications/westus", R"({"globalEndpointRouting": false})");
  std::string page = scrape(d);
  REQUIRE_FALSE(page.empty());
  CHECK_THAT(page, Catch::Contains("switchyard_dns_queries_total{endpoint=\"global\",rcode=\"NOERROR\"} 3"));
  CHECK_THAT(page, Catch::Contains("switchyard_dns_queries_total{endpoint=\"other\",rcode=\"NXDOMAIN\"} 1"));
  CHECK_THAT(page, Catch::Contains("switchyard_replica_global_routing{registry=\"myregistry\",replica=\"westus\"} 0"));
  CHECK_THAT(page, Catch::Contains("switchyard_routing_changes_total{registry=\"myregistry\",cause=\"operator\"} 1"));
  CHECK_THAT(page, Catch::Contains("switchyard_purge_seconds_count 1"));
  CHECK_THAT(page, Catch::Contains("switchyard_fail_open_total{registry=\"myregistry\"} 0"));

  std::string file = d.dir() + "/metrics.txt";
  writeFile(file, page);
  REQUIRE(access("/usr/bin/promtool", X_OK) == 0);  // `make test` installs Debian's prometheus
  int rc = std::system(("/usr/bin/promtool check metrics < " + file + " > " + file + ".out 2>&1").c_str());
  std::ifstream out(file + ".out");
  std::stringstream lint;
  lint << out.rdbuf();
  INFO(lint.str());
  CHECK(WEXITSTATUS(rc) == 0);
}

TEST_CASE("a real Prometheus scrapes the daemon, sees an exclusion and an injected failure, and our alert rules match") {
  REQUIRE(access("/usr/bin/prometheus", X_OK) == 0);
  DaemonProcess d(adminConfig());
  REQUIRE(d.running());
  SocketAddress web = freeLoopback();
  std::string dir = d.dir() + "/prometheus";
  [[maybe_unused]] int mk = std::system(("mkdir -p " + dir).c_str());
  // The shipped alert rules, evaluated against the real metrics.
  [[maybe_unused]] int cp = std::system(("cp " SOURCE_DIR "/deploy/prometheus/alerts.yml " + dir + "/").c_str());
  writeFile(dir + "/prometheus.yml", "global: { scrape_interval: 1s, evaluation_interval: 1s }\n"
                                     "rule_files: [alerts.yml]\n"
                                     "scrape_configs:\n  - job_name: switchyard\n    static_configs:\n"
                                     "      - targets: [\"" + d.admin().toString() + "\"]\n");
  pid_t pid = fork();
  if (pid == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    std::string cfg = "--config.file=" + dir + "/prometheus.yml", data = "--storage.tsdb.path=" + dir + "/data",
                listen = "--web.listen-address=" + web.toString();
    freopen((dir + "/log").c_str(), "w", stderr);
    execl("/usr/bin/prometheus", "prometheus", cfg.c_str(), data.c_str(), listen.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  httplib::Client prom(web.address.toString(), web.port);
  auto value = [&](const std::string& promql) -> std::string {
    auto r = prom.Get("/api/v1/query", httplib::Params{{"query", promql}}, httplib::Headers{});
    if (!r || r->status != 200) return "";
    auto j = json::parse(r->body);
    if (j["data"]["result"].empty()) return "";
    return j["data"]["result"][0]["value"][1].get<std::string>();
  };
  auto waitValue = [&](const std::string& promql, const std::string& want) {
    for (int i = 0; i < 150; ++i) {  // 30 s bound: start-up plus a few scrapes
      if (value(promql) == want) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
    return false;
  };
  const std::string routing = R"(switchyard_replica_global_routing{registry="myregistry",replica="eastus"})";
  const std::string up = R"(switchyard_replica_up{registry="myregistry",replica="westus"})";
  CHECK(waitValue(routing, "1"));
  patch(d, "/v1/registries/myregistry/replications/eastus", R"({"globalEndpointRouting": false})");
  CHECK(waitValue(routing, "0"));
  CHECK(waitValue(up, "1"));
  patch(d, "/v1/registries/myregistry/replications/westus/fault", R"({"health": "down"})", true);
  CHECK(waitValue(up, "0"));
  CHECK(waitValue(R"(sum(switchyard_routing_changes_total{registry="myregistry"}))", "2"));
  // The alerts' `for` is minutes; pending is enough to prove the expressions
  // match what the daemon really exports, labels included.
  CHECK(waitValue(R"(ALERTS{alertname="SwitchyardFailoverActive",registry="myregistry",alertstate="pending"})", "1"));
  CHECK(waitValue(R"(ALERTS{alertname="SwitchyardReplicaDown",registry="myregistry",replica="westus",alertstate="pending"})",
                  "1"));
  CHECK(waitValue(R"(ALERTS{alertname="SwitchyardExclusionLeftOn",replica="eastus",alertstate="pending"})", "1"));
  CHECK(value(R"(ALERTS{alertname="SwitchyardFailOpen"})").empty());
  kill(pid, SIGTERM);
  for (int i = 0; i < 50 && waitpid(pid, nullptr, WNOHANG) == 0; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  kill(pid, SIGKILL);
  waitpid(pid, nullptr, 0);
}
