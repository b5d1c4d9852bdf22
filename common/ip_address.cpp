#include "common/ip_address.h"

#include <arpa/inet.h>

#include <charconv>
#include <cstring>

namespace switchyard {

std::string IpAddress::toString() const {
  char buf[INET6_ADDRSTRLEN] = {};
  inet_ntop(isV4() ? AF_INET : AF_INET6, bytes.data(), buf, sizeof buf);
  return buf;
}

IpAddress IpAddress::unmapped() const {
  static constexpr uint8_t kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  if (isV4() || std::memcmp(bytes.data(), kMapped, 12) != 0) return *this;
  return v4(bytes[12], bytes[13], bytes[14], bytes[15]);
}

IpAddress IpAddress::v4(uint8_t a, uint8_t b, uint8_t c, uint8_t d) {
  IpAddress ip;
  ip.bytes[0] = a;
  ip.bytes[1] = b;
  ip.bytes[2] = c;
  ip.bytes[3] = d;
  return ip;
}

Result<IpAddress> IpAddress::parse(std::string_view text) {
  std::string s(text);
  IpAddress ip;
  if (s.find(':') == std::string::npos) {
    if (inet_pton(AF_INET, s.c_str(), ip.bytes.data()) == 1) return ip;
  } else {
    ip.family = Family::V6;
    if (inet_pton(AF_INET6, s.c_str(), ip.bytes.data()) == 1) return ip;
  }
  return makeError("not an IP address: '" + s + "'");
}

bool IpPrefix::contains(const IpAddress& a) const {
  if (a.family != address.family) return false;
  for (int i = 0; i < length; ++i)
    if (a.bit(i) != address.bit(i)) return false;
  return true;
}

std::string IpPrefix::toString() const { return address.toString() + "/" + std::to_string(length); }

Result<IpPrefix> IpPrefix::parse(std::string_view text) {
  auto slash = text.find('/');
  auto ip = IpAddress::parse(text.substr(0, slash));
  if (!ip) return Error{ip.error()};
  IpPrefix p{*ip, ip->bitLength()};
  if (slash != std::string_view::npos) {
    auto len = text.substr(slash + 1);
    int n = -1;
    auto [end, ec] = std::from_chars(len.data(), len.data() + len.size(), n);
    if (ec != std::errc() || end != len.data() + len.size() || n < 0 || n > ip->bitLength())
      return makeError("bad prefix length in '" + std::string(text) + "'");
    p.length = n;
  }
  for (int i = p.length; i < p.address.bitLength(); ++i)
    if (p.address.bit(i))
      return makeError("'" + std::string(text) + "' has host bits set past /" +
                       std::to_string(p.length));
  return p;
}

std::string SocketAddress::toString() const {
  return address.isV4() ? address.toString() + ":" + std::to_string(port)
                        : "[" + address.toString() + "]:" + std::to_string(port);
}

Result<SocketAddress> SocketAddress::parse(std::string_view text) {
  std::string_view host, port;
  if (!text.empty() && text[0] == '[') {
    auto close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':')
      return makeError("expected '[IPv6]:PORT', got '" + std::string(text) + "'");
    host = text.substr(1, close - 1);
    port = text.substr(close + 2);
  } else {
    auto colon = text.rfind(':');
    if (colon == std::string_view::npos || text.find(':') != colon)
      return makeError("expected 'IPv4:PORT' or '[IPv6]:PORT', got '" + std::string(text) + "'");
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
  }
  auto ip = IpAddress::parse(host);
  if (!ip) return Error{ip.error()};
  unsigned p = 0;
  auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), p);
  if (ec != std::errc() || end != port.data() + port.size() || port.empty() || p > 65535)
    return makeError("bad port in '" + std::string(text) + "'");
  return SocketAddress{*ip, static_cast<uint16_t>(p)};
}

}  // namespace switchyard
