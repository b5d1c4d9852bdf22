#include "common/dns_name.h"

#include <cctype>

namespace switchyard {

bool isValidLabel(std::string_view label) {
  if (label.empty() || label.size() > 63) return false;
  for (char c : label)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_')) return false;
  return true;
}

Result<DnsName> DnsName::parse(std::string_view text) {
  if (text == "." ) return DnsName();
  if (!text.empty() && text.back() == '.') text.remove_suffix(1);
  if (text.empty()) return makeError("empty domain name");
  DnsName name;
  name.wire_.clear();
  size_t start = 0;
  while (true) {
    size_t dot = text.find('.', start);
    std::string_view label = text.substr(start, dot == std::string_view::npos ? dot : dot - start);
    if (!isValidLabel(label))
      return makeError("bad label '" + std::string(label) + "' in domain name '" +
                       std::string(text) + "'");
    name.wire_.push_back(static_cast<char>(label.size()));
    for (char c : label) name.wire_.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  name.wire_.push_back('\0');
  if (name.wire_.size() > 255)
    return makeError("domain name longer than 255 bytes: '" + std::string(text) + "'");
  return name;
}

int DnsName::labelCount() const {
  int n = 0;
  for (size_t i = 0; wire_[i] != 0; i += 1 + static_cast<uint8_t>(wire_[i])) ++n;
  return n;
}

std::string DnsName::toString() const {
  if (wire_.size() == 1) return ".";
  std::string out;
  for (size_t i = 0; wire_[i] != 0;) {
    size_t len = static_cast<uint8_t>(wire_[i]);
    out.append(wire_, i + 1, len);
    out.push_back('.');
    i += 1 + len;
  }
  return out;
}

Result<DnsName> DnsName::prepend(std::string_view label) const {
  if (!isValidLabel(label)) return makeError("bad label '" + std::string(label) + "'");
  DnsName out;
  out.wire_.clear();
  out.wire_.push_back(static_cast<char>(label.size()));
  for (char c : label) out.wire_.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  out.wire_ += wire_;
  if (out.wire_.size() > 255) return makeError("domain name longer than 255 bytes");
  return out;
}

bool DnsName::isSubdomainOf(const DnsName& parent) const {
  if (parent.wire_.size() > wire_.size()) return false;
  size_t offset = wire_.size() - parent.wire_.size();
  // The suffix must start on a label boundary.
  size_t i = 0;
  while (i < offset) i += 1 + static_cast<uint8_t>(wire_[i]);
  return i == offset && wire_.compare(offset, std::string::npos, parent.wire_) == 0;
}

}  // namespace switchyard
