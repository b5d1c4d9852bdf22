// PairKey: one (registry, replica region) pair, by NAME. Anything that
// crosses an asynchronous step (a state-file write, an etcd round-trip, a
// reload) carries a PairKey and looks indices up at the moment of use, so a
// reload that reorders or drops registries can never make it point at
// another pair. Spelled "registry/region" in state files, etcd keys and logs;
// built and split only here (neither name can contain '/': a registry is one
// DNS label, a region a config key checked by the loader).
// Thread safety: a plain value type.
#pragma once

#include <compare>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace switchyard::policy {

struct PairKey {
  std::string registry;
  std::string region;

  std::string str() const { return registry + "/" + region; }
  // "registry/region" -> the pair; nullopt unless exactly one '/' with a name on each side.
  static std::optional<PairKey> parse(std::string_view text) {
    auto slash = text.find('/');
    if (slash == std::string_view::npos || slash == 0 || slash + 1 == text.size() ||
        text.find('/', slash + 1) != std::string_view::npos)
      return std::nullopt;
    return PairKey{std::string(text.substr(0, slash)), std::string(text.substr(slash + 1))};
  }
  friend auto operator<=>(const PairKey&, const PairKey&) = default;
  friend bool operator==(const PairKey&, const PairKey&) = default;
};

struct PairKeyHash {
  size_t operator()(const PairKey& k) const {
    return std::hash<std::string>()(k.registry) * 31 + std::hash<std::string>()(k.region);
  }
};

}  // namespace switchyard::policy
