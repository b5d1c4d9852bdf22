// IpAddress and IpPrefix: IPv4/IPv6 values used by config, policy and dns.
//
// Thread safety: plain value types.
// Invariants:
//   1. An IPv4 address uses bytes[0..3]; the rest are zero.
//   2. An IpPrefix never has bits set past `length` (parsePrefix refuses them).
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/result.h"

namespace switchyard {

struct IpAddress {
  enum class Family : uint8_t { V4 = 4, V6 = 6 };
  Family family = Family::V4;
  std::array<uint8_t, 16> bytes{};

  bool isV4() const { return family == Family::V4; }
  int byteLength() const { return isV4() ? 4 : 16; }
  int bitLength() const { return isV4() ? 32 : 128; }
  // Bit i counted from the most significant bit of bytes[0].
  bool bit(int i) const { return (bytes[i / 8] >> (7 - i % 8)) & 1; }
  // 0.0.0.0 or :: (a wildcard listen address).
  bool isUnspecified() const {
    for (int i = 0; i < byteLength(); ++i)
      if (bytes[i] != 0) return false;
    return true;
  }
  std::string toString() const;

  // "::ffff:a.b.c.d" -> a.b.c.d; anything else is returned unchanged.
  IpAddress unmapped() const;

  static Result<IpAddress> parse(std::string_view text);
  static IpAddress v4(uint8_t a, uint8_t b, uint8_t c, uint8_t d);

  friend bool operator==(const IpAddress&, const IpAddress&) = default;
};

struct IpPrefix {
  IpAddress address;
  int length = 0;

  bool contains(const IpAddress& a) const;
  std::string toString() const;
  // "198.51.100.0/26", "2001:db8::/48". A bare address is a host prefix.
  static Result<IpPrefix> parse(std::string_view text);

  friend bool operator==(const IpPrefix&, const IpPrefix&) = default;
};

// "127.0.0.1:53", "[::1]:53". The port is required.
struct SocketAddress {
  IpAddress address;
  uint16_t port = 0;
  std::string toString() const;
  static Result<SocketAddress> parse(std::string_view text);
  friend bool operator==(const SocketAddress&, const SocketAddress&) = default;
};

}  // namespace switchyard
