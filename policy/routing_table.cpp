#include "policy/routing_table.h"

namespace switchyard::policy {

const char* reasonName(Reason reason) {
  switch (reason) {
    case Reason::Nearest: return "nearest";
    case Reason::FailoverSpread: return "failover-spread";
    case Reason::FailOpen: return "fail-open";
  }
  return "?";
}

std::shared_ptr<const RoutingTable> RoutingTable::withRegistry(
    uint32_t index, std::shared_ptr<const RegistryRouting> part) const {
  auto next = std::make_shared<RoutingTable>(*this);
  next->generation = generation + 1;
  next->registries.set(index, std::move(part));
  return next;
}

}  // namespace switchyard::policy
