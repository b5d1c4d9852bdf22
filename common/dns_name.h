// DnsName: a domain name kept in lowercase wire format (length-prefixed labels,
// terminated by the root label), the form every lookup on the DNS path uses.
//
// Thread safety: plain value type.
// Invariants:
//   1. wire() is a valid, uncompressed, lowercase wire name of at most 255 bytes
//      with labels of 1..63 bytes, ending in the zero root label.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/result.h"

namespace switchyard {

class DnsName {
 public:
  DnsName() : wire_(1, '\0') {}  // the root name

  // Accepts "a.b.c" or "a.b.c." (case-insensitive; letters, digits, '-', '_').
  static Result<DnsName> parse(std::string_view text);

  const std::string& wire() const { return wire_; }
  size_t wireLength() const { return wire_.size(); }
  int labelCount() const;
  std::string toString() const;  // "a.b.c." (always absolute)

  // `label` + "." + this. REQUIRES: label is a valid label (see isValidLabel).
  Result<DnsName> prepend(std::string_view label) const;
  bool isSubdomainOf(const DnsName& parent) const;  // true for equal names too

  friend bool operator==(const DnsName&, const DnsName&) = default;

 private:
  std::string wire_;
};

// A single label: 1..63 characters of letters, digits, '-' and '_'.
bool isValidLabel(std::string_view label);

}  // namespace switchyard
