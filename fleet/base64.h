// Base64 (RFC 4648, with padding): etcd's JSON gateway carries keys and
// values as base64 strings.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace switchyard::fleet {

std::string base64Encode(std::string_view bytes);
// nullopt on a character outside the alphabet or a bad length.
std::optional<std::string> base64Decode(std::string_view text);

}  // namespace switchyard::fleet
