#include "control/router.h"

#include "health/probe_target.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <ctime>
#include <optional>
#include <thread>

#include "common/elapsed.h"
#include "dns/answer_compiler.h"

namespace switchyard::control {

const char* faultName(Fault fault) {
  switch (fault) {
    case Fault::None: return "none";
    case Fault::Down: return "down";
    case Fault::Throttled: return "throttled";
    case Fault::ContentError: return "content_error";
  }
  return "?";
}

std::optional<Fault> faultFromName(std::string_view name) {
  for (Fault f : {Fault::None, Fault::Down, Fault::Throttled, Fault::ContentError})
    if (name == faultName(f)) return f;
  return std::nullopt;
}

namespace {

std::vector<std::vector<policy::ReplicaState>> initialStates(const policy::Topology& t) {
  std::vector<std::vector<policy::ReplicaState>> states;
  for (const auto& g : t.registries) {
    states.emplace_back();
    for (const auto& r : g.replicas) states.back().push_back({policy::Health::Unknown, r.global_endpoint_routing});
  }
  return states;
}

std::vector<std::vector<Fault>> noFaults(const policy::Topology& t) {
  std::vector<std::vector<Fault>> faults;
  for (const auto& g : t.registries) faults.emplace_back(g.replicas.size(), Fault::None);
  return faults;
}

PairKey pairKey(const policy::Topology& t, uint32_t g, uint32_t r) {
  return {t.registries[g].name, t.regions[t.registries[g].replicas[r].region].name};
}

}  // namespace

Router::Router(config::TopologyPtr topology, dns::AnswerPublisher& publisher, const HealthStates& initial,
               uint32_t serial_floor)
    : publisher_(publisher), topology_(std::move(topology)) {
  serial_ = serial_floor;
  states_ = initialStates(*topology_);
  faults_ = noFaults(*topology_);
  for (uint32_t g = 0; g < topology_->registries.size(); ++g)
    for (uint32_t r = 0; r < topology_->registries[g].replicas.size(); ++r) {
      auto it = initial.find(pairKey(*topology_, g, r));
      if (it != initial.end()) states_[g][r].health = it->second;
    }
  rebuildAll(nullptr);
}

std::string Router::describeRouting(uint32_t g) const {
  const auto& routing = *table_->registries[g];
  std::string out;
  for (uint32_t c = 0; c < routing.clients.size(); ++c) {
    out += (out.empty() ? "" : " ") + topology_->regions[c].name + "->";
    const auto& route = routing.clients[c];
    if (route.servfail) out += "SERVFAIL";
    for (size_t i = 0; i < route.replicas.size(); ++i)
      out += (i ? "," : "") +
             topology_->regions[topology_->registries[g].replicas[route.replicas[i].replica].region].name;
  }
  return out;
}

HealthStates Router::healthStates() const {
  HealthStates out;
  for (uint32_t g = 0; g < topology_->registries.size(); ++g)
    for (uint32_t r = 0; r < topology_->registries[g].replicas.size(); ++r)
      out[pairKey(*topology_, g, r)] = states_[g][r].health;
  return out;
}

PairSet Router::laggingPairs() const {
  PairSet out;
  for (uint32_t g = 0; g < topology_->registries.size(); ++g)
    for (uint32_t r = 0; r < topology_->registries[g].replicas.size(); ++r)
      if (states_[g][r].lagging) out.insert(pairKey(*topology_, g, r));
  return out;
}

std::vector<policy::ReplicaState> Router::effectiveOf(const std::vector<policy::ReplicaState>& states,
                                                     const std::vector<Fault>& faults) {
  std::vector<policy::ReplicaState> out = states;
  for (size_t r = 0; r < out.size(); ++r) {
    if (failsHealth(faults[r])) out[r].health = policy::Health::Down;
    if (faults[r] == Fault::Throttled) out[r].health = policy::Health::Up;
  }
  return out;
}

std::vector<policy::ReplicaState> Router::effective(uint32_t g) const { return effectiveOf(states_[g], faults_[g]); }

Router::Snapshot Router::snapshot() const { return {topology_, states_, faults_, overrides_, mutations_}; }

Router::Prepared Router::prepare(const Snapshot& s, config::TopologyPtr next) {
  Prepared p;
  p.topology = std::move(next);
  p.previous = s.previous;
  p.mutations = s.mutations;
  Carry c = carry(*s.previous, *p.topology, s.states, s.faults, s.overrides, nullptr, false);
  p.effective.reserve(c.states.size());
  for (size_t g = 0; g < c.states.size(); ++g) p.effective.push_back(effectiveOf(c.states[g], c.faults[g]));
  p.states = std::move(c.states);
  p.faults = std::move(c.faults);
  p.replaced = std::move(c.replaced);
  policy::Ranking ranking(*p.topology);
  p.table = policy::computeRoutingTable(*p.topology, ranking, p.effective, 0);
  // One thread: the DNS threads are serving meanwhile.
  p.answers = dns::compileAll(*p.topology, *p.table, 0);
  return p;
}

void Router::rebuildAll(const std::vector<uint32_t>* carried, const Prepared* prepared, bool prepared_whole) {
  ranking_ = std::make_unique<policy::Ranking>(*topology_);
  bumpSerial();
  auto from = [&](uint32_t g) { return carried ? (*carried)[g] : kNew; };
  size_t reused = 0, precompiled = 0;
  std::vector<std::vector<policy::ReplicaState>> eff(topology_->registries.size());
  // Per registry: take the prepared part and answers (computed from these very states).
  std::vector<bool> take(topology_->registries.size(), false);
  if (prepared && prepared->topology != topology_) prepared = nullptr;
  prepared_whole = prepared_whole && prepared;
  for (uint32_t g = 0; g < topology_->registries.size(); ++g) {
    if (from(g) != kNew) {
      ++reused;
      continue;
    }
    if (prepared_whole) {  // its states are these: no comparing needed
      take[g] = true;
      ++precompiled;
      continue;
    }
    eff[g] = effective(g);
    if (prepared && eff[g] == prepared->effective[g]) {
      take[g] = true;
      ++precompiled;
    }
  }
  auto t0 = std::chrono::steady_clock::now();
  // A carried registry's part and answers are the previous generation's
  // objects: same definition, same states, so the same result (router.h).
  auto old_table = table_;
  auto old_answers = answers_;
  table_ = policy::computeRoutingTable(*topology_, *ranking_, eff, ++generation_, [&](uint32_t g) {
    if (take[g]) return prepared->table->registries[g];
    return from(g) == kNew ? nullptr : old_table->registries[from(g)];
  });
  auto t1 = std::chrono::steady_clock::now();
  // The first build is the start-up's: no DNS thread serves yet, so every core compiles.
  const size_t threads = old_answers ? 1 : std::max(1u, std::thread::hardware_concurrency());
  answers_ = dns::compileAll(
      *topology_, *table_, serial_,
      [&](uint32_t g) {
        if (take[g]) return prepared->answers->registries[g];
        return from(g) == kNew ? nullptr : old_answers->registries[from(g)];
      },
      threads);
  auto t2 = std::chrono::steady_clock::now();
  (void)publish();
  auto t3 = std::chrono::steady_clock::now();
  old_table.reset();
  old_answers.reset();  // what no generation shares any more is freed here, and counted
  const auto ms = millisBetween;
  // A full rebuild (start-up, reload) is the expensive path: say what it cost.
  spdlog::info("event=rebuild generation={} registries={} reused={} precompiled={} routing_ms={:.1f} compile_ms={:.1f} "
               "publish_ms={:.1f} free_ms={:.1f}",
               generation_, topology_->registries.size(), reused, precompiled, ms(t0, t1), ms(t1, t2), ms(t2, t3),
               ms(t3, std::chrono::steady_clock::now()));
}

std::optional<std::chrono::nanoseconds> Router::publish() {
  publisher_.publish(answers_);
  auto purge = publisher_.waitAcked(generation_, std::chrono::milliseconds(100));
  if (!purge) spdlog::warn("event=purge_slow generation={} some DNS worker did not switch within 100ms", generation_);
  return purge;
}

Result<Router::Pair> Router::find(std::string_view registry, std::string_view region) const {
  auto g = topology_->registryIndex(registry);
  if (!g) return makeError("no registry named '" + std::string(registry) + "'");
  auto r = topology_->replicaIndex(*g, region);
  if (!r)
    return makeError("registry '" + std::string(registry) + "' has no replica in '" + std::string(region) + "'");
  return Pair{*g, *r};
}

Result<policy::ReplicaState> Router::state(std::string_view registry, std::string_view region) const {
  auto p = find(registry, region);
  if (!p) return Error{p.error()};
  return states_[p->registry][p->replica];
}

Result<Fault> Router::fault(std::string_view registry, std::string_view region) const {
  auto p = find(registry, region);
  if (!p) return Error{p.error()};
  return faults_[p->registry][p->replica];
}

template <typename T>
Result<bool> Router::setState(std::string_view registry, std::string_view region, T policy::ReplicaState::*field,
                              T value, const char* cause, std::string_view detail) {
  ++mutations_;
  auto p = find(registry, region);
  if (!p) return Error{p.error()};
  T& current = states_[p->registry][p->replica].*field;
  if (current == value) return false;
  current = value;
  update(*p, cause, detail);
  return true;
}

Result<bool> Router::setHealth(std::string_view registry, std::string_view region, policy::Health health,
                               std::string_view cause) {
  ++mutations_;
  auto p = find(registry, region);
  if (!p) return Error{p.error()};
  auto& s = states_[p->registry][p->replica];
  if (s.health == health && !s.awaiting_probe) return false;
  s.health = health;
  s.awaiting_probe = false;  // decided: a first probe, or a fleet's verdict
  update(*p, "health", cause);
  return true;
}

Result<bool> Router::setGlobalEndpointRouting(std::string_view registry, std::string_view region, bool enabled) {
  ++mutations_;
  return setState(registry, region, &policy::ReplicaState::global_endpoint_routing, enabled, "operator", {});
}

Result<bool> Router::setOperatorFlag(std::string_view registry, std::string_view region, bool enabled) {
  ++mutations_;
  // A pair this topology lacks (a reload dropped it while the decision was
  // on its way, or a fleet peer's config has it) keeps the decision dormant.
  (void)setGlobalEndpointRouting(registry, region, enabled);
  PairKey key{std::string(registry), std::string(region)};
  auto it = overrides_.find(key);
  if (it != overrides_.end() && it->second == enabled) return false;
  overrides_[key] = enabled;
  return true;
}

std::vector<PairKey> Router::restoreOverrides(const Overrides& overrides) {
  ++mutations_;
  std::vector<PairKey> dormant;
  for (const auto& [key, enabled] : overrides) {
    overrides_[key] = enabled;
    if (!setGlobalEndpointRouting(key.registry, key.region, enabled)) dormant.push_back(key);
  }
  return dormant;
}

size_t Router::forgetOverrides(const std::string& registry, const std::function<bool(const std::string&)>& gone) {
  ++mutations_;
  return std::erase_if(overrides_, [&](const auto& kv) { return kv.first.registry == registry && gone(kv.first.region); });
}

void Router::bumpSerial() {
  // Secondaries compare serials: never let one go backwards or repeat.
  serial_ = std::max(serial_ + 1, static_cast<uint32_t>(std::time(nullptr)));
  if (on_serial_) on_serial_(serial_);
}

Overrides Router::orphanedOverrides() const {
  Overrides out;
  for (const auto& [key, enabled] : overrides_)
    if (!find(key.registry, key.region)) out.emplace(key, enabled);
  return out;
}

size_t Router::retainOverrides(const std::function<bool(const PairKey&)>& keep) {
  ++mutations_;
  size_t dropped = 0;
  for (auto it = overrides_.begin(); it != overrides_.end();) {
    if (keep(it->first)) {
      ++it;
      continue;
    }
    if (auto p = find(it->first.registry, it->first.region))
      (void)setGlobalEndpointRouting(it->first.registry, it->first.region,
                                     topology_->registries[p->registry].replicas[p->replica].global_endpoint_routing);
    it = overrides_.erase(it);
    ++dropped;
  }
  return dropped;
}

Result<bool> Router::restoreFlag(std::string_view registry, std::string_view region) {
  ++mutations_;
  auto p = find(registry, region);
  if (!p) return Error{p.error()};
  auto over = overrides_.find(PairKey{std::string(registry), std::string(region)});
  bool flag = over != overrides_.end() ? over->second
                                       : topology_->registries[p->registry].replicas[p->replica].global_endpoint_routing;
  return setGlobalEndpointRouting(registry, region, flag);
}

Result<bool> Router::setFault(std::string_view registry, std::string_view region, Fault fault) {
  ++mutations_;
  auto p = find(registry, region);
  if (!p) return Error{p.error()};
  auto& f = faults_[p->registry][p->replica];
  if (f == fault) return false;
  f = fault;
  update(*p, "fault", std::string("injected=") + faultName(fault));
  return true;
}

Result<bool> Router::setLagging(std::string_view registry, std::string_view region, bool lagging,
                                std::string_view detail) {
  ++mutations_;
  return setState(registry, region, &policy::ReplicaState::lagging, lagging, "freshness", detail);
}

void Router::update(Pair pair, const char* cause, std::string_view detail) {
  auto started = std::chrono::steady_clock::now();
  auto part = policy::computeRegistryRouting(*topology_, *ranking_, pair.registry, effective(pair.registry));
  bool moved = !(*part == *table_->registries[pair.registry]);
  std::optional<std::chrono::nanoseconds> purge;
  if (moved) {
    // Only a change of routing makes a new generation: the same answers need
    // no recompilation and no wake-up of every worker.
    table_ = table_->withRegistry(pair.registry, part);
    generation_ = table_->generation;
    auto set = std::make_shared<dns::AnswerSet>(*answers_);
    set->generation = generation_;
    // Every routing change bumps the SOA serial (secondaries and caches that
    // watch it, and NOTIFY, see a new version of the zone).
    bumpSerial();
    set->serial = serial_;
    set->registries.set(pair.registry, dns::compileRegistry(*topology_, *set->zone, pair.registry, *part));
    answers_ = set;
    purge = publish();
  }
  const auto& reg = topology_->registries[pair.registry];
  PairChange c{reg.name,
               topology_->regions[reg.replicas[pair.replica].region].name,
               cause,
               std::string(detail),
               states_[pair.registry][pair.replica],
               faults_[pair.registry][pair.replica],
               moved,
               generation_,
               describeRouting(pair.registry),
               purge ? std::chrono::duration<double>(*purge).count() : -1};
  // change_us: from the decision to every worker answering with it, i.e. the
  // recompute, the copy of the registry table, the compile and the purge.
  c.change_seconds = moved ? std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count() : -1;
  spdlog::info("event=pair_state registry={} replica={} health={} global_endpoint_routing={} lagging={} fault={} cause={} "
               "detail=[{}] routing_changed={} generation={} purge_us={} change_us={} routing=[{}]",
               c.registry, c.replica, policy::healthName(c.state.health), c.state.global_endpoint_routing,
               c.state.lagging, faultName(c.fault), c.cause, c.detail, moved, generation_,
               purge ? purge->count() / 1000 : -1, moved ? static_cast<int64_t>(c.change_seconds * 1e6) : -1,
               c.routing);
  if (on_change_) on_change_(c);
}

void Router::carryRegistry(const policy::Topology& previous, std::optional<uint32_t> og,
                           const std::vector<policy::ReplicaState>* old_states, const std::vector<Fault>* old_faults,
                           const policy::Topology& next, uint32_t g, const Overrides& overrides, bool log,
                           std::vector<policy::ReplicaState>& states, std::vector<Fault>& faults,
                           std::vector<PairKey>& replaced) {
  const auto& reg = next.registries[g];
  states.clear();
  faults.assign(reg.replicas.size(), Fault::None);
  states.reserve(reg.replicas.size());
  for (uint32_t r = 0; r < reg.replicas.size(); ++r) {
    const auto& rep = reg.replicas[r];
    auto& s = states.emplace_back(policy::ReplicaState{policy::Health::Unknown, rep.global_endpoint_routing});
    PairKey key{reg.name, next.regions[rep.region].name};
    auto over = overrides.find(key);
    auto orr = og ? previous.replicaIndex(*og, key.region) : std::nullopt;
    if (!orr) {
      // A new pair (or one coming back): its dormant override, else the
      // file; out of global routing until its first probe (a pair never
      // probed, scheme none, has nothing to wait for).
      if (over != overrides.end()) s.global_endpoint_routing = over->second;
      s.awaiting_probe = reg.health.scheme != policy::ProbeScheme::None;
      continue;
    }
    const auto& old_reg = previous.registries[*og];
    const auto& old_rep = old_reg.replicas[*orr];
    const auto& was = (*old_states)[*orr];
    const bool probed = old_reg.health.scheme != policy::ProbeScheme::None;
    s.awaiting_probe = was.awaiting_probe;
    s.health = was.health;
    if (probed && reg.health.scheme != policy::ProbeScheme::None &&
        !health::sameProbeEndpoint(old_reg, old_rep, reg, rep)) {
      // Probed somewhere else now: the old verdict says nothing about it.
      if (log)
        spdlog::info("event=probe_endpoint_changed pair={} (out of global routing until its first probe there)",
                     key.str());
      s.health = policy::Health::Unknown;
      s.awaiting_probe = true;
    }
    if (reg.freshness) s.lagging = was.lagging;
    if (reg.health.scheme == policy::ProbeScheme::None && probed) {
      // No longer probed: no probe will ever clear a wait or a down.
      s.health = policy::Health::Unknown;
      s.awaiting_probe = false;
    }
    faults[r] = (*old_faults)[*orr];
    if (rep.global_endpoint_routing != old_rep.global_endpoint_routing) {
      // The file's key was edited: the newer decision wins over the override.
      if (over != overrides.end()) {
        if (log)
          spdlog::info("event=override_replaced pair={} by the file's global_endpoint_routing={}", key.str(),
                       rep.global_endpoint_routing);
        replaced.push_back(key);
      }
      continue;
    }
    // Not edited: the override (equal to the run-time flag), or the run-time flag.
    s.global_endpoint_routing = was.global_endpoint_routing;
  }
}

size_t Router::applyEdit(const policy::Topology& previous, const std::unordered_set<std::string>& edited,
                         const policy::SlotEdit& slots) {
  const auto started = std::chrono::steady_clock::now();
  const policy::Topology& next = *topology_;
  const auto n = static_cast<uint32_t>(next.registries.size());
  // The edited registries as they were, for the reload rule (their pairs
  // that stay keep their health).
  struct Was {
    uint32_t index;
    std::vector<policy::ReplicaState> states;
    std::vector<Fault> faults;
  };
  std::unordered_map<std::string, Was> was;
  for (const auto& name : edited)
    if (auto g = previous.registryIndex(name)) was.emplace(name, Was{*g, states_[*g], faults_[*g]});
  // Every other registry is the same object in a slot the edit says.
  slots.apply(states_, n);
  slots.apply(faults_, n);
  ranking_->edit(next, slots);
  auto table = std::make_shared<policy::RoutingTable>(*table_);
  table->generation = ++generation_;
  slots.applyShared(table->registries);
  std::vector<PairKey> replaced;
  for (uint32_t g = slots.kept; g < n; ++g) {
    auto it = was.find(next.registries[g].name);
    const Was* w = it == was.end() ? nullptr : &it->second;
    carryRegistry(previous, w ? std::optional<uint32_t>(w->index) : std::nullopt, w ? &w->states : nullptr,
                  w ? &w->faults : nullptr, next, g, overrides_, true, states_[g], faults_[g], replaced);
    table->registries.push_back(policy::computeRegistryRouting(next, *ranking_, g, effective(g)));
  }
  for (const auto& key : replaced) overrides_.erase(key);
  table_ = std::move(table);
  bumpSerial();
  auto t1 = std::chrono::steady_clock::now();
  auto old_answers = answers_;
  answers_ = dns::compileEdit(previous, next, *old_answers, *table_, serial_, slots,
                              std::vector<std::string>(edited.begin(), edited.end()));
  auto t2 = std::chrono::steady_clock::now();
  (void)publish();
  auto t3 = std::chrono::steady_clock::now();
  old_answers.reset();
  const auto ms = millisBetween;
  spdlog::info("event=catalog_rebuild generation={} registries={} edited={} routing_ms={:.3f} compile_ms={:.3f} "
               "publish_ms={:.3f} decision_to_answer_ms={:.3f}",
               generation_, n, edited.size(), ms(started, t1), ms(t1, t2), ms(t2, t3), ms(started, t3));
  return replaced.size();
}

Router::Carry Router::carry(const policy::Topology& previous, const policy::Topology& next,
                            std::vector<std::vector<policy::ReplicaState>> old_states,
                            std::vector<std::vector<Fault>> old_faults, const Overrides& overrides,
                            const std::unordered_set<std::string>* edited, bool log) {
  const size_t n = next.registries.size();
  Carry c;
  c.states.reserve(n);
  c.faults.reserve(n);
  c.carried.assign(n, kNew);
  const std::vector<uint32_t> was_at = policy::previousIndices(previous, next);
  for (uint32_t g = 0; g < n; ++g) {
    const auto& reg = next.registries[g];
    std::optional<uint32_t> og;
    if (was_at[g] != policy::kNoIndex) og = was_at[g];
    if (og && edited && edited->count(reg.name) == 0) {
      // A catalog edit: every registry it did not name is the same object
      // of the same file, its pairs exactly as they were.
      c.carried[g] = *og;
      c.states.push_back(std::move(old_states[*og]));
      c.faults.push_back(std::move(old_faults[*og]));
      continue;
    }
    auto& states = c.states.emplace_back();
    auto& faults = c.faults.emplace_back();
    carryRegistry(previous, og, og ? &old_states[*og] : nullptr, og ? &old_faults[*og] : nullptr, next, g, overrides,
                  log, states, faults, c.replaced);
  }
  return c;
}

size_t Router::applyTopology(config::TopologyPtr topology, const std::unordered_set<std::string>* edited,
                             Prepared* prepared, const policy::SlotEdit* slots) {
  ++mutations_;
  auto previous = std::move(topology_);  // the old registries, matched by name below
  topology_ = std::move(topology);
  if (edited && slots && slots->base == previous.get()) return applyEdit(*previous, *edited, *slots);
  if (prepared && !edited && prepared->topology == topology_ && prepared->previous == previous &&
      prepared->mutations + 1 == mutations_) {
    // Nothing changed since its snapshot: its carry is this one (the reload
    // rule is a pure function of the same inputs), so take it whole rather
    // than walk 500,000 pairs again on the loop.
    states_ = std::move(prepared->states);  // consumed: prepared->effective still holds what they were
    faults_ = std::move(prepared->faults);
    for (const auto& key : prepared->replaced) {
      spdlog::info("event=override_replaced pair={} by the file's edit of global_endpoint_routing", key.str());
      overrides_.erase(key);
    }
    rebuildAll(nullptr, prepared, true);
    spdlog::info("event=reload registries={} generation={}", topology_->registries.size(), generation_);
    return prepared->replaced.size();
  }
  Carry c = carry(*previous, *topology_, std::move(states_), std::move(faults_), overrides_, edited, true);
  states_ = std::move(c.states);
  faults_ = std::move(c.faults);
  for (const auto& key : c.replaced) overrides_.erase(key);
  rebuildAll(edited ? &c.carried : nullptr, prepared);
  spdlog::info("event=reload registries={} generation={}", topology_->registries.size(), generation_);
  return c.replaced.size();
}

}  // namespace switchyard::control
