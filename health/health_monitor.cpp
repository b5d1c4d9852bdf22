#include "health/health_monitor.h"

#include "common/thread_name.h"

namespace switchyard::health {

struct HealthMonitor::Pair {
  ProbeTarget target;
  HealthTracker tracker;
  uv_timer_t timer{};
  HealthMonitor* monitor = nullptr;
  uint64_t in_flight = 0;
  uint64_t started_ms = 0;
  bool reported = false;
  bool first_gap = true;
  uint64_t probes = 0;
  bool writing = false;  // the probe in flight runs the write check
  // The replica passed a content check since it was added (or was up before
  // a restart): a content_missing now means lost content, not seeding.
  bool served_content = false;
  // The last write check failed: it runs on every probe until one passes, so
  // the probes between write checks cannot reset the failure streak.
  bool write_failing = false;

  Pair(ProbeTarget t, policy::Health initial)
      : target(std::move(t)),
        tracker(target.spec.fall, target.spec.rise, initial),
        served_content(initial != policy::Health::Unknown) {}
};

HealthMonitor::HealthMonitor(Callbacks callbacks, ProberOptions prober)
    : HealthMonitor(std::move(callbacks), MonitorOptions{.prober = prober}) {}

HealthMonitor::HealthMonitor(Callbacks callbacks, MonitorOptions options)
    : callbacks_(std::move(callbacks)), schedule_(options.seed ? *options.seed : std::random_device{}()) {
  uv_loop_init(&loop_);
  tasks_.init(&loop_);
  ProbeRunner::Callback on_result = [this](uint64_t id, const ProbeReport& r) { onResult(id, r); };
  if (options.make_prober) prober_ = options.make_prober(&loop_, std::move(on_result));
  else prober_ = std::make_unique<Prober>(&loop_, std::move(on_result), options.prober);
  freshness_ = std::make_unique<FreshnessMonitor>(&loop_, [this](FreshnessReport report) {
    if (callbacks_.on_freshness) callbacks_.on_freshness(std::move(report));
  });
}

HealthMonitor::~HealthMonitor() {
  stop();
  uv_loop_close(&loop_);
}

int64_t HealthMonitor::nowMs() const {
  return static_cast<int64_t>(uv_now(const_cast<uv_loop_t*>(&loop_)));
}

void HealthMonitor::start(std::vector<ProbeTarget> targets, const Restored& restored) {
  tasks_.post([this, targets = std::move(targets), restored]() mutable { apply(std::move(targets), restored); });
  thread_ = std::thread([this] {
    nameThisThread("sy-health");
    uv_run(&loop_, UV_RUN_DEFAULT);
  });
}

void HealthMonitor::setTargets(std::vector<ProbeTarget> targets) {
  tasks_.post([this, targets = std::move(targets)]() mutable { apply(std::move(targets), {}); });
}

void HealthMonitor::setFreshness(std::vector<FreshnessTarget> targets, std::set<policy::PairKey> lagging) {
  tasks_.post([this, targets = std::move(targets), lagging = std::move(lagging)]() mutable {
    freshness_->setTargets(std::move(targets), lagging);
  });
}

void HealthMonitor::stop() {
  if (stopped_) return;
  stopped_ = true;
  auto close_all = [this] {
    while (!pairs_.empty()) removePair(pairs_.begin()->first);
    prober_->close();
    freshness_->close();
    tasks_.close();
  };
  if (thread_.joinable()) {
    tasks_.post(close_all);
    thread_.join();
  } else {
    close_all();  // never started: the loop is ours to drain here
    uv_run(&loop_, UV_RUN_DEFAULT);
  }
}

void HealthMonitor::setRegistryTargets(std::set<std::string> registries, std::vector<ProbeTarget> targets) {
  tasks_.post([this, registries = std::move(registries), targets = std::move(targets)]() mutable {
    std::map<policy::PairKey, ProbeTarget> wanted;
    for (auto& t : targets)
      if (t.spec.scheme != policy::ProbeScheme::None && registries.count(t.registry)) wanted.emplace(t.key(), std::move(t));
    // pairs_ is ordered by registry first: each named registry's pairs are one run.
    for (const auto& name : registries)
      for (auto it = pairs_.lower_bound(policy::PairKey{name, ""}); it != pairs_.end() && it->first.registry == name;) {
        auto next = std::next(it);
        if (!wanted.count(it->first)) removePair(it->first);
        it = next;
      }
    addOrUpdate(std::move(wanted), {}, false);
  });
}

void HealthMonitor::apply(std::vector<ProbeTarget> targets, const Restored& restored) {
  std::map<policy::PairKey, ProbeTarget> wanted;
  for (auto& t : targets)
    if (t.spec.scheme != policy::ProbeScheme::None) wanted.emplace(t.key(), std::move(t));
  for (auto it = pairs_.begin(); it != pairs_.end();) {
    auto next = std::next(it);
    if (!wanted.count(it->first)) removePair(it->first);
    it = next;
  }
  addOrUpdate(std::move(wanted), restored, !first_round_reported_ && pairs_.empty());
}

void HealthMonitor::addOrUpdate(std::map<policy::PairKey, ProbeTarget> wanted, const Restored& restored, bool first) {
  for (auto& [key, target] : wanted) {
    auto existing = pairs_.find(key);
    if (existing != pairs_.end() && !sameEndpoint(existing->second->target, target)) {
      // Probed somewhere else now: a new tracker, probed at once (the
      // Router waits for that first verdict, router.h).
      removePair(key);
      existing = pairs_.end();
    }
    if (existing != pairs_.end()) {
      // Unchanged pair: keep its state; new settings apply from the next probe.
      existing->second->tracker.setThresholds(target.spec.fall, target.spec.rise);
      existing->second->target = std::move(target);
      continue;
    }
    auto r = restored.find(key);
    auto pair = std::make_unique<Pair>(std::move(target), r == restored.end() ? policy::Health::Unknown : r->second);
    pair->monitor = this;
    uv_timer_init(&loop_, &pair->timer);
    pair->timer.data = pair.get();
    Pair& p = *pair;
    pairs_.emplace(key, std::move(pair));
    if (first) ++first_round_left_;
    probe(p);
  }
  if (first && first_round_left_ == 0 && !first_round_reported_) {
    first_round_reported_ = true;
    if (callbacks_.on_first_round) callbacks_.on_first_round();
  }
}

void HealthMonitor::removePair(const policy::PairKey& key) {
  auto it = pairs_.find(key);
  if (it == pairs_.end()) return;
  Pair* p = it->second.release();
  pairs_.erase(it);
  if (p->in_flight) {
    prober_->cancel(p->in_flight);
    in_flight_.erase(p->in_flight);
    if (!p->reported && !first_round_reported_ && first_round_left_ > 0) --first_round_left_;
  }
  uv_close(reinterpret_cast<uv_handle_t*>(&p->timer), [](uv_handle_t* h) { delete static_cast<Pair*>(h->data); });
}

void HealthMonitor::probe(Pair& p) {
  p.started_ms = uv_now(&loop_);
  // The write check rides on every `every`-th content probe, the first included.
  const auto& w = p.target.spec.write_check;
  bool write = w && p.target.spec.check == policy::HealthCheck::Content &&
               (p.write_failing || p.probes % static_cast<uint64_t>(w->every) == 0);
  ++p.probes;
  p.writing = write;
  p.in_flight = prober_->start(p.target, write);
  in_flight_[p.in_flight] = &p;
}

bool HealthMonitor::seeding(Pair& p, ProbeReport& report) {
  if (report.result != ProbeResult::ContentMissing || !p.target.spec.canary) return false;
  // Lagging already (behind the reference, or seeding since a restart): a
  // 404 is the lag itself, freshness keeps it out of global routing.
  bool behind = freshness_->lagging(p.target.registry, p.target.region);
  if (p.served_content && !behind) return false;
  if (!freshness_->referenceHas(p.target.registry, *p.target.spec.canary)) return false;
  std::string detail = "seeding (the reference serves the canary, this replica does not yet): " + report.detail;
  if (!freshness_->markLagging(p.target.registry, p.target.region, detail)) return false;
  report.detail = std::move(detail);
  return true;
}

void HealthMonitor::onResult(uint64_t id, const ProbeReport& reported) {
  auto it = in_flight_.find(id);
  if (it == in_flight_.end()) return;
  Pair& p = *it->second;
  in_flight_.erase(it);
  p.in_flight = 0;
  // uv_hrtime, not this loop's uv_now: the control thread compares it with its own clock.
  last_result_ms_.store(static_cast<int64_t>(uv_hrtime() / 1000000), std::memory_order_relaxed);

  ProbeReport report = reported;
  if (report.result == ProbeResult::Ok && p.target.spec.check == policy::HealthCheck::Content) p.served_content = true;
  if (p.writing && report.result != ProbeResult::Throttled) p.write_failing = !countsAsUp(report.result);
  p.writing = false;
  bool up = seeding(p, report) || countsAsUp(report.result);
  policy::Health before = p.tracker.state();
  if (p.tracker.record(report, up) == HealthTracker::Transition::Changed && callbacks_.on_change) {
    HealthChange c{p.target.registry, p.target.region, before, p.tracker.state(),
                   {p.tracker.recent().begin(), p.tracker.recent().end()}};
    callbacks_.on_change(std::move(c));
  }
  if (callbacks_.on_report) callbacks_.on_report(p.target.registry, p.target.region, report);
  if (!p.reported) {
    p.reported = true;
    if (!first_round_reported_ && first_round_left_ > 0 && --first_round_left_ == 0) {
      first_round_reported_ = true;
      if (callbacks_.on_first_round) callbacks_.on_first_round();
    }
  }

  // Next probe: `interval` after this one started, jittered, never before now.
  uint64_t delay = schedule_.nextDelay(p.target.spec.interval.count(), p.first_gap, uv_now(&loop_) - p.started_ms);
  p.first_gap = false;
  uv_timer_start(&p.timer, [](uv_timer_t* t) {
    auto* pair = static_cast<Pair*>(t->data);
    pair->monitor->probe(*pair);
  }, delay, 0);
}

}  // namespace switchyard::health
