// Failover drills end to end: the real daemon runs the drill, which queries
// the real DNS server over UDP with ECS per client region; switchyardctl
// starts, follows and prints it. Every test also checks that what the drill
// applied is gone afterwards, however the drill ended.
#include <catch2/catch.hpp>

#include <csignal>
#include <thread>

#include "tests/support/admin_client.h"
#include "tests/support/daemon_process.h"
#include "tests/support/dns_client.h"
#include "tests/support/test_topology.h"

using namespace switchyard;
using namespace switchyard::test;
using nlohmann::json;

namespace {

std::string eastusAnswer(const SocketAddress& dns) {
  auto p = query(dns, "myregistry.cr.example.test", LDNS_RR_TYPE_A, {.ecs = IpPrefix::parse("198.51.100.0/26").value()});
  auto a = p ? answers(p.get()) : std::vector<std::string>{};
  return a.empty() ? "(none)" : a.front();
}

json replica(AdminClient& api, const std::string& registry, const std::string& region) {
  auto [status, list] = api.get("/v1/registries/" + registry + "/replications");
  REQUIRE(status == 200);
  for (const auto& r : list)
    if (r["name"] == region) return r;
  FAIL("no replica " << region);
  return {};
}

// Polls GET /v1/drills/ID until `done(report)` (bounded).
json waitDrill(AdminClient& api, uint64_t id, const std::function<bool(const json&)>& done, int seconds = 30) {
  json d;
  for (int i = 0; i < seconds * 20; ++i) {
    d = api.get("/v1/drills/" + std::to_string(id)).second;
    if (done(d)) return d;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  FAIL("drill " << id << " never reached the awaited state: " << d.dump());
  return d;
}

}  // namespace

TEST_CASE("drill run proves exclude, fail and throttle against the running daemon, and reverts each") {
  DaemonProcess d(adminConfig());
  REQUIRE(d.running());
  AdminClient api(d);
  std::string dns = d.v4().toString();

  for (std::string scenario : {"exclude", "fail", "throttle"}) {
    DYNAMIC_SECTION("scenario " << scenario) {
      auto table = runCtl(ctlArgs(d, "drill run --registry myregistry --replica eastus --scenario " + scenario +
                                         " --dns " + dns + " --hold 1"),
                          60);
      INFO(table.output);
      CHECK(table.exit_code == 0);
      CHECK(table.output.find("PASSED") != std::string::npos);
      CHECK(table.output.find("regional and data names never moved") != std::string::npos);
      CHECK(table.output.find("FAIL ") == std::string::npos);

      auto run = runCtl(ctlArgs(d, "--output json drill run --registry myregistry --replica eastus --scenario " +
                                       scenario + " --dns " + dns + " --hold 1"),
                        60);
      INFO(run.output);
      REQUIRE(run.exit_code == 0);
      json report = json::parse(run.output);
      CHECK(report["state"] == "passed");
      CHECK(report["expectations"].size() == 6);  // with "every client subnet keeps one replica" (sticky)
      for (const auto& e : report["expectations"]) CHECK(e["passed"] == true);
      CHECK(report["answers"]["baseline"]["eastus"] == json::array({"eastus"}));
      CHECK(report["answers"]["after"]["eastus"] == json::array({"eastus"}));
      CHECK(report["answers"]["fixed"]["regional eastus"] == json::array({"A 127.0.0.11"}));
      if (scenario == "throttle") {
        CHECK(report["answers"]["during"]["eastus"] == json::array({"eastus"}));
        CHECK(report["timings"]["heldMs"].get<double>() >= 1000);
      } else {
        // Failover spread 2: the two nearest eligible replicas share eastus;
        // its probe subnet (198.51.100.0/24) gets westus of the two.
        CHECK(report["answers"]["during"]["eastus"] == json::array({"westus"}));
        CHECK(report["timings"]["leftMs"].get<double>() >= 0);
        CHECK(report["timings"]["backMs"].get<double>() >= 0);
      }
      // The split over eastus's probed subnets: both sharing replicas, every subnet counted once.
      const json& split = report["answers"]["split"]["eastus"];
      if (scenario == "throttle") {
        CHECK(split == json{{"eastus", 16}});
      } else {
        CHECK(split.size() == 2);
        CHECK(split.value("westus", 0) + split.value("westeurope", 0) == 16);
        CHECK(split.value("westus", 0) >= 2);
        CHECK(split.value("westeurope", 0) >= 2);
      }
      CHECK(report["answers"]["split"]["westus"] == json{{"westus", 16}});
      std::vector<std::string> phases;
      for (const auto& e : report["events"])
        if (e["type"] == "drill") phases.push_back(e["phase"]);
      CHECK(phases == std::vector<std::string>{"started", "applied", "reverted"});

      json after = replica(api, "myregistry", "eastus");
      CHECK(after["globalEndpointRouting"] == true);
      CHECK(after["health"]["fault"] == "none");
      CHECK(eastusAnswer(d.v4()) == "A 127.0.0.11");
    }
  }
  auto list = runCtl(ctlArgs(d, "drill list"));
  CHECK(list.exit_code == 0);
  CHECK(list.output.find("passed") != std::string::npos);
}

TEST_CASE("a drill refuses what it cannot prove, with a clear message, and changes nothing") {
  DaemonProcess d(adminConfig());
  REQUIRE(d.running());
  AdminClient api(d);

  auto unknown = runCtl(ctlArgs(d, "drill run --registry nope --replica eastus --scenario exclude"));
  CHECK(unknown.exit_code == 1);
  CHECK(unknown.output.find("no registry named 'nope'") != std::string::npos);

  auto [bad, body] = api.send("POST", "/v1/drills", R"({"registry":"myregistry","replica":"eastus","scenario":"melt"})");
  CHECK(bad == 400);
  CHECK(body["error"].get<std::string>().find("scenario must be exclude, fail or throttle") != std::string::npos);
  CHECK(api.send("POST", "/v1/drills", "{not json").first == 400);
  CHECK(api.send("POST", "/v1/drills", R"({"registry":"myregistry","replica":"eastus","scenario":"fail","dns":"nowhere"})")
            .first == 400);

  // teamb has two replicas; with westeurope excluded, southeastasia is the last one.
  REQUIRE(api.send("PATCH", "/v1/registries/teamb/replications/westeurope", R"({"globalEndpointRouting":false})").first ==
          200);
  auto last = runCtl(ctlArgs(d, "drill run --registry teamb --replica southeastasia --scenario fail"));
  CHECK(last.exit_code == 1);
  CHECK(last.output.find("only eligible replica") != std::string::npos);
  auto again = runCtl(ctlArgs(d, "drill run --registry teamb --replica westeurope --scenario exclude"));
  CHECK(again.exit_code == 1);
  CHECK(again.output.find("already out of global routing") != std::string::npos);
  CHECK(replica(api, "teamb", "southeastasia")["health"]["fault"] == "none");

  // A DNS server that does not answer: the baseline fails, nothing is applied.
  SocketAddress nobody = freeLoopback();
  auto silent = runCtl(ctlArgs(d, "--output json drill run --registry myregistry --replica eastus --scenario exclude "
                                  "--dns " + nobody.toString()),
                       60);
  INFO(silent.output);
  CHECK(silent.exit_code == 1);
  json report = json::parse(silent.output.substr(0, silent.output.rfind("switchyardctl:")));
  CHECK(report["state"] == "failed");
  CHECK(report["answers"]["baseline"]["eastus"] == json::array({"!timeout"}));
  CHECK(report["expectations"][0]["passed"] == false);
  CHECK(!report["timings"].contains("applyMs"));
  CHECK(replica(api, "myregistry", "eastus")["globalEndpointRouting"] == true);
}

TEST_CASE("Ctrl-C on drill run aborts the drill, which reverts") {
  DaemonProcess d(adminConfig());
  REQUIRE(d.running());
  AdminClient api(d);
  // The CLI gets SIGINT 2 s into a 60 s hold.
  auto r = runShell("timeout --preserve-status -s INT 2 " + ctlBinary() + " " +
                    ctlArgs(d, "drill run --registry myregistry --replica eastus --scenario throttle --hold 60 --dns " +
                                   d.v4().toString()) +
                    " 2>&1");
  INFO(r.output);
  CHECK(r.exit_code == 1);
  CHECK(r.output.find("aborting drill") != std::string::npos);
  CHECK(r.output.find("ABORTED") != std::string::npos);
  CHECK(replica(api, "myregistry", "eastus")["health"]["fault"] == "none");
}

TEST_CASE("a daemon killed mid-drill comes back without the drill's exclusion, a stopped one reverts first") {
  std::string state = makeTempDir();
  // Drill on `a` while asking `b` (same config, so the baseline agrees), whose
  // answers never move: `a`'s drill stays applied until its timeout.
  DaemonProcess b(adminConfig());
  REQUIRE(b.running());
  {
    DaemonProcess a(adminConfig(), "--state-dir " + state);
    REQUIRE(a.running());
    AdminClient api(a);
    auto [status, d] = api.send("POST", "/v1/drills",
                                json{{"registry", "myregistry"}, {"replica", "eastus"}, {"scenario", "exclude"},
                                     {"dns", b.v4().toString()}, {"timeoutSeconds", 60}}
                                    .dump());
    REQUIRE(status == 201);
    waitDrill(api, d["id"], [](const json& r) { return r["phase"] == "applied"; });
    CHECK(replica(api, "myregistry", "eastus")["globalEndpointRouting"] == false);
    CHECK(eastusAnswer(a.v4()) != "A 127.0.0.11");
    a.signal(SIGKILL);
  }
  {
    DaemonProcess a(adminConfig(), "--state-dir " + state);
    REQUIRE(a.running());
    AdminClient api(a);
    CHECK(replica(api, "myregistry", "eastus")["globalEndpointRouting"] == true);
    CHECK(eastusAnswer(a.v4()) == "A 127.0.0.11");

    // An orderly stop mid-drill undoes the change before exiting.
    auto [status, d] = api.send("POST", "/v1/drills",
                                json{{"registry", "myregistry"}, {"replica", "eastus"}, {"scenario", "fail"},
                                     {"dns", b.v4().toString()}, {"timeoutSeconds", 60}}
                                    .dump());
    REQUIRE(status == 201);
    waitDrill(api, d["id"], [](const json& r) { return r["phase"] == "applied"; });
    CHECK(a.stop() == 0);
    std::string log = a.log();
    auto stopping = log.find("event=stopping");
    REQUIRE(stopping != std::string::npos);
    CHECK(log.find("event=drill_reverted_on_stop drill=" + d["id"].dump(), stopping) != std::string::npos);
    CHECK(log.find("fault=none cause=fault", stopping) != std::string::npos);
  }
}
