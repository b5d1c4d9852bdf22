// /metrics of the real daemon: promtool accepts it, the counters move, and a
// real Prometheus (Debian's, started here on loopback) scrapes it and answers
// PromQL about an exclusion and an injected failure.
#include <catch2/catch.hpp>

#include <httplib.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <nlohmann/json.hpp>
#include <fstream>
#include <sstream>
#include <thread>

#include "tests/support/daemon_process.h"
#include "tests/support/dns_client.h"
#include "tests/support/test_http_server.h"
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

// The value of the sample `series` (its exact text up to the value), or -1.
double sampleValue(const std::string& page, const std::string& series) {
  std::istringstream in(page);
  for (std::string line; std::getline(in, line);)
    if (line.rfind(series + " ", 0) == 0) return std::stod(line.substr(series.size() + 1));
  return -1;
}

// promtool (Debian's prometheus) lints the page: format, types, names.
void promtoolAccepts(const std::string& dir, const std::string& page) {
  std::string file = dir + "/metrics.txt";
  writeFile(file, page);
  REQUIRE(access("/usr/bin/promtool", X_OK) == 0);  // `make test` installs Debian's prometheus
  int rc = std::system(("/usr/bin/promtool check metrics < " + file + " > " + file + ".out 2>&1").c_str());
  std::ifstream out(file + ".out");
  std::stringstream lint;
  lint << out.rdbuf();
  INFO(lint.str());
  CHECK(WEXITSTATUS(rc) == 0);
}

std::vector<std::string> seriesWith(const std::string& page, const std::string& needle) {
  std::istringstream in(page);
  std::vector<std::string> out;
  for (std::string line; std::getline(in, line);)
    if (!line.empty() && line[0] != '#' && line.find(needle) != std::string::npos) out.push_back(line);
  return out;
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

  promtoolAccepts(d.dir(), page);
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

TEST_CASE("the workers' query counters add up exactly under concurrent UDP and TCP load, scraped meanwhile") {
  DaemonProcess d(adminConfig());  // --threads 2: two workers, each with its own counters
  REQUIRE(d.running());
  std::atomic<int> global{0}, regional{0}, nxdomain{0};
  std::atomic<bool> done{false};
  auto client = [&](bool tcp, int n) {
    for (int i = 0; i < n; ++i) {
      QueryOptions o;
      o.tcp = tcp;
      const char* name = i % 3 == 0 ? "myregistry.cr.example.test"
                         : i % 3 == 1 ? "myregistry.westus.geo.cr.example.test"
                                      : "missing.cr.example.test";
      auto reply = exchange(d.v4(), buildQuery(name, LDNS_RR_TYPE_A, o), tcp);
      if (reply.empty()) continue;  // lost: not counted by us; the daemon may not have seen it either
      (i % 3 == 0 ? global : i % 3 == 1 ? regional : nxdomain)++;
    }
  };
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) threads.emplace_back(client, false, 1500);
  for (int t = 0; t < 2; ++t) threads.emplace_back(client, true, 300);
  std::thread scraper([&] {
    while (!done) {
      CHECK_FALSE(scrape(d).empty());
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  });
  for (auto& t : threads) t.join();
  done = true;
  scraper.join();
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));  // past the scrape cache's 1 s
  std::string page = scrape(d);
  INFO(page);
  const int total = 4 * 1500 + 2 * 300;
  const int lost = total - (global + regional + nxdomain);
  CHECK(lost <= total / 100);  // loopback loses (almost) nothing
  // Exact when nothing was lost; a lost reply may still have been counted.
  auto counted = [&](const char* series, int answered) {
    double v = sampleValue(page, series);
    INFO(series << " = " << v << ", answered " << answered << ", lost in all " << lost);
    CHECK(v >= answered);
    CHECK(v <= answered + lost);
  };
  counted(R"(switchyard_dns_queries_total{endpoint="global",rcode="NOERROR"})", global);
  counted(R"(switchyard_dns_queries_total{endpoint="regional",rcode="NOERROR"})", regional);
  counted(R"(switchyard_dns_queries_total{endpoint="other",rcode="NXDOMAIN"})", nxdomain);
}

TEST_CASE("a replica or registry removed by a reload takes every one of its series with it") {
  auto servers = serversOnOnePort(4);  // myregistry: eastus, westus; teamb: eastus, westus
  auto ip = [&](int i) { return servers[i]->address().address.toString(); };
  std::string port = std::to_string(servers[0]->address().port);
  std::string health = "    health: { port: " + port + ", interval: 100ms, timeout: 80ms, fall: 2, rise: 1 }\n";
  std::string west = "      - { region: westus, addresses: [" + ip(1) + "] }\n";
  std::string teamb = "  - name: teamb\n    home: eastus\n" + health + "    replicas:\n      - { region: eastus, addresses: [" +
                      ip(2) + "] }\n      - { region: westus, addresses: [" + ip(3) + "] }\n";
  std::string head = R"(zone: cr.example.test
nameservers: [{ name: ns1.cr.example.test, addresses: [127.0.0.1] }]
listen: { dns: @DNS@, admin: "@ADMIN@" }
admin: { token_file: admin.token }
regions:
  eastus: { location: [37.37, -79.82] }
  westus: { location: [37.78, -122.42] }
clients: { default_region: eastus }
registries:
  - name: myregistry
    home: eastus
)" + health + "    replicas:\n      - { region: eastus, addresses: [" + ip(0) + "] }\n";
  DaemonProcess d(head + west + teamb);
  REQUIRE(d.running());
  INFO(d.log());
  // Probes of every pair, a health transition of myregistry/westus, an
  // operator's routing change of teamb.
  servers[1]->setMode(TestHttpServer::Mode::Refuse);
  std::string page;
  auto ready = [&] {
    return sampleValue(page, R"(switchyard_replica_up{registry="myregistry",replica="westus"})") == 0 &&
           sampleValue(page, R"(switchyard_probes_total{registry="teamb",replica="westus",result="ok"})") > 0 &&
           !seriesWith(page, "switchyard_health_transitions_total{registry=\"myregistry\",replica=\"westus\",to=\"down\"}").empty();
  };
  for (int i = 0; i < 100 && !ready(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    page = scrape(d);
  }
  INFO(page);
  REQUIRE(ready());
  patch(d, "/v1/registries/teamb/replications/eastus", R"({"globalEndpointRouting": false})");
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));
  page = scrape(d);
  {
    INFO(page);
    // Every family that names a pair, a registry or a region had westus and teamb.
    for (const char* family : {"switchyard_probes_total{", "switchyard_health_transitions_total{",
                               "switchyard_replica_up{", "switchyard_replica_global_routing{",
                               "switchyard_replica_serving_clients{"}) {
      CHECK(seriesWith(page, family).size() > 0);
      bool west_seen = false, teamb_seen = false;
      for (const auto& line : seriesWith(page, family)) {
        west_seen = west_seen || line.find("replica=\"westus\"") != std::string::npos;
        teamb_seen = teamb_seen || line.find("registry=\"teamb\"") != std::string::npos;
      }
      CHECK(west_seen);
      CHECK(teamb_seen);
    }
    CHECK_FALSE(seriesWith(page, "switchyard_routing_changes_total{registry=\"teamb\",cause=\"operator\"}").empty());
    CHECK_FALSE(seriesWith(page, "switchyard_fail_open_total{registry=\"teamb\"}").empty());
    CHECK_FALSE(seriesWith(page, "registry=\"teamb\"").empty());
    promtoolAccepts(d.dir(), page);  // with probes, histograms and transitions on it
  }

  // The reload removes westus from myregistry, and teamb.
  d.rewriteConfig(head);
  patch(d, "/v1/reload", "", true);
  std::this_thread::sleep_for(std::chrono::milliseconds(500));  // probes of the remaining pair go on
  page = scrape(d);
  INFO(page);
  CHECK(seriesWith(page, "westus").empty());
  CHECK(seriesWith(page, "registry=\"teamb\"").empty());
  CHECK(sampleValue(page, R"(switchyard_replica_up{registry="myregistry",replica="eastus"})") == 1);
  CHECK(sampleValue(page, R"(switchyard_probes_total{registry="myregistry",replica="eastus",result="ok"})") > 0);
  CHECK(sampleValue(page, R"(switchyard_fail_open_total{registry="myregistry"})") == 0);
}
