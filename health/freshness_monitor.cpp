#include "health/freshness_monitor.h"

#include <algorithm>

namespace switchyard::health {

struct FreshnessMonitor::Registry {
  FreshnessTarget target;
  FreshnessTracker tracker;
  FreshnessMonitor* monitor = nullptr;
  uv_timer_t timer{};
  std::vector<std::vector<DigestObservation>> round;  // [replica][canary]
  std::vector<uint64_t> fetches;                      // of the round in flight
  size_t pending = 0;
  uint64_t started_ms = 0;

  explicit Registry(FreshnessTarget t)
      : target(std::move(t)), tracker(target.config, target.regions, target.home) {}
};

std::vector<FreshnessTarget> buildFreshnessTargets(const policy::Topology& topology) {
  std::vector<FreshnessTarget> out;
  for (uint32_t g = 0; g < topology.registries.size(); ++g) {
    const auto& reg = topology.registries[g];
    if (!reg.freshness) continue;
    FreshnessTarget t;
    t.registry = reg.name;
    t.config = *reg.freshness;
    t.interval = reg.health.interval;
    t.timeout = reg.health.timeout;
    for (uint32_t r = 0; r < reg.replicas.size(); ++r) {
      const std::string& region = topology.regions[reg.replicas[r].region].name;
      if (reg.replicas[r].region == reg.home) t.home = r;
      t.regions.push_back(region);
      t.endpoints.push_back(endpointOf(targetOf(topology, g, r)));
    }
    out.push_back(std::move(t));
  }
  return out;
}

FreshnessMonitor::FreshnessMonitor(uv_loop_t* loop, Callback callback)
    : loop_(loop),
      callback_(std::move(callback)),
      fetcher_(loop, [this](uint64_t id, const DigestObservation& o) { onDigest(id, o); }) {}

FreshnessMonitor::~FreshnessMonitor() { close(); }

void FreshnessMonitor::close() {
  if (closed_) return;
  closed_ = true;
  while (!registries_.empty()) remove(registries_.begin()->first);
  fetcher_.close();
}

void FreshnessMonitor::setTargets(std::vector<FreshnessTarget> targets, const std::set<policy::PairKey>& lagging) {
  if (closed_) return;
  std::map<std::string, FreshnessTarget> wanted;
  for (auto& t : targets) wanted.emplace(t.registry, std::move(t));
  std::map<std::string, FreshnessTracker> kept;
  for (auto it = registries_.begin(); it != registries_.end();) {
    auto next = std::next(it);
    auto w = wanted.find(it->first);
    if (w != wanted.end() && w->second == it->second->target) {
      wanted.erase(w);  // unchanged: its rounds go on
    } else {
      if (w != wanted.end()) kept.emplace(it->first, it->second->tracker);
      remove(it->first);
    }
    it = next;
  }
  for (auto& [name, target] : wanted) {
    auto reg = std::make_unique<Registry>(std::move(target));
    if (auto k = kept.find(name); k != kept.end()) {
      reg->tracker.inherit(k->second);
    } else {
      for (size_t r = 0; r < reg->target.regions.size(); ++r)
        if (lagging.count({name, reg->target.regions[r]}))
          reg->tracker.assumeLagging(r, static_cast<int64_t>(uv_now(loop_)));
    }
    reg->monitor = this;
    uv_timer_init(loop_, &reg->timer);
    reg->timer.data = reg.get();
    std::uniform_real_distribution<double> first(0.0, static_cast<double>(reg->target.interval.count()));
    uv_timer_start(&reg->timer, [](uv_timer_t* t) {
      auto* r = static_cast<Registry*>(t->data);
      r->monitor->startRound(*r);
    }, static_cast<uint64_t>(first(rng_)), 0);
    registries_.emplace(name, std::move(reg));
  }
}

void FreshnessMonitor::remove(const std::string& name) {
  auto it = registries_.find(name);
  if (it == registries_.end()) return;
  Registry* reg = it->second.release();
  registries_.erase(it);
  for (uint64_t id : reg->fetches) {
    fetcher_.cancel(id);
    in_flight_.erase(id);
  }
  uv_close(reinterpret_cast<uv_handle_t*>(&reg->timer), [](uv_handle_t* h) { delete static_cast<Registry*>(h->data); });
}

void FreshnessMonitor::startRound(Registry& reg) {
  const auto& t = reg.target;
  reg.started_ms = uv_now(loop_);
  reg.round.assign(t.regions.size(), std::vector<DigestObservation>(t.config.canaries.size()));
  reg.fetches.clear();
  reg.pending = t.regions.size() * t.config.canaries.size();
  for (size_t r = 0; r < t.regions.size(); ++r)
    for (size_t c = 0; c < t.config.canaries.size(); ++c) {
      uint64_t id = fetcher_.start(t.endpoints[r], t.config.canaries[c], static_cast<long>(t.timeout.count()));
      in_flight_[id] = {&reg, r, c};
      reg.fetches.push_back(id);
    }
}

void FreshnessMonitor::onDigest(uint64_t id, const DigestObservation& observation) {
  auto it = in_flight_.find(id);
  if (it == in_flight_.end()) return;
  Fetch f = it->second;
  in_flight_.erase(it);
  f.registry->round[f.replica][f.canary] = observation;
  if (--f.registry->pending == 0) endRound(*f.registry);
}

void FreshnessMonitor::report(const Registry& reg) {
  FreshnessReport report;
  report.registry = reg.target.registry;
  for (const auto& c : reg.target.config.canaries) report.canaries.push_back(c.text());
  report.references = reg.tracker.references();
  report.regions = reg.target.regions;
  for (size_t r = 0; r < reg.target.regions.size(); ++r) report.replicas.push_back(reg.tracker.status(r));
  callback_(std::move(report));
}

bool FreshnessMonitor::referenceHas(const std::string& registry, const policy::Canary& canary) const {
  auto it = registries_.find(registry);
  if (it == registries_.end()) return false;
  const auto& canaries = it->second->target.config.canaries;
  const auto& refs = it->second->tracker.references();
  size_t c = static_cast<size_t>(std::find(canaries.begin(), canaries.end(), canary) - canaries.begin());
  return c < canaries.size() && c < refs.size() && !refs[c].empty() && refs[c] != "absent";
}

bool FreshnessMonitor::lagging(const std::string& registry, const std::string& region) const {
  auto it = registries_.find(registry);
  if (it == registries_.end()) return false;
  const auto& regions = it->second->target.regions;
  auto r = std::find(regions.begin(), regions.end(), region);
  return r != regions.end() && it->second->tracker.status(static_cast<size_t>(r - regions.begin())).lagging();
}

bool FreshnessMonitor::markLagging(const std::string& registry, const std::string& region,
                                   const std::string& detail) {
  auto it = registries_.find(registry);
  if (it == registries_.end()) return false;
  Registry& reg = *it->second;
  const auto& regions = reg.target.regions;
  auto r = std::find(regions.begin(), regions.end(), region);
  if (r == regions.end()) return false;
  size_t idx = static_cast<size_t>(r - regions.begin());
  if (reg.tracker.status(idx).lagging()) return true;
  reg.tracker.assumeLagging(idx, static_cast<int64_t>(uv_now(loop_)), detail);
  report(reg);
  return true;
}

void FreshnessMonitor::endRound(Registry& reg) {
  reg.fetches.clear();
  auto now = static_cast<int64_t>(uv_now(loop_));
  reg.tracker.record(reg.round, now);
  report(reg);

  std::uniform_real_distribution<double> jitter(0.9, 1.1);
  double gap = static_cast<double>(reg.target.interval.count()) * jitter(rng_);
  double elapsed = static_cast<double>(uv_now(loop_) - reg.started_ms);
  uv_timer_start(&reg.timer, [](uv_timer_t* t) {
    auto* r = static_cast<Registry*>(t->data);
    r->monitor->startRound(*r);
  }, static_cast<uint64_t>(std::max(0.0, gap - elapsed)), 0);
}

}  // namespace switchyard::health
