#include <catch2/catch.hpp>

#include "common/dns_name.h"
#include "common/ip_address.h"

using namespace switchyard;

TEST_CASE("IP addresses parse in both families and print back") {
  CHECK(IpAddress::parse("198.51.100.7")->toString() == "198.51.100.7");
  CHECK(IpAddress::parse("2001:DB8::13")->toString() == "2001:db8::13");
  CHECK_FALSE(IpAddress::parse("198.51.100"));
  CHECK_FALSE(IpAddress::parse("nope"));
  CHECK(IpAddress::parse("::ffff:10.1.2.3")->unmapped() == IpAddress::v4(10, 1, 2, 3));
}

TEST_CASE("prefixes refuse host bits and bad lengths") {
  CHECK(IpPrefix::parse("198.51.100.64/26")->length == 26);
  CHECK(IpPrefix::parse("2001:db8:4::/48")->contains(*IpAddress::parse("2001:db8:4::99")));
  CHECK_FALSE(IpPrefix::parse("198.51.100.65/26"));
  CHECK_FALSE(IpPrefix::parse("198.51.100.0/33"));
  CHECK_FALSE(IpPrefix::parse("198.51.100.0/"));
  CHECK(IpPrefix::parse("10.0.0.1")->length == 32);
}

TEST_CASE("socket addresses need a port and brackets for IPv6") {
  CHECK(SocketAddress::parse("127.0.0.1:5353")->port == 5353);
  CHECK(SocketAddress::parse("[::1]:53")->toString() == "[::1]:53");
  CHECK_FALSE(SocketAddress::parse("::1:53"));
  CHECK_FALSE(SocketAddress::parse("127.0.0.1"));
  CHECK_FALSE(SocketAddress::parse("127.0.0.1:70000"));
}

TEST_CASE("domain names are lowercase wire names with label rules") {
  auto n = DnsName::parse("MyRegistry.CR.example.test.");
  REQUIRE(n);
  CHECK(n->toString() == "myregistry.cr.example.test.");
  CHECK(n->wire() == std::string("\x0amyregistry\x02" "cr\x07" "example\x04test\0", 28));
  CHECK(n->labelCount() == 4);
  CHECK(n->isSubdomainOf(*DnsName::parse("example.test")));
  CHECK_FALSE(n->isSubdomainOf(*DnsName::parse("le.test")));
  CHECK_FALSE(DnsName::parse("a..b"));
  CHECK_FALSE(DnsName::parse(std::string(64, 'a') + ".test"));
  CHECK_FALSE(DnsName::parse("bad label.test"));
  std::string longname;
  for (int i = 0; i < 5; ++i) longname += std::string(60, 'x') + ".";
  CHECK_FALSE(DnsName::parse(longname));
}
