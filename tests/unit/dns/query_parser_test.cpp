#include <catch2/catch.hpp>

#include <vector>

#include "dns/query_parser.h"
#include "dns/wire.h"
#include "tests/support/dns_client.h"
#include "tests/support/raw_wire.h"

using namespace switchyard;
using namespace switchyard::dns;
using test::Bytes;
using test::ecs;
using test::opt;

namespace {

ParseStatus parse(const Bytes& b, Query& q) { return parseQuery(b.data(), b.size(), q); }
ParseStatus parse(const Bytes& b) {
  Query q;
  return parse(b, q);
}

// Header + question for "a.test" type A, then `rest`, with counts given.
Bytes raw(uint16_t qd, uint16_t ar, const Bytes& rest = {}, uint8_t flags_hi = 0) {
  Bytes b{0x12, 0x34, flags_hi, 0, 0, static_cast<uint8_t>(qd), 0, 0, 0, 0, 0, static_cast<uint8_t>(ar)};
  Bytes q{1, 'a', 4, 't', 'e', 's', 't', 0, 0, 1, 0, 1};
  b.insert(b.end(), q.begin(), q.end());
  b.insert(b.end(), rest.begin(), rest.end());
  return b;
}

}  // namespace

TEST_CASE("a plain query parses, with the name lowercased and hashed") {
  Query q;
  auto wire = test::buildQuery("MyRegistry.CR.Example.TEST", rrtype::AAAA, {.edns = false, .rd = true});
  REQUIRE(parse(wire, q) == ParseStatus::Ok);
  CHECK(q.id == 0x1234);
  CHECK(q.qtype == rrtype::AAAA);
  CHECK(q.qclass == kClassIn);
  CHECK_FALSE(q.edns);
  CHECK(q.udp_size == 512);
  CHECK((q.flags_hi & 0x01) == 1);
  std::string lower(reinterpret_cast<const char*>(q.qname_lower), q.qname_len);
  CHECK(lower == std::string("\x0amyregistry\x02" "cr\x07" "example\x04test\0", 28));
  CHECK(q.qname_hash == hashName(q.qname_lower, q.qname_len));
  CHECK(q.question_len == 28 + 4);
  CHECK(q.question[1] == 'M');  // the question as sent, for the echo
}

TEST_CASE("EDNS and client subnet are parsed") {
  Query q;
  auto wire = test::buildQuery("a.test", rrtype::A,
                               {.udp_size = 4096, .ecs = IpPrefix::parse("198.51.100.128/26").value()});
  REQUIRE(parse(wire, q) == ParseStatus::Ok);
  CHECK(q.edns);
  CHECK(q.udp_size == 4096);
  REQUIRE(q.ecs.present);
  CHECK(q.ecs.family == 1);
  CHECK(q.ecs.source == 26);
  CHECK(q.ecs.address_len == 4);
  CHECK(q.ecs.address[2] == 100);
  CHECK(q.ecs.address[3] == 128);

  REQUIRE(parse(test::buildQuery("a.test", rrtype::A, {.ecs = IpPrefix::parse("2001:db8:4::/48").value()}), q) ==
          ParseStatus::Ok);
  CHECK(q.ecs.family == 2);
  CHECK(q.ecs.address_len == 6);
  REQUIRE(parse(raw(1, 1, opt({}, 0)), q) == ParseStatus::Ok);
  CHECK(q.edns);
  CHECK_FALSE(q.ecs.present);
}

TEST_CASE("packets that cannot be answered are dropped") {
  CHECK(parse(Bytes{0x12, 0x34, 0, 0}) == ParseStatus::Drop);           // shorter than a header
  CHECK(parse(raw(1, 0, {}, 0x80)) == ParseStatus::Drop);              // a response
}

TEST_CASE("malformed queries are FORMERR, other opcodes NOTIMP") {
  CHECK(parse(raw(1, 0, {}, 0x10)) == ParseStatus::NotImp);  // opcode 2 (STATUS)
  CHECK(parse(raw(1, 0, {}, 0x28)) == ParseStatus::NotImp);  // opcode 5 (UPDATE)
  CHECK(parse(raw(0, 0)) == ParseStatus::FormErr);
  CHECK(parse(raw(2, 0)) == ParseStatus::FormErr);
  CHECK(parse(raw(1, 0, {0})) == ParseStatus::FormErr);  // trailing garbage
  // A compression pointer in the question (even to itself).
  CHECK(parse(Bytes{0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xC0, 12, 0, 1, 0, 1}) == ParseStatus::FormErr);
  // Label longer than 63.
  Bytes b{0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 64};
  b.insert(b.end(), 64, 'a');
  b.insert(b.end(), {0, 0, 1, 0, 1});
  CHECK(parse(b) == ParseStatus::FormErr);
  // Name longer than 255 bytes: five 63-byte labels.
  Bytes l{0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0};
  for (int i = 0; i < 5; ++i) {
    l.push_back(63);
    l.insert(l.end(), 63, 'a');
  }
  l.insert(l.end(), {0, 0, 1, 0, 1});
  CHECK(parse(l) == ParseStatus::FormErr);
  // Truncated question.
  Bytes t = raw(1, 0);
  t.resize(t.size() - 2);
  CHECK(parse(t) == ParseStatus::FormErr);
  // ARCOUNT says more than there is.
  CHECK(parse(raw(1, 2, opt({}))) == ParseStatus::FormErr);
  // An answer record in a query.
  Bytes an = raw(1, 0);
  an[7] = 1;
  CHECK(parse(an) == ParseStatus::FormErr);
}

TEST_CASE("what a FORMERR or NOTIMP reply echoes is kept: question when parsed, OPT when found") {
  Query q;
  auto b = raw(1, 1, opt({0, 10, 0, 9, 1}));  // option overruns
  REQUIRE(parseQuery(b.data(), b.size(), q) == ParseStatus::FormErr);
  CHECK(q.question != nullptr);
  CHECK(q.edns);
  b = raw(1, 0, {0});  // trailing garbage
  REQUIRE(parseQuery(b.data(), b.size(), q) == ParseStatus::FormErr);
  CHECK(q.question != nullptr);
  CHECK_FALSE(q.edns);  // reset from the query before
  b = raw(2, 0);
  REQUIRE(parseQuery(b.data(), b.size(), q) == ParseStatus::FormErr);
  CHECK(q.question == nullptr);
  b = raw(1, 1, opt({}), 0x20);  // NOTIFY with EDNS
  REQUIRE(parseQuery(b.data(), b.size(), q) == ParseStatus::NotImp);
  CHECK(q.question != nullptr);
  CHECK(q.edns);
}

TEST_CASE("an IXFR query's SOA in authority parses (refused later), in another query it is FORMERR") {
  Bytes soa{0, 0, 6, 0, 1, 0, 0, 0, 60, 0, 22, 0, 0};
  soa.resize(soa.size() + 20, 1);  // serial, refresh, retry, expire, minimum
  Bytes b = raw(1, 0, soa);
  b[9] = 1;  // NSCOUNT
  CHECK(parse(b) == ParseStatus::FormErr);  // type A
  b[21] = 251;  // IXFR
  Query q;
  REQUIRE(parse(b, q) == ParseStatus::Ok);
  CHECK(q.qtype == rrtype::IXFR);
  b.pop_back();  // the SOA cut short
  CHECK(parse(b) == ParseStatus::FormErr);
}

TEST_CASE("bad OPT records are FORMERR, EDNS version 1 is BADVERS") {
  Bytes two = opt({});
  Bytes both = two;
  both.insert(both.end(), two.begin(), two.end());
  CHECK(parse(raw(1, 2, both)) == ParseStatus::FormErr);
  CHECK(parse(raw(1, 1, opt({}, 0, 1))) == ParseStatus::FormErr);  // owner not root
  CHECK(parse(raw(1, 1, opt({0, 10, 0, 9, 1}))) == ParseStatus::FormErr);  // option overruns
  CHECK(parse(raw(1, 1, opt({0, 10}))) == ParseStatus::FormErr);  // half an option header
  CHECK(parse(raw(1, 1, opt({}, 1))) == ParseStatus::BadVers);
  // Unknown options (a cookie) are fine.
  CHECK(parse(raw(1, 1, opt({0, 10, 0, 8, 1, 2, 3, 4, 5, 6, 7, 8}))) == ParseStatus::Ok);
}

TEST_CASE("ECS must be well formed (RFC 7871 section 6)") {
  CHECK(parse(raw(1, 1, opt(ecs(1, 24, {198, 51, 100})))) == ParseStatus::Ok);
  CHECK(parse(raw(1, 1, opt(ecs(3, 24, {198, 51, 100})))) == ParseStatus::FormErr);  // family
  CHECK(parse(raw(1, 1, opt(ecs(1, 33, {1, 2, 3, 4, 5})))) == ParseStatus::FormErr);  // prefix > 32
  CHECK(parse(raw(1, 1, opt(ecs(2, 129, Bytes(17, 0))))) == ParseStatus::FormErr);
  CHECK(parse(raw(1, 1, opt(ecs(1, 24, {198, 51, 100, 0})))) == ParseStatus::FormErr);  // too many bytes
  CHECK(parse(raw(1, 1, opt(ecs(1, 24, {198, 51})))) == ParseStatus::FormErr);  // too few
  CHECK(parse(raw(1, 1, opt(ecs(1, 23, {198, 51, 101})))) == ParseStatus::FormErr);  // bits past /23
  CHECK(parse(raw(1, 1, opt(ecs(1, 0, {})))) == ParseStatus::Ok);
  Bytes twice = ecs(1, 24, {198, 51, 100});
  Bytes d = twice;
  d.insert(d.end(), twice.begin(), twice.end());
  CHECK(parse(raw(1, 1, opt(d))) == ParseStatus::FormErr);
  Bytes shortopt{0, 8, 0, 2, 0, 1};
  CHECK(parse(raw(1, 1, opt(shortopt))) == ParseStatus::FormErr);
}
