// The health interface drives the answer: flip a replica's health through
// health::HealthSink (what the prober will call) and the very next DNS answer,
// over a real socket, has changed. In-process so the test owns the Router.
#include <catch2/catch.hpp>

#include "config/config_loader.h"
#include "control/router.h"
#include "dns/dns_server.h"
#include "tests/support/dns_client.h"
#include "tests/support/test_topology.h"

using namespace switchyard;
using Strings = std::vector<std::string>;

TEST_CASE("flipping a replica's health changes the next global answer, and only that registry's") {
  std::string text = test::testConfig();
  text.replace(text.find("@DNS@"), 5, "[\"127.0.0.1:0\", \"[::1]:0\"]");  // kernel-chosen ports
  auto topology = config::loadTopologyText(text, "flip.yaml").value();
  dns::AnswerPublisher publisher;
  control::Router router(topology, publisher);
  auto server = dns::DnsServer::start(topology->listen_dns, 2, publisher);
  REQUIRE(server);
  SocketAddress dns4 = (*server)->bound()[0];
  REQUIRE(dns4.port != 0);
  health::HealthSink& sink = router;

  test::QueryOptions eastus{.ecs = IpPrefix::parse("198.51.100.0/26").value()};
  const char* global = "myregistry.cr.example.test";
  CHECK(test::answers(test::query(dns4, global, LDNS_RR_TYPE_A, eastus).get()) == Strings{"A 127.0.0.11"});

  REQUIRE(sink.setHealth("myregistry", "eastus", policy::Health::Down).value());
  // No sleep: the change is purged to every worker before setHealth returns.
  // One replica of the two that share eastus now (routing.spread sticky), the
  // same one on every query: many queries so both workers' sockets are hit.
  Strings shared = test::answers(test::query(dns4, global, LDNS_RR_TYPE_A, eastus).get());
  CHECK((shared == Strings{"A 127.0.0.12"} || shared == Strings{"A 127.0.0.13"}));
  for (int i = 0; i < 20; ++i) CHECK(test::answers(test::query(dns4, global, LDNS_RR_TYPE_A, eastus).get()) == shared);
  // Regional names never move; the other registry is untouched.
  CHECK(test::answers(test::query(dns4, "myregistry.eastus.geo.cr.example.test", LDNS_RR_TYPE_A).get()) ==
        Strings{"A 127.0.0.11"});
  CHECK(test::answers(test::query(dns4, "teamb.cr.example.test", LDNS_RR_TYPE_A, eastus).get()) ==
        Strings{"A 127.0.0.21"});

  REQUIRE(sink.setHealth("myregistry", "eastus", policy::Health::Up).value());
  CHECK(test::answers(test::query(dns4, global, LDNS_RR_TYPE_A, eastus).get()) == Strings{"A 127.0.0.11"});

  // An operator exclusion works the same way, over TCP and IPv6 as well.
  REQUIRE(router.setGlobalEndpointRouting("myregistry", "eastus", false).value());
  eastus.tcp = true;
  CHECK(test::answers(test::query((*server)->bound()[1], global, LDNS_RR_TYPE_A, eastus).get()) == shared);
  (*server)->stop();
}
