#include <catch2/catch.hpp>

#include "config/config_loader.h"
#include "control/router.h"
#include "dns/wire.h"

#include <algorithm>
#include <optional>
#include <random>
#include <nlohmann/json.hpp>
#include <unordered_set>
#include "tests/support/test_topology.h"

using namespace switchyard;
using policy::Health;

namespace {
config::TopologyPtr load(const std::string& from = "", const std::string& to = "") {
  return test::loadTestTopology(from, to);
}
}  // namespace

TEST_CASE("a health change republishes only the registry it touches") {
  dns::AnswerPublisher pub;
  control::Router router(load(), pub);
  auto before = pub.latest();
  uint64_t g0 = router.table()->generation;

  REQUIRE(router.setHealth("myregistry", "eastus", Health::Down).value());
  auto after = pub.latest();
  CHECK(router.table()->generation == g0 + 1);
  CHECK(after->generation == g0 + 1);
  CHECK(after->zone == before->zone);                    // names, regional, data: shared
  CHECK(after->registries[1] == before->registries[1]);  // teamb untouched
  CHECK(after->registries[0] != before->registries[0]);

  CHECK_FALSE(router.setHealth("myregistry", "eastus", Health::Down).value());  // no change
  CHECK(router.table()->generation == g0 + 1);
  // A health change that moves no answer (unknown already counts as healthy)
  // records the state but publishes nothing new.
  REQUIRE(router.setHealth("myregistry", "eastus", Health::Up).value());
  uint64_t g1 = router.table()->generation;
  REQUIRE(router.setHealth("myregistry", "southeastasia", Health::Down).error().size() > 0);
  REQUIRE(router.setHealth("teamb", "southeastasia", Health::Up).value());
  CHECK(router.table()->generation == g1);
  CHECK(router.state("teamb", "southeastasia")->health == Health::Up);
  CHECK_FALSE(router.setHealth("myregistry", "mars", Health::Down));
  CHECK_FALSE(router.setHealth("nope", "eastus", Health::Down));
}

TEST_CASE("operator flags and health survive a reload for pairs that still exist") {
  dns::AnswerPublisher pub;
  control::Router router(load(), pub);
  REQUIRE(router.setHealth("myregistry", "westus", Health::Down));
  REQUIRE(router.setGlobalEndpointRouting("myregistry", "eastus", false));
  uint64_t g = router.table()->generation;
  // The new file changes a TTL; every pair still exists.
  router.applyTopology(load("global: 30", "global: 60"));
  CHECK(router.table()->generation > g);
  CHECK(router.state("myregistry", "westus")->health == Health::Down);
  CHECK_FALSE(router.state("myregistry", "eastus")->global_endpoint_routing);
  CHECK(router.topology().ttl.global == 60);

  // A flag edited in the file wins over the run-time one.
  router.applyTopology(load("        data_addresses: [127.0.0.111]\n",
                            "        data_addresses: [127.0.0.111]\n        global_endpoint_routing: false\n"));
  CHECK_FALSE(router.state("myregistry", "eastus")->global_endpoint_routing);
  router.applyTopology(load());
  CHECK(router.state("myregistry", "eastus")->global_endpoint_routing);
}

TEST_CASE("the Router owns operator overrides: the file's edit replaces one, an unedited file keeps it") {
  dns::AnswerPublisher pub;
  control::Router router(load(), pub);
  REQUIRE(router.setOperatorFlag("myregistry", "eastus", false).value());
  CHECK_FALSE(router.setOperatorFlag("myregistry", "eastus", false).value());  // no change: nothing to persist
  REQUIRE(router.setOperatorFlag("myregistry", "westus", false).value());
  // A drill's exclusion is transient: not an override.
  REQUIRE(router.setGlobalEndpointRouting("teamb", "westeurope", false).value());
  CHECK(router.overrides() == control::Overrides{{{"myregistry", "eastus"}, false}, {{"myregistry", "westus"}, false}});

  CHECK(router.applyTopology(load("global: 30", "global: 60")) == 0);  // nothing edited: all kept
  CHECK_FALSE(router.state("myregistry", "eastus")->global_endpoint_routing);
  CHECK_FALSE(router.state("teamb", "westeurope")->global_endpoint_routing);
  // The file edits eastus's key (to false, then back to true): the file wins, the override goes.
  CHECK(router.applyTopology(load("        data_addresses: [127.0.0.111]\n",
                                  "        data_addresses: [127.0.0.111]\n        global_endpoint_routing: false\n")) == 1);
  CHECK(router.applyTopology(load()) == 0);
  CHECK(router.state("myregistry", "eastus")->global_endpoint_routing);
  CHECK_FALSE(router.state("myregistry", "westus")->global_endpoint_routing);  // never edited: kept
  CHECK(router.overrides() == control::Overrides{{{"myregistry", "westus"}, false}});

  // A registry dropped by a reload keeps its override, dormant; it applies when the registry returns.
  router.applyTopology(load("  - name: myregistry\n", "  - name: renamed\n"));
  CHECK_FALSE(router.state("myregistry", "westus"));
  CHECK(router.overrides().count({"myregistry", "westus"}));
  router.applyTopology(load());
  CHECK_FALSE(router.state("myregistry", "westus")->global_endpoint_routing);

  // Start-up: persisted decisions, the unknown ones dormant; the fleet can drop them.
  control::Router fresh(load(), pub);
  auto dormant = fresh.restoreOverrides({{{"myregistry", "eastus"}, false}, {{"gone", "eastus"}, false}});
  CHECK(dormant == std::vector<control::PairKey>{{"gone", "eastus"}});
  CHECK_FALSE(fresh.state("myregistry", "eastus")->global_endpoint_routing);
  CHECK(fresh.retainOverrides([](const control::PairKey& k) { return k.registry == "gone"; }) == 1);
  CHECK(fresh.state("myregistry", "eastus")->global_endpoint_routing);  // back to the file's flag
  CHECK(fresh.overrides().size() == 1);

  // A drill's exclusion ends at the operator's decision, not at "true".
  REQUIRE(router.setGlobalEndpointRouting("teamb", "westeurope", false).value() == false);  // already false (drill)
  REQUIRE(router.setOperatorFlag("teamb", "westeurope", false).value());  // the operator, meanwhile
  CHECK_FALSE(router.restoreFlag("teamb", "westeurope").value());        // the drill reverts: still false
  CHECK_FALSE(router.state("teamb", "westeurope")->global_endpoint_routing);
  REQUIRE(router.setGlobalEndpointRouting("myregistry", "eastus", false).value());  // a drill on a pair without one
  CHECK(router.restoreFlag("myregistry", "eastus").value());
  CHECK(router.state("myregistry", "eastus")->global_endpoint_routing);    // the file's flag
  // A decision for a pair this topology lacks is kept, dormant.
  CHECK(router.setOperatorFlag("elsewhere", "eastus", false).value());
  CHECK(router.overrides().count({"elsewhere", "eastus"}));
}

TEST_CASE("a lagging mark moves the global answer only, and lasts through a reload while freshness is configured") {
  const std::string home = "    home: eastus\n";
  const std::string fresh = home + "    health: { scheme: http }\n    freshness: { canaries: [\"canary/hb:latest\"] }\n";
  dns::AnswerPublisher pub;
  control::Router router(load(home, fresh), pub);
  std::vector<control::PairChange> changes;
  router.onChange([&](const control::PairChange& c) { changes.push_back(c); });

  REQUIRE(router.setLagging("myregistry", "westus", true, "canary/hb:latest serves sha256:old").value());
  CHECK_FALSE(router.setLagging("myregistry", "westus", true, "again").value());
  REQUIRE(changes.size() == 1);
  CHECK(changes[0].cause == "freshness");
  CHECK(changes[0].state.lagging);
  CHECK(changes[0].routing_changed);
  CHECK_THAT(changes[0].routing, Catch::Contains("westus->eastus,westeurope"));
  CHECK(router.state("myregistry", "westus")->health == Health::Unknown);  // health untouched

  router.applyTopology(load(home, fresh));  // a reload that keeps freshness
  CHECK(router.state("myregistry", "westus")->lagging);
  // Freshness removed from the file: nothing can clear the mark any more, so it goes.
  router.applyTopology(load());
  CHECK_FALSE(router.state("myregistry", "westus")->lagging);
  CHECK_THAT(router.describeRouting(0), Catch::Contains("westus->westus"));
}

TEST_CASE("a pair added by a reload waits for its first probe when its registry is probed, not when it is never probed") {
  dns::AnswerPublisher pub;
  const std::string probed = "scheme: none", http = "scheme: http";
  const std::string west = "      - region: westus\n        addresses: [127.0.0.12]\n        data_addresses: [127.0.0.112]\n";
  auto topology = [&](bool with_west, bool probe) {
    std::string text = test::testConfig();
    if (!with_west) text.erase(text.find(west), west.size());
    if (probe) text.replace(text.find(probed), probed.size(), http);
    text.replace(text.find("@DNS@"), 5, "[\"127.0.0.1:53\"]");
    auto t = config::loadTopologyText(text, "test.yaml", ".");
    INFO((t ? "" : t.error()));
    REQUIRE(t);
    return *t;
  };
  auto westClientGets = [&](control::Router& router) {
    const auto& t = router.topology();
    uint32_t g = *t.registryIndex("myregistry");
    uint32_t westus = *t.regionIndex("westus");
    std::vector<std::string> out;
    for (const auto& c : router.table()->registries[g]->clients[westus].replicas)
      out.push_back(t.regions[t.registries[g].replicas[c.replica].region].name);
    return out;
  };

  control::Router router(topology(false, true), pub);
  router.applyTopology(topology(true, true));
  CHECK(router.state("myregistry", "westus")->awaiting_probe);
  CHECK(westClientGets(router) != std::vector<std::string>{"westus"});  // the nearest, but not probed
  REQUIRE(router.setHealth("myregistry", "westus", Health::Up).value());
  CHECK_FALSE(router.state("myregistry", "westus")->awaiting_probe);
  CHECK(westClientGets(router) == std::vector<std::string>{"westus"});
  // A pair the reload keeps keeps its verdict: no second wait.
  router.applyTopology(topology(true, true));
  CHECK_FALSE(router.state("myregistry", "westus")->awaiting_probe);
  // A first probe that says down also ends the wait (and keeps it out).
  router.applyTopology(topology(false, true));
  router.applyTopology(topology(true, true));
  REQUIRE(router.setHealth("myregistry", "westus", Health::Down).value());
  CHECK_FALSE(router.state("myregistry", "westus")->awaiting_probe);
  CHECK(westClientGets(router) != std::vector<std::string>{"westus"});

  // Never probed (scheme none): nothing to wait for.
  control::Router unprobed(topology(false, false), pub);
  unprobed.applyTopology(topology(true, false));
  CHECK_FALSE(unprobed.state("myregistry", "westus")->awaiting_probe);
  CHECK(westClientGets(unprobed) == std::vector<std::string>{"westus"});
}

TEST_CASE("a catalog edit recomputes only the registries it names: the rest keep their states, routing and answers") {
  using nlohmann::json;
  auto entry = [](const std::string& name, const std::string& ip) {
    return json{{"name", name}, {"home", "eastus"},
                {"replicas", {{{"region", "eastus"}, {"addresses", {ip}}}, {{"region", "westus"}, {"addresses", {ip + "0"}}}}}};
  };
  auto served = config::addCatalog(load(), json{{"registries", {entry("a", "10.0.0.1"), entry("b", "10.0.0.2"),
                                                                entry("d", "10.0.0.4")}}}.dump(), "catalog.json");
  REQUIRE(served);
  dns::AnswerPublisher pub;
  control::Router router(served->topology, pub);
  REQUIRE(router.setHealth("d", "eastus", Health::Down).value());
  REQUIRE(router.setFault("myregistry", "westus", control::Fault::Down).value());
  REQUIRE(router.setGlobalEndpointRouting("b", "westus", false).value());
  const auto& before = router.topology();
  auto part = [&](const std::string& name) { return router.table()->registries[*router.topology().registryIndex(name)]; };
  auto answers = [&](const std::string& name) { return pub.latest()->registries[*router.topology().registryIndex(name)]; };
  uint32_t a_before = *before.registryIndex("a");
  REQUIRE(*before.registryIndex("d") == before.registries.size() - 1);
  auto d_part = part("d"), my_part = part("myregistry");
  auto d_answers = answers("d"), my_answers = answers("myregistry");
  uint64_t generation = router.table()->generation;

  // Delete a (the last registry, d, takes its slot), add c.
  auto edited = config::editCatalog(router.topologyPtr(), {"a", "c"}, json{{"registries", {entry("c", "10.0.0.3")}}}.dump(),
                                    "catalog.json");
  REQUIRE(edited);
  REQUIRE(edited->slots);
  std::unordered_set<std::string> names{"a", "c"};
  const policy::SlotEdit* slots = nullptr;
  SECTION("the catalog path: the slot moves followed, nothing walked") { slots = &*edited->slots; }
  SECTION("the reload path: every registry matched by name") {}
  router.applyTopology(edited->topology, &names, nullptr, slots);
  CHECK(router.table()->generation > generation);
  CHECK(pub.latest()->generation == router.table()->generation);
  CHECK_FALSE(router.topology().registryIndex("a"));
  CHECK(*router.topology().registryIndex("d") == a_before);
  CHECK(*router.topology().registryIndex("c") == router.topology().registries.size() - 1);
  // Carried: the same objects, at their new index, with their states.
  CHECK(part("d") == d_part);
  CHECK(answers("d") == d_answers);
  CHECK(part("myregistry") == my_part);
  CHECK(answers("myregistry") == my_answers);
  CHECK(router.state("d", "eastus")->health == Health::Down);
  CHECK(*router.fault("myregistry", "westus") == control::Fault::Down);
  CHECK_FALSE(router.state("b", "westus")->global_endpoint_routing);
  CHECK(router.state("c", "eastus")->health == Health::Unknown);
  // The DNS path finds every registry where the new names table says, and
  // the deleted one nowhere.
  const auto& set = *pub.latest();
  {
    auto wire = DnsName::parse("a.cr.example.test").value().wire();
    const auto* w = reinterpret_cast<const uint8_t*>(wire.data());
    dns::NameMatch m;
    CHECK_FALSE(set.find(w, wire.size(), dns::hashName(w, wire.size()), dns::hashName(w, 1u + w[0]), m));
  }
  for (const auto& name : {"b", "c", "d", "myregistry", "teamb"}) {
    INFO(name);
    auto wire = DnsName::parse(std::string(name) + ".cr.example.test").value().wire();
    const auto* w = reinterpret_cast<const uint8_t*>(wire.data());
    dns::NameMatch m;
    REQUIRE(set.find(w, wire.size(), dns::hashName(w, wire.size()), dns::hashName(w, 1u + w[0]), m));
    CHECK(m.kind == dns::NameKind::Global);
    CHECK(m.registry == *router.topology().registryIndex(name));
    CHECK(m.answers_of == set.registries[m.registry].get());
  }
  // What a full rebuild computes from the same inputs is what was carried.
  std::vector<std::shared_ptr<const policy::RegistryRouting>> carried;
  for (uint32_t g = 0; g < router.topology().registries.size(); ++g) carried.push_back(router.table()->registries[g]);
  router.applyTopology(router.topologyPtr());
  for (uint32_t g = 0; g < router.topology().registries.size(); ++g) {
    INFO(router.topology().registries[g].name);
    CHECK(*router.table()->registries[g] == *carried[g]);
  }
  CHECK(router.state("d", "eastus")->health == Health::Down);
}

TEST_CASE("a reload's answers prepared off the loop: installed where the states held, computed where they moved") {
  dns::AnswerPublisher pub;
  control::Router router(load(), pub);
  REQUIRE(router.setHealth("myregistry", "westus", Health::Down));
  auto next = load("global: 30", "global: 60");  // a setting: every answer moves
  control::Router::Snapshot snap = router.snapshot();
  control::Router::Prepared prepared = control::Router::prepare(snap, next);
  REQUIRE(prepared.answers->registries.size() == 2);
  // While it was compiled: a fault on myregistry's eastus (its states move),
  // nothing on teamb.
  REQUIRE(router.setFault("myregistry", "eastus", control::Fault::Down).value());
  router.applyTopology(next, nullptr, &prepared);
  auto set = pub.latest();
  CHECK(router.topology().ttl.global == 60);
  CHECK(set->registries[1] == prepared.answers->registries[1]);  // teamb: the prepared answers themselves
  CHECK(set->registries[0] != prepared.answers->registries[0]);  // myregistry: computed again, with the fault
  CHECK(router.fault("myregistry", "eastus").value() == control::Fault::Down);
  CHECK(router.state("myregistry", "westus")->health == Health::Down);
  // What was installed is what a full rebuild from the same states gives.
  dns::AnswerPublisher pub2;
  control::Router full(load(), pub2);
  REQUIRE(full.setHealth("myregistry", "westus", Health::Down));
  REQUIRE(full.setFault("myregistry", "eastus", control::Fault::Down).value());
  full.applyTopology(next);
  for (size_t g = 0; g < 2; ++g) {
    const auto& a = *set->registries[g];
    const auto& b = *pub2.latest()->registries[g];
    REQUIRE(a.answers.size() == b.answers.size());
    // Equal but for the SOA serial, which the responder writes at serial_at
    // from the set's own serial whenever it answers.
    auto unserial = [](const dns::Answer& x) {
      auto body = x.body;
      if (x.serial_at >= 0) std::fill_n(body.begin() + x.serial_at, 4, uint8_t{0});
      return body;
    };
    for (size_t i = 0; i < a.answers.size(); ++i) CHECK(unserial(a.answers[i]) == unserial(b.answers[i]));
    CHECK(a.client_view == b.client_view);
  }
  CHECK(router.describeRouting(0) == full.describeRouting(0));
  // Nothing changed after the snapshot: taken whole, states and all.
  auto again = load("global: 30", "global: 75");
  control::Router::Prepared quiet = control::Router::prepare(router.snapshot(), again);
  router.applyTopology(again, nullptr, &quiet);
  CHECK(router.topology().ttl.global == 75);
  CHECK(pub.latest()->registries[0] == quiet.answers->registries[0]);
  CHECK(pub.latest()->registries[1] == quiet.answers->registries[1]);
  CHECK(router.fault("myregistry", "eastus").value() == control::Fault::Down);
  CHECK(router.state("myregistry", "westus")->health == Health::Down);
  // The reload rule holds on that path too: the file's edit of a pair's
  // flag replaces the operator's override.
  REQUIRE(router.setOperatorFlag("myregistry", "westus", false).value());
  std::string text = test::testConfig();
  text.replace(text.find("@DNS@"), 5, "[\"127.0.0.1:53\"]");
  text.replace(text.find("addresses: [127.0.0.12]"), 23, "addresses: [127.0.0.12]\n        global_endpoint_routing: false");
  text.replace(text.find("global: 30"), 10, "global: 76");
  auto flagged = config::loadTopologyText(text, "t.yaml").value();
  control::Router::Prepared edit = control::Router::prepare(router.snapshot(), flagged);
  CHECK(router.applyTopology(flagged, nullptr, &edit) == 1);
  CHECK(router.overrides().empty());
  CHECK_FALSE(router.state("myregistry", "westus")->global_endpoint_routing);
  // Prepared for another topology: ignored, everything computed.
  auto other = load("global: 30", "global: 90");
  control::Router::Prepared stale = control::Router::prepare(router.snapshot(), next);
  router.applyTopology(other, nullptr, &stale);
  CHECK(router.topology().ttl.global == 90);
  CHECK(pub.latest()->registries[1] != stale.answers->registries[1]);
}

namespace {

// Two answer sets answer a registry alike: the same answers (the SOA serial
// bytes aside: each set has its own), views and names.
void checkSameAnswers(const dns::RegistryAnswers& a, const dns::RegistryAnswers& b) {
  auto body = [](const dns::Answer& x) {
    auto out = x.body;
    if (x.serial_at >= 0) std::fill(out.begin() + x.serial_at, out.begin() + x.serial_at + 4, 0);
    return out;
  };
  REQUIRE(a.answers.size() == b.answers.size());
  for (size_t i = 0; i < a.answers.size(); ++i) {
    CHECK(a.answers[i].rcode == b.answers[i].rcode);
    CHECK(a.answers[i].ancount == b.answers[i].ancount);
    CHECK(a.answers[i].nscount == b.answers[i].nscount);
    CHECK(body(a.answers[i]) == body(b.answers[i]));
  }
  CHECK(a.views == b.views);
  CHECK(a.client_view == b.client_view);
  CHECK(a.share_views == b.share_views);
  CHECK(a.share_replicas == b.share_replicas);
  REQUIRE(a.fixed.size() == b.fixed.size());
  for (size_t i = 0; i < a.fixed.size(); ++i) {
    CHECK(a.fixed[i].wire == b.fixed[i].wire);
    CHECK(a.fixed[i].kind == b.fixed[i].kind);
    CHECK(a.fixed[i].view == b.fixed[i].view);
  }
}

std::optional<dns::NameMatch> lookup(const dns::AnswerSet& set, const std::string& name) {
  auto wire = DnsName::parse(name).value().wire();
  const auto* w = reinterpret_cast<const uint8_t*>(wire.data());
  dns::NameMatch m;
  if (!set.find(w, wire.size(), dns::hashName(w, wire.size()), dns::hashName(w, 1u + w[0]), m)) return std::nullopt;
  return m;
}

}  // namespace

TEST_CASE("catalog edits followed slot by slot answer exactly as a fresh build of the same catalog, over 1,500 random edits") {
  // Big: slots across many chunks. Small: the ranking's blocks compacted
  // many times over.
  const size_t kInitial = GENERATE(1500, 20);
  const size_t kNames = kInitial == 20 ? 60 : 2400;
  using nlohmann::json;
  const std::vector<std::string> regions{"eastus", "westus", "westeurope", "southeastasia"};
  std::mt19937 rng(20261204);
  auto pick = [&](size_t n) { return static_cast<size_t>(rng() % n); };
  int serial = 0;
  auto entry = [&](const std::string& name) {
    json reps = json::array();
    bool data = pick(4) == 0;
    std::vector<std::string> in;
    for (const auto& r : regions)
      if (pick(2) == 0 || in.empty()) in.push_back(r);
    for (const auto& r : in) {
      ++serial;
      json rep{{"region", r}, {"addresses", {"10." + std::to_string(serial / 65536 % 256) + "." +
                                             std::to_string(serial / 256 % 256) + "." + std::to_string(serial % 256)}}};
      if (data) rep["data_addresses"] = {"10.200.0." + std::to_string(serial % 256)};
      reps.push_back(rep);
    }
    return json{{"name", name},
                {"home", in[pick(in.size())]},
                {"regional_endpoints", pick(3) == 0 ? "enabled" : "disabled"},
                {"data_endpoints", data ? "enabled" : "disabled"},
                {"replicas", reps}};
  };
  auto nameOf = [&](size_t i) { return "r" + std::to_string(i); };
  json initial = json::array();
  for (size_t i = 0; i < kInitial; ++i) initial.push_back(entry(nameOf(i)));
  auto served = config::addCatalog(load(), json{{"registries", initial}}.dump(), "catalog.json");
  REQUIRE(served);
  dns::AnswerPublisher pub;
  control::Router router(served->topology, pub);

  auto compare = [&] {
    dns::AnswerPublisher fresh_pub;
    control::Router fresh(router.topologyPtr(), fresh_pub, router.healthStates());
    const auto& a = *pub.latest();
    const auto& b = *fresh_pub.latest();
    for (size_t i = 0; i < kNames; ++i) {
      std::string global = nameOf(i) + ".cr.example.test";
      INFO(global);
      auto ma = lookup(a, global), mb = lookup(b, global);
      REQUIRE(ma.has_value() == mb.has_value());
      if (!ma) continue;
      CHECK(ma->kind == mb->kind);
      if (ma->kind != dns::NameKind::Global) continue;
      CHECK(router.topology().registries[ma->registry].name == nameOf(i));
      checkSameAnswers(*ma->answers_of, *mb->answers_of);
    }
    for (const auto& r : regions)
      for (const auto& name : {r + ".geo.cr.example.test", r + ".data.cr.example.test", std::string("geo.cr.example.test"),
                               std::string("data.cr.example.test")}) {
        INFO(name);
        auto ma = lookup(a, name), mb = lookup(b, name);
        REQUIRE(ma.has_value() == mb.has_value());
        if (ma) CHECK(ma->kind == mb->kind);
      }
  };

  for (int step = 1; step <= 1500; ++step) {
    // One to three names per edit: created, replaced or deleted.
    std::vector<std::string> removed;
    json added = json::array();
    for (size_t k = 0, n = 1 + pick(3); k < n; ++k) {
      std::string name = nameOf(pick(kNames));
      if (std::find(removed.begin(), removed.end(), name) != removed.end()) continue;
      removed.push_back(name);
      if (pick(3) != 0) added.push_back(entry(name));
    }
    auto edited = config::editCatalog(router.topologyPtr(), removed, json{{"registries", added}}.dump(), "catalog.json");
    INFO(added.dump());
    if (!edited) FAIL(edited.error());
    REQUIRE(edited->slots);
    std::unordered_set<std::string> names(removed.begin(), removed.end());
    router.applyTopology(edited->topology, &names, nullptr, &*edited->slots);
    // Health moves between edits, so states travel with the slots.
    const auto& t = router.topology();
    const auto& reg = t.registries[pick(t.registries.size())];  // the file's two are always there
    (void)router.setHealth(reg.name, t.regions[reg.replicas[pick(reg.replicas.size())].region].name,
                           pick(2) ? Health::Down : Health::Up);
    if (step % 250 == 0) compare();
  }
  compare();
}
