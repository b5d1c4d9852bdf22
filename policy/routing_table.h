// RoutingTable: for every registry and every client region, which replicas
// answer the global name, with what weight and why.
//
// An immutable snapshot with a generation number. Each registry's part is a
// separate shared object, so a change to one registry builds a new table that
// shares every other registry's part with the previous generation.
// Thread safety: immutable; shared as std::shared_ptr<const RoutingTable>.
// Invariants:
//   1. registries.size() == topology.registries.size(); each part has one
//      ClientRoute per topology region (every region can be a client region).
//   2. A ClientRoute is either non-empty, or empty with servfail == true.
//   3. Weights of a non-empty ClientRoute sum to 1.
#pragma once

#include "common/shared_chunks.h"

#include <cstdint>
#include <memory>
#include <vector>

namespace switchyard::policy {

enum class Reason { Nearest, FailoverSpread, FailOpen };
const char* reasonName(Reason reason);

struct Choice {
  uint32_t replica = 0;
  double weight = 1.0;
  Reason reason = Reason::Nearest;
  friend bool operator==(const Choice&, const Choice&) = default;
};

struct ClientRoute {
  std::vector<Choice> replicas;
  bool servfail = false;
  friend bool operator==(const ClientRoute&, const ClientRoute&) = default;
};

struct RegistryRouting {
  std::vector<ClientRoute> clients;  // indexed by client region
  friend bool operator==(const RegistryRouting&, const RegistryRouting&) = default;
};

struct RoutingTable {
  uint64_t generation = 0;
  SharedChunks<RegistryRouting> registries;  // by registry index

  // A new table, generation + 1, with registry `index` replaced and every
  // other part shared with this one.
  std::shared_ptr<const RoutingTable> withRegistry(
      uint32_t index, std::shared_ptr<const RegistryRouting> part) const;
};

}  // namespace switchyard::policy
