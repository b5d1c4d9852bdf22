// Registries and replicas made at run time through the API (the runtime
// catalog), end to end: the real daemon with a state directory, real HTTP
// calls, real DNS queries, and a restart that must serve the catalog again.
#include <catch2/catch.hpp>

#include <signal.h>

#include <chrono>
#include <atomic>
#include <fstream>
#include <map>
#include <mutex>
#include <random>
#include <sstream>
#include <thread>

#include "control/catalog.h"
#include "tests/support/admin_client.h"
#include "tests/support/daemon_process.h"
#include "tests/support/dns_client.h"
#include "tests/support/test_topology.h"

using namespace switchyard;
using namespace switchyard::test;
using nlohmann::json;
using Strings = std::vector<std::string>;

namespace {

Strings ask(const DaemonProcess& d, const std::string& name, const char* subnet = "198.51.100.64/26") {
  auto p = query(d.v4(), name, LDNS_RR_TYPE_A, {.ecs = IpPrefix::parse(subnet).value()});
  if (!p) return {"(no answer)"};
  if (ldns_pkt_get_rcode(p.get()) == LDNS_RCODE_NXDOMAIN) return {"NXDOMAIN"};
  return answers(p.get());
}

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// What the state directory holds, as a restart reads it: catalog.json with
// catalog.journal's changes on top.
json onDisk(const std::string& state) {
  auto c = control::Catalog::parse(slurp(state + "/catalog.json"), "catalog.json");
  REQUIRE(c);
  const std::string journal = slurp(state + "/catalog.journal");
  size_t kept = 0;
  auto replayed = control::journal::replay(journal, "catalog.journal", *c, kept);
  REQUIRE(replayed);
  CHECK(kept == journal.size());
  return json::parse(c->render());
}

}  // namespace

TEST_CASE("a registry made through the API answers at once, survives a restart, and goes with DELETE") {
  std::string state = makeTempDir();
  std::string config = adminConfig();
  auto d = std::make_unique<DaemonProcess>(config, "--state-dir " + state);
  INFO(d->log());
  REQUIRE(d->running());
  AdminClient api(*d);
  const std::string global = "newreg.cr.example.test";
  CHECK(ask(*d, global) == Strings{"NXDOMAIN"});

  // Create: home eastus with its replica in one call (scheme none here: nothing to probe).
  auto [s1, created] = api.send("PUT", "/v1/registries/newreg",
                                R"({"home": "eastus", "regionalEndpoints": true, "dataEndpointEnabled": false,
                                    "replications": {"eastus": {"addresses": ["127.0.0.51"]}}})");
  INFO(created.dump());
  REQUIRE(s1 == 201);
  CHECK(created["source"] == "api");
  CHECK(created["serving"] == true);
  CHECK(created["regionalEndpoints"] == true);
  CHECK(ask(*d, global) == Strings{"A 127.0.0.51"});  // the reply came after the answer changed
  CHECK(ask(*d, "newreg.eastus.geo.cr.example.test") == Strings{"A 127.0.0.51"});

  // A replica nearer to westus clients: they move to it.
  auto [s2, west] = api.send("PUT", "/v1/registries/newreg/replications/westus", R"({"addresses": ["127.0.0.52"]})");
  INFO(west.dump());
  REQUIRE(s2 == 201);
  CHECK(west["region"] == "westus");
  CHECK(ask(*d, global) == Strings{"A 127.0.0.52"});
  CHECK(ask(*d, global, "198.51.100.0/26") == Strings{"A 127.0.0.51"});  // eastus clients stay

  // The loader's rules, in the API's words.
  auto [s3, bad] = api.send("PUT", "/v1/registries/newreg/replications/westeurope", R"({"addresses": ["127.0.0.53", "x"]})");
  CHECK(s3 == 400);
  CHECK(bad["field"] == "replications.westeurope.addresses[1]");
  CHECK_THAT(bad["error"].get<std::string>(), Catch::Contains("replications.westeurope.addresses[1]:"));
  auto [s4, unknown] = api.send("PUT", "/v1/registries/newreg/replications/mars", R"({"addresses": ["127.0.0.54"]})");
  CHECK(s4 == 400);
  CHECK(unknown["field"] == "replications.mars.region");
  auto [s5, typo] = api.send("PUT", "/v1/registries/newreg", R"({"regionalEndpoint": true})");
  CHECK(s5 == 400);
  CHECK(typo["field"] == "regionalEndpoint");
  CHECK(ask(*d, global) == Strings{"A 127.0.0.52"});  // refused changes moved nothing

  // The file's registries are read-only here.
  auto [s6, file] = api.send("PUT", "/v1/registries/myregistry/replications/westus", R"({"addresses": ["127.0.0.99"]})");
  CHECK(s6 == 409);
  CHECK_THAT(file["error"].get<std::string>(), Catch::Contains("switchyard.yaml"));
  CHECK(api.send("DELETE", "/v1/registries/myregistry", "").first == 409);

  // Safety rules of a delete.
  auto [s7, home] = api.send("DELETE", "/v1/registries/newreg/replications/eastus", "");
  CHECK(s7 == 409);
  CHECK_THAT(home["error"].get<std::string>(), Catch::Contains("home replica"));

  // A change that would quietly stop it serving is refused: that is a DELETE.
  auto [s8, stop] = api.send("PUT", "/v1/registries/newreg", R"({"home": "westeurope"})");
  CHECK(s8 == 409);
  CHECK_THAT(stop["error"].get<std::string>(), Catch::Contains("would stop serving"));
  CHECK(api.send("PUT", "/v1/registries/newreg", R"({"replications": {}})").first == 409);
  CHECK(ask(*d, global) == Strings{"A 127.0.0.52"});
  // Bytes that are not a name, and a batch flag that is not a boolean: 400s, not a crash.
  CHECK(api.send("PUT", "/v1/registries/%FF", R"({"home": "eastus"})").first == 400);
  CHECK(api.send("PUT", "/v1/registries/newreg/replications/%FF%FE", R"({"addresses": ["127.0.0.1"]})").first == 400);
  CHECK(api.send("POST", "/v1/registries:batch", R"({"name": "newreg", "delete": "yes"})").first == 400);
  CHECK(api.send("PUT", "/v1/registries/newreg", R"({"health": {"tls": {"ca_file": "/etc/shadow"}}})").first == 400);

  // The operator's exclusion works on it like on any replica.
  CHECK(api.send("PATCH", "/v1/registries/newreg/replications/westus", R"({"globalEndpointRouting": false})").first == 200);
  CHECK(ask(*d, global) == Strings{"A 127.0.0.51"});
  CHECK(api.send("PATCH", "/v1/registries/newreg/replications/westus", R"({"globalEndpointRouting": true})").first == 200);

  // On disk before the reply, in the config file's schema (the journal's
  // lines on top of catalog.json).
  json catalog = onDisk(state);
  REQUIRE(catalog["registries"].size() == 1);
  CHECK(catalog["registries"][0]["replicas"].size() == 2);
  CHECK(catalog["registries"][0]["regional_endpoints"] == "enabled");

  // Events announce it.
  auto [se, events] = api.get("/v1/events?since=0");
  int made = 0;
  for (const auto& e : events) made += e["type"] == "registry_created" || e["type"] == "replication_created";
  CHECK(made == 2);

  // SIGKILL and start again from the same state: served from the catalog.
  ::kill(d->pid(), SIGKILL);
  d.reset();
  d = std::make_unique<DaemonProcess>(config, "--state-dir " + state);
  REQUIRE(d->running());
  CHECK(ask(*d, global) == Strings{"A 127.0.0.52"});
  AdminClient again(*d);
  auto [sg, listed] = again.get("/v1/registries/newreg");
  CHECK(sg == 200);
  CHECK(listed["replications"].size() == 2);

  // A reload keeps the catalog's registries.
  CHECK(again.send("POST", "/v1/reload", "").first == 200);
  CHECK(ask(*d, global) == Strings{"A 127.0.0.52"});

  // Deleting the replica, then the registry. An exclusion of a deleted
  // replica goes with it: made again, it starts from its own settings.
  CHECK(again.send("PATCH", "/v1/registries/newreg/replications/westus", R"({"globalEndpointRouting": false})").first == 200);
  CHECK(again.send("DELETE", "/v1/registries/newreg/replications/westus", "").first == 200);
  CHECK(ask(*d, global) == Strings{"A 127.0.0.51"});
  CHECK(again.send("PUT", "/v1/registries/newreg/replications/westus", R"({"addresses": ["127.0.0.52"]})").first == 201);
  CHECK(ask(*d, global) == Strings{"A 127.0.0.52"});
  CHECK(json::parse(slurp(state + "/overrides.json")).dump().find("newreg") == std::string::npos);
  CHECK(again.send("DELETE", "/v1/registries/newreg/replications/westus", "").first == 200);
  CHECK(again.send("DELETE", "/v1/registries/newreg/replications/eastus", "").first == 409);  // the last one
  CHECK(again.send("DELETE", "/v1/registries/newreg", "").first == 200);
  CHECK(ask(*d, global) == Strings{"NXDOMAIN"});
  CHECK(again.get("/v1/registries/newreg").first == 404);
  CHECK(onDisk(state)["registries"].empty());
}

TEST_CASE("a registry created before its home replica waits, listed as not serving, and serves once it has one") {
  std::string state = makeTempDir();
  DaemonProcess d(adminConfig(), "--state-dir " + state);
  INFO(d.log());
  REQUIRE(d.running());
  AdminClient api(d);
  auto [s1, made] = api.send("PUT", "/v1/registries/later", R"({"home": "westus"})");
  INFO(made.dump());
  REQUIRE(s1 == 201);
  CHECK(made["serving"] == false);
  CHECK_THAT(made["reason"].get<std::string>(), Catch::Contains("no replica in its home region westus"));
  CHECK(ask(d, "later.cr.example.test") == Strings{"NXDOMAIN"});
  // A replica elsewhere is kept; still not served without its home.
  REQUIRE(api.send("PUT", "/v1/registries/later/replications/eastus", R"({"addresses": ["127.0.0.61"]})").first == 201);
  CHECK(ask(d, "later.cr.example.test") == Strings{"NXDOMAIN"});
  auto [s2, home] = api.send("PUT", "/v1/registries/later/replications/westus", R"({"addresses": ["127.0.0.62"]})");
  CHECK(s2 == 201);
  CHECK(ask(d, "later.cr.example.test") == Strings{"A 127.0.0.62"});
  auto [s3, list] = api.get("/v1/registries");
  bool found = false;
  for (const auto& r : list)
    if (r["name"] == "later") found = r["serving"] == true && r["source"] == "api";
  CHECK(found);
}

TEST_CASE("a catalog entry the config file no longer fits is set aside, not a reason to serve nothing") {
  std::string state = makeTempDir();
  auto d = std::make_unique<DaemonProcess>(adminConfig(), "--state-dir " + state);
  REQUIRE(d->running());
  {
    AdminClient api(*d);
    REQUIRE(api.send("PUT", "/v1/registries/keep", R"({"home": "eastus", "replications": {"eastus": {"addresses": ["127.0.0.71"]}}})").first == 201);
    REQUIRE(api.send("PUT", "/v1/registries/moved", R"({"home": "westeurope", "replications": {"westeurope": {"addresses": ["127.0.0.72"]}}})").first == 201);
  }
  // The new file declares a registry of the same name: that entry breaks
  // its rules. The daemon starts anyway and serves everything else.
  auto fileDeclaresMoved = [](std::string text) {
    const std::string at = "  - name: teamb\n";
    text.replace(text.find(at), at.size(),
                 "  - name: moved\n    home: eastus\n    replicas:\n      - { region: eastus, addresses: [127.0.0.81] }\n" + at);
    return text;
  };
  d.reset();
  d = std::make_unique<DaemonProcess>(fileDeclaresMoved(adminConfig()), "--state-dir " + state);
  INFO(d->log());
  REQUIRE(d->running());
  CHECK(ask(*d, "keep.cr.example.test") == Strings{"A 127.0.0.71"});
  CHECK(ask(*d, "moved.cr.example.test") == Strings{"A 127.0.0.81"});  // the file's
  CHECK(ask(*d, "myregistry.cr.example.test") == Strings{"A 127.0.0.12"});
  CHECK_THAT(d->log(), Catch::Contains("event=catalog_entry_refused registry=moved"));
  AdminClient api(*d);
  bool listed = false;
  for (const auto& r : api.get("/v1/registries").second)
    if (r["name"] == "moved" && r["source"] == "api")
      listed = r["serving"] == false && r["refused"] == true &&
               r["reason"].get<std::string>().find("is declared in") != std::string::npos;
  CHECK(listed);
  // Kept, not lost: a later change keeps it on disk.
  REQUIRE(api.send("PUT", "/v1/registries/keep/replications/westus", R"({"addresses": ["127.0.0.73"]})").first == 201);
  CHECK(onDisk(state).dump().find("127.0.0.72") != std::string::npos);

  // The file fixed and reloaded: the entry is served again.
  std::string path = d->dir() + "/switchyard.yaml";
  std::string fixed = slurp(path);
  const std::string declared = "  - name: moved\n    home: eastus\n    replicas:\n      - { region: eastus, addresses: [127.0.0.81] }\n";
  std::string broken = fixed;
  fixed.erase(fixed.find(declared), declared.size());
  writeFile(path, fixed);
  REQUIRE(api.send("POST", "/v1/reload", "").first == 200);
  CHECK(ask(*d, "moved.cr.example.test") == Strings{"A 127.0.0.72"});
  CHECK_THAT(d->log(), Catch::Contains("event=catalog_entry_admitted registry=moved"));

  // Now that it is served, a file that refuses it fails the reload and changes nothing.
  writeFile(path, broken);
  auto [sr, refused] = api.send("POST", "/v1/reload", "");
  INFO(refused.dump());
  CHECK(sr != 200);
  CHECK_THAT(refused.dump(), Catch::Contains("moved"));
  CHECK(ask(*d, "moved.cr.example.test") == Strings{"A 127.0.0.72"});
}

TEST_CASE("without a state directory the API makes no registries, and says why") {
  DaemonProcess d(adminConfig());
  REQUIRE(d.running());
  AdminClient api(d);
  auto [s, body] = api.send("PUT", "/v1/registries/x",
                            R"({"home": "eastus", "replications": {"eastus": {"addresses": ["127.0.0.70"]}}})");
  CHECK(s == 409);
  CHECK_THAT(body["error"].get<std::string>(), Catch::Contains("--state-dir"));
  CHECK(ask(d, "x.cr.example.test") == Strings{"NXDOMAIN"});
}

TEST_CASE("the az walkthrough with switchyardctl: create, list, update endpoints, exclude, include, delete") {
  std::string state = makeTempDir();
  DaemonProcess d(adminConfig(), "--state-dir " + state);
  INFO(d.log());
  REQUIRE(d.running());
  auto ctl = [&](const std::string& args) {
    auto r = runCtl(ctlArgs(d, args));
    UNSCOPED_INFO("switchyardctl " << args << "\n" << r.output);
    return r;
  };
  // az acr create --name contoso --location eastus (its home replica comes with it here)
  auto made = ctl("registry create --name contoso --home eastus");
  REQUIRE(made.exit_code == 0);
  CHECK_THAT(made.output, Catch::Contains("contoso") && Catch::Contains("no replica in its home region eastus"));
  CHECK(ctl("registry create --name contoso --home eastus").exit_code != 0);  // create is not update
  REQUIRE(ctl("replication create --registry contoso --location eastus --address 127.0.0.81 --data-address 127.0.0.181").exit_code == 0);
  // az acr replication create --registry contoso --location westus
  auto west = ctl("replication create --registry contoso --location westus --address 127.0.0.82 --data-address 127.0.0.182");
  REQUIRE(west.exit_code == 0);
  CHECK_THAT(west.output, Catch::Contains("westus"));
  CHECK(ask(d, "contoso.cr.example.test") == Strings{"A 127.0.0.82"});

  // az acr replication list / az acr list
  auto reps = ctl("replication list --registry contoso");
  CHECK(reps.exit_code == 0);
  CHECK_THAT(reps.output, Catch::Contains("eastus") && Catch::Contains("westus"));
  auto regs = ctl("registry list");
  CHECK_THAT(regs.output, Catch::Contains("contoso") && Catch::Contains("api") && Catch::Contains("myregistry") &&
                              Catch::Contains("file"));

  // az acr update --regional-endpoints enabled / --data-endpoint-enabled
  CHECK(ask(d, "contoso.westus.geo.cr.example.test") == Strings{"NXDOMAIN"});
  REQUIRE(ctl("registry update --name contoso --regional-endpoints enabled --data-endpoint-enabled true").exit_code == 0);
  CHECK(ask(d, "contoso.westus.geo.cr.example.test") == Strings{"A 127.0.0.82"});
  CHECK(ask(d, "contoso.westus.data.cr.example.test") == Strings{"A 127.0.0.182"});
  auto ends = ctl("show-endpoints --registry contoso");
  CHECK_THAT(ends.output, Catch::Contains("contoso.westus.geo.cr.example.test"));

  // exclude and include (the reference's --global-endpoint-routing)
  REQUIRE(ctl("replication update --registry contoso --name westus --global-endpoint-routing false").exit_code == 0);
  CHECK(ask(d, "contoso.cr.example.test") == Strings{"A 127.0.0.81"});
  CHECK(ask(d, "contoso.westus.geo.cr.example.test") == Strings{"A 127.0.0.82"});  // regional never moves
  REQUIRE(ctl("replication update --registry contoso --name westus --global-endpoint-routing true").exit_code == 0);
  CHECK(ask(d, "contoso.cr.example.test") == Strings{"A 127.0.0.82"});

  // Errors name the field; the file's registries are read-only.
  auto bad = ctl("replication create --registry contoso --location westeurope --address 10.0.0.x");
  CHECK(bad.exit_code != 0);
  CHECK_THAT(bad.output, Catch::Contains("replications.westeurope.addresses[0]"));
  auto file = ctl("replication delete --registry myregistry --location westus");
  CHECK(file.exit_code != 0);
  CHECK_THAT(file.output, Catch::Contains("switchyard.yaml"));

  // az acr replication delete, az acr delete
  REQUIRE(ctl("replication delete --registry contoso --location westus").exit_code == 0);
  CHECK(ask(d, "contoso.cr.example.test") == Strings{"A 127.0.0.81"});
  REQUIRE(ctl("registry delete --name contoso").exit_code == 0);
  CHECK(ask(d, "contoso.cr.example.test") == Strings{"NXDOMAIN"});
  CHECK(ctl("registry show --name contoso").exit_code != 0);
}

TEST_CASE("SIGKILL at random points while the catalog is written never loses an acknowledged registry or corrupts it") {
  // A writer creates and deletes registries k0..k5 through the API while
  // the daemon is killed at a random moment. Each restart (same state
  // directory) must start (a corrupt catalog would stop it) and serve
  // exactly the acknowledged set -- the one request in flight at the kill
  // may have gone either way.
  constexpr int kNames = 6, kRuns = 10;
  std::string state = makeTempDir();
  std::map<std::string, bool> model;
  for (int i = 0; i < kNames; ++i) model["k" + std::to_string(i)] = false;
  std::mt19937 rng(std::random_device{}());
  int acknowledged_total = 0;
  std::string uncertain;
  for (int run = 0; run < kRuns; ++run) {
    INFO("run " << run);
    // Every other run rewrites catalog.json whole every few changes, so
    // kills land in the compaction too, not only in journal appends.
    DaemonProcess d(adminConfig(), "--state-dir " + state + (run % 2 ? " --catalog-journal-limit 600" : ""));
    INFO(d.log());
    REQUIRE(d.running());
    AdminClient api(d);
    for (auto& [name, present] : model) {
      INFO(name);
      bool now = api.get("/v1/registries/" + name).first == 200;
      if (name != uncertain) CHECK(now == present);
      if (name != uncertain) CHECK((ask(d, name + ".cr.example.test") != Strings{"NXDOMAIN"}) == present);
      present = now;
    }
    std::mutex mutex;
    std::string in_flight;
    std::atomic<bool> stop{false};
    std::thread writer([&] {
      AdminClient w(d);
      std::mt19937 wrng(std::random_device{}());
      for (int i = 0; i < 10'000 && !stop; ++i) {
        std::string name = "k" + std::to_string(wrng() % kNames);
        bool create;
        {
          std::lock_guard<std::mutex> lock(mutex);
          create = !model[name];
          in_flight = name;
        }
        auto r = create ? w.send("PUT", "/v1/registries/" + name,
                                 R"({"home": "eastus", "replications": {"eastus": {"addresses": ["127.0.0.90"]}}})")
                        : w.send("DELETE", "/v1/registries/" + name, "");
        std::lock_guard<std::mutex> lock(mutex);
        // 0: the daemon is gone, and this one stays uncertain. Anything
        // else but success (a 500 "not persisted") is a failure.
        if (r.first == 0) return;
        CHECK(r.first == (create ? 201 : 200));
        if (r.first != (create ? 201 : 200)) return;
        model[name] = create;
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
  CHECK(acknowledged_total > 0);  // the kills landed while writes were going on
}

TEST_CASE("a batch provisions many registries all or nothing, and names the line that broke it") {
  std::string state = makeTempDir();
  DaemonProcess d(adminConfig(), "--state-dir " + state);
  INFO(d.log());
  REQUIRE(d.running());
  AdminClient api(d);
  auto line = [](int i, const std::string& address) {
    return R"({"name": "b)" + std::to_string(i) + R"(", "home": "eastus", "replications": {"eastus": {"addresses": [")" +
           address + R"("]}, "westus": {"addresses": ["127.0.1.)" + std::to_string(i) + R"("]}}})";
  };
  // Line 3 is broken: nothing of the batch is applied.
  std::string broken = line(1, "127.0.0.1") + "\n" + line(2, "127.0.0.2") + "\n" + line(3, "not-an-ip") + "\n";
  auto [s1, bad] = api.send("POST", "/v1/registries:batch", broken);
  INFO(bad.dump());
  CHECK(s1 == 400);
  CHECK(bad["line"] == 3);
  CHECK(bad["field"] == "replications.eastus.addresses[0]");
  CHECK_THAT(bad["error"].get<std::string>(), Catch::StartsWith("line 3 (b3): replications.eastus.addresses[0]:"));
  CHECK(api.get("/v1/registries/b1").first == 404);

  // Through the CLI: 200 registries from a file, then a delete line.
  std::string file = state + "/../batch.ndjson";
  {
    std::ofstream out(file);
    for (int i = 0; i < 200; ++i) out << line(i, "127.0.2." + std::to_string(i % 250)) << "\n";
  }
  auto imported = runCtl(ctlArgs(d, "registry import --file " + file));
  INFO(imported.output);
  REQUIRE(imported.exit_code == 0);
  CHECK_THAT(imported.output, Catch::Contains("created 200, updated 0, deleted 0 registries in"));
  CHECK(ask(d, "b7.cr.example.test") == Strings{"A 127.0.1.7"});
  CHECK(ask(d, "b199.cr.example.test", "198.51.100.0/26") == Strings{"A 127.0.2.199"});
  auto [s2, done] = api.send("POST", "/v1/registries:batch", "{\"name\": \"b7\", \"delete\": true}\n" + line(8, "127.0.3.8"));
  CHECK(s2 == 200);
  CHECK(done["deleted"] == json{"b7"});
  CHECK(done["updated"] == json{"b8"});
  CHECK(ask(d, "b7.cr.example.test") == Strings{"NXDOMAIN"});
  CHECK(ask(d, "b8.cr.example.test", "198.51.100.0/26") == Strings{"A 127.0.3.8"});
  auto [s3, events] = api.get("/v1/events?since=0");
  int created = 0;
  for (const auto& e : events) created += e["type"] == "registry_created";
  CHECK(created == 200);
}
