#include "control/router.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <ctime>
#include <map>
#include <optional>

#include "dns/answer_compiler.h"

namespace switchyard::control {

namespace {

std::vector<std::vector<policy::ReplicaState>> initialStates(const policy::Topology& t) {
  std::vector<std::vector<policy::ReplicaState>> states;
  for (const auto& g : t.registries) {
    states.emplace_back();
    for (const auto& r : g.replicas)
      states.back().push_back({policy::Health::Unknown, r.global_endpoint_routing});
  }
  return states;
}

std::string describe(const policy::Topology& t, uint32_t g, const policy::RegistryRouting& routing) {
  std::string out;
  for (uint32_t c = 0; c < routing.clients.size(); ++c) {
    out += (out.empty() ? "" : " ") + t.regions[c].name + "->";
    const auto& route = routing.clients[c];
    if (route.servfail) out += "SERVFAIL";
    for (size_t i = 0; i < route.replicas.size(); ++i)
      out += (i ? "," : "") + t.regions[t.registries[g].replicas[route.replicas[i].replica].region].name;
  }
  return out;
}

}  // namespace

Router::Router(config::TopologyPtr topology, dns::AnswerPublisher& publisher,
               const std::map<std::string, policy::Health>& initial)
    : publisher_(publisher), topology_(std::move(topology)) {
  states_ = initialStates(*topology_);
  for (uint32_t g = 0; g < topology_->registries.size(); ++g) {
    const auto& reg = topology_->registries[g];
    for (uint32_t r = 0; r < reg.replicas.size(); ++r) {
      auto it = initial.find(reg.name + "/" + topology_->regions[reg.replicas[r].region].name);
      if (it != initial.end()) states_[g][r].health = it->second;
    }
  }
  rebuildAll();
}

std::map<std::string, policy::Health> Router::healthStates() const {
  std::map<std::string, policy::Health> out;
  for (uint32_t g = 0; g < topology_->registries.size(); ++g) {
    const auto& reg = topology_->registries[g];
    for (uint32_t r = 0; r < reg.replicas.size(); ++r)
      out[reg.name + "/" + topology_->regions[reg.replicas[r].region].name] = states_[g][r].health;
  }
  return out;
}

void Router::rebuildAll() {
  ranking_ = std::make_unique<policy::Ranking>(*topology_);
  // Secondaries compare serials: never let one go backwards or repeat.
  serial_ = std::max(serial_ + 1, static_cast<uint32_t>(std::time(nullptr)));
  table_ = policy::computeRoutingTable(*topology_, *ranking_, states_, ++generation_);
  answers_ = dns::compileAll(*topology_, *table_, serial_);
  publisher_.publish(answers_);
  if (!publisher_.waitAcked(generation_, std::chrono::milliseconds(100)))
    spdlog::warn("event=purge_slow generation={} some DNS worker did not switch within 100ms", generation_);
}

Result<Router::Pair> Router::find(std::string_view registry, std::string_view region) const {
  auto g = topology_->registryIndex(registry);
  if (!g) return makeError("no registry named '" + std::string(registry) + "'");
  auto r = topology_->replicaIndex(*g, region);
  if (!r)
    return makeError("registry '" + std::string(registry) + "' has no replica in '" +
                     std::string(region) + "'");
  return Pair{*g, *r};
}

Result<policy::ReplicaState> Router::state(std::string_view registry, std::string_view region) const {
  auto p = find(registry, region);
  if (!p) return Error{p.error()};
  return states_[p->registry][p->replica];
}

Result<bool> Router::setHealth(std::string_view registry, std::string_view region,
                               policy::Health health, std::string_view cause) {
  auto p = find(registry, region);
  if (!p) return Error{p.error()};
  policy::ReplicaState next = states_[p->registry][p->replica];
  if (next.health == health) return false;
  next.health = health;
  update(*p, next, "health", cause);
  return true;
}

Result<bool> Router::setGlobalEndpointRouting(std::string_view registry, std::string_view region,
                                              bool enabled) {
  auto p = find(registry, region);
  if (!p) return Error{p.error()};
  policy::ReplicaState next = states_[p->registry][p->replica];
  if (next.global_endpoint_routing == enabled) return false;
  next.global_endpoint_routing = enabled;
  update(*p, next, "operator", {});
  return true;
}

void Router::update(Pair pair, const policy::ReplicaState& next, const char* cause,
                    std::string_view detail) {
  states_[pair.registry][pair.replica] = next;
  auto part = policy::computeRegistryRouting(*topology_, *ranking_, pair.registry, states_[pair.registry]);
  bool moved = !(*part == *table_->registries[pair.registry]);
  std::optional<std::chrono::nanoseconds> purge;
  if (moved) {
    // Only a change of routing makes a new generation: the same answers need
    // no recompilation and no wake-up of every worker.
    table_ = table_->withRegistry(pair.registry, part);
    generation_ = table_->generation;
    auto set = std::make_shared<dns::AnswerSet>(*answers_);
    set->generation = generation_;
    set->registries[pair.registry] = dns::compileRegistry(*topology_, *set->zone, pair.registry, *part);
    answers_ = set;
    publisher_.publish(answers_);
    purge = publisher_.waitAcked(generation_, std::chrono::milliseconds(100));
    if (!purge)
      spdlog::warn("event=purge_slow generation={} some DNS worker did not switch within 100ms", generation_);
  }
  const auto& reg = topology_->registries[pair.registry];
  spdlog::info("event=pair_state registry={} replica={} health={} global_endpoint_routing={} cause={} "
               "detail=[{}] routing_changed={} generation={} purge_us={} routing=[{}]",
               reg.name, topology_->regions[reg.replicas[pair.replica].region].name,
               policy::healthName(next.health), next.global_endpoint_routing, cause, detail, moved,
               generation_, purge ? purge->count() / 1000 : -1, describe(*topology_, pair.registry, *part));
}

void Router::applyTopology(config::TopologyPtr topology) {
  struct Old {
    policy::ReplicaState state;
    bool configured_flag;
  };
  std::map<std::pair<std::string, std::string>, Old> old;
  for (uint32_t g = 0; g < topology_->registries.size(); ++g) {
    const auto& reg = topology_->registries[g];
    for (uint32_t r = 0; r < reg.replicas.size(); ++r)
      old[{reg.name, topology_->regions[reg.replicas[r].region].name}] = {
          states_[g][r], reg.replicas[r].global_endpoint_routing};
  }
  topology_ = std::move(topology);
  states_ = initialStates(*topology_);
  for (uint32_t g = 0; g < topology_->registries.size(); ++g) {
    const auto& reg = topology_->registries[g];
    for (uint32_t r = 0; r < reg.replicas.size(); ++r) {
      auto it = old.find({reg.name, topology_->regions[reg.replicas[r].region].name});
      if (it == old.end()) continue;
      states_[g][r].health = it->second.state.health;
      // A flag edited in the file wins; otherwise the run-time flag stays.
      if (reg.replicas[r].global_endpoint_routing == it->second.configured_flag)
        states_[g][r].global_endpoint_routing = it->second.state.global_endpoint_routing;
    }
  }
  rebuildAll();
  spdlog::info("event=reload registries={} generation={}", topology_->registries.size(), generation_);
}

}  // namespace switchyard::control
