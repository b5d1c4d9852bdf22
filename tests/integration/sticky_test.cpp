// Sticky sharing in the running daemon: while a region is shared, every client
// subnet keeps one replica over UDP, TCP, IPv4 and IPv6 sockets and across
// worker threads; `routing show --client` / `?client=` name exactly the
// replica DNS answers; a reload to `spread: all` brings several records back.
#include <catch2/catch.hpp>

#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "tests/support/admin_client.h"
#include "tests/support/daemon_process.h"
#include "tests/support/dns_client.h"
#include "tests/support/test_topology.h"

using namespace switchyard;
using namespace switchyard::test;
using nlohmann::json;
using Strings = std::vector<std::string>;

namespace {

const char* kGlobal = "myregistry.cr.example.test";
const std::map<std::string, std::string> kReplicaOf{
    {"A 127.0.0.11", "eastus"}, {"A 127.0.0.12", "westus"}, {"A 127.0.0.13", "westeurope"}};

Strings ask(const SocketAddress& server, const std::string& subnet, bool tcp = false) {
  auto p = query(server, kGlobal, LDNS_RR_TYPE_A, {.tcp = tcp, .ecs = IpPrefix::parse(subnet).value()});
  return p ? answers(p.get()) : Strings{"(no answer)"};
}

}  // namespace

TEST_CASE("sticky sharing: one replica per client subnet in the running daemon, explained by routing show --client") {
  DaemonProcess d(adminConfig());  // two DNS threads
  REQUIRE(d.running());
  AdminClient api(d);
  REQUIRE(api.send("PATCH", "/v1/registries/myregistry/replications/eastus", R"({"globalEndpointRouting":false})")
              .first == 200);

  std::map<std::string, int> split;
  for (int i = 0; i < 64; ++i) {
    std::string subnet = "10.20." + std::to_string(i) + ".0/24";  // the default region, eastus: shared now
    Strings first = ask(d.v4(), subnet);
    INFO(subnet);
    REQUIRE(first.size() == 1);
    REQUIRE(kReplicaOf.count(first[0]));
    ++split[kReplicaOf.at(first[0])];
    // Asked again (either worker), over TCP and over the IPv6 socket: the same replica.
    for (int k = 0; k < 4; ++k) CHECK(ask(d.v4(), subnet) == first);
    CHECK(ask(d.v4(), subnet, true) == first);
    CHECK(ask(d.v6(), subnet) == first);
    // The API names the same replica, and says why.
    auto why = api.get("/v1/registries/myregistry/routing?client=10.20." + std::to_string(i) + ".99");
    REQUIRE(why.first == 200);
    CHECK(why.second["replica"] == kReplicaOf.at(first[0]));
    CHECK(why.second["subnet"] == "10.20." + std::to_string(i) + ".0/24");
    CHECK(why.second["clientRegion"] == "eastus");
    CHECK(why.second["reason"] == "failover-spread");
    CHECK(why.second["sticky"] == true);
  }
  CHECK(split.size() == 2);  // westus and westeurope share eastus's subnets
  CHECK(split["westus"] >= 16);
  CHECK(split["westeurope"] >= 16);

  // The CLI's explanation, as an operator types it.
  auto shown = runCtl(ctlArgs(d, "routing show --registry myregistry --client 10.20.7.1"));
  INFO(shown.output);
  CHECK(shown.exit_code == 0);
  CHECK_THAT(shown.output, Catch::Contains("10.20.7.0/24"));
  CHECK_THAT(shown.output, Catch::Contains("why: the nearest replica eastus is out of global routing (operator)"));
  CHECK_THAT(shown.output, Catch::Contains("rendezvous hash"));
  auto table = runCtl(ctlArgs(d, "routing show --registry myregistry"));
  CHECK_THAT(table.output, Catch::Contains("REPLICAS (SHARE OF SUBNETS)"));
  CHECK_THAT(table.output, Catch::Contains("westus (50%), westeurope (50%)  one replica per /24 (IPv6 /56)"));
  // An unshared region is explained as nearest; a bad address is a clear 400.
  auto nearest = api.get("/v1/registries/myregistry/routing?client=198.51.100.70").second;
  CHECK(nearest["replica"] == "westus");
  CHECK(nearest["reason"] == "nearest");
  CHECK(nearest["sticky"] == false);
  auto bad = api.get("/v1/registries/myregistry/routing?client=not-an-address");
  CHECK(bad.first == 400);
  CHECK_THAT(bad.second["error"].get<std::string>(), Catch::Contains("client must be an IP address"));
  auto bad_cli = runCtl(ctlArgs(d, "routing show --registry myregistry --client 10.1"));
  CHECK(bad_cli.exit_code == 1);

  // spread: all (reload): the shared answer holds both replicas again.
  std::string path = d.dir() + "/switchyard.yaml";
  std::stringstream text;
  text << std::ifstream(path).rdbuf();
  std::string config = text.str();
  config.replace(config.find("  failover_spread: 2\n"), 20, "  failover_spread: 2\n  spread: all\n");
  std::ofstream(path) << config;
  REQUIRE(api.send("POST", "/v1/reload", "").first == 200);
  CHECK(ask(d.v4(), "10.20.1.0/24") == Strings{"A 127.0.0.12", "A 127.0.0.13"});
  auto all = api.get("/v1/registries/myregistry/routing?client=10.20.1.1").second;
  CHECK(all["replica"] == nullptr);
  CHECK(all["replicas"] == json::array({"westus", "westeurope"}));
  CHECK(api.get("/v1/registries/myregistry/routing").second["spread"] == "all");
}
