// Operator automation racing config reloads, end to end on the real daemon:
// exclusions toggled (PATCH), faults injected and drills started while
// reloads run back to back, each reload reordering the registries and
// dropping one. Every reply must name the pair asked for (or be a clean
// 404 while that registry is dropped), the daemon must not crash, and after a
// restart the persisted exclusions must be the last acknowledged values.
// Also: the reload rule for a flag edited in the file (the file wins).
#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <fstream>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <random>
#include <set>
#include <sstream>
#include <thread>

#include "tests/support/admin_client.h"
#include "tests/support/daemon_process.h"
#include "tests/support/test_topology.h"

using namespace switchyard;
using namespace switchyard::test;
using nlohmann::json;

namespace {

constexpr int kRegistries = 40;
const char* const kRegions[] = {"eastus", "westus", "westeurope"};

std::string readFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// The registries part of the config: `order` (registry numbers), and for each
// pair in `configured_off` ("regN/region") global_endpoint_routing: false.
std::string registriesYaml(const std::vector<int>& order, const std::set<std::string>& configured_off = {}) {
  std::string out = "registries:\n";
  for (int i : order) {
    std::string name = "reg" + std::to_string(i);
    out += "  - name: " + name + "\n    home: eastus\n    replicas:\n";
    for (int r = 0; r < 3; ++r) {
      std::string region = kRegions[r];
      out += "      - { region: " + region + ", addresses: [127.0." + std::to_string(10 + r) + "." +
             std::to_string(i + 1) + "]" +
             (configured_off.count(name + "/" + region) ? ", global_endpoint_routing: false" : "") + " }\n";
    }
  }
  return out;
}

std::string raceConfig() {
  std::string text = adminConfig();
  auto at = text.find("registries:\n");
  auto admin = text.find("admin: { token_file");
  std::vector<int> all(kRegistries);
  for (int i = 0; i < kRegistries; ++i) all[i] = i;
  return text.substr(0, at) + registriesYaml(all) + text.substr(admin);
}

// Rewrites the daemon's config file with new registries (keeps the listen
// addresses DaemonProcess chose, and the admin section).
void rewrite(const DaemonProcess& d, const std::string& registries) {
  std::string path = d.dir() + "/switchyard.yaml";
  std::string text = readFile(path);
  auto at = text.find("registries:\n");
  auto admin = text.find("admin: { token_file");
  writeFile(path + ".tmp", text.substr(0, at) + registries + text.substr(admin));
  std::rename((path + ".tmp").c_str(), path.c_str());
}

}  // namespace

TEST_CASE("PATCHes, faults and drills racing reloads that reorder and drop registries get replies about the pair asked") {
  std::string state = makeTempDir();
  std::map<std::string, bool> acked;  // "regN/region" -> last acknowledged globalEndpointRouting
  std::mutex mutex;
  std::vector<std::string> wrong;  // replies that described something else
  std::atomic<int> answered{0}, not_found{0}, reloads{0}, faults{0}, drills{0};
  {
    DaemonProcess d(raceConfig(), "--state-dir " + state);
    INFO(d.log());
    REQUIRE(d.running());
    std::atomic<bool> stop{false};
    auto check = [&](const std::string& what, int status, const json& body, const std::string& registry,
                     const std::string& region) {
      std::lock_guard<std::mutex> lock(mutex);
      if (status == 404 && body.is_object() && body.contains("error")) {
        ++not_found;  // dropped by the reload in flight: a clean answer
        return false;
      }
      if (status != 200 || !body.is_object() || body.value("name", "") != region ||
          body.value("registry", "") != registry) {
        wrong.push_back(what + " " + registry + "/" + region + " -> " + std::to_string(status) + " " + body.dump());
        return false;
      }
      ++answered;
      return true;
    };
    // Two writers, each with its own half of the registries (so "last
    // acknowledged" is well defined per pair).
    std::vector<std::thread> threads;
    for (int w = 0; w < 2; ++w)
      threads.emplace_back([&, w] {
        AdminClient api(d);
        std::mt19937 rng(static_cast<unsigned>(w * 7919 + 1));
        while (!stop) {
          int i = static_cast<int>(rng() % (kRegistries / 2)) * 2 + w;
          std::string registry = "reg" + std::to_string(i), region = kRegions[rng() % 3];
          bool value = rng() % 2;
          auto [status, body] = api.send("PATCH", "/v1/registries/" + registry + "/replications/" + region,
                                         json{{"globalEndpointRouting", value}}.dump());
          if (status == 0) return;  // no answer: the daemon is gone (checked below)
          if (check("PATCH", status, body, registry, region)) {
            std::lock_guard<std::mutex> lock(mutex);
            if (body["globalEndpointRouting"] != value)
              wrong.push_back("PATCH " + registry + "/" + region + " acknowledged the wrong value: " + body.dump());
            acked[registry + "/" + region] = value;
          }
        }
      });
    threads.emplace_back([&] {  // faults: injected and cleared
      AdminClient api(d);
      std::mt19937 rng(99);
      while (!stop) {
        std::string registry = "reg" + std::to_string(rng() % kRegistries), region = kRegions[rng() % 3];
        for (const char* f : {"down", "none"}) {
          auto [status, body] =
              api.send("POST", "/v1/registries/" + registry + "/replications/" + region + "/fault",
                       json{{"health", f}}.dump());
          if (status == 0) return;
          if (check("fault", status, body, registry, region)) ++faults;
        }
      }
    });
    threads.emplace_back([&] {  // drills: started while the topology moves under them
      AdminClient api(d);
      std::mt19937 rng(5);
      while (!stop) {
        std::string registry = "reg" + std::to_string(rng() % kRegistries);
        auto [status, body] = api.send("POST", "/v1/drills",
                                       json{{"registry", registry}, {"replica", "westus"}, {"scenario", "fail"},
                                            {"timeoutSeconds", 2}, {"holdSeconds", 0}}
                                           .dump());
        if (status == 0) return;
        if (status == 201) ++drills;
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
      }
    });
    // Reloads back to back, each reordering the registries and dropping one.
    AdminClient api(d);
    std::mt19937 rng(42);
    auto until = std::chrono::steady_clock::now() + std::chrono::seconds(8);
    while (std::chrono::steady_clock::now() < until && d.running()) {
      std::vector<int> order(kRegistries);
      for (int i = 0; i < kRegistries; ++i) order[i] = i;
      std::shuffle(order.begin(), order.end(), rng);
      order.erase(order.begin() + static_cast<long>(rng() % kRegistries));
      rewrite(d, registriesYaml(order));
      auto [status, body] = api.send("POST", "/v1/reload", "");
      if (status == 0) break;
      CHECK(status == 200);
      ++reloads;
    }
    stop = true;
    for (auto& t : threads) t.join();
    std::string log_after = d.log();  // INFO takes its text now: the log as of the race's end
    INFO(log_after);
    REQUIRE(d.running());  // no crash
    // Every registry back, in order; let the drills end (they revert).
    std::vector<int> all(kRegistries);
    for (int i = 0; i < kRegistries; ++i) all[i] = i;
    rewrite(d, registriesYaml(all));
    CHECK(api.send("POST", "/v1/reload", "").first == 200);
    for (int i = 0; i < 100; ++i) {
      auto [status, list] = api.get("/v1/drills");
      bool running = false;
      for (const auto& dr : list) running = running || dr["state"] == "running";
      if (!running) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    {
      std::lock_guard<std::mutex> lock(mutex);
      INFO(wrong.size() << " wrong replies, e.g. " << (wrong.empty() ? "" : wrong.front()));
      CHECK(wrong.empty());
    }
    CHECK(answered > 100);
    CHECK(reloads > 10);
    CHECK(faults > 10);
    CHECK(drills > 0);  // drills did start (and were reverted) while the topology moved
    // Live state: every acknowledged value, no fault left behind.
    for (int i = 0; i < kRegistries; ++i) {
      std::string registry = "reg" + std::to_string(i);
      auto [status, list] = api.get("/v1/registries/" + registry + "/replications");
      REQUIRE(status == 200);
      for (const auto& r : list) {
        std::string key = registry + "/" + r["name"].get<std::string>();
        INFO(key);
        CHECK(r["health"]["fault"] == "none");
        if (acked.count(key)) CHECK(r["globalEndpointRouting"] == acked[key]);
      }
    }
    CHECK(d.stop() == 0);
  }
  // Persisted: a restart shows the same values.
  DaemonProcess again(raceConfig(), "--state-dir " + state);
  INFO(again.log());
  REQUIRE(again.running());
  AdminClient api(again);
  int checked = 0;
  for (const auto& [key, value] : acked) {
    auto slash = key.find('/');
    auto [status, list] = api.get("/v1/registries/" + key.substr(0, slash) + "/replications");
    REQUIRE(status == 200);
    for (const auto& r : list)
      if (r["name"] == key.substr(slash + 1)) {
        INFO(key);
        CHECK(r["globalEndpointRouting"] == value);
        ++checked;
      }
  }
  CHECK(checked == static_cast<int>(acked.size()));
  INFO("answered " << answered << ", 404 " << not_found << ", reloads " << reloads << ", faults " << faults
                   << ", drills " << drills);
  SUCCEED();
}

TEST_CASE("reload rule: a flag edited in the file wins over the stored override, an unedited one keeps it") {
  std::string state = makeTempDir();
  DaemonProcess d(raceConfig(), "--state-dir " + state);
  INFO(d.log());
  REQUIRE(d.running());
  AdminClient api(d);
  auto flag = [&](const std::string& registry, const std::string& region) {
    auto [status, list] = api.get("/v1/registries/" + registry + "/replications");
    for (const auto& r : list)
      if (r["name"] == region) return r["globalEndpointRouting"].get<bool>();
    return true;
  };
  std::vector<int> all(kRegistries);
  for (int i = 0; i < kRegistries; ++i) all[i] = i;
  // Two exclusions by the operator.
  REQUIRE(api.send("PATCH", "/v1/registries/reg1/replications/westus", R"({"globalEndpointRouting": false})").first ==
          200);
  REQUIRE(api.send("PATCH", "/v1/registries/reg2/replications/westus", R"({"globalEndpointRouting": false})").first ==
          200);
  // The file's key for reg1/westus is edited (true -> false, then back to
  // true); reg2/westus is never edited in the file.
  rewrite(d, registriesYaml(all, {"reg1/westus"}));
  REQUIRE(api.send("POST", "/v1/reload", "").first == 200);
  CHECK_FALSE(flag("reg1", "westus"));  // edited to false: false either way
  rewrite(d, registriesYaml(all));       // edited back to true: the file wins over the exclusion
  REQUIRE(api.send("POST", "/v1/reload", "").first == 200);
  CHECK(flag("reg1", "westus"));
  CHECK_FALSE(flag("reg2", "westus"));  // not edited: the stored override stays
  // And a restart agrees (the dropped override is gone from overrides.json).
  CHECK(d.stop() == 0);
  DaemonProcess again(raceConfig(), "--state-dir " + state);
  REQUIRE(again.running());
  AdminClient api2(again);
  auto flag2 = [&](const std::string& registry, const std::string& region) {
    auto [status, list] = api2.get("/v1/registries/" + registry + "/replications");
    for (const auto& r : list)
      if (r["name"] == region) return r["globalEndpointRouting"].get<bool>();
    return true;
  };
  CHECK(flag2("reg1", "westus"));
  CHECK_FALSE(flag2("reg2", "westus"));
}
