// State that must not be lost across restarts (issue 18, items 5-7), on a
// real daemon with a real state directory:
//   5. an overrides.json that exists but cannot be read stops start-up (it
//      used to count as absent, and the next write replaced it);
//   6. a stored exclusion of a pair the config lacks survives a restart and
//      the next write, and is reported as orphaned (API and metric);
//   7. the SOA serial never goes backwards across a restart, even after a
//      burst of changes ran it ahead of the clock.
#include <catch2/catch.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include <csignal>
#include <ctime>

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "tests/support/admin_client.h"
#include "tests/support/daemon_process.h"
#include "tests/support/dns_client.h"
#include "tests/support/test_topology.h"

using namespace switchyard;
using namespace switchyard::test;
using nlohmann::json;

namespace {

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}


uint32_t soaSerial(const DaemonProcess& d) {
  auto p = query(d.v4(), "cr.example.test", LDNS_RR_TYPE_SOA);
  if (!p || ldns_pkt_ancount(p.get()) != 1) return 0;
  ldns_rr* soa = ldns_rr_list_rr(ldns_pkt_answer(p.get()), 0);
  return ldns_rdf2native_int32(ldns_rr_rdf(soa, 2));
}

// Waits (bounded) for the daemon to exit by itself; its exit code, or -1.
int exitCode(DaemonProcess& d, int within_ms) {
  for (int waited = 0; waited < within_ms && d.running(); waited += 50)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  return d.running() ? -1 : d.stop();
}

}  // namespace

TEST_CASE("an overrides.json that exists but cannot be read stops start-up and is left as it was") {
  std::string state = makeTempDir();
  std::string file = state + "/overrides.json";
  SECTION("a symlink loop (ELOOP)") {
    REQUIRE(symlink("overrides.json", file.c_str()) == 0);
    DaemonProcess d(adminConfig(), "--state-dir " + state);
    CHECK(exitCode(d, 10'000) == 1);
    CHECK_THAT(d.log(), Catch::Contains("overrides.json") && Catch::Contains("operator exclusions would be lost"));
    char target[64] = {};
    CHECK(readlink(file.c_str(), target, sizeof target - 1) > 0);  // untouched
  }
  SECTION("a directory in its place (EISDIR)") {
    REQUIRE(mkdir(file.c_str(), 0700) == 0);
    DaemonProcess d(adminConfig(), "--state-dir " + state);
    CHECK(exitCode(d, 10'000) == 1);
    CHECK_THAT(d.log(), Catch::Contains("overrides.json"));
  }
  SECTION("no permission to read it (only meaningful when not root)") {
    writeFile(file, R"({"version": 1, "globalEndpointRouting": {"myregistry/eastus": false}})");
    chmod(file.c_str(), 0);
    if (geteuid() != 0) {
      DaemonProcess d(adminConfig(), "--state-dir " + state);
      CHECK(exitCode(d, 10'000) == 1);
      CHECK_THAT(d.log(), Catch::Contains("Permission denied"));
    }
    chmod(file.c_str(), 0600);
    CHECK_THAT(slurp(file), Catch::Contains("myregistry/eastus"));
  }
  [[maybe_unused]] int rc = std::system(("rm -rf " + state).c_str());
}

TEST_CASE("a stored exclusion of a pair the config lacks survives a restart and a write, reported as orphaned") {
  std::string state = makeTempDir();
  writeFile(state + "/overrides.json",
            R"({"version": 1, "globalEndpointRouting": {"gone/eastus": false, "myregistry/westus": false}})");
  {
    DaemonProcess d(adminConfig(), "--state-dir " + state);
    INFO(d.log());
    REQUIRE(d.running());
    AdminClient api(d);
    auto [code, status] = api.get("/v1/status");
    REQUIRE(code == 200);
    CHECK(status["orphanedOverrides"] ==
          json::parse(R"([{"registry": "gone", "region": "eastus", "globalEndpointRouting": false}])"));
    httplib::Client metrics(d.admin().address.toString(), d.admin().port);
    auto scrape = metrics.Get("/metrics");
    REQUIRE(scrape);
    CHECK_THAT(scrape->body, Catch::Contains("switchyard_overrides_orphaned 1"));
    // The next write (another decision) keeps it in the file.
    auto [patched, body] = api.send("PATCH", "/v1/registries/myregistry/replications/eastus",
                                    R"({"globalEndpointRouting": false})");
    CHECK(patched == 200);
    // A reload applies the same rule.
    CHECK(api.send("POST", "/v1/reload", "").first == 200);
    CHECK(api.get("/v1/status").second["orphanedOverrides"].size() == 1);
    CHECK(d.stop() == 0);
  }
  auto file = json::parse(slurp(state + "/overrides.json"));
  CHECK(file["globalEndpointRouting"]["gone/eastus"] == false);
  CHECK(file["globalEndpointRouting"]["myregistry/eastus"] == false);
  CHECK(file["globalEndpointRouting"]["myregistry/westus"] == false);
  {
    DaemonProcess d(adminConfig(), "--state-dir " + state);
    INFO(d.log());
    REQUIRE(d.running());
    CHECK(AdminClient(d).get("/v1/status").second["orphanedOverrides"].size() == 1);
  }
  [[maybe_unused]] int rc = std::system(("rm -rf " + state).c_str());
}

TEST_CASE("the SOA serial never goes backwards: a burst of changes, then a restart") {
  std::string state = makeTempDir();
  uint32_t before = 0;
  {
    DaemonProcess d(adminConfig(), "--state-dir " + state);
    INFO(d.log());
    REQUIRE(d.running());
    AdminClient api(d);
    // 40 routing changes in about a second run the serial ~40 ahead of the clock.
    for (int i = 0; i < 40; ++i) {
      std::string flag = i % 2 == 0 ? "false" : "true";
      REQUIRE(api.send("PATCH", "/v1/registries/myregistry/replications/eastus",
                       "{\"globalEndpointRouting\": " + flag + "}")
                  .first == 200);
    }
    before = soaSerial(d);
    REQUIRE(before > static_cast<uint32_t>(std::time(nullptr)) + 20);
    // SIGKILL: no orderly shutdown may be needed to keep it.
    d.signal(SIGKILL);
    for (int i = 0; i < 100 && d.running(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  DaemonProcess d(adminConfig(), "--state-dir " + state);
  INFO(d.log());
  REQUIRE(d.running());
  uint32_t after = soaSerial(d);
  INFO("serial before the restart " << before << ", after " << after);
  CHECK(after > before);
  [[maybe_unused]] int rc = std::system(("rm -rf " + state).c_str());
}
