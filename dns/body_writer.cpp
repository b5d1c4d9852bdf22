#include "dns/body_writer.h"

#include "dns/wire.h"

namespace switchyard::dns {

void BodyWriter::u16(uint16_t v) {
  out_.push_back(static_cast<uint8_t>(v >> 8));
  out_.push_back(static_cast<uint8_t>(v));
}

void BodyWriter::u32(uint32_t v) {
  u16(static_cast<uint16_t>(v >> 16));
  u16(static_cast<uint16_t>(v));
}

void BodyWriter::name(const std::string& wire) {
  for (size_t i = 0; i < wire.size() && wire[i] != 0; i += 1u + static_cast<uint8_t>(wire[i])) {
    if (compress_) {
      // The longest suffix of `wire` that is also a suffix of the question name
      // (on a label boundary) becomes a pointer into the question.
      std::string suffix = wire.substr(i);
      if (suffix.size() <= qname_.size()) {
        size_t j = qname_.size() - suffix.size();
        size_t k = 0;
        while (k < j) k += 1u + static_cast<uint8_t>(qname_[k]);
        if (k == j && qname_.compare(j, std::string::npos, suffix) == 0) {
          u16(static_cast<uint16_t>(0xC000 | (kHeaderSize + j)));
          return;
        }
      }
    }
    out_.insert(out_.end(), wire.begin() + static_cast<std::ptrdiff_t>(i),
                wire.begin() + static_cast<std::ptrdiff_t>(i) + 1 + static_cast<uint8_t>(wire[i]));
  }
  out_.push_back(0);
}

size_t BodyWriter::header(const std::string& owner, uint16_t type, uint32_t ttl) {
  name(owner);
  u16(type);
  u16(kClassIn);
  u32(ttl);
  size_t at = out_.size();
  u16(0);
  return at;
}

void BodyWriter::finish(size_t at) { writeU16(&out_[at], static_cast<uint16_t>(out_.size() - at - 2)); }

void BodyWriter::address(const std::string& owner, uint32_t ttl, const IpAddress& ip) {
  size_t at = header(owner, ip.isV4() ? rrtype::A : rrtype::AAAA, ttl);
  out_.insert(out_.end(), ip.bytes.begin(), ip.bytes.begin() + ip.byteLength());
  finish(at);
}

void BodyWriter::cname(const std::string& owner, uint32_t ttl, const DnsName& target) {
  size_t at = header(owner, rrtype::CNAME, ttl);
  name(target.wire());
  finish(at);
}

void BodyWriter::ns(const std::string& owner, uint32_t ttl, const DnsName& host) {
  size_t at = header(owner, rrtype::NS, ttl);
  name(host.wire());
  finish(at);
}

size_t BodyWriter::soa(const std::string& owner, uint32_t ttl, const SoaFields& soa) {
  size_t at = header(owner, rrtype::SOA, ttl);
  name(soa.mname.wire());
  name(soa.rname.wire());
  size_t serial_at = out_.size();
  u32(soa.serial);
  u32(soa.refresh);
  u32(soa.retry);
  u32(soa.expire);
  u32(soa.minimum);
  finish(at);
  return serial_at;
}

}  // namespace switchyard::dns
