// The runtime catalog's model and its translation between the API's words
// and the config file's schema; and config::addCatalog, which validates the
// catalog with the loader's rules.
#include <catch2/catch.hpp>

#include <functional>

#include "config/config_loader.h"
#include "control/catalog.h"
#include "tests/support/test_topology.h"

using namespace switchyard;
using control::ApiFieldError;
using control::Catalog;
namespace journal = control::journal;
using nlohmann::json;

namespace {

json made(const std::string& body, const json* existing = nullptr, const std::string& name = "newreg") {
  ApiFieldError e;
  auto r = control::registryFromApi(name, json::parse(body), existing, e);
  INFO(e.field << ": " << e.message);
  REQUIRE(r);
  return *r;
}

ApiFieldError refused(const std::string& body, const json* existing = nullptr) {
  ApiFieldError e;
  auto r = control::registryFromApi("newreg", json::parse(body), existing, e);
  CHECK_FALSE(r);
  return e;
}

}  // namespace

TEST_CASE("the API's registry becomes the config file's schema, and an update changes only what it names") {
  json doc = made(R"({"home": "eastus", "regionalEndpoints": true, "dataEndpointEnabled": "disabled",
                      "health": {"path": "/v2/"},
                      "replications": {"eastus": {"addresses": ["10.0.0.1"], "dataAddresses": ["10.0.1.1"],
                                                   "probeAddress": "10.0.2.1", "globalEndpointRouting": false}}})");
  CHECK(doc["name"] == "newreg");
  CHECK(doc["home"] == "eastus");
  CHECK(doc["regional_endpoints"] == "enabled");
  CHECK(doc["data_endpoints"] == "disabled");
  CHECK(doc["health"]["path"] == "/v2/");
  REQUIRE(doc["replicas"].size() == 1);
  CHECK(doc["replicas"][0] == json{{"region", "eastus"},
                                   {"addresses", {"10.0.0.1"}},
                                   {"data_addresses", {"10.0.1.1"}},
                                   {"probe_address", "10.0.2.1"},
                                   {"global_endpoint_routing", false}});
  json updated = made(R"({"regionalEndpoints": false, "health": null})", &doc);
  CHECK(updated["regional_endpoints"] == "disabled");
  CHECK_FALSE(updated.contains("health"));  // null: back to the defaults
  CHECK(updated["replicas"] == doc["replicas"]);  // untouched
  CHECK(updated["home"] == "eastus");

  CHECK(refused(R"({"regionalEndpoints": true})").field == "home");  // a new one needs its home
  auto typo = refused(R"({"home": "eastus", "dataEndpointsEnabled": true})");
  CHECK(typo.field == "dataEndpointsEnabled");
  CHECK_THAT(typo.message, Catch::Contains("dataEndpointEnabled"));  // the list of what it takes
  CHECK(refused(R"({"home": "eastus", "replications": {"eastus": {"address": "x"}}})").field == "replications.eastus.address");
  CHECK(refused(R"({"home": "eastus", "replications": ["eastus"]})").field == "replications");
}

TEST_CASE("the loader's paths read in the API's words") {
  json doc{{"name", "r"}, {"replicas", {{{"region", "eastus"}}, {{"region", "westus"}}}}};
  CHECK(control::apiField("registries[3].replicas[1].addresses[0]", doc) == "replications.westus.addresses[0]");
  CHECK(control::apiField("registries[3].replicas[0].data_addresses", doc) == "replications.eastus.dataAddresses");
  CHECK(control::apiField("registries[3].replicas[1].global_endpoint_routing", doc) ==
        "replications.westus.globalEndpointRouting");
  CHECK(control::apiField("registries[3].replicas[0]", doc) == "replications.eastus");
  CHECK(control::apiField("registries[3].regional_endpoints", doc) == "regionalEndpoints");
  CHECK(control::apiField("registries[3].data_endpoints", doc) == "dataEndpointEnabled");
  CHECK(control::apiField("registries[3].health.interval", doc) == "health.interval");
  CHECK(control::apiField("registries[3].name", doc) == "name");
  CHECK(control::apiField("registries[3]", doc).empty());
}

TEST_CASE("catalog.json: sorted, diffable, and only well-shaped entries load") {
  Catalog c;
  c.put(json{{"name", "zeta"}, {"replicas", json::array()}});
  c.put(json{{"name", "alpha"}, {"replicas", {{{"region", "eastus"}}}}});
  std::string text = c.render();
  CHECK(text.find("alpha") < text.find("zeta"));
  auto back = Catalog::parse(text, "catalog.json");
  REQUIRE(back);
  CHECK(back->render() == text);
  CHECK(Catalog::parse("", "catalog.json")->size() == 0);
  // One entry per line is read a line at a time; the same entries written by
  // hand across lines are read as one document; a file cut short is refused,
  // not read as the entries before the cut.
  auto pretty = Catalog::parse(json::parse(text).dump(2), "catalog.json");
  REQUIRE(pretty);
  CHECK(pretty->render() == text);
  CHECK_THAT(Catalog::parse(text.substr(0, text.find("]}")), "catalog.json").error(), Catch::Contains("not a catalog"));
  CHECK_THAT(Catalog::parse(text + "{}\n", "catalog.json").error(), Catch::Contains("not a catalog"));
  CHECK(Catalog::parse(Catalog().render(), "catalog.json")->size() == 0);
  CHECK_THAT(Catalog::parse("{\"registries\": [", "catalog.json").error(), Catch::Contains("catalog.json: not a catalog"));
  CHECK_THAT(Catalog::parse(R"({"registries": [{"name": "a", "replicas": [{"region": "x"}, {"region": "x"}]}]})", "c").error(),
             Catch::Contains("c: registries[0]: every replica needs a region of its own"));
  CHECK_THAT(Catalog::parse(R"({"registries": [{"name": "a", "replicas": []}, {"name": "a", "replicas": []}]})", "c").error(),
             Catch::Contains("a second registry named 'a'"));
  CHECK(c.erase("zeta"));
  CHECK_FALSE(c.erase("zeta"));
  CHECK(c.size() == 1);
  // A hand-edited name in capitals is found by its lowercase name, and
  // counts as the same registry as its lowercase twin.
  auto upper = Catalog::parse(R"({"registries": [{"name": "MyReg", "replicas": []}]})", "c");
  REQUIRE(upper);
  CHECK(upper->find("myreg").has_value());
  CHECK(upper->contains("myreg"));
  CHECK_FALSE(upper->find("other"));
  CHECK((*upper->find("myreg"))["name"] == "myreg");
  CHECK_THAT(Catalog::parse(R"({"registries": [{"name": "A", "replicas": []}, {"name": "a", "replicas": []}]})", "c").error(),
             Catch::Contains("a second registry named 'a'"));
}

TEST_CASE("a catalog entry's change is named as the API call that made it would name it") {
  json before{{"name", "r"}, {"home", "eastus"}, {"replicas", {{{"region", "eastus"}, {"addresses", {"192.0.2.1"}}}}}};
  auto with = [&](json entry, const std::function<void(json&)>& edit) {
    edit(entry);
    return entry;
  };
  auto name = [](const control::CatalogChange& c) { return c.event + (c.replica.empty() ? "" : ":" + c.replica); };
  CHECK(name(control::describeEdit("r", nullptr, &before)) == "registry_created");
  CHECK(name(control::describeEdit("r", &before, nullptr)) == "registry_deleted");
  json added = with(before, [](json& e) { e["replicas"].push_back({{"region", "westus"}, {"addresses", {"192.0.2.2"}}}); });
  CHECK(name(control::describeEdit("r", &before, &added)) == "replication_created:westus");
  CHECK(name(control::describeEdit("r", &added, &before)) == "replication_deleted:westus");
  json moved = with(before, [](json& e) { e["replicas"][0]["addresses"] = {"192.0.2.9"}; });
  CHECK(name(control::describeEdit("r", &before, &moved)) == "replication_updated:eastus");
  json regional = with(before, [](json& e) { e["regional_endpoints"] = "enabled"; });
  CHECK(name(control::describeEdit("r", &before, &regional)) == "registry_updated");
  // Two replicas at once (a PUT with replications): the registry's change.
  json two = with(added, [](json& e) { e["replicas"].push_back({{"region", "westeurope"}, {"addresses", {"192.0.2.3"}}}); });
  CHECK(name(control::describeEdit("r", &before, &two)) == "registry_updated");
}

TEST_CASE("addCatalog: the file's rules for the catalog, pending registries kept, no copy without a catalog") {
  auto file = test::loadTestTopology();
  auto none = config::addCatalog(file, "", "catalog.json");
  REQUIRE(none);
  CHECK(none->topology == file);  // the same object: nothing to add

  Catalog c;
  c.put(json{{"name", "newreg"}, {"home", "westus"}, {"replicas", {{{"region", "westus"}, {"addresses", {"10.0.0.2"}}}}}});
  c.put(json{{"name", "later"}, {"home", "eastus"}, {"replicas", {{{"region", "westus"}, {"addresses", {"10.0.0.3"}}}}}});
  auto merged = config::addCatalog(file, c.render(), "catalog.json");
  INFO((merged ? "" : merged.error()));
  REQUIRE(merged);
  const auto& t = *merged->topology;
  CHECK(t.registries.size() == file->registries.size() + 1);
  auto g = t.registryIndex("newreg");
  REQUIRE(g);
  CHECK(t.registries[*g].from_catalog);
  CHECK_FALSE(t.registries[*t.registryIndex("myregistry")].from_catalog);
  CHECK(t.registries[*g].health.scheme == file->health_defaults.scheme);  // the file's defaults apply
  REQUIRE(merged->pending.size() == 1);
  CHECK(merged->pending[0].registry == "later");
  CHECK(merged->pending[0].reason == "no replica in its home region eastus yet");
  CHECK(file->registries.size() == 2);  // the file's own topology is untouched

  // Errors: the catalog's file, line and column, and the path apart.
  Catalog bad;
  bad.put(json{{"name", "newreg"}, {"home", "eastus"}, {"replicas", {{{"region", "eastus"}, {"addresses", {"10.0.0.1", "x"}}}}}});
  config::FieldError field;
  auto broken = config::addCatalog(file, bad.render(), "/state/catalog.json", &field);
  REQUIRE_FALSE(broken);
  CHECK_THAT(broken.error(), Catch::StartsWith("/state/catalog.json:") &&
                                 Catch::Contains("registries[0].replicas[0].addresses[1]: "));
  CHECK(field.path == "registries[0].replicas[0].addresses[1]");
  CHECK_FALSE(field.message.empty());
  // A name the file has: refused, and said so.
  Catalog clash;
  clash.put(json{{"name", "myregistry"}, {"home", "eastus"}, {"replicas", {{{"region", "eastus"}, {"addresses", {"10.0.0.1"}}}}}});
  auto twice = config::addCatalog(file, clash.render(), "catalog.json", &field);
  REQUIRE_FALSE(twice);
  CHECK_THAT(twice.error(), Catch::Contains("'myregistry' is declared in") && Catch::Contains("not both"));
  CHECK(field.path == "registries[0].name");
}

TEST_CASE("editCatalog checks only the edited registries, against what is served") {
  auto file = test::loadTestTopology();
  Catalog c;
  c.put(json{{"name", "a"}, {"home", "eastus"}, {"replicas", {{{"region", "eastus"}, {"addresses", {"10.0.0.1"}}}}}});
  c.put(json{{"name", "b"}, {"home", "eastus"}, {"replicas", {{{"region", "eastus"}, {"addresses", {"10.0.0.2"}}}}}});
  auto served = config::addCatalog(file, c.render(), "catalog.json");
  REQUIRE(served);
  auto current = served->topology;

  // Replace a (a second replica), delete b, add c: one call.
  json a2{{"name", "a"}, {"home", "eastus"},
          {"replicas", {{{"region", "eastus"}, {"addresses", {"10.0.0.1"}}}, {{"region", "westus"}, {"addresses", {"10.0.0.3"}}}}}};
  json c1{{"name", "c"}, {"home", "westus"}, {"replicas", json::array()}};  // pending: no home replica
  auto edited = config::editCatalog(current, {"a", "b", "c"}, json{{"registries", {a2, c1}}}.dump(), "catalog.json");
  INFO((edited ? "" : edited.error()));
  REQUIRE(edited);
  const auto& t = *edited->topology;
  CHECK_FALSE(t.registryIndex("b"));
  auto a = t.registryIndex("a");
  REQUIRE(a);
  CHECK(t.registries[*a].replicas.size() == 2);
  CHECK(t.registries[*a].from_catalog);
  CHECK(t.registryIndex("myregistry"));  // the file's are kept
  REQUIRE(edited->pending.size() == 1);
  CHECK(edited->pending[0].registry == "c");
  CHECK(current->registryIndex("b"));  // what is served is untouched
  // The name index says where every registry is after the moves (a removed
  // slot takes the last registry).
  REQUIRE(t.registry_by_name.size() == t.registries.size());
  for (uint32_t g = 0; g < t.registries.size(); ++g) {
    INFO(t.registries[g].name);
    CHECK(t.registry_by_name.find(t.registries[g].name) == g);
  }
  // Deleting the first of several: the last one takes its slot, and the
  // edit says so.
  auto first_gone = config::editCatalog(current, {"a"}, json{{"registries", json::array()}}.dump(), "catalog.json");
  REQUIRE(first_gone);
  const auto& f = *first_gone->topology;
  REQUIRE(f.registry_by_name.size() == f.registries.size());
  for (uint32_t g = 0; g < f.registries.size(); ++g) CHECK(f.registry_by_name.find(f.registries[g].name) == g);
  CHECK_FALSE(f.registryIndex("a"));
  REQUIRE(first_gone->slots);
  CHECK(first_gone->slots->base == current.get());
  REQUIRE(first_gone->slots->removed.size() == 1);
  CHECK(first_gone->slots->removed[0] == *current->registryIndex("a"));
  CHECK(first_gone->slots->kept == current->registries.size() - 1);
  CHECK(f.registries[*current->registryIndex("a")].name == current->registries.back().name);

  // A name the served topology holds and the edit does not remove: refused.
  config::FieldError field;
  auto clash = config::editCatalog(current, {}, json{{"registries", {json{{"name", "b"}, {"home", "eastus"},
      {"replicas", {{{"region", "eastus"}, {"addresses", {"10.0.0.9"}}}}}}}}}.dump(), "catalog.json", &field);
  REQUIRE_FALSE(clash);
  CHECK(field.path == "registries[0].name");
  // A broken entry: its index in the edit, its path.
  auto broken = config::editCatalog(current, {"a"}, json{{"registries", {json{{"name", "a"}, {"home", "mars"},
      {"replicas", json::array()}}}}}.dump(), "catalog.json", &field);
  REQUIRE_FALSE(broken);
  CHECK(field.path == "registries[0].home");
}

TEST_CASE("catalog.journal: replayed onto catalog.json, a torn last line dropped whole, a bad one elsewhere refused, a replay twice harmless") {
  Catalog base;
  base.put(json{{"name", "a"}, {"home", "eastus"}, {"replicas", json::array()}});
  base.put(json{{"name", "b"}, {"home", "eastus"}, {"replicas", json::array()}});
  const std::string b2 = json{{"name", "b"}, {"home", "westus"}, {"replicas", json::array()}}.dump();
  const std::string c1 = json{{"name", "c"}, {"home", "eastus"}, {"replicas", json::array()}}.dump();
  const std::string d1 = json{{"name", "d"}, {"home", "eastus"}, {"replicas", json::array()}}.dump();
  // One line per commit: a single change, or a batch of them.
  std::string text = journal::line({journal::deleteOp("a")}) + journal::line({journal::putOp(b2), journal::putOp(c1)}) +
                     journal::line({journal::deleteOp("c")}) + journal::line({journal::putOp(c1)});
  Catalog once = base;
  size_t kept = 0;
  REQUIRE(journal::replay(text, "catalog.journal", once, kept));
  CHECK(kept == text.size());
  CHECK_FALSE(once.contains("a"));
  CHECK((*once.find("b"))["home"] == "westus");
  CHECK(once.contains("c"));
  CHECK(base.contains("a"));  // the copy it came from keeps its own
  // A compaction wrote `once` whole, then the crash came before the journal
  // was emptied: the next start replays it again, to the same catalog.
  Catalog twice = once;
  REQUIRE(journal::replay(text, "catalog.journal", twice, kept));
  CHECK(twice.render() == once.render());
  // A batch cut short mid-append: never acknowledged, so none of it stands
  // (not its first half), and `kept` says where to cut the file.
  Catalog cut = base;
  std::string partial = text + journal::line({journal::putOp(d1), journal::deleteOp("b")});
  partial.resize(partial.size() - 5);
  REQUIRE(journal::replay(partial, "catalog.journal", cut, kept));
  CHECK(kept == text.size());
  CHECK(cut.render() == once.render());
  CHECK_FALSE(cut.contains("d"));
  // Whole but without its newline: the append's fsync never returned either.
  Catalog unterminated = base;
  std::string last = journal::line({journal::deleteOp("b")});
  REQUIRE(journal::replay(text + last.substr(0, last.size() - 1), "catalog.journal", unterminated, kept));
  CHECK(kept == text.size());
  CHECK(unterminated.contains("b"));
  // A last line that is whole and broken (blank lines after it): cut from
  // where it starts, not from the last newline.
  Catalog garbled = base;
  REQUIRE(journal::replay(text + "{\"put\": 7}\n\n", "catalog.journal", garbled, kept));
  CHECK(kept == text.size());
  // Anything broken before the last line is corruption, said with its line.
  Catalog broken = base;
  auto bad = journal::replay(journal::line({journal::deleteOp("a")}) + "{\"put\": 7}\n" + journal::line({journal::putOp(c1)}),
                             "/s/catalog.journal", broken, kept);
  REQUIRE_FALSE(bad);
  CHECK_THAT(bad.error(), Catch::StartsWith("/s/catalog.journal:2"));
  auto junk = journal::replay("nonsense\n" + journal::line({journal::putOp(c1)}), "/s/catalog.journal", broken, kept);
  REQUIRE_FALSE(junk);
  CHECK_THAT(junk.error(), Catch::StartsWith("/s/catalog.journal:1: not a journal line"));
}
