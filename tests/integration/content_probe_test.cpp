// The content check (health/content_prober.h) against a registry whose content
// breaks on cue (tests/support/content_registry.py): every verdict of the
// table in content_check.h over real HTTP, the token flow on the content
// steps, the write check, one connection per probe, and the seeding rule of
// HealthMonitor (a replica without the canary while the reference has it is
// lagging, not down). The real docker-registry runs in tests/e2e/content_e2e.sh.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <signal.h>
#include <sys/wait.h>
#include <uv.h>

#include <chrono>
#include <map>
#include <thread>

#include "health/health_monitor.h"
#include "health/prober.h"
#include "tests/support/daemon_process.h"

using namespace switchyard;
using namespace switchyard::health;
using json = nlohmann::json;

namespace {

// One content_registry.py on a free loopback address; faults through its state file.
struct FakeRegistry {
  SocketAddress address = test::freeLoopback();
  std::string dir = test::makeTempDir();
  std::string state = dir + "/state.json";
  pid_t pid = -1;

  FakeRegistry() {
    faults(json::object());
    pid = test::spawnLogged({"/usr/bin/python3", SOURCE_DIR "/tests/support/content_registry.py", "--addr",
                             address.address.toString(), "--port", std::to_string(address.port), "--state-file",
                             state},
                            dir + "/log");
    for (int i = 0; i < 100 && stats().is_discarded(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    REQUIRE_FALSE(stats().is_discarded());
  }
  ~FakeRegistry() {
    kill(pid, SIGKILL);
    waitpid(pid, nullptr, 0);
  }
  void faults(const json& j) { test::writeFile(state, j.dump()); }
  json stats() const {
    auto r = test::runShell("curl -s -m 2 http://" + address.toString() + "/_stats");
    return json::parse(r.output, nullptr, false);
  }
};

ProbeTarget contentTarget(const SocketAddress& a, const std::string& canary = "canary/heartbeat:latest",
                          int timeout_ms = 1500) {
  ProbeTarget t;
  t.registry = "acme";
  t.region = "eastus";
  t.spec.port = a.port;
  t.spec.timeout = std::chrono::milliseconds(timeout_ms);
  t.spec.interval = std::chrono::milliseconds(timeout_ms);
  t.spec.check = policy::HealthCheck::Content;
  t.spec.canary = *policy::Canary::parse(canary);
  t.connect_host = a.address.toString();
  t.host = "acme.eastus.geo.cr.example.test";
  return t;
}

struct Run {
  uv_loop_t loop{};
  std::map<uint64_t, ProbeReport> reports;
  std::unique_ptr<Prober> prober;
  Run() {
    uv_loop_init(&loop);
    prober = std::make_unique<Prober>(&loop, [this](uint64_t id, const ProbeReport& r) { reports[id] = r; });
  }
  ~Run() {
    prober->close();
    uv_run(&loop, UV_RUN_DEFAULT);
    uv_loop_close(&loop);
  }
  ProbeReport probe(const ProbeTarget& t, bool write = false) {
    uint64_t id = prober->start(t, write);
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (!reports.count(id) && std::chrono::steady_clock::now() < deadline) uv_run(&loop, UV_RUN_ONCE);
    REQUIRE(reports.count(id));
    return reports[id];
  }
};

}  // namespace

TEST_CASE("content check: a serving replica is ok, on one connection, and reads the smallest blob") {
  FakeRegistry reg;
  Run run;
  auto before = reg.stats();
  ProbeReport r = run.probe(contentTarget(reg.address));
  INFO(r.detail);
  CHECK(r.result == ProbeResult::Ok);
  auto after = reg.stats();
  // /v2/, manifest, blob: three requests, one fresh connection (the _stats
  // calls are one connection each).
  CHECK(after["requests"].get<int>() - before["requests"].get<int>() == 4);
  CHECK(after["connections"].get<int>() - before["connections"].get<int>() == 2);

  // A multi-arch canary: index, then its manifest by digest, then a blob.
  ProbeReport multi = run.probe(contentTarget(reg.address, "canary/multi:latest"));
  INFO(multi.detail);
  CHECK(multi.result == ProbeResult::Ok);

  // A canary whose every blob is large: no download, a HEAD whose length
  // must match the manifest's.
  int heads = reg.stats()["heads"];
  ProbeReport big = run.probe(contentTarget(reg.address, "canary/big:latest"));
  INFO(big.detail);
  CHECK(big.result == ProbeResult::Ok);
  CHECK(reg.stats()["heads"].get<int>() == heads + 1);
}

TEST_CASE("content check verdicts: 5xx, 404, 429, digest mismatch, hang, and the api step") {
  FakeRegistry reg;
  Run run;
  auto t = contentTarget(reg.address);
  struct Case {
    json faults;
    ProbeResult want;
    const char* step;
    const char* in_detail;
  };
  std::vector<Case> cases = {
      {{{"status", {{"manifest", 500}}}}, ProbeResult::ContentError, "manifest", "HTTP 500"},
      {{{"status", {{"manifest", 404}}}}, ProbeResult::ContentMissing, "manifest", "HTTP 404"},
      {{{"status", {{"blob", 503}}}}, ProbeResult::ContentError, "blob", "HTTP 503"},
      {{{"status", {{"blob", 404}}}}, ProbeResult::ContentMissing, "blob", "HTTP 404"},
      {{{"status", {{"manifest", 429}}}}, ProbeResult::Throttled, "manifest", "HTTP 429"},
      {{{"status", {{"blob", 429}}}}, ProbeResult::Throttled, "blob", "HTTP 429"},
      {{{"status", {{"api", 429}}}}, ProbeResult::Throttled, "api", "HTTP 429"},
      {{{"status", {{"api", 502}}}}, ProbeResult::HttpError, "api", "HTTP 502"},
      {{{"status", {{"manifest", 403}}}}, ProbeResult::ContentError, "manifest", "readable anonymously"},
      {{{"corrupt", {"blob"}}}, ProbeResult::ContentError, "blob", "digest mismatch"},
      {{{"corrupt", {"manifest"}}}, ProbeResult::ContentError, "manifest", "digest mismatch"},
      {{{"hang", "blob"}}, ProbeResult::Timeout, "blob", "timed out"},
  };
  for (const auto& c : cases) {
    reg.faults(c.faults);
    ProbeReport r = run.probe(t);
    INFO(c.faults.dump() << " -> " << resultName(r.result) << ": " << r.detail);
    CHECK(r.result == c.want);
    CHECK(r.step == c.step);
    CHECK(r.detail.find(c.in_detail) != std::string::npos);
    // The detail names the URL that failed, for the event log and NOTE.
    CHECK(r.detail.find("http://acme.eastus.geo.cr.example.test:") != std::string::npos);
  }
  // The whole probe is bounded by the timeout, not each step.
  reg.faults({{"hang", "manifest"}});
  ProbeReport hung = run.probe(t);
  CHECK(hung.result == ProbeResult::Timeout);
  CHECK(hung.seconds < 2.5);
}

TEST_CASE("content check: the token flow on the content steps, cached across probes") {
  FakeRegistry reg;
  reg.faults({{"token", true}});
  Run run;
  auto t = contentTarget(reg.address);
  t.spec.write_check = policy::WriteCheck{"probe/write", 1};
  ProbeReport first = run.probe(t, true);
  INFO(first.detail);
  CHECK(first.result == ProbeResult::Ok);
  int tokens = reg.stats()["tokens"];
  CHECK(tokens == 2);  // one for pulls of the canary, one for pushes to the write repository
  ProbeReport second = run.probe(t, true);
  CHECK(second.result == ProbeResult::Ok);
  CHECK(reg.stats()["tokens"].get<int>() == tokens);  // cached
  // The pull token does not open pushes: had the prober reused it for the
  // write steps, the push would have been refused.
  CHECK(reg.stats()["uploads"].get<int>() == 2);
}

TEST_CASE("write check: a push and a read back, and a registry that cannot take pushes is write_error") {
  FakeRegistry reg;
  Run run;
  auto t = contentTarget(reg.address);
  t.spec.write_check = policy::WriteCheck{"probe/write", 3};
  ProbeReport ok = run.probe(t, true);
  INFO(ok.detail);
  CHECK(ok.result == ProbeResult::Ok);
  CHECK(reg.stats()["uploads"].get<int>() == 1);
  // Without the write flag (HealthMonitor sets it every N probes) nothing is pushed.
  CHECK(run.probe(t, false).result == ProbeResult::Ok);
  CHECK(reg.stats()["uploads"].get<int>() == 1);

  reg.faults({{"status", {{"upload", 500}}}});
  ProbeReport start = run.probe(t, true);
  CHECK(start.result == ProbeResult::WriteError);
  CHECK(start.step == "write_start");
  reg.faults({{"status", {{"put", 507}}}});
  ProbeReport put = run.probe(t, true);
  CHECK(put.result == ProbeResult::WriteError);
  CHECK(put.step == "write_upload");
  CHECK(put.detail.find("HTTP 507") != std::string::npos);
  reg.faults({{"corrupt", {"readback"}}});
  ProbeReport back = run.probe(t, true);
  CHECK(back.result == ProbeResult::WriteError);
  CHECK(back.detail.find("digest mismatch") != std::string::npos);
  // Reads still fine: the same replica passes a probe without the write step.
  CHECK(run.probe(t, false).result == ProbeResult::Ok);

  // The delete is clean-up: refused, or never answered, the check passed.
  reg.faults({{"status", {{"delete", 405}}}});
  CHECK(run.probe(t, true).result == ProbeResult::Ok);
  reg.faults({{"hang", "delete"}});
  ProbeReport hung = run.probe(t, true);
  INFO(hung.detail);
  CHECK(hung.result == ProbeResult::Ok);
  // An absolute Location naming another host: the upload goes on at THIS replica.
  reg.faults({{"absolute_location", true}});
  int uploads = reg.stats()["uploads"];
  ProbeReport absolute = run.probe(t, true);
  INFO(absolute.detail);
  CHECK(absolute.result == ProbeResult::Ok);
  CHECK(reg.stats()["uploads"].get<int>() == uploads + 1);
}

TEST_CASE("HealthMonitor: a failing write check counts toward fall although the probes between pass") {
  FakeRegistry reg;
  std::mutex m;
  std::map<std::string, policy::Health> health;
  HealthMonitor::Callbacks cb;
  cb.on_change = [&](HealthChange c) {
    std::lock_guard<std::mutex> lock(m);
    health[c.region] = c.to;
  };
  HealthMonitor monitor(cb);
  auto t = contentTarget(reg.address, "canary/heartbeat:latest", 300);
  t.spec.fall = 2;
  t.spec.rise = 1;
  t.spec.write_check = policy::WriteCheck{"probe/write", 4};  // 1 probe in 4 writes
  monitor.start({t}, {});
  auto waitFor = [&](policy::Health want) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (std::chrono::steady_clock::now() < deadline) {
      {
        std::lock_guard<std::mutex> lock(m);
        if (health["eastus"] == want) return true;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return false;
  };
  CHECK(waitFor(policy::Health::Up));
  reg.faults({{"status", {{"upload", 500}}}});  // pushes fail, reads pass
  CHECK(waitFor(policy::Health::Down));
  reg.faults(json::object());
  CHECK(waitFor(policy::Health::Up));
  monitor.stop();
}

TEST_CASE("HealthMonitor: content failures count toward fall, and a seeding replica is lagging, not down") {
  FakeRegistry home, seeding;
  seeding.faults({{"status", {{"manifest", 404}}}});  // nothing replicated yet
  std::mutex m;
  std::map<std::string, policy::Health> health;
  std::map<std::string, FreshnessStatus> fresh;
  std::map<std::string, std::string> last;
  HealthMonitor::Callbacks cb;
  cb.on_change = [&](HealthChange c) {
    std::lock_guard<std::mutex> lock(m);
    health[c.region] = c.to;
  };
  cb.on_report = [&](const std::string&, const std::string& region, const ProbeReport& r) {
    std::lock_guard<std::mutex> lock(m);
    last[region] = std::string(resultName(r.result)) + ": " + r.detail;
  };
  cb.on_freshness = [&](FreshnessReport r) {
    std::lock_guard<std::mutex> lock(m);
    for (size_t i = 0; i < r.regions.size(); ++i) fresh[r.regions[i]] = r.replicas[i];
  };
  HealthMonitor monitor(cb);
  auto a = contentTarget(home.address, "canary/heartbeat:latest", 400);
  auto b = contentTarget(seeding.address, "canary/heartbeat:latest", 400);
  a.region = "eastus";
  b.region = "westus";
  a.spec.fall = b.spec.fall = 2;
  FreshnessTarget ft;
  ft.registry = "acme";
  ft.config.canaries = {*a.spec.canary};
  ft.config.max_staleness = std::chrono::milliseconds(60'000);  // lag alone would take a minute
  ft.home = 0;
  ft.regions = {"eastus", "westus"};
  ft.endpoints = {endpointOf(a), endpointOf(b)};
  ft.interval = std::chrono::milliseconds(400);
  ft.timeout = std::chrono::milliseconds(400);
  monitor.start({a, b}, {});
  monitor.setFreshness({ft});
  auto waitFor = [&](auto pred) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (std::chrono::steady_clock::now() < deadline) {
      {
        std::lock_guard<std::mutex> lock(m);
        if (pred()) return true;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return false;
  };
  // Seeding: lagging at once (not after max_staleness), and up.
  CHECK(waitFor([&] { return fresh["westus"].lagging() && health["westus"] == policy::Health::Up; }));
  {
    std::lock_guard<std::mutex> lock(m);
    CHECK(last["westus"].find("content_missing: seeding") == 0);
  }
  CHECK(waitFor([&] { return health["eastus"] == policy::Health::Up; }));
  // The copy arrives: fresh again, on the next freshness round.
  seeding.faults(json::object());
  CHECK(waitFor([&] {
    return fresh["westus"].state == FreshnessState::Fresh && last["westus"].rfind("ok", 0) == 0;
  }));
  // Once it has served the canary, losing it is a failure: down, not lagging.
  seeding.faults({{"status", {{"manifest", 404}}}});
  CHECK(waitFor([&] { return health["westus"] == policy::Health::Down; }));
  {
    std::lock_guard<std::mutex> lock(m);
    CHECK(last["westus"].rfind("content_missing", 0) == 0);
  }
  // Broken storage on the home replica: 5xx, down after fall probes.
  home.faults({{"status", {{"manifest", 500}}}});
  CHECK(waitFor([&] { return health["eastus"] == policy::Health::Down; }));
  home.faults(json::object());
  CHECK(waitFor([&] { return health["eastus"] == policy::Health::Up; }));
  monitor.stop();
}
