#include <catch2/catch.hpp>

#include <map>
#include <random>
#include <set>

#include "config/config_loader.h"
#include "dns/answer_compiler.h"
#include "dns/responder.h"
#include "dns/wire.h"
#include "policy/routing_policy.h"
#include "tests/support/dns_client.h"
#include "tests/support/test_topology.h"
#include "tests/support/test_zone.h"

using namespace switchyard;
using namespace switchyard::dns;
using test::Pkt;

namespace {

using test::Zone;

using Strings = std::vector<std::string>;
const char* kGlobal = "myregistry.cr.example.test.";

IpPrefix prefix(const char* s) { return IpPrefix::parse(s).value(); }

}  // namespace

TEST_CASE("the global name answers each client region with its nearest replica") {
  Zone z;
  auto p = z.ask(kGlobal, rrtype::A);  // 192.0.2.1: no network, default eastus
  REQUIRE(p);
  CHECK(ldns_pkt_get_rcode(p.get()) == LDNS_RCODE_NOERROR);
  CHECK(ldns_pkt_aa(p.get()));
  CHECK_FALSE(ldns_pkt_ra(p.get()));
  CHECK(ldns_pkt_id(p.get()) == 0x1234);
  CHECK(test::answers(p.get()) == Strings{"A 127.0.0.11"});
  CHECK(ldns_rr_ttl(ldns_rr_list_rr(ldns_pkt_answer(p.get()), 0)) == 30);
  CHECK(test::answers(z.ask(kGlobal, rrtype::A, {}, "198.51.100.70").get()) == Strings{"A 127.0.0.12"});
  CHECK(test::answers(z.ask(kGlobal, rrtype::A, {}, "::ffff:198.51.100.130").get()) == Strings{"A 127.0.0.13"});
}

TEST_CASE("EDNS client subnet picks the region and is echoed with a safe scope") {
  Zone z;
  auto p = z.ask(kGlobal, rrtype::A, {.ecs = prefix("198.51.100.128/25")});
  REQUIRE(p);
  CHECK(test::answers(p.get()) == Strings{"A 127.0.0.13"});
  // 198.51.100.128/25 holds westeurope's /26 and unmatched addresses: /26.
  CHECK(test::ecsOf(p.get()) == std::make_pair(25, 26));
  auto v6 = z.ask(kGlobal, rrtype::AAAA, {.ecs = prefix("2001:db8:4::/56")});
  CHECK(test::answers(v6.get()) == Strings{"AAAA 2001:db8::13"});
  CHECK(test::ecsOf(v6.get()) == std::make_pair(56, 48));
  // Names that do not depend on the client carry scope 0.
  auto regional = z.ask("myregistry.westus.geo.cr.example.test", rrtype::A, {.ecs = prefix("198.51.100.0/24")});
  CHECK(test::ecsOf(regional.get()) == std::make_pair(24, 0));
  // Source prefix 0: the resolver asks us not to use client data.
  auto zero = z.ask(kGlobal, rrtype::A, {.ecs = prefix("0.0.0.0/0")}, "198.51.100.70");
  CHECK(test::answers(zero.get()) == Strings{"A 127.0.0.12"});
  CHECK(test::ecsOf(zero.get()) == std::make_pair(0, 0));
}

TEST_CASE("with trust_ecs off the source address decides and no ECS is echoed") {
  Zone z("", "trust_ecs: true", "trust_ecs: false");
  auto p = z.ask(kGlobal, rrtype::A, {.ecs = prefix("198.51.100.128/26")}, "198.51.100.70");
  CHECK(test::answers(p.get()) == Strings{"A 127.0.0.12"});
  CHECK_FALSE(test::ecsOf(p.get()));
}

TEST_CASE("regional and data names always point at their own region") {
  Zone z;
  for (auto& s : z.states[0]) s = {policy::Health::Down, false};
  z.rebuild();
  auto p = z.ask("myregistry.westus.geo.cr.example.test", rrtype::A);
  CHECK(test::answers(p.get()) == Strings{"A 127.0.0.12"});
  CHECK(ldns_rr_ttl(ldns_rr_list_rr(ldns_pkt_answer(p.get()), 0)) == 300);
  CHECK(test::answers(z.ask("myregistry.westeurope.data.cr.example.test", rrtype::A).get()) ==
        Strings{"A 127.0.0.113"});
  CHECK(test::answers(z.ask("myregistry.westeurope.geo.cr.example.test", rrtype::AAAA).get()) ==
        Strings{"AAAA 2001:db8::13"});
  // teamb has no data endpoints.
  CHECK(ldns_pkt_get_rcode(z.ask("teamb.westeurope.data.cr.example.test", rrtype::A).get()) == LDNS_RCODE_NXDOMAIN);
}

TEST_CASE("a replica given by target is answered with a CNAME") {
  Zone z;
  auto p = z.ask("teamb.southeastasia.geo.cr.example.test", rrtype::A);
  CHECK(test::answers(p.get()) == Strings{"CNAME teamb-sea.registry.example.net."});
  auto g = z.ask("teamb.cr.example.test", rrtype::AAAA, {.ecs = prefix("2001:db8:4::/48")});
  CHECK(test::answers(g.get()) == Strings{"CNAME teamb-sea.registry.example.net."});
}

TEST_CASE("apex: SOA, NS with in-zone glue only") {
  Zone z;
  auto soa = z.ask("cr.example.test", rrtype::SOA);
  REQUIRE(test::answers(soa.get()).size() == 1);
  CHECK(test::answers(soa.get())[0] ==
        "SOA ns1.cr.example.test. hostmaster.cr.example.test. 2026112801 3600 600 1209600 30");
  auto ns = z.ask("cr.example.test", rrtype::NS);
  CHECK(test::answers(ns.get()) == Strings{"NS ns1.cr.example.test.", "NS ns2.dns.example.net."});
  CHECK(test::section(ldns_pkt_additional(ns.get())) == Strings{"A 127.0.0.1", "AAAA ::1"});
  CHECK(test::answers(z.ask("ns1.cr.example.test", rrtype::AAAA).get()) == Strings{"AAAA ::1"});
}

TEST_CASE("NXDOMAIN and NODATA carry the SOA with the negative TTL") {
  Zone z;
  auto nx = z.ask("nothing.cr.example.test", rrtype::A);
  CHECK(ldns_pkt_get_rcode(nx.get()) == LDNS_RCODE_NXDOMAIN);
  CHECK(ldns_pkt_aa(nx.get()));
  REQUIRE(ldns_pkt_nscount(nx.get()) == 1);
  ldns_rr* soa = ldns_rr_list_rr(ldns_pkt_authority(nx.get()), 0);
  CHECK(ldns_rr_get_type(soa) == LDNS_RR_TYPE_SOA);
  CHECK(ldns_rr_ttl(soa) == 30);
  CHECK(ldns_pkt_get_rcode(z.ask("x.myregistry.cr.example.test", rrtype::A).get()) == LDNS_RCODE_NXDOMAIN);

  for (const char* name : {kGlobal, "geo.cr.example.test", "westus.geo.cr.example.test", "cr.example.test"}) {
    INFO(name);
    auto nodata = z.ask(name, 15 /* MX */);
    CHECK(ldns_pkt_get_rcode(nodata.get()) == LDNS_RCODE_NOERROR);
    CHECK(ldns_pkt_ancount(nodata.get()) == 0);
    CHECK(test::section(ldns_pkt_authority(nodata.get())).size() == 1);
  }
  // A name with only IPv4 addresses has no AAAA: NODATA.
  auto v6 = z.ask("myregistry.westus.geo.cr.example.test", rrtype::AAAA);
  CHECK(ldns_pkt_get_rcode(v6.get()) == LDNS_RCODE_NOERROR);
  CHECK(ldns_pkt_ancount(v6.get()) == 0);
}

TEST_CASE("outside the zone or class: REFUSED without AA") {
  Zone z;
  for (const char* name : {"example.com", "example.test", "xcr.example.test"}) {
    auto p = z.ask(name, rrtype::A);
    CHECK(ldns_pkt_get_rcode(p.get()) == LDNS_RCODE_REFUSED);
    CHECK_FALSE(ldns_pkt_aa(p.get()));
  }
  auto axfr = z.ask("cr.example.test", rrtype::AXFR);
  CHECK(ldns_pkt_get_rcode(axfr.get()) == LDNS_RCODE_REFUSED);
}

TEST_CASE("names match case-insensitively and the question is echoed exactly") {
  Zone z;
  auto q = test::buildQuery("MyReGiStRy.Cr.ExAmPlE.tEsT", rrtype::A);
  auto out = z.raw(q);
  REQUIRE(out.size() > 12 + 32);
  CHECK(std::equal(q.begin() + 12, q.begin() + 12 + 32, out.begin() + 12));
  auto p = test::parse(out);
  CHECK(test::answers(p.get()) == Strings{"A 127.0.0.11"});
}

TEST_CASE("ANY is answered minimally with one RRset (RFC 8482)") {
  Zone z;
  CHECK(test::answers(z.ask(kGlobal, rrtype::ANY).get()) == Strings{"A 127.0.0.11"});
  CHECK(test::answers(z.ask("cr.example.test", rrtype::ANY).get()).size() == 1);
}

TEST_CASE("EDNS: OPT echoed with our payload size, version 1 gets BADVERS") {
  Zone z;
  auto p = z.ask(kGlobal, rrtype::A, {.udp_size = 4096});
  CHECK(ldns_pkt_edns(p.get()));
  CHECK(ldns_pkt_edns_udp_size(p.get()) == kOurUdpPayload);
  auto plain = z.ask(kGlobal, rrtype::A, {.edns = false});
  CHECK_FALSE(ldns_pkt_edns(plain.get()));

  auto q = test::buildQuery(kGlobal, rrtype::A);
  // The OPT TTL's second byte is the version: make it 1.
  q[q.size() - 5] = 1;
  auto bad = test::parse(z.raw(q));
  REQUIRE(bad);
  CHECK(ldns_pkt_edns_extended_rcode(bad.get()) == 1);  // BADVERS = 16 = 1 << 4
  CHECK(ldns_pkt_edns_version(bad.get()) == 0);
  CHECK(ldns_pkt_ancount(bad.get()) == 0);
}

TEST_CASE("answers too large for UDP are truncated and complete over TCP") {
  std::string many = "addresses: [";
  for (int i = 1; i <= 40; ++i) many += std::string(i > 1 ? ", " : "") + "127.0.1." + std::to_string(i);
  many += "]";
  Zone z("", "addresses: [127.0.0.11]", many);
  auto udp = z.ask(kGlobal, rrtype::A, {.edns = false});
  REQUIRE(udp);
  CHECK(ldns_pkt_tc(udp.get()));
  CHECK(ldns_pkt_ancount(udp.get()) == 0);
  CHECK(ldns_pkt_qdcount(udp.get()) == 1);
  auto edns = z.ask(kGlobal, rrtype::A, {.udp_size = 1232});
  CHECK_FALSE(ldns_pkt_tc(edns.get()));  // 40 x 16 bytes fit in 1232
  auto tcp = z.ask(kGlobal, rrtype::A, {.tcp = true, .edns = false});
  CHECK_FALSE(ldns_pkt_tc(tcp.get()));
  CHECK(ldns_pkt_ancount(tcp.get()) == 40);
}

TEST_CASE("FORMERR and NOTIMP keep the ID, garbage and responses get nothing") {
  Zone z;
  auto q = test::buildQuery(kGlobal, rrtype::A);
  q[5] = 2;  // QDCOUNT 2
  auto formerr = z.raw(q);
  REQUIRE(formerr.size() == 12);
  CHECK(formerr[0] == 0x12);
  CHECK(formerr[1] == 0x34);
  CHECK((formerr[3] & 0x0F) == rcode::FormErr);
  q = test::buildQuery(kGlobal, rrtype::A);
  q[2] = 0x20;  // opcode 4 (NOTIFY)
  auto notimp = z.raw(q);
  REQUIRE(notimp.size() == q.size());  // the question kept, as sent
  CHECK(notimp[2] == (0x80 | 0x20));  // QR and the query's opcode
  CHECK((notimp[3] & 0x0F) == rcode::NotImp);
  CHECK(std::equal(q.begin() + 12, q.end(), notimp.begin() + 12));
  CHECK(z.raw({1, 2, 3}).empty());
  q = test::buildQuery(kGlobal, rrtype::A);
  q[2] = 0x80;  // QR: a response, never answered (no reflection loops)
  CHECK(z.raw(q).empty());
}

TEST_CASE("RD and CD are copied, RA is never set") {
  Zone z;
  auto q = test::buildQuery(kGlobal, rrtype::A, {.rd = true});
  q[3] |= 0x10;  // CD
  auto out = z.raw(q);
  CHECK((out[2] & 0x01) == 1);
  CHECK((out[3] & 0x10) == 0x10);
  CHECK((out[3] & 0x80) == 0);
}

TEST_CASE("when_none_eligible servfail answers SERVFAIL for the global name only") {
  Zone z("  when_none_eligible: servfail\n");
  for (auto& s : z.states[0]) s.global_endpoint_routing = false;
  z.rebuild();
  CHECK(ldns_pkt_get_rcode(z.ask(kGlobal, rrtype::A).get()) == LDNS_RCODE_SERVFAIL);
  CHECK(test::answers(z.ask("myregistry.eastus.geo.cr.example.test", rrtype::A).get()) == Strings{"A 127.0.0.11"});
}

TEST_CASE("routing.spread all: a failover spread answers with every chosen replica") {
  Zone z("  spread: all\n");
  z.states[0][0].health = policy::Health::Down;  // eastus
  z.rebuild();
  CHECK(test::answers(z.ask(kGlobal, rrtype::A).get()) == Strings{"A 127.0.0.12", "A 127.0.0.13"});
}

namespace {

// eastus down: its clients (the default region: every unmatched address)
// share westus (127.0.0.12) and westeurope (127.0.0.13, 2001:db8::13).
Zone sharedZone(const std::string& extra = "") {
  Zone z(extra);
  z.states[0][0].health = policy::Health::Down;
  z.rebuild();
  return z;
}

std::string ecsA(const Zone& z, const std::string& subnet, std::pair<int, int>* ecs = nullptr) {
  auto p = z.ask(kGlobal, rrtype::A, {.ecs = prefix(subnet.c_str())});
  auto a = test::answers(p.get());
  if (ecs) *ecs = test::ecsOf(p.get()).value_or(std::make_pair(-1, -1));
  return a.size() == 1 ? a[0] : "not one record: " + std::to_string(a.size());
}

}  // namespace

TEST_CASE("routing.spread sticky: a shared region's answer holds one replica, per client subnet") {
  Zone z = sharedZone();
  std::map<std::string, int> split;
  for (int i = 0; i < 2000; ++i) {
    std::string subnet = "10." + std::to_string(i / 256) + "." + std::to_string(i % 256) + ".0/24";
    std::string a = ecsA(z, subnet);
    ++split[a];
    // Asked again, and from another address of the same /24: the same replica.
    CHECK(ecsA(z, subnet) == a);
    CHECK(ecsA(z, "10." + std::to_string(i / 256) + "." + std::to_string(i % 256) + ".77/32") == a);
  }
  REQUIRE(split.size() == 2);
  CHECK(std::abs(split["A 127.0.0.12"] - 1000) < 100);
  CHECK(std::abs(split["A 127.0.0.13"] - 1000) < 100);
  // Without ECS the query's source subnet decides, the same way.
  std::map<std::string, int> by_source;
  for (int i = 0; i < 200; ++i) {
    std::string src = "10.1." + std::to_string(i) + ".9";
    auto a = test::answers(z.ask(kGlobal, rrtype::A, {.edns = false}, src.c_str()).get());
    REQUIRE(a.size() == 1);
    ++by_source[a[0]];
    std::string other = "10.1." + std::to_string(i) + ".200";
    CHECK(test::answers(z.ask(kGlobal, rrtype::A, {.edns = false}, other.c_str()).get()) == a);
    CHECK(ecsA(z, "10.1." + std::to_string(i) + ".0/24") == a[0]);  // ECS and source agree
  }
  CHECK(by_source.size() == 2);
}

TEST_CASE("routing.spread sticky: A and AAAA for one client subnet name the same replica") {
  Zone z = sharedZone();
  int v6 = 0;
  for (int i = 0; i < 300; ++i) {
    std::string subnet = "10." + std::to_string(2 + i / 256) + "." + std::to_string(i % 256) + ".0/24";
    std::string a = ecsA(z, subnet);
    auto aaaa = test::answers(z.ask(kGlobal, rrtype::AAAA, {.ecs = prefix(subnet.c_str())}).get());
    // westeurope has an IPv6 address, westus none (NODATA): never westeurope's AAAA with westus's A.
    if (a == "A 127.0.0.13") {
      CHECK(aaaa == Strings{"AAAA 2001:db8::13"});
      ++v6;
    } else {
      CHECK(a == "A 127.0.0.12");
      CHECK(aaaa.empty());
    }
  }
  CHECK(v6 > 100);
  CHECK(v6 < 200);
}

TEST_CASE("routing.spread sticky: the ECS scope never covers a client that gets another replica") {
  Zone z = sharedZone();
  std::mt19937 rng(2026);
  auto random_address = [&](uint32_t base, int len) {
    uint32_t host = len == 0 ? rng() : (rng() & ((len == 32) ? 0 : (0xffffffffu >> len)));
    uint32_t a = (len == 0 ? 0 : base) | host;
    return std::to_string(a >> 24) + "." + std::to_string((a >> 16) & 255) + "." + std::to_string((a >> 8) & 255) +
           "." + std::to_string(a & 255);
  };
  for (int i = 0; i < 300; ++i) {
    int source = 20 + static_cast<int>(rng() % 13);  // /20 .. /32
    uint32_t addr = rng() & ~(source == 32 ? 0u : (0xffffffffu >> source));
    std::string subnet = random_address(addr, 32) + "/" + std::to_string(source);
    std::pair<int, int> ecs;
    std::string a = ecsA(z, subnet, &ecs);
    INFO(subnet << " -> " << a << " scope /" << ecs.second);
    // The default region answers this address: a shared answer, so the scope
    // is at least the sticky prefix (every address under /24 gets the same).
    auto region = policy::ClientMap(z.topology->networks, z.topology->default_region).lookup(
        IpAddress::parse(random_address(addr, 32)).value());
    if (region.region != 0) continue;  // a test network's region: not shared
    CHECK(ecs.second >= 24);
    uint32_t base = ecs.second == 0 ? 0 : addr & ~(ecs.second >= 32 ? 0u : (0xffffffffu >> ecs.second));
    for (int k = 0; k < 20; ++k)
      CHECK(ecsA(z, random_address(base, ecs.second) + "/32") == a);
  }
  // An unshared answer keeps the region map's scope (a /8 here).
  std::pair<int, int> ecs;
  ecsA(z, "127.1.2.0/24", &ecs);
  CHECK(ecs.second == 8);
}

TEST_CASE("routing.sticky_prefix sets the subnet that keeps one replica") {
  Zone z = sharedZone("  sticky_prefix: { ipv4: 16, ipv6: 48 }\n");
  std::pair<int, int> ecs;
  std::string a = ecsA(z, "10.9.1.0/24", &ecs);
  CHECK(ecs.second == 16);
  for (int i = 0; i < 50; ++i) CHECK(ecsA(z, "10.9." + std::to_string(i * 5) + ".0/24") == a);
  std::set<std::string> seen;
  for (int i = 0; i < 40; ++i) seen.insert(ecsA(z, "10." + std::to_string(i) + ".0.0/16"));
  CHECK(seen.size() == 2);
}

TEST_CASE("the SOA serial of a published set is patched into every SOA it serves") {
  Zone z;
  auto bumped = std::make_shared<AnswerSet>(*z.set);
  bumped->serial = 2026112899;
  z.set = bumped;
  auto serialOf = [](ldns_rr* soa) { return ldns_rdf2native_int32(ldns_rr_rdf(soa, 2)); };
  auto apex = z.ask("cr.example.test", rrtype::SOA);
  CHECK(serialOf(ldns_rr_list_rr(ldns_pkt_answer(apex.get()), 0)) == 2026112899u);
  auto nx = z.ask("nothing.cr.example.test", rrtype::A);
  CHECK(serialOf(ldns_rr_list_rr(ldns_pkt_authority(nx.get()), 0)) == 2026112899u);
  auto nodata = z.ask(kGlobal, 15);
  CHECK(serialOf(ldns_rr_list_rr(ldns_pkt_authority(nodata.get()), 0)) == 2026112899u);
}

TEST_CASE("a reused Query never lets one query's ECS address bytes leak into the next") {
  // A serving thread reuses one Query for every packet. ECS carries only the
  // source prefix's bytes; the rest must read as zero, or a /16 after a /26
  // is looked up (region) and hashed (sticky subnet) with the /26's bytes.
  Zone z = sharedZone();
  std::vector<uint8_t> out(65535);
  auto answer = [&](Query& scratch, const char* subnet) {
    auto q = test::buildQuery(kGlobal, rrtype::A, {.ecs = prefix(subnet)});
    size_t n = respond(*z.set, q.data(), q.size(), IpAddress::parse("192.0.2.1").value(), Transport::Udp, scratch,
                       out.data(), out.size());
    return test::answers(test::parse({out.begin(), out.begin() + static_cast<long>(n)}).get());
  };
  for (const char* first : {"198.51.100.64/26", "198.51.100.130/32", "10.77.201.0/24"}) {
    for (const char* second : {"198.51.0.0/16", "10.0.0.0/8", "10.77.0.0/20"}) {
      Query fresh, reused;
      answer(reused, first);
      INFO(first << " then " << second);
      CHECK(answer(reused, second) == answer(fresh, second));
    }
  }
  // IPv6: a /48 after a /56 of another network.
  Query fresh, reused;
  answer(reused, "2001:db8:aaaa:bb00::/56");
  CHECK(answer(reused, "2001:db8:cccc::/48") == answer(fresh, "2001:db8:cccc::/48"));
}

TEST_CASE("routing.spread sticky: a client subnet of one family only gets replicas it can reach") {
  // westus has only an IPv4 address, westeurope both: IPv6 client subnets
  // pick among the replicas with IPv6 addresses, for A and AAAA alike (so a
  // dual-stack client is not split), and never get NODATA for AAAA.
  Zone z = sharedZone();
  for (int i = 0; i < 64; ++i) {
    std::string subnet = "2001:db8:" + std::to_string(100 + i) + "::/56";
    auto aaaa = test::answers(z.ask(kGlobal, rrtype::AAAA, {.ecs = prefix(subnet.c_str())}).get());
    CHECK(aaaa == Strings{"AAAA 2001:db8::13"});
    CHECK(ecsA(z, subnet) == "A 127.0.0.13");
  }
  // The control plane's explanation applies the same rule.
  auto part = policy::computeRegistryRouting(*z.topology, policy::Ranking(*z.topology), 0, z.states[0]);
  auto pick = policy::pickForClient(*z.topology, 0, part->clients[0], IpAddress::parse("2001:db8:7::1").value());
  CHECK(pick.replicas == std::vector<uint32_t>{2});
  CHECK(pick.sticky);
}

TEST_CASE("the zone's names and the registries' names: hosts first, empty non-terminals only where a name lies below") {
  // Nameserver hosts below the apex, one under a registry's label (a
  // registry may not share a host's name: the loader refuses it), and
  // regions with and without regional or data names.
  std::string text = test::testConfig();
  text.replace(text.find("@DNS@"), 5, "[\"127.0.0.1:53\"]");
  const std::string ns2 = "  - name: ns2.dns.example.net\n";
  text.replace(text.find(ns2), ns2.size(),
               ns2 + "  - name: ns.sub.cr.example.test\n    addresses: [127.0.0.2]\n"
                     "  - name: sub.deep.below.cr.example.test\n    addresses: [127.0.0.3]\n");
  text += "  - name: sub\n    home: eastus\n    replicas:\n      - { region: eastus, addresses: [127.0.0.31] }\n";
  Zone z;
  z.topology = config::loadTopologyText(text, "t.yaml").value();
  z.states.clear();
  for (const auto& g : z.topology->registries)
    z.states.emplace_back(g.replicas.size(), policy::ReplicaState{policy::Health::Up, true});
  z.rebuild();
  auto rcode = [&](const std::string& name, uint16_t type = rrtype::A) {
    return ldns_pkt_get_rcode(z.ask(name, type).get());
  };
  CHECK(test::answers(z.ask("ns1.cr.example.test", rrtype::A).get()) == Strings{"A 127.0.0.1"});
  CHECK(test::answers(z.ask("ns.sub.cr.example.test", rrtype::A).get()) == Strings{"A 127.0.0.2"});
  // A host whose first label is a registry's: found past the registry.
  CHECK(test::answers(z.ask("sub.deep.below.cr.example.test", rrtype::A).get()) == Strings{"A 127.0.0.3"});
  // sub.ZONE is a registry's global name, not an empty non-terminal.
  CHECK(test::answers(z.ask("sub.cr.example.test", rrtype::A).get()) == Strings{"A 127.0.0.31"});
  // Above the deep host: empty non-terminals, NODATA.
  for (const char* ent : {"deep.below.cr.example.test", "below.cr.example.test"}) {
    INFO(ent);
    auto p = z.ask(ent, rrtype::A);
    CHECK(ldns_pkt_get_rcode(p.get()) == LDNS_RCODE_NOERROR);
    CHECK(ldns_pkt_ancount(p.get()) == 0);
  }
  // Regional and data ancestors exist for the regions that have such names,
  // and only for them: southeastasia has a regional name (teamb), no data one.
  for (const char* ent : {"geo.cr.example.test", "data.cr.example.test", "southeastasia.geo.cr.example.test",
                          "westeurope.data.cr.example.test"}) {
    INFO(ent);
    CHECK(rcode(ent) == LDNS_RCODE_NOERROR);
  }
  CHECK(rcode("southeastasia.data.cr.example.test") == LDNS_RCODE_NXDOMAIN);
  CHECK(rcode("sub.eastus.geo.cr.example.test") == LDNS_RCODE_NXDOMAIN);  // sub has no regional names
  CHECK(rcode("myregistry.southeastasia.geo.cr.example.test") == LDNS_RCODE_NXDOMAIN);  // no replica there
  CHECK(rcode("myregistry.nowhere.geo.cr.example.test") == LDNS_RCODE_NXDOMAIN);
  CHECK(rcode("x.sub.cr.example.test") == LDNS_RCODE_NXDOMAIN);
  CHECK(rcode("MyRegistry.WestUS.Geo.cr.example.test") == LDNS_RCODE_NOERROR);
  CHECK(test::answers(z.ask("TEAMB.westeurope.geo.cr.example.test", rrtype::A).get()) == Strings{"A 127.0.0.21"});
}

TEST_CASE("with no registry at all (a catalog emptied by deletes) the zone still answers its apex and NXDOMAIN") {
  Zone z;
  auto empty = std::make_shared<policy::Topology>(*z.topology);
  empty->registries.clear();
  empty->registry_by_name.clear();
  z.topology = empty;
  z.states.clear();
  z.rebuild();
  CHECK(ldns_pkt_get_rcode(z.ask("cr.example.test", rrtype::SOA).get()) == LDNS_RCODE_NOERROR);
  CHECK(ldns_pkt_get_rcode(z.ask("myregistry.cr.example.test", rrtype::A).get()) == LDNS_RCODE_NXDOMAIN);
  CHECK(ldns_pkt_get_rcode(z.ask("geo.cr.example.test", rrtype::A).get()) == LDNS_RCODE_NXDOMAIN);
}
