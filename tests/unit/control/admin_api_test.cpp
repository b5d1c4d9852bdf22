// AdminApi and DrillManager on the control thread's objects, without sockets:
// request validation (every error is JSON naming the field), replies that
// cross an asynchronous step and a reload in between (the reply is about the
// pair asked for, or a 404 once it is gone: the crash of issue 17), and the
// drill planner's refusals.
#include <catch2/catch.hpp>

#include "control/admin_api.h"
#include "control/drill_manager.h"
#include "control/router.h"
#include "tests/support/test_topology.h"

using namespace switchyard;
using namespace switchyard::control;
using nlohmann::json;

namespace {

config::TopologyPtr load(const std::string& from = "", const std::string& to = "") {
  return test::loadTestTopology(from, to);
}

// The API's collaborators, with the state-file write held until release().
struct Fixture {
  dns::AnswerPublisher publisher;
  Router router{load(), publisher};
  EventLog events;
  std::map<PairKey, health::ProbeReport> last_probe;
  std::map<std::string, health::FreshnessReport> freshness;
  std::vector<std::function<void(std::string)>> held;  // persist callbacks not yet told
  DrillManager drills{router, events, [](std::function<void()>) { return false; },
                      [](const std::string&, json) {}, [] { return std::optional<SocketAddress>(); }};
  AdminApi api{AdminContext{
      .router = router,
      .events = events,
      .last_probe = last_probe,
      .freshness = freshness,
      .persist_overrides = [this](std::function<void(std::string)> done) { held.push_back(std::move(done)); },
      .reload = [](std::function<void(Result<bool>)> done) { done(true); },
      .drills = drills,
  }};

  std::optional<ApiResponse> call(const std::string& method, const std::string& path, const std::string& body,
                                  std::map<std::string, std::string> params) {
    std::optional<ApiResponse> out;
    api.handle({method, path, std::move(params), body}, [&](ApiResponse r) { out = std::move(r); });
    return out;
  }
  std::optional<ApiResponse> patch(const std::string& reg, const std::string& region, const std::string& body) {
    return call("PATCH", "/v1/registries/" + reg + "/replications/" + region, body,
                {{"registry", reg}, {"region", region}});
  }
  void release() {
    auto told = std::move(held);
    held.clear();
    for (auto& d : told) d("");
  }
};

std::string message(const ApiResponse& r) { return r.body.value("error", r.body.dump()); }

}  // namespace

TEST_CASE("admin API validation: clear JSON errors for bodies, fields and unknown pairs") {
  Fixture f;
  auto bad = f.patch("myregistry", "eastus", "{not json");
  REQUIRE(bad);
  CHECK(bad->status == 400);
  CHECK_THAT(message(*bad), Catch::Contains("not valid JSON"));
  auto field = f.patch("myregistry", "eastus", R"({"globalEndpointRouting": false, "weight": 3})");
  REQUIRE(field);
  CHECK(field->status == 400);
  CHECK_THAT(message(*field), Catch::Contains("unknown field 'weight'"));
  auto type = f.patch("myregistry", "eastus", R"({"globalEndpointRouting": "no"})");
  REQUIRE(type);
  CHECK(type->status == 400);
  CHECK_THAT(message(*type), Catch::Contains("globalEndpointRouting must be true or false"));
  auto gone = f.patch("myregistry", "mars", R"({"globalEndpointRouting": false})");
  REQUIRE(gone);
  CHECK(gone->status == 404);
  CHECK_THAT(message(*gone), Catch::Contains("has no replica in 'mars'"));
  auto noreg = f.patch("nope", "eastus", R"({"globalEndpointRouting": false})");
  REQUIRE(noreg);
  CHECK(noreg->status == 404);
  auto fault = f.call("POST", "/v1/registries/myregistry/replications/eastus/fault", R"({"health": "sideways"})",
                      {{"registry", "myregistry"}, {"region", "eastus"}});
  REQUIRE(fault);
  CHECK(fault->status == 400);
  CHECK_THAT(message(*fault), Catch::Contains("content_error"));
  CHECK(f.held.empty());  // nothing was applied, so nothing persisted
}

TEST_CASE("a PATCH whose state-file write spans a reload answers about the pair asked, or 404 once it is gone") {
  Fixture f;
  auto send = [&](const std::string& reg, const std::string& region, bool value, std::optional<ApiResponse>& out) {
    f.api.handle({"PATCH", "/v1/registries/" + reg + "/replications/" + region, {{"registry", reg}, {"region", region}},
                  json{{"globalEndpointRouting", value}}.dump()},
                 [&out](ApiResponse r) { out = std::move(r); });
  };
  // Applied at once, acknowledged only once overrides.json is written.
  std::optional<ApiResponse> first;
  send("teamb", "southeastasia", false, first);
  CHECK_FALSE(first);
  CHECK_FALSE(f.router.state("teamb", "southeastasia")->global_endpoint_routing);
  CHECK(f.router.overrides().at({"teamb", "southeastasia"}) == false);
  // A reload lands before the write ends, putting teamb ahead of myregistry:
  // the indices the request started with now name myregistry/westus.
  std::string text = test::testConfig();
  auto reg = text.find("  - name: myregistry");
  auto teamb = text.find("  - name: teamb");
  std::string reordered = text.substr(0, reg) + text.substr(teamb) + text.substr(reg, teamb - reg);
  reordered.replace(reordered.find("@DNS@"), 5, "[\"127.0.0.1:53\"]");
  f.router.applyTopology(config::loadTopologyText(reordered, "t.yaml").value());
  REQUIRE(f.router.topology().registries[0].name == "teamb");
  f.release();
  REQUIRE(first);
  CHECK(first->status == 200);
  CHECK(first->body["registry"] == "teamb");
  CHECK(first->body["name"] == "southeastasia");
  CHECK(first->body["globalEndpointRouting"] == false);

  // A reload that drops the registry while the write is in flight: the
  // decision was applied and saved, so the reply says so (not a 404 that
  // reads as "not done"), and it is kept, dormant, for the pair's return.
  std::optional<ApiResponse> late;
  send("teamb", "westeurope", false, late);
  CHECK_FALSE(late);
  f.router.applyTopology(load("  - name: teamb\n", "  - name: teamc\n"));
  f.release();
  REQUIRE(late);
  CHECK(late->status == 200);
  CHECK(late->body["registry"] == "teamb");
  CHECK(late->body["name"] == "westeurope");
  CHECK(late->body["status"] == "removed");
  CHECK(late->body["globalEndpointRouting"] == false);
  CHECK(f.router.overrides().at({"teamb", "westeurope"}) == false);
  f.router.applyTopology(load());
  CHECK_FALSE(f.router.state("teamb", "westeurope")->global_endpoint_routing);
  // A request for a pair already gone is a clean 404, and changes nothing.
  std::optional<ApiResponse> gone;
  f.router.applyTopology(load("  - name: teamb\n", "  - name: teamc\n"));
  send("teamb", "southeastasia", true, gone);
  REQUIRE(gone);
  CHECK(gone->status == 404);
  CHECK(f.held.empty());
}

TEST_CASE("fleet mode: a PATCH and a fault whose etcd round-trip spans a reload dropping the pair") {
  Fixture f;
  std::vector<std::function<void(std::string)>> etcd;  // the fleet's store, held
  AdminApi api{AdminContext{
      .router = f.router,
      .events = f.events,
      .last_probe = f.last_probe,
      .freshness = f.freshness,
      .persist_overrides = [](std::function<void(std::string)> done) { done(""); },
      .reload = [](std::function<void(Result<bool>)> done) { done(true); },
      .drills = f.drills,
      .share_routing = [&](const std::string&, const std::string&, bool, std::function<void(std::string)> done) {
        etcd.push_back(std::move(done));
      },
      .share_fault = [&](const std::string&, const std::string&, Fault, std::function<void(std::string)> done) {
        etcd.push_back(std::move(done));
      },
  }};
  std::optional<ApiResponse> patch, fault;
  api.handle({"PATCH", "/v1/registries/teamb/replications/westeurope", {{"registry", "teamb"}, {"region", "westeurope"}},
              R"({"globalEndpointRouting": false})"},
             [&](ApiResponse r) { patch = std::move(r); });
  api.handle({"POST", "/v1/registries/teamb/replications/westeurope/fault",
              {{"registry", "teamb"}, {"region", "westeurope"}}, R"({"health": "down"})"},
             [&](ApiResponse r) { fault = std::move(r); });
  REQUIRE(etcd.size() == 2);
  f.router.applyTopology(load("  - name: teamb\n", "  - name: teamc\n"));
  for (auto& done : etcd) done("");
  REQUIRE(patch);
  CHECK(patch->status == 200);
  CHECK(patch->body["status"] == "removed");
  CHECK(patch->body["health"]["fault"] == "none");  // the object's full shape: the CLI prints it
  CHECK(f.router.overrides().at({"teamb", "westeurope"}) == false);  // dormant, as etcd holds it
  REQUIRE(fault);
  CHECK(fault->status == 200);
  CHECK(fault->body["status"] == "removed");
  // The pair returns: the decision applies.
  f.router.applyTopology(load());
  CHECK_FALSE(f.router.state("teamb", "westeurope")->global_endpoint_routing);
}

TEST_CASE("drill planning refuses what it cannot prove, with the field and the reason") {
  Fixture f;
  auto start = [&](const json& body) { return f.drills.start(body.dump()); };
  json ok{{"registry", "myregistry"}, {"replica", "westus"}, {"scenario", "fail"}, {"dns", "127.0.0.1:53"}};
  auto with = [&](const char* key, json value) {
    json b = ok;
    b[key] = std::move(value);
    return b;
  };
  CHECK(start(with("color", "red")).status == 400);
  CHECK_THAT(message(start(with("color", "red"))), Catch::Contains("unknown field 'color'"));
  CHECK_THAT(message(start(with("scenario", "explode"))), Catch::Contains("scenario must be exclude, fail or throttle"));
  CHECK_THAT(message(start(with("fault", "melted"))), Catch::Contains("fault must be"));
  json exclude_fault = with("scenario", "exclude");
  exclude_fault["fault"] = "content_error";
  CHECK_THAT(message(start(exclude_fault)), Catch::Contains("fault applies to the fail scenario only"));
  CHECK_THAT(message(start(with("timeoutSeconds", 0))), Catch::Contains("timeoutSeconds must be a number of seconds"));
  CHECK_THAT(message(start(with("dns", "nowhere"))), Catch::Contains("dns:"));
  CHECK(start(with("registry", "nope")).status == 404);
  CHECK(start(with("replica", "mars")).status == 404);
  json no_dns = ok;
  no_dns.erase("dns");
  CHECK_THAT(message(start(no_dns)), Catch::Contains("serves no DNS yet"));
  // The last eligible replica cannot be drilled: nothing would be left.
  REQUIRE(f.router.setFault("teamb", "westeurope", Fault::Down).value());
  auto last = start(json{{"registry", "teamb"}, {"replica", "southeastasia"}, {"scenario", "fail"}, {"dns", "127.0.0.1:53"}});
  CHECK(last.status == 409);
  CHECK_THAT(message(last), Catch::Contains("the only eligible replica"));
  auto faulted = start(json{{"registry", "teamb"}, {"replica", "westeurope"}, {"scenario", "fail"}, {"dns", "127.0.0.1:53"}});
  CHECK(faulted.status == 409);
  CHECK_THAT(message(faulted), Catch::Contains("already has an injected fault (down)"));
}
