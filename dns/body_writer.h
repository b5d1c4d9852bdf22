// BodyWriter: appends resource records to a precompiled answer body, with
// names compressed against the question name (which always starts at offset
// 12 of a response). Cold path only: used when answers are compiled.
// Thread safety: a local builder; one thread.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/dns_name.h"
#include "common/ip_address.h"

namespace switchyard::dns {

struct SoaFields {
  DnsName mname;
  DnsName rname;
  uint32_t serial = 0;
  uint32_t refresh = 3600, retry = 600, expire = 1209600, minimum = 30;
};

class BodyWriter {
 public:
  // `qname`: the lowercase wire owner name this body answers. With
  // compress == false every name is written in full, so the body is valid after
  // any question (used for NXDOMAIN, whose question name is unknown).
  BodyWriter(std::string qname, bool compress) : qname_(std::move(qname)), compress_(compress) {
    out_.reserve(kReserve);
  }

  void address(const std::string& owner, uint32_t ttl, const IpAddress& ip);
  void cname(const std::string& owner, uint32_t ttl, const DnsName& target);
  void ns(const std::string& owner, uint32_t ttl, const DnsName& host);
  // Returns the offset of the SERIAL field in the body, so a server can patch
  // the current serial into a precompiled answer.
  size_t soa(const std::string& owner, uint32_t ttl, const SoaFields& soa);

  // An exact-size copy: 100,000 registries keep ~10 bodies each, and a
  // buffer grown by doubling holds up to twice its bytes (bench/RESULTS.md,
  // "Scale": memory per pair).
  std::vector<uint8_t> take() { return std::vector<uint8_t>(out_.begin(), out_.end()); }

 private:
  void name(const std::string& wire);
  size_t header(const std::string& owner, uint16_t type, uint32_t ttl);  // returns rdlength offset
  void finish(size_t rdlength_at);
  void u16(uint16_t v);
  void u32(uint32_t v);

  std::string qname_;
  bool compress_;
  static constexpr size_t kReserve = 512;  // most answers fit: one allocation while writing
  std::vector<uint8_t> out_;
};

}  // namespace switchyard::dns
