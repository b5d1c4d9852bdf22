// The operator's side, end to end: the real daemon, driven through
// switchyardctl and the admin API, watched with a real DNS client.
#include <catch2/catch.hpp>

#include <httplib.h>

#include <atomic>
#include <csignal>
#include <map>
#include <mutex>
#include <random>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "control/admin_server.h"
#include "tests/support/admin_client.h"
#include "tests/support/daemon_process.h"
#include "tests/support/dns_client.h"
#include "tests/support/test_topology.h"

using namespace switchyard;
using namespace switchyard::test;
using nlohmann::json;
using Strings = std::vector<std::string>;

namespace {

Strings eastusAnswer(const DaemonProcess& d) {
  auto p = query(d.v4(), "myregistry.cr.example.test", LDNS_RR_TYPE_A,
                 {.ecs = IpPrefix::parse("198.51.100.0/26").value()});
  return p ? answers(p.get()) : Strings{"(no answer)"};
}

std::string runCommandForTest(const std::string& cmd) {
  FILE* f = popen(("timeout 10 " + cmd + " | sort").c_str(), "r");
  std::string out;
  char buf[512];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, f)) > 0) out.append(buf, n);
  pclose(f);
  return out;
}

std::string ctl(const DaemonProcess& d, const std::string& args) { return ctlArgs(d, args); }
using Api = AdminClient;

// Rewrites d's config with `n` more registries "bulkI" (one eastus replica at
// 127.0.3.(I % 250 + 1)) ahead of the others: a file that takes a while to parse.
void addBulkRegistries(const DaemonProcess& d, int n) {
  std::string path = d.dir() + "/switchyard.yaml";
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  std::string big = text.str(), bulk;
  for (int i = 0; i < n; ++i)
    bulk += "  - { name: bulk" + std::to_string(i) + ", home: eastus, replicas: [{ region: eastus, addresses: [127.0.3." +
            std::to_string(i % 250 + 1) + "] }] }\n";
  big.insert(big.find("registries:\n") + 12, bulk);
  writeFile(path, big);
}

// Replaces the first `from` in d's config file with `to`.
void editConfig(const DaemonProcess& d, const std::string& from, const std::string& to) {
  std::string path = d.dir() + "/switchyard.yaml";
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  std::string edited = text.str();
  auto at = edited.find(from);
  REQUIRE(at != std::string::npos);
  edited.replace(at, from.size(), to);
  writeFile(path, edited);
}

// POST /v1/reload on a thread of its own (the caller joins it), its HTTP
// status into `status`: for tests that act while the reload runs.
std::thread reloadInBackground(const DaemonProcess& d, std::atomic<int>& status) {
  return std::thread([&d, &status] {
    AdminClient api(d);
    // As long as the server waits for a reload (under ASan on a busy
    // machine 20,000 registries take longer than the usual 15 s).
    api.client.set_read_timeout(control::kReloadWaitSeconds);
    status = api.send("POST", "/v1/reload", "").first;
  });
}

// Waits (at most 30 s) until the daemon's log contains `text`.
void waitForLog(const DaemonProcess& d, const std::string& text) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (d.log().find(text) == std::string::npos && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
}

}  // namespace

TEST_CASE("exclude a replica with switchyardctl: the next answer moves, a restart keeps it, re-include restores") {
  std::string state = makeTempDir();
  // Without eastus its clients share westus and westeurope; the test's ECS
  // subnet (198.51.100.0/26, so its /24) gets westus of the two
  // (routing.spread sticky; the rendezvous hash is fixed, so this is too).
  Strings nearest{"A 127.0.0.11"}, without{"A 127.0.0.12"};
  {
    DaemonProcess d(adminConfig(), "--state-dir " + state);
    INFO(d.log());
  REQUIRE(d.running());
    INFO(d.log());
    CHECK(eastusAnswer(d) == nearest);
    auto list = runCtl(ctl(d, "replication list --registry myregistry"));
    CHECK(list.exit_code == 0);
    CHECK_THAT(list.output, Catch::Contains("NAME        REGION      STATUS   GLOBAL ROUTING  SERVING"));
    CHECK_THAT(list.output, Catch::Contains("eastus      eastus      unknown  true            eastus"));

    auto update = runCtl(ctl(d, "replication update --registry myregistry --name eastus --global-endpoint-routing false"));
    CHECK(update.exit_code == 0);
    CHECK_THAT(update.output, Catch::Contains("false"));
    CHECK(eastusAnswer(d) == without);  // the very next query, no wait
    // And as an operator would check it, with BIND's dig.
    auto dig = runCommandForTest("dig +short +time=2 +tries=1 @" + d.v4().address.toString() + " -p " +
                                 std::to_string(d.v4().port) + " myregistry.cr.example.test +subnet=198.51.100.0/26");
    CHECK(dig == "127.0.0.12\n");
    // Regional and data names never move.
    auto regional = query(d.v4(), "myregistry.eastus.geo.cr.example.test", LDNS_RR_TYPE_A);
    CHECK(answers(regional.get()) == Strings{"A 127.0.0.11"});
    CHECK(d.stop() == 0);
  }
  {
    DaemonProcess d(adminConfig(), "--state-dir " + state);
    INFO(d.log());
  REQUIRE(d.running());
    INFO(d.log());
    CHECK(eastusAnswer(d) == without);  // survived the restart
    auto json_list = runCtl(ctl(d, "--output json replication list --registry myregistry"));
    REQUIRE(json_list.exit_code == 0);
    auto parsed = json::parse(json_list.output);
    CHECK(parsed[0]["name"] == "eastus");
    CHECK(parsed[0]["globalEndpointRouting"] == false);
    CHECK(runCtl(ctl(d, "replication update --registry myregistry --name eastus --global-endpoint-routing true"))
              .exit_code == 0);
    CHECK(eastusAnswer(d) == nearest);
    auto events = runCtl(ctl(d, "events"));
    CHECK_THAT(events.output, Catch::Contains("exclusion"));
    CHECK_THAT(events.output, Catch::Contains("routing cause=operator"));
  }
  [[maybe_unused]] int rc = std::system(("rm -rf " + state).c_str());
}

TEST_CASE("switchyardctl: endpoints, routing explanation, clear errors and exit codes") {
  DaemonProcess d(adminConfig());
  INFO(d.log());
  REQUIRE(d.running());
  auto endpoints = runCtl(ctl(d, "show-endpoints --registry myregistry"));
  CHECK(endpoints.exit_code == 0);
  CHECK_THAT(endpoints.output, Catch::Contains("regional  westus      myregistry.westus.geo.cr.example.test"));
  CHECK_THAT(endpoints.output, Catch::Contains("data      westus      myregistry.westus.data.cr.example.test"));
  auto routing = runCtl(ctl(d, "routing show --registry myregistry"));
  CHECK(routing.exit_code == 0);
  CHECK_THAT(routing.output, Catch::Contains("southeastasia  westeurope (100%)"));
  CHECK_THAT(routing.output, Catch::Contains("REPLICAS (SHARE OF SUBNETS)  ANSWER"));
  CHECK_THAT(routing.output, Catch::Contains("nearest"));

  auto missing = runCtl(ctl(d, "replication list --registry nope"));
  CHECK(missing.exit_code == 1);
  CHECK(missing.output == "switchyardctl: no registry named 'nope' (HTTP 404)\n");
  auto badtoken = runCtl("--server " + d.adminUrl() + " --token-file /etc/hostname replication list --registry myregistry");
  CHECK(badtoken.exit_code == 1);
  CHECK_THAT(badtoken.output, Catch::Contains("invalid token (HTTP 401)"));
  auto unreachable = runCtl("--server http://127.0.0.1:1 --token-file " + d.tokenFile() + " reload");
  CHECK(unreachable.exit_code == 3);
  CHECK(runCtl(ctl(d, "replication update --registry myregistry --name eastus --global-endpoint-routing maybe"))
            .exit_code != 0);
}

TEST_CASE("admin API: authentication, JSON errors, faults and routing reasons") {
  DaemonProcess d(adminConfig());
  INFO(d.log());
  REQUIRE(d.running());
  INFO(d.log());
  Api api(d);
  httplib::Client anon(d.admin().address.toString(), d.admin().port);
  auto r = anon.Get("/v1/registries");
  REQUIRE(r);
  CHECK(r->status == 401);
  CHECK(json::parse(r->body)["error"] == "missing 'Authorization: Bearer TOKEN' header");
  CHECK(anon.Get("/healthz")->status == 200);
  CHECK(anon.Get("/readyz")->status == 200);

  auto [st, regs] = api.get("/v1/registries");
  CHECK(st == 200);
  // The contract's fields, and the extensions: where it is declared, and that it is served.
  CHECK(regs[0] == json{{"name", "myregistry"}, {"home", "eastus"}, {"regionalEndpoints", true},
                        {"dataEndpointEnabled", true}, {"globalEndpoint", "myregistry.cr.example.test"},
                        {"source", "file"}, {"serving", true}});
  CHECK(api.get("/v1/registries/nope/routing").first == 404);
  CHECK(api.get("/v1/nothing").first == 404);
  CHECK(api.get("/v1/events?since=x").first == 400);
  CHECK(api.send("PATCH", "/v1/registries/myregistry/replications/mars", R"({"globalEndpointRouting":false})").first == 404);
  auto bad = api.send("PATCH", "/v1/registries/myregistry/replications/eastus", "{nope");
  CHECK(bad.first == 400);
  CHECK_THAT(bad.second["error"].get<std::string>(), Catch::StartsWith("the body is not valid JSON"));
  CHECK(api.send("PATCH", "/v1/registries/myregistry/replications/eastus", R"({"globalEndpointRouting":"no"})").first == 400);
  CHECK(api.send("PATCH", "/v1/registries/myregistry/replications/eastus", R"({"color":"red"})").first == 400);

  // Throttled: a drill that must NOT move traffic.
  auto thr = api.send("POST", "/v1/registries/myregistry/replications/eastus/fault", R"({"health":"throttled"})");
  CHECK(thr.first == 200);
  CHECK(thr.second["status"] == "degraded");
  CHECK(thr.second["health"]["fault"] == "throttled");
  CHECK(eastusAnswer(d) == Strings{"A 127.0.0.11"});
  // Down: it moves, and the routing explains why.
  auto down = api.send("POST", "/v1/registries/myregistry/replications/eastus/fault", R"({"health":"down"})");
  CHECK(down.second["status"] == "offline");
  CHECK(eastusAnswer(d) == Strings{"A 127.0.0.12"});  // its subnet's one replica of the two (sticky)
  auto routing = api.get("/v1/registries/myregistry/routing").second;
  CHECK(routing["spread"] == "sticky");
  CHECK(routing["clients"]["eastus"][0]["reason"] == "failover-spread");
  CHECK(routing["clients"]["eastus"][0]["weight"] == 0.5);
  CHECK(routing["clients"]["westus"][0] == json{{"replica", "westus"}, {"weight", 1.0}, {"reason", "nearest"}});
  auto list = runCtl(ctl(d, "replication list --registry myregistry"));
  CHECK_THAT(list.output, Catch::Contains("FAULT INJECTED: down"));
  CHECK(api.send("POST", "/v1/registries/myregistry/replications/eastus/fault", R"({"health":"sideways"})").first == 400);
  // Everything out: fail-open.
  for (const char* region : {"westus", "westeurope"})
    api.send("PATCH", std::string("/v1/registries/myregistry/replications/") + region, R"({"globalEndpointRouting":false})");
  CHECK(api.get("/v1/registries/myregistry/routing").second["clients"]["eastus"][0]["reason"] == "fail-open");
  api.send("POST", "/v1/registries/myregistry/replications/eastus/fault", R"({"health":"none"})");
  auto events = api.get("/v1/events?since=0").second;
  REQUIRE(events.size() >= 4);
  uint64_t last = events.back()["id"];
  CHECK(api.get("/v1/events?since=" + std::to_string(last)).second.empty());
  bool saw_fault = false;
  for (const auto& e : events) saw_fault = saw_fault || e["type"] == "fault";
  CHECK(saw_fault);
}

TEST_CASE("POST /v1/reload applies a good file and refuses a bad one, keeping the old config") {
  DaemonProcess d(adminConfig());
  INFO(d.log());
  REQUIRE(d.running());
  Api api(d);
  std::string path = d.dir() + "/switchyard.yaml";
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  writeFile(path, text.str() + "nonsense: 1\n");
  auto bad = api.send("POST", "/v1/reload", "");
  CHECK(bad.first == 400);
  CHECK_THAT(bad.second["error"].get<std::string>(), Catch::Contains("nonsense: unknown key"));
  CHECK(eastusAnswer(d) == Strings{"A 127.0.0.11"});
  std::string good = text.str();
  good.replace(good.find("global: 30"), 10, "global: 42");
  writeFile(path, good);
  auto ok = runCtl(ctl(d, "reload"));
  CHECK(ok.exit_code == 0);
  CHECK_THAT(ok.output, Catch::StartsWith("reloaded (generation "));
  auto p = query(d.v4(), "myregistry.cr.example.test", LDNS_RR_TYPE_A);
  REQUIRE(p);
  CHECK(ldns_rr_ttl(ldns_rr_list_rr(ldns_pkt_answer(p.get()), 0)) == 42);
  // A TTL is outside the registries: every answer was rebuilt.
  CHECK(d.log().find("event=reload_changes") == std::string::npos);
}

TEST_CASE("a reload that edits one registry rebuilds only it: the others keep their state and answers") {
  DaemonProcess d(adminConfig());
  INFO(d.log());
  REQUIRE(d.running());
  Api api(d);
  // myregistry's eastus replica down by a fault: its answer moves west.
  REQUIRE(api.send("POST", "/v1/registries/myregistry/replications/eastus/fault", R"({"health":"down"})").first == 200);
  Strings failed_over = eastusAnswer(d);
  REQUIRE(failed_over != Strings{"A 127.0.0.11"});
  editConfig(d, "addresses: [127.0.0.21]", "addresses: [127.0.0.22]");
  auto ok = api.send("POST", "/v1/reload", "");
  REQUIRE(ok.first == 200);
  CHECK_THAT(d.log(), Catch::Contains("event=reload_changes registries=1 (the rest carried)"));
  // The edited registry answers from the new file at once ...
  auto teamb = query(d.v4(), "teamb.cr.example.test", LDNS_RR_TYPE_A,
                     {.ecs = IpPrefix::parse("198.51.100.128/26").value()});
  REQUIRE(teamb);
  CHECK(answers(teamb.get()) == Strings{"A 127.0.0.22"});
  // ... and the other kept its fault, so its answer did not move back.
  CHECK(eastusAnswer(d) == failed_over);
  // Lifting the fault still works on the carried state.
  REQUIRE(api.send("POST", "/v1/registries/myregistry/replications/eastus/fault", R"({"health":"none"})").first == 200);
  CHECK(eastusAnswer(d) == Strings{"A 127.0.0.11"});
}

TEST_CASE("a corrupt overrides file stops the start unless --reset-state") {
  std::string state = makeTempDir();
  writeFile(state + "/overrides.json", "{\"version\": 1, \"globalEndpointRouting\": {\"myregistry/eastus\": ");
  std::string dir = makeTempDir();
  std::string text = testConfig();
  text.replace(text.find("@DNS@"), 5, "[\"" + freeLoopback().toString() + "\"]");
  writeFile(dir + "/sy.yaml", text);
  auto refused = runDaemon("--config " + dir + "/sy.yaml --state-dir " + state);
  CHECK(refused.exit_code == 1);
  CHECK_THAT(refused.output, Catch::Contains(state + "/overrides.json"));
  CHECK_THAT(refused.output, Catch::Contains("--reset-state"));

  DaemonProcess d(testConfig(), "--state-dir " + state + " --reset-state");
  CHECK(d.running());
  CHECK_THAT(d.log(), Catch::Contains("event=state_reset"));
  [[maybe_unused]] int rc = std::system(("rm -rf " + state + " " + dir).c_str());
}

TEST_CASE("a token file given on the command line overrides admin.token_file (systemd credentials, Kubernetes secrets)") {
  std::string dir = makeTempDir();
  const std::string secret = "token-from-the-credential-0123456789";
  writeFile(dir + "/credential", secret + "\n");
  DaemonProcess d(adminConfig(), "--admin-token-file " + dir + "/credential");
  REQUIRE(d.running());
  httplib::Client client(d.admin().address.toString(), d.admin().port);
  auto with = [&](const std::string& token) {
    auto r = client.Get("/v1/registries", httplib::Headers{{"Authorization", "Bearer " + token}});
    return r ? r->status : 0;
  };
  CHECK(with(secret) == 200);
  CHECK(with(d.token()) == 401);  // the config file's token is not the one in force
}

TEST_CASE("admin API bodies: curl -X POST without a body is answered at once, oversized bodies get 413, strangers 401") {
  DaemonProcess d(adminConfig());
  INFO(d.log());
  REQUIRE(d.running());
  std::string auth = "-H 'Authorization: Bearer " + d.token() + "' ";
  // No body and no Content-Length (what `curl -X POST` sends): not a 5 s wait for one.
  auto reload = runShell("curl -s --max-time 4 -X POST " + auth + d.adminUrl() + "/v1/reload");
  CHECK(reload.exit_code == 0);
  CHECK_THAT(reload.output, Catch::Contains("\"reloaded\":true"));
  // A body over the limit: refused with a JSON message, nothing applied.
  Api api(d);
  std::string huge = R"({"globalEndpointRouting":false,"pad":")" + std::string(100 * 1024, 'x') + "\"}";
  auto big = api.send("PATCH", "/v1/registries/myregistry/replications/eastus", huge);
  CHECK(big.first == 413);
  CHECK_THAT(big.second["error"].get<std::string>(), Catch::Contains("larger than"));
  CHECK(eastusAnswer(d) == Strings{"A 127.0.0.11"});
  // Without the token, a body is never read.
  httplib::Client anon(d.admin().address.toString(), d.admin().port);
  auto r = anon.Patch("/v1/registries/myregistry/replications/eastus", R"({"globalEndpointRouting":false})",
                      "application/json");
  REQUIRE(r);
  CHECK(r->status == 401);
  CHECK(eastusAnswer(d) == Strings{"A 127.0.0.11"});
}

TEST_CASE("a reload that changes a setting compiles the new answers off the loop and keeps changes made meanwhile") {
  DaemonProcess d(adminConfig());
  INFO(d.log());
  REQUIRE(d.running());
  Api api(d);
  addBulkRegistries(d, 5000);  // above the size a rebuild stays on the loop for
  editConfig(d, "global: 30", "global: 42");  // a setting: every answer moves
  std::atomic<int> status{0};
  std::thread reloader = reloadInBackground(d, status);
  // A fault while the reload runs (parse, compile or after): whenever it
  // lands, the reloaded daemon must have it.
  waitForLog(d, "event=reload_started");
  CHECK(api.send("POST", "/v1/registries/myregistry/replications/eastus/fault", R"({"health":"down"})").first == 200);
  reloader.join();
  REQUIRE(status.load() == 200);
  CHECK_THAT(d.log(), Catch::Contains("event=reload_prepared registries=5002"));
  auto p = query(d.v4(), "myregistry.cr.example.test", LDNS_RR_TYPE_A,
                 {.ecs = IpPrefix::parse("198.51.100.0/26").value()});
  REQUIRE(p);
  CHECK(answers(p.get()) != Strings{"A 127.0.0.11"});  // eastus still down
  CHECK(ldns_rr_ttl(ldns_rr_list_rr(ldns_pkt_answer(p.get()), 0)) == 42);
  auto bulk = query(d.v4(), "bulk4999.cr.example.test", LDNS_RR_TYPE_A);
  REQUIRE(bulk);
  CHECK(answers(bulk.get()) == Strings{"A 127.0.3.250"});
  CHECK(ldns_rr_ttl(ldns_rr_list_rr(ldns_pkt_answer(bulk.get()), 0)) == 42);
  REQUIRE(api.send("POST", "/v1/registries/myregistry/replications/eastus/fault", R"({"health":"none"})").first == 200);
  CHECK(eastusAnswer(d) == Strings{"A 127.0.0.11"});
}

TEST_CASE("a reload parses off the control loop: the API answers while a large file is read") {
  DaemonProcess d(adminConfig());
  INFO(d.log());
  REQUIRE(d.running());
  // 20,000 more registries: seconds of YAML parsing, on a work thread now.
  constexpr int kExtra = 20'000;
  addBulkRegistries(d, kExtra);

  std::atomic<int> reload_status{0};
  std::thread reloader = reloadInBackground(d, reload_status);
  // Once the reload has started, the loop still answers the API and DNS.
  waitForLog(d, "event=reload_started");
  Api api(d);
  auto during = api.get("/v1/registries");
  bool answered_during_parse = reload_status.load() == 0;
  INFO(during.second.dump());
  CHECK(during.first == 200);
  CHECK(during.second.size() == 2);  // the old config, still serving
  CHECK(eastusAnswer(d) == Strings{"A 127.0.0.11"});
  reloader.join();
  CHECK(answered_during_parse);
  CHECK(reload_status.load() == 200);
  auto after = api.get("/v1/registries");
  CHECK(after.second.size() == 2 + kExtra);
  auto bulk = query(d.v4(), "bulk19999.cr.example.test", LDNS_RR_TYPE_A);
  REQUIRE(bulk);
  CHECK(answers(bulk.get()) == Strings{"A 127.0.3.250"});
}

TEST_CASE("SIGTERM during a long reload answers the waiting API call and exits promptly") {
  DaemonProcess d(adminConfig());
  INFO(d.log());
  REQUIRE(d.running());
  // Big enough that the parse is still running when SIGTERM comes (~0.6 s,
  // several under ASan), small enough that the exit, which waits for the
  // parse thread, stays inside DaemonProcess::stop()'s 10 s.
  addBulkRegistries(d, 8'000);
  std::atomic<int> reload_status{-1};
  std::thread reloader([&] {
    Api api(d);
    reload_status = api.send("POST", "/v1/reload", "").first;
  });
  waitForLog(d, "event=reload_started");
  auto start = std::chrono::steady_clock::now();
  CHECK(d.stop() == 0);  // 10 s bound, then SIGKILL; without the early answer the exit waited for the API's 300 s
  reloader.join();
  CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(15));
  CHECK((reload_status.load() == 400 || reload_status.load() == 503));
}

TEST_CASE("SIGKILL at random points while exclusions are written never loses an acknowledged one or corrupts the set") {
  // Every (registry, replica) pair of the test topology; a writer toggles
  // random pairs through the API while the daemon is killed at a random
  // moment. After each restart (same state directory) the daemon must start
  // (a corrupt file would stop it) and show, for every pair, the last value
  // it acknowledged -- or, for the one request in flight at the kill, either.
  const std::vector<std::pair<std::string, std::string>> pairs{
      {"myregistry", "eastus"}, {"myregistry", "westus"}, {"myregistry", "westeurope"},
      {"teamb", "westeurope"}, {"teamb", "southeastasia"}};
  std::string state = makeTempDir();
  std::map<std::string, bool> model;  // pair -> acknowledged globalEndpointRouting
  for (const auto& [reg, rep] : pairs) model[reg + "/" + rep] = true;
  std::mt19937 rng(std::random_device{}());
  constexpr int kRuns = 15;
  int acknowledged_total = 0;
  std::string uncertain;  // the pair whose request was in flight at the last kill
  for (int run = 0; run < kRuns; ++run) {
    INFO("run " << run);
    DaemonProcess d(adminConfig(), "--state-dir " + state);
    INFO(d.log());
    REQUIRE(d.running());
    Api api(d);
    for (const auto& [reg, rep] : pairs) {
      auto [status, list] = api.get("/v1/registries/" + reg + "/replications");
      REQUIRE(status == 200);
      bool found = false;
      for (const auto& r : list)
        if (r["name"] == rep) {
          found = true;
          std::string key = reg + "/" + rep;
          bool now = r["globalEndpointRouting"].get<bool>();
          INFO(key);
          if (key != uncertain) CHECK(now == model[key]);
          model[key] = now;
        }
      CHECK(found);
    }

    std::mutex mutex;
    std::string in_flight;
    std::atomic<bool> stop{false};
    std::thread writer([&] {
      Api w(d);
      std::mt19937 wrng(std::random_device{}());
      for (int i = 0; i < 10'000 && !stop; ++i) {
        const auto& [reg, rep] = pairs[wrng() % pairs.size()];
        std::string key = reg + "/" + rep;
        bool value;
        {
          std::lock_guard<std::mutex> lock(mutex);
          value = !model[key];
          in_flight = key;
        }
        auto r = w.send("PATCH", "/v1/registries/" + reg + "/replications/" + rep,
                        json{{"globalEndpointRouting", value}}.dump());
        std::lock_guard<std::mutex> lock(mutex);
        if (r.first != 200) return;  // the daemon is gone: this one stays uncertain
        model[key] = value;
        in_flight.clear();
        ++acknowledged_total;
      }
    });
    std::this_thread::sleep_for(std::chrono::milliseconds(5 + rng() % 150));
    d.signal(SIGKILL);
    stop = true;
    writer.join();
    std::lock_guard<std::mutex> lock(mutex);
    uncertain = in_flight;
  }
  CHECK(acknowledged_total > kRuns);  // the kills landed while writes were going on
}

TEST_CASE("switchyardctl finds the daemon from its config file and takes global options after the subcommand") {
  // Issue 19: the README's commands failed as printed ("no token", the
  // wrong default server, "--output json" after the subcommand rejected).
  DaemonProcess d(adminConfig());
  INFO(d.log());
  REQUIRE(d.running());
  std::string config = d.dir() + "/switchyard.yaml";
  auto listed = runCtl("--config " + config + " replication list --registry myregistry");
  INFO(listed.output);
  CHECK(listed.exit_code == 0);
  CHECK_THAT(listed.output, Catch::Contains("NAME        REGION      STATUS"));
  // The environment variable, and --output after the subcommand (as `az` takes it).
  auto json_list = runShell("SWITCHYARD_CONFIG=" + config + " timeout 20 " + ctlBinary() +
                            " replication list --registry myregistry --output json 2>&1");
  INFO(json_list.output);
  REQUIRE(json_list.exit_code == 0);
  CHECK(json::parse(json_list.output)[0]["name"] == "eastus");
  // -c, and every global option after a nested subcommand.
  auto routed = runCtl("routing show --registry myregistry -c " + config + " -o json");
  CHECK(routed.exit_code == 0);
  CHECK(json::parse(routed.output).contains("clients"));
  // An explicit flag still wins over the file.
  auto wrong = runCtl("--config " + config + " --server http://127.0.0.1:1 replication list --registry myregistry");
  CHECK(wrong.exit_code == 3);
  // A config without listen.admin says so, naming the file.
  writeFile(d.dir() + "/no-admin.yaml", "listen:\n  dns: [\"127.0.0.1:53\"]\n");
  auto none = runCtl("--config " + d.dir() + "/no-admin.yaml replication list --registry myregistry");
  CHECK(none.exit_code == 2);
  CHECK_THAT(none.output, Catch::Contains("no-admin.yaml: no listen.admin"));
}
