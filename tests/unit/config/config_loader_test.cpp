#include <catch2/catch.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "config/config_loader.h"
#include "config/duration.h"
#include "tests/support/test_topology.h"

using namespace switchyard;

namespace {

std::string base() {
  std::string text = test::testConfig();
  text.replace(text.find("@DNS@"), 5, "[\"127.0.0.1:5353\", \"[::1]:5353\"]");
  return text;
}

// Replaces the first occurrence of `from` in the base config.
std::string edit(const std::string& from, const std::string& to) {
  std::string text = base();
  auto at = text.find(from);
  REQUIRE(at != std::string::npos);
  text.replace(at, from.size(), to);
  return text;
}

std::string errorOf(const std::string& text) {
  auto t = config::loadTopologyText(text, "sy.yaml");
  if (t) return "";
  return t.error();
}

}  // namespace

TEST_CASE("the test topology loads with every documented meaning") {
  auto t = config::loadTopologyText(base(), "sy.yaml", "/etc/switchyard");
  REQUIRE(t);
  const auto& topo = **t;
  CHECK(topo.zone.toString() == "cr.example.test.");
  CHECK(topo.nameservers.size() == 2);
  CHECK(topo.ttl.global == 30);
  CHECK(topo.ttl.apex == 3600);
  CHECK(topo.listen_dns.size() == 2);
  CHECK(topo.regions.size() == 4);
  CHECK(topo.regions[2].name == "westeurope");
  CHECK(topo.regions[2].latitude == Approx(52.37));
  CHECK(topo.trust_ecs);
  CHECK(topo.networks.size() == 6);
  CHECK(topo.failover_spread == 2);
  CHECK(topo.spread == policy::Spread::Sticky);  // the default: one replica per client subnet
  CHECK(topo.sticky_prefix == policy::StickyPrefix{24, 56});
  REQUIRE(topo.registries.size() == 2);
  const auto& g = topo.registries[0];
  CHECK(g.name == "myregistry");
  CHECK(g.regional_endpoints);
  CHECK(g.data_endpoints);
  CHECK(g.replicas[2].addresses.size() == 2);
  CHECK(g.health.fall == 3);
  CHECK(g.health.rise == 2);
  CHECK(g.health.path == "/v2/");
  CHECK(topo.registries[1].replicas[1].target->toString() == "teamb-sea.registry.example.net.");
  CHECK_FALSE(topo.registries[1].data_endpoints);
}

TEST_CASE("the demo config and the reference file load with their meaning") {
  auto demo = config::loadTopologyFile(SOURCE_DIR "/deploy/examples/switchyard.yaml");
  REQUIRE(demo);
  const auto& t = **demo;
  CHECK(t.registries[1].health.interval == std::chrono::seconds(5));
  CHECK(t.registries[1].health.fall == 2);
  CHECK(t.registries[1].health.rise == 2);  // inherited from the defaults
  CHECK(t.admin_token_file == SOURCE_DIR "/deploy/examples/admin.token");
  CHECK(t.threads == 2);

  std::string reference = SOURCE_DIR "/../shared/switchyard.example.yaml";
  if (!std::ifstream(reference)) {
    WARN("shared/switchyard.example.yaml is not beside the checkout; part of this test did not run");
    return;
  }
  // Every key of the reference file is built: it loads whole, with its meaning.
  auto ref = config::loadTopologyFile(reference);
  INFO((ref ? "" : ref.error()));
  REQUIRE(ref);
  CHECK((*ref)->registries.size() == 2);
  CHECK((*ref)->announce.notify.at(0).toString() == "127.0.0.1:5300");
  CHECK((*ref)->announce.webhooks.at(0) == "http://127.0.0.1:9000/switchyard-events");
  const auto& fresh = (*ref)->registries[0].freshness;
  REQUIRE(fresh);
  REQUIRE(fresh->canaries.size() == 1);
  CHECK(fresh->canaries[0].repository == "canary/heartbeat");
  CHECK(fresh->canaries[0].tag == "latest");
  CHECK(fresh->max_staleness == std::chrono::minutes(2));
  CHECK(fresh->reference == policy::FreshnessReference::Home);
  CHECK_FALSE((*ref)->registries[1].freshness);
}

TEST_CASE("routing.spread and routing.sticky_prefix are read") {
  auto t = config::loadTopologyText(
      edit("failover_spread: 2", "failover_spread: 2\n  spread: all\n  sticky_prefix: { ipv4: 20, ipv6: 48 }"), "sy.yaml");
  REQUIRE(t);
  CHECK((*t)->spread == policy::Spread::All);
  CHECK((*t)->sticky_prefix == policy::StickyPrefix{20, 48});
}

TEST_CASE("errors name file:line:column, the key path and the rule") {
  CHECK(errorOf(edit("trust_ecs: true", "trust_ecs: true\n  trust_ecss: true")) ==
        "sy.yaml:16:3: clients.trust_ecss: unknown key (expected one of: trust_ecs, default_region, networks)");
  CHECK_THAT(errorOf(edit("198.51.100.0/26", "198.51.100.0/33")),
             Catch::StartsWith("sy.yaml:18:15: clients.networks[0].cidr: bad prefix length"));
  CHECK_THAT(errorOf(edit("198.51.100.64/26", "198.51.100.65/26")),
             Catch::Contains("clients.networks[1].cidr: '198.51.100.65/26' has host bits set past /26"));
  CHECK_THAT(errorOf(edit("region: westus }", "region: northpole }")),
             Catch::Contains("clients.networks[1].region: region 'northpole' is not declared under 'regions'"));
  CHECK_THAT(errorOf(edit("      - region: westus\n", "      - region: eastus\n")),
             Catch::Contains("registries[0].replicas[1].region: duplicate replica: registry 'myregistry' "
                             "already has a replica in 'eastus'"));
  CHECK_THAT(errorOf(edit("        addresses: [127.0.0.21]\n", "")),
             Catch::Contains("registries[1].replicas[0]: replica needs 'addresses' or 'target'"));
  CHECK_THAT(errorOf(edit("        target: teamb-sea", "        addresses: [127.0.0.9]\n        target: teamb-sea")),
             Catch::Contains("give either 'addresses' or 'target', not both"));
  CHECK_THAT(errorOf(edit("addresses: [127.0.0.12]", "addresses: [127.0.0.x]")),
             Catch::Contains("registries[0].replicas[1].addresses[0]: not an IP address: '127.0.0.x'"));
  CHECK_THAT(errorOf(edit("failover_spread: 2", "failover_spread: 2\n  when_none_eligible: fail-closed")),
             Catch::Contains("routing.when_none_eligible: expected 'fail-open' or 'servfail'"));
  CHECK_THAT(errorOf(edit("failover_spread: 2", "failover_spread: 2\n  spread: some")),
             Catch::Matches("sy\\.yaml:[0-9]+:11: routing\\.spread: expected 'sticky' or 'all', got 'some'"));
  CHECK_THAT(errorOf(edit("failover_spread: 2", "failover_spread: 2\n  sticky_prefix: { ipv4: 33 }")),
             Catch::Matches("sy\\.yaml:[0-9]+:[0-9]+: routing\\.sticky_prefix\\.ipv4: .*32.*"));
  CHECK_THAT(errorOf(edit("failover_spread: 2", "failover_spread: 2\n  sticky_prefix: { ipv6: 8 }")),
             Catch::Contains("routing.sticky_prefix.ipv6:"));
  CHECK_THAT(errorOf(edit("failover_spread: 2", "failover_spread: 2\n  sticky_prefix: { ipv5: 24 }")),
             Catch::Contains("routing.sticky_prefix.ipv5: unknown key (expected one of: ipv4, ipv6)"));
  CHECK_THAT(errorOf(edit("failover_spread: 2", "failover_spread: 2\n  sticky_prefix: 24")),
             Catch::Contains("routing.sticky_prefix: expected a mapping"));
  CHECK_THAT(errorOf(edit("global: 30", "global: thirty")),
             Catch::Contains("sy.yaml:6:16: ttl.global: expected a whole number, got 'thirty'"));
  CHECK_THAT(errorOf(edit("home: eastus", "home: southeastasia")),
             Catch::Contains("registries[0].home: home region 'southeastasia' has no replica"));
  CHECK_THAT(errorOf(edit("data_addresses: [127.0.0.112]", "")),
             Catch::Contains("registry 'myregistry' has data_endpoints enabled, so every replica needs 'data_addresses'"));
  CHECK_THAT(errorOf(edit("name: teamb", "name: geo")), Catch::Contains("'geo' is reserved"));
  CHECK_THAT(errorOf(edit("name: teamb", "name: myregistry")), Catch::Contains("duplicate registry 'myregistry'"));
  CHECK_THAT(errorOf(edit("  - name: ns1.cr.example.test\n    addresses: [127.0.0.1, \"::1\"]\n",
                          "  - name: ns1.cr.example.test\n")),
             Catch::Contains("is inside the zone and needs 'addresses' (glue)"));
  CHECK_THAT(errorOf(edit("location: [1.35, 103.82]", "location: [91, 103.82]")),
             Catch::Contains("latitude must be a number between -90 and 90"));
  CHECK_THAT(errorOf(edit("zone: cr.example.test", "zone: cr..example")), Catch::Contains("sy.yaml:1:7: zone: bad label"));
  CHECK_THAT(errorOf(edit("default_region: eastus", "default_region: mars")),
             Catch::Contains("clients.default_region: region 'mars' is not declared"));
  CHECK_THAT(errorOf(edit("dns: [", "dns: [\"127.0.0.1\", ")), Catch::Contains("listen.dns[0]: expected 'IPv4:PORT'"));
}

TEST_CASE("probe settings are validated where they are written") {
  CHECK_THAT(errorOf(edit("health:\n  scheme: none", "health: { interval: 10 }\n#")),
             Catch::Contains("health.interval: bad duration '10' (expected a whole number and a unit"));
  CHECK_THAT(errorOf(edit("health:\n  scheme: none", "health: { interval: 1s, timeout: 2s }\n#")),
             Catch::Contains("must not be shorter than timeout"));
  CHECK_THAT(errorOf(edit("health:\n  scheme: none", "health: { scheme: ftp }\n#")),
             Catch::Contains("health.scheme: expected http, https, tcp or none"));
  CHECK_THAT(errorOf(edit("health:\n  scheme: none", "health: { healthy_status: [\"200-99\"] }\n#")),
             Catch::Contains("health.healthy_status[0]: HTTP status range must lie within 100-599"));
  CHECK_THAT(errorOf(edit("health:\n  scheme: none", "health: { host_header: \"{registry}.{nope}\" }\n#")),
             Catch::Contains("unknown placeholder"));
  CHECK_THAT(errorOf(edit("    regional_endpoints: enabled\n    replicas:\n      - region: westeurope",
                          "    regional_endpoints: enabled\n    health: { fall: 0 }\n    replicas:\n      - region: westeurope")),
             Catch::Contains("registries[1].health.fall: must be between 1 and 1000, got 0"));
  auto ok = config::loadTopologyText(
      edit("health:\n  scheme: none", "health: { scheme: https, port: 443, tls: { verify: false, ca_file: ca.pem },"
                       " headers: { X-Probe: switchyard }, throttled_status: [429, \"503\"] }\n#"),
      "sy.yaml", "/etc/sy");
REQUIRE(ok);
  const auto& h = (*ok)->registries[0].health;
  CHECK(h.scheme == policy::ProbeScheme::Https);
  CHECK(h.port == 443);
  CHECK_FALSE(h.tls_verify);
  CHECK(h.ca_file == "/etc/sy/ca.pem");
  CHECK(h.headers.size() == 1);
  CHECK(h.throttled_status.size() == 2);
  CHECK(h.throttled_status[1].contains(503));
}

TEST_CASE("announce: NOTIFY targets default to port 53, webhooks must be http(s) URLs") {
  auto t = config::loadTopologyText(base() + "announce:\n  notify: [\"127.0.0.9\", \"127.0.0.8:5300\", \"::1\", \"[::1]:54\"]\n"
                                             "  webhooks: [{ url: \"https://hooks.example.net/x\" }]\n", "x");
  REQUIRE(t);
  const auto& n = (*t)->announce.notify;
  REQUIRE(n.size() == 4);
  CHECK(n[0].toString() == "127.0.0.9:53");
  CHECK(n[1].toString() == "127.0.0.8:5300");
  CHECK(n[2].toString() == "[::1]:53");
  CHECK(n[3].toString() == "[::1]:54");
  CHECK_THAT(errorOf(base() + "announce: { webhooks: [{ url: ftp://x }] }\n"),
             Catch::Contains("announce.webhooks[0].url: expected an http:// or https:// URL"));
  CHECK_THAT(errorOf(base() + "announce: { notify: [nowhere] }\n"), Catch::Contains("announce.notify[0]: not an IP address"));
}

TEST_CASE("freshness: canaries, max_staleness and reference are checked") {
  auto with = [](const std::string& block) {
    return edit("    home: eastus\n", "    home: eastus\n    health: { scheme: http }\n    freshness: " + block + "\n");
  };
  auto ok = config::loadTopologyText(with("{ canaries: [\"team/app:v1.2\", \"canary/hb:latest\"], reference: majority }"), "sy.yaml");
  REQUIRE(ok);
  const auto& f = *(*ok)->registries[0].freshness;
  CHECK(f.canaries.size() == 2);
  CHECK(f.canaries[0].text() == "team/app:v1.2");
  CHECK(f.max_staleness == std::chrono::minutes(2));  // the default
  CHECK(f.reference == policy::FreshnessReference::Majority);

  CHECK_THAT(errorOf(with("{ max_staleness: 2m }")), Catch::Contains("registries[0].freshness: missing required key 'canaries'"));
  CHECK_THAT(errorOf(with("{ canaries: [] }")), Catch::Contains("registries[0].freshness.canaries: must list at least one image"));
  CHECK_THAT(errorOf(with("{ canaries: [heartbeat] }")), Catch::Contains("freshness.canaries[0]: expected repository:tag"));
  CHECK_THAT(errorOf(with("{ canaries: [\"hb@sha256:00\"] }")), Catch::Contains("is a digest reference; expected repository:tag"));
  CHECK_THAT(errorOf(with("{ canaries: [\"Canary/HB:latest\"] }")), Catch::Contains("'Canary/HB' is not a repository path"));
  CHECK_THAT(errorOf(with("{ canaries: [\"hb:-x\"] }")), Catch::Contains("'-x' is not a tag"));
  CHECK_THAT(errorOf(with("{ canaries: [\"a:b\", \"a:b\"] }")), Catch::Contains("freshness.canaries[1]: duplicate canary 'a:b'"));
  CHECK_THAT(errorOf(with("{ canaries: [\"a:b\"], reference: newest }")),
             Catch::Contains("freshness.reference: expected home or majority, got 'newest'"));
  CHECK_THAT(errorOf(with("{ canaries: [\"a:b\"], max_staleness: 1ms }")),
             Catch::Contains("freshness.max_staleness: must be at least the registry's probe interval"));
  CHECK_THAT(errorOf(with("{ canaries: [\"a:b\"], stale: 2m }")), Catch::Contains("freshness.stale: unknown key"));
  // The canary is read over the registry API, which `scheme: none` rules out.
  CHECK_THAT(errorOf(edit("    home: eastus\n", "    home: eastus\n    freshness: { canaries: [\"a:b\"] }\n")),
             Catch::Contains("registries[0].freshness: needs the registry API"));
}

TEST_CASE("YAML syntax errors, duplicate keys and empty files are reported with positions") {
  CHECK_THAT(errorOf("zone: [a, b\n"), Catch::StartsWith("sy.yaml:2:1: "));
  CHECK_THAT(errorOf(base() + "zone: other.test\n"), Catch::Contains("zone: duplicate key"));
  CHECK(errorOf("") == "sy.yaml: the file is empty");
  auto missing = config::loadTopologyFile("/nonexistent/switchyard.yaml");
  REQUIRE_FALSE(missing);
  CHECK_THAT(missing.error(), Catch::Contains("/nonexistent/switchyard.yaml: cannot open"));
}

TEST_CASE("threads is auto or a number") {
  CHECK((*config::loadTopologyText(base() + "threads: auto\n", "x"))->threads == 0);
  CHECK((*config::loadTopologyText(base() + "threads: 4\n", "x"))->threads == 4);
  CHECK_THAT(errorOf(base() + "threads: many\n"), Catch::Contains("threads: expected a whole number"));
}

TEST_CASE("durations need a unit") {
  CHECK(*config::parseDuration("500ms") == std::chrono::milliseconds(500));
  CHECK(*config::parseDuration("10s") == std::chrono::seconds(10));
  CHECK(*config::parseDuration("2m") == std::chrono::minutes(2));
  CHECK(*config::parseDuration("1h") == std::chrono::hours(1));
  CHECK_FALSE(config::parseDuration("10"));
  CHECK_FALSE(config::parseDuration("-1s"));
  CHECK_FALSE(config::parseDuration("1.5s"));
  CHECK_FALSE(config::parseDuration("s"));
}

TEST_CASE("listen.tcp limits: defaults, values, and errors where they are written") {
  auto defaults = *config::loadTopologyText(base(), "x");
  CHECK(defaults->tcp.idle == std::chrono::seconds(10));
  CHECK(defaults->tcp.max_lifetime == std::chrono::seconds(120));
  CHECK(defaults->tcp.max_connections == 256);
  std::string dns = "  dns: [\"127.0.0.1:5353\", \"[::1]:5353\"]";
  auto set = *config::loadTopologyText(
      edit(dns, dns + "\n  tcp: { idle_timeout: 3s, max_connection_time: 1m, max_connections: 64 }"), "x");
  CHECK(set->tcp.idle == std::chrono::seconds(3));
  CHECK(set->tcp.max_lifetime == std::chrono::minutes(1));
  CHECK(set->tcp.max_connections == 64);
  CHECK_THAT(errorOf(edit(dns, dns + "\n  tcp: { max_connections: 0 }")),
             Catch::Contains("listen.tcp.max_connections"));
  CHECK_THAT(errorOf(edit(dns, dns + "\n  tcp: { idle_timeout: 30s, max_connection_time: 10s }")),
             Catch::Contains("listen.tcp.max_connection_time: must be at least idle_timeout"));
  CHECK_THAT(errorOf(edit(dns, dns + "\n  tcp: { idle: 3s }")), Catch::Contains("sy.yaml:"));
}

TEST_CASE("rate_limit: off by default, values, and errors where they are written") {
  auto defaults = *config::loadTopologyText(base(), "x");
  CHECK(!defaults->rate_limit.enabled());
  auto set = *config::loadTopologyText(
      base() + "rate_limit: { responses_per_second: 20, slip: 1, ipv4_prefix: 32, ipv6_prefix: 64,\n"
               "  exempt: [10.0.0.0/8, \"2001:db8::/32\"], table_size: 4096 }\n",
      "x");
  CHECK(set->rate_limit.enabled());
  CHECK(set->rate_limit.responses_per_second == 20);
  CHECK(set->rate_limit.errors_per_second == 20);  // defaults to responses_per_second
  CHECK(set->rate_limit.slip == 1);
  CHECK(set->rate_limit.ipv4_prefix == 32);
  CHECK(set->rate_limit.ipv6_prefix == 64);
  CHECK(set->rate_limit.exempt.size() == 2);
  CHECK(set->rate_limit.table_size == 4096);
  auto errors = *config::loadTopologyText(base() + "rate_limit: { responses_per_second: 20, errors_per_second: 5 }\n", "x");
  CHECK(errors->rate_limit.errors_per_second == 5);

  CHECK_THAT(errorOf(base() + "rate_limit: { responses_per_second: 70000 }\n"),
             Catch::Contains("rate_limit.responses_per_second"));
  CHECK_THAT(errorOf(base() + "rate_limit: { responses_per_second: 5, table_size: 5000 }\n"),
             Catch::Contains("rate_limit.table_size: must be a power of two"));
  CHECK_THAT(errorOf(base() + "rate_limit: { errors_per_second: 5 }\n"),
             Catch::Contains("needs responses_per_second"));
  CHECK_THAT(errorOf(base() + "rate_limit: { responses_per_second: 5, exempt: [10.0.0.1/8] }\n"),
             Catch::Contains("rate_limit.exempt[0]"));
  std::string text = base();
  auto lines = std::count(text.begin(), text.end(), '\n');
  CHECK_THAT(errorOf(base() + "rate_limit:\n  responses_per_second: 5\n  window: 15\n"),
             Catch::Contains("sy.yaml:" + std::to_string(lines + 3) + ":3: rate_limit.window: unknown key"));
}

TEST_CASE("fleet: node, etcd endpoints, prefix, quorum and lease, with errors where they are written") {
  CHECK_FALSE(config::loadTopologyText(base(), "x").value()->fleet);
  auto t = *config::loadTopologyText(
      base() + "fleet: { node: ns1, etcd: [\"http://127.0.0.1:2379/\", \"http://127.0.0.2:2379\"], prefix: /sy,"
               " quorum: 2, lease_ttl: 5s }\n",
      "x");
  REQUIRE(t->fleet);
  CHECK(t->fleet->node == "ns1");
  CHECK(t->fleet->endpoints == std::vector<std::string>{"http://127.0.0.1:2379", "http://127.0.0.2:2379"});
  CHECK(t->fleet->prefix == "/sy/");
  CHECK(t->fleet->quorum == 2);
  CHECK(t->fleet->lease_ttl == std::chrono::seconds(5));
  auto majority = *config::loadTopologyText(base() + "fleet: { node: b, etcd: [\"http://e:2379\"], quorum: majority }\n", "x");
  CHECK(majority->fleet->quorum == 0);
  CHECK(majority->fleet->prefix == "/switchyard/");
  CHECK_THAT(errorOf(base() + "fleet: { etcd: [\"http://e:2379\"] }\n"), Catch::Contains("fleet: missing required key 'node'"));
  CHECK_THAT(errorOf(base() + "fleet: { node: a, etcd: [\"e:2379\"] }\n"), Catch::Contains("fleet.etcd[0]: expected http://"));
  CHECK_THAT(errorOf(base() + "fleet: { node: a, etcd: [] }\n"), Catch::Contains("fleet.etcd: must list"));
  CHECK_THAT(errorOf(base() + "fleet: { node: a, etcd: [\"http://e\"], lease_ttl: 1500ms }\n"),
             Catch::Contains("fleet.lease_ttl"));
  CHECK_THAT(errorOf(base() + "fleet: { node: \"a.b\", etcd: [\"http://e\"] }\n"), Catch::Contains("fleet.node"));
}

TEST_CASE("health.check content: canary, write_check, and the defaults it needs") {
  // Per registry, with its own canary and a write check.
  auto t = config::loadTopologyText(
      edit("  - name: teamb\n", "  - name: teamb\n    health: { scheme: http, check: content, canary: 'canary/hb:v1', "
                                "write_check: { repository: probe/write, every: 4 } }\n"),
      "sy.yaml");
  REQUIRE(t);
  CHECK((*t)->registries[0].health.check == policy::HealthCheck::Api);  // the default: today's probe
  const auto& h = (*t)->registries[1].health;
  CHECK(h.check == policy::HealthCheck::Content);
  REQUIRE(h.canary);
  CHECK(h.canary->text() == "canary/hb:v1");
  REQUIRE(h.write_check);
  CHECK(h.write_check->repository == "probe/write");
  CHECK(h.write_check->every == 4);

  // The canary defaults to the first freshness canary.
  auto f = config::loadTopologyText(
      edit("  - name: teamb\n", "  - name: teamb\n    health: { scheme: http, check: content }\n"
                                "    freshness: { canaries: ['canary/a:latest', 'canary/b:latest'] }\n"),
      "sy.yaml");
  REQUIRE(f);
  CHECK((*f)->registries[1].health.canary->text() == "canary/a:latest");
  CHECK((*f)->registries[1].health.write_check == std::nullopt);

  // Top-level content check with a write check: a registry can turn the
  // write check off, and one that is never probed (scheme: none) needs no canary.
  std::string text = edit("  scheme: none ", "  scheme: http\n  check: content\n  canary: 'canary/hb:latest'\n"
                                             "  write_check: { repository: probe/w }\n  ");
  auto put = [&](const std::string& from, const std::string& to) { text.replace(text.find(from), from.size(), to); };
  put("  - name: teamb\n", "  - name: teamb\n    health: { write_check: null }\n");
  put("  - name: myregistry\n", "  - name: myregistry\n    health: { scheme: none }\n");
  auto top = config::loadTopologyText(text, "sy.yaml");
  INFO((top ? "" : top.error()));
  REQUIRE(top);
  CHECK((*top)->registries[1].health.write_check == std::nullopt);
  CHECK((*top)->registries[1].health.check == policy::HealthCheck::Content);
  CHECK((*top)->registries[0].health.scheme == policy::ProbeScheme::None);
}

TEST_CASE("health.check content errors name the place and the rule") {
  auto teamb = [](const std::string& health) {
    return errorOf(edit("  - name: teamb\n", "  - name: teamb\n    health: " + health + "\n"));
  };
  CHECK_THAT(teamb("{ scheme: http, check: contents }"),
             Catch::Matches("sy\\.yaml:[0-9]+:[0-9]+: registries\\[1\\]\\.health\\.check: expected api or content, "
                            "got 'contents'"));
  CHECK_THAT(teamb("{ scheme: http, check: content }"),
             Catch::Matches("sy\\.yaml:[0-9]+:[0-9]+: registries\\[1\\]\\.health: health\\.check: content needs an "
                            "image to read: set health\\.canary .*"));
  CHECK_THAT(teamb("{ scheme: tcp, check: content, canary: 'c/x:1' }"),
             Catch::Contains("health.scheme must be http or https"));
  CHECK_THAT(teamb("{ scheme: http, check: content, canary: 'c/x@sha256:00' }"),
             Catch::Contains("registries[1].health.canary: 'c/x@sha256:00' is a digest reference"));
  CHECK_THAT(teamb("{ scheme: http, write_check: { repository: probe/w } }"),
             Catch::Contains("health.write_check needs health.check: content"));
  CHECK_THAT(teamb("{ scheme: http, check: content, canary: 'c/x:1', write_check: { repository: Probe } }"),
             Catch::Contains("registries[1].health.write_check.repository: 'Probe' is not a repository path"));
  CHECK_THAT(teamb("{ scheme: http, check: content, canary: 'c/x:1', write_check: { repository: p, every: 0 } }"),
             Catch::Contains("registries[1].health.write_check.every:"));
  CHECK_THAT(teamb("{ scheme: http, check: content, canary: 'c/x:1', write_check: { repo: p } }"),
             Catch::Contains("write_check.repo: unknown key (expected one of: repository, every)"));
  // Set at the top level, the registry without a canary is named.
  CHECK_THAT(errorOf(edit("  scheme: none ", "  scheme: http\n  check: content ")),
             Catch::Contains("registries[0]: health.check: content needs an image to read"));
}

TEST_CASE("announce.resolvers: each type's keys, secrets from files, and errors at file:line:column") {
  std::string dir = "/tmp/switchyard-resolver-config-test";
  std::filesystem::create_directories(dir);
  std::ofstream(dir + "/pdns.key") << "s3cret\n";
  for (const char* f : {"server.pem", "control.pem", "control.key"}) std::ofstream(dir + "/" + f) << "x";
  auto t = config::loadTopologyText(base() + R"(announce:
  resolvers:
    - { name: pdns-a, type: pdns-recursor, url: "http://127.0.0.1:8082/", api_key_file: pdns.key }
    - { name: unbound-sock, type: unbound, control: /run/unbound.ctl }
    - name: unbound-tls
      type: unbound
      control: 127.0.0.1@8953
      tls: { server_cert: server.pem, client_cert: control.pem, client_key: control.key }
    - { name: kresd, type: knot-resolver, socket: /run/knot-resolver/control/1 }
)", "sy.yaml", dir);
  INFO((t ? "" : t.error()));
  REQUIRE(t);
  const auto& r = (*t)->announce.resolvers;
  REQUIRE(r.size() == 4);
  CHECK(r[0].type == policy::CachingResolver::Type::PdnsRecursor);
  CHECK(r[0].url == "http://127.0.0.1:8082");
  CHECK(r[0].api_key == "s3cret");  // trimmed
  CHECK(r[0].api_key_file == dir + "/pdns.key");
  CHECK(r[1].control == "/run/unbound.ctl");
  CHECK(r[1].tls_server_cert.empty());
  CHECK(r[2].tls_client_key == dir + "/control.key");
  CHECK(r[3].socket == "/run/knot-resolver/control/1");
  CHECK(r[2].target() == "127.0.0.1@8953");

  auto err = [&](const std::string& entry) {
    auto bad = config::loadTopologyText(base() + "announce:\n  resolvers:\n    - " + entry + "\n", "sy.yaml", dir);
    return bad ? std::string() : bad.error();
  };
  CHECK_THAT(err("{ name: x, type: bind }"),
             Catch::Contains("sy.yaml:") && Catch::Contains("announce.resolvers[0].type: expected pdns-recursor, unbound or knot-resolver, got 'bind'"));
  CHECK_THAT(err("{ name: x, type: pdns-recursor, url: \"http://127.0.0.1:1\", api_key_file: missing.key }"),
             Catch::Contains("announce.resolvers[0].api_key_file: cannot read '" + dir + "/missing.key'"));
  CHECK_THAT(err("{ name: x, type: pdns-recursor, url: \"127.0.0.1:8082\", api_key_file: pdns.key }"),
             Catch::Contains("announce.resolvers[0].url: expected http://HOST:PORT"));
  CHECK_THAT(err("{ name: x, type: pdns-recursor, url: \"http://admin:pw@h:1\", api_key_file: pdns.key }"),
             Catch::Contains("announce.resolvers[0].url: no user:password@ in the url") &&
                 !Catch::Contains("pw@"));
  CHECK_THAT(err("{ name: x, type: pdns-recursor, url: \"http://h:1\" }"),
             Catch::Contains("announce.resolvers[0]: missing required key 'api_key_file'"));
  CHECK_THAT(err("{ name: x, type: unbound, control: \"localhost:8953\" }"),
             Catch::Contains("announce.resolvers[0].control: expected ADDRESS@PORT"));
  CHECK_THAT(err("{ name: x, type: unbound, control: /run/u.ctl, tls: { server_cert: server.pem, client_cert: control.pem, client_key: control.key } }"),
             Catch::Contains("announce.resolvers[0].tls: TLS is for control: ADDRESS@PORT"));
  CHECK_THAT(err("{ name: x, type: unbound, control: \"127.0.0.1@8953\", tls: { server_cert: server.pem, client_cert: nope.pem, client_key: control.key } }"),
             Catch::Contains("announce.resolvers[0].tls.client_cert: cannot read"));
  CHECK_THAT(err("{ name: x, type: knot-resolver, socket: control/1 }"),
             Catch::Contains("announce.resolvers[0].socket: expected the absolute path"));
  CHECK_THAT(err("{ name: x, type: knot-resolver, socket: /s, url: \"http://h:1\" }"),
             Catch::Contains("announce.resolvers[0]"));
  std::string long_path = "/run/" + std::string(103, 'k');  // 108 bytes: no room for sockaddr_un's NUL
  CHECK_THAT(err("{ name: x, type: knot-resolver, socket: " + long_path + " }"),
             Catch::Contains("announce.resolvers[0].socket: a unix socket path has at most 107 bytes; this one has 108"));
  CHECK_THAT(err("{ name: x, type: unbound, control: " + long_path + " }"),
             Catch::Contains("announce.resolvers[0].control: a unix socket path has at most 107 bytes"));
  CHECK(err("{ name: x, type: knot-resolver, socket: " + long_path.substr(1) + " }").find("at most") == std::string::npos);
  CHECK_THAT(err("{ name: x, type: pdns-recursor, url: \"http://h:1\", api_key_file: pdns.key, ca_file: server.pem }"),
             Catch::Contains("announce.resolvers[0].ca_file: ca_file is for an https:// url; this one is http"));
  CHECK_THAT(err("{ name: x, type: pdns-recursor, url: \"https://h:1\", api_key_file: pdns.key, ca_file: nope.pem }"),
             Catch::Contains("announce.resolvers[0].ca_file: cannot read"));
  CHECK(err("{ name: x, type: pdns-recursor, url: \"https://h:1\", api_key_file: pdns.key, ca_file: server.pem }").empty());
  CHECK_THAT(err("{ name: \"a b\", type: knot-resolver, socket: /s }"),
             Catch::Contains("announce.resolvers[0].name: expected 1-63 letters"));
  auto twice = config::loadTopologyText(base() + "announce:\n  resolvers:\n    - { name: k, type: knot-resolver, socket: /a }\n"
                                                 "    - { name: k, type: knot-resolver, socket: /b }\n", "sy.yaml", dir);
  REQUIRE_FALSE(twice);
  CHECK_THAT(twice.error(), Catch::Contains("announce.resolvers[1].name: a second resolver named 'k'"));
  // The key never appears in an error.
  auto wrong = config::loadTopologyText(base() + "announce:\n  resolvers:\n    - { name: p, type: pdns-recursor, url: ftp, api_key_file: pdns.key }\n", "sy.yaml", dir);
  REQUIRE_FALSE(wrong);
  CHECK(wrong.error().find("s3cret") == std::string::npos);
}
