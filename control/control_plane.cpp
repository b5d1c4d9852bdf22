#include "control/control_plane.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <thread>

namespace switchyard::control {

namespace {

int64_t nowMs() { return static_cast<int64_t>(uv_hrtime() / 1'000'000); }

std::string describeReports(const std::vector<health::ProbeReport>& reports) {
  std::string out;
  for (const auto& r : reports) {
    if (!out.empty()) out += ",";
    out += health::resultName(r.result);
    if (r.http_status) out += "(" + std::to_string(r.http_status) + ")";
  }
  return out;
}

}  // namespace

ControlPlane::ControlPlane(DaemonOptions options, config::TopologyPtr topology)
    : options_(std::move(options)), topology_(std::move(topology)), store_(options_.state_dir) {
  uv_loop_init(&loop_);
}

ControlPlane::~ControlPlane() { uv_loop_close(&loop_); }

int ControlPlane::threadCount() const {
  int threads = options_.threads ? options_.threads : topology_->threads;
  return threads ? threads : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
}

void ControlPlane::computeStallLimit() {
  int64_t longest = 0;
  for (const auto& g : topology_->registries)
    if (g.health.scheme != policy::ProbeScheme::None)
      longest = std::max<int64_t>(longest, g.health.interval.count() * 3 / 2 + g.health.timeout.count());
  stall_limit_ms_ = longest == 0 ? 0 : 2 * longest + 1000;
}

int ControlPlane::run() {
  auto restored = store_.loadHealth();
  HealthStates initial;
  if (!restored) spdlog::warn("event=state_ignored {} (health will be re-learned by probing)", restored.error());
  else initial = *restored;
  router_ = std::make_unique<Router>(topology_, publisher_, initial);

  uv_async_init(&loop_, &health_async_, &ControlPlane::onHealthAsync);
  health_async_.data = this;
  health::HealthMonitor::Callbacks callbacks;
  callbacks.on_change = [this](health::HealthChange c) {
    {
      std::lock_guard<std::mutex> lock(changes_mutex_);
      changes_.push_back(std::move(c));
    }
    uv_async_send(&health_async_);
  };
  callbacks.on_first_round = [this] {
    first_round_signal_.store(true);
    uv_async_send(&health_async_);
  };
  monitor_ = std::make_unique<health::HealthMonitor>(std::move(callbacks));
  auto targets = health::buildTargets(*topology_);
  bool all_restored = true;
  for (const auto& t : targets)
    if (t.spec.scheme != policy::ProbeScheme::None && !initial.count(t.key())) all_restored = false;
  monitor_->start(std::move(targets), initial);
  computeStallLimit();
  started_ms_ = nowMs();

  if (topology_->listen_admin) {
    admin_ = std::make_unique<AdminServer>(readiness_);
    auto ok = admin_->start(*topology_->listen_admin);
    if (!ok) {
      spdlog::error("event=start_failed {}", ok.error());
      stopAll(1);
      uv_run(&loop_, UV_RUN_DEFAULT);  // drain the closed handles
      return exit_code_;
    }
    spdlog::info("event=admin_listening address={}:{}", topology_->listen_admin->address.toString(), admin_->port());
  }

  uv_timer_init(&loop_, &watchdog_);
  watchdog_.data = this;
  uv_timer_start(&watchdog_, &ControlPlane::onWatchdog, 1000, 1000);
  int signums[3] = {SIGHUP, SIGTERM, SIGINT};
  for (int i = 0; i < 3; ++i) {
    uv_signal_init(&loop_, &signals_[i]);
    signals_[i].data = this;
    uv_signal_start(&signals_[i], &ControlPlane::onSignal, signums[i]);
  }
  uv_timer_init(&loop_, &start_bound_);
  start_bound_.data = this;
  if (all_restored) {
    startDns();
  } else {
    int64_t bound = 0;
    for (const auto& g : topology_->registries) bound = std::max<int64_t>(bound, g.health.timeout.count());
    spdlog::info("event=waiting_for_first_probe_round bound_ms={}", bound + 1000);
    uv_timer_start(&start_bound_, [](uv_timer_t* t) {
      auto* self = static_cast<ControlPlane*>(t->data);
      if (!self->dns_) {
        spdlog::warn("event=first_round_incomplete starting DNS with the verdicts so far");
        self->startDns();
      }
    }, static_cast<uint64_t>(bound + 1000), 0);
  }

  uv_run(&loop_, UV_RUN_DEFAULT);
  spdlog::info("event=stopped exit_code={}", exit_code_);
  return exit_code_;
}

void ControlPlane::startDns() {
  uv_timer_stop(&start_bound_);
  auto server = dns::DnsServer::start(topology_->listen_dns, threadCount(), publisher_);
  if (!server) {
    spdlog::error("event=start_failed {}", server.error());
    stopAll(1);
    return;
  }
  dns_ = std::move(*server);
  readiness_.dns_serving = true;
  std::string bound;
  for (const auto& a : dns_->bound()) bound += (bound.empty() ? "" : " ") + a.toString();
  spdlog::info("event=serving zone={} dns=[{}] threads={} registries={} generation={} startup_ms={}",
               topology_->zone.toString(), bound, threadCount(), topology_->registries.size(),
               router_->table()->generation, nowMs() - started_ms_);
}

void ControlPlane::onHealthAsync(uv_async_t* h) {
  auto* self = static_cast<ControlPlane*>(h->data);
  self->applyHealthChanges();
  if (self->first_round_signal_.load() && !self->first_round_done_) {
    self->first_round_done_ = true;
    self->readiness_.health_round_done = true;
    spdlog::info("event=first_probe_round_done ms={}", nowMs() - self->started_ms_);
    if (!self->dns_ && !self->exit_code_) self->startDns();
  }
}

void ControlPlane::applyHealthChanges() {
  std::deque<health::HealthChange> changes;
  {
    std::lock_guard<std::mutex> lock(changes_mutex_);
    changes.swap(changes_);
  }
  if (changes.empty()) return;
  for (const auto& c : changes) {
    std::string cause = "from=" + std::string(policy::healthName(c.from)) + " probes=" + describeReports(c.recent);
    if (!c.recent.empty() && !c.recent.back().detail.empty()) cause += " last=\"" + c.recent.back().detail + "\"";
    auto r = router_->setHealth(c.registry, c.region, c.to, cause);
    if (!r) spdlog::debug("event=health_change_dropped {} ({})", r.error(), cause);
  }
  persistHealth();
}

void ControlPlane::persistHealth() {
  if (!store_.enabled()) return;
  if (write_in_flight_) {
    write_dirty_ = true;
    return;
  }
  write_in_flight_ = true;
  write_dirty_ = false;
  write_content_ = StateStore::encodeHealth(router_->healthStates());
  write_req_.data = this;
  uv_queue_work(
      &loop_, &write_req_,
      [](uv_work_t* req) {
        auto* self = static_cast<ControlPlane*>(req->data);
        auto ok = StateStore::writeAtomically(self->store_.healthPath(), self->write_content_);
        self->write_error_ = ok ? "" : ok.error();
      },
      [](uv_work_t* req, int) {
        auto* self = static_cast<ControlPlane*>(req->data);
        self->write_in_flight_ = false;
        if (!self->write_error_.empty()) spdlog::error("event=state_write_failed {}", self->write_error_);
        if (self->write_dirty_) self->persistHealth();
      });
}

void ControlPlane::onWatchdog(uv_timer_t* t) {
  auto* self = static_cast<ControlPlane*>(t->data);
  if (self->stall_limit_ms_ == 0) return;
  int64_t last = self->monitor_->lastResultMs();
  int64_t since = nowMs() - std::max(last, self->started_ms_);
  if (since > self->stall_limit_ms_ && !self->stalled_) {
    self->stalled_ = true;
    spdlog::error("event=probe_stall no probe result for {} ms (limit {} ms): health is stale", since,
                  self->stall_limit_ms_);
  } else if (since <= self->stall_limit_ms_ && self->stalled_) {
    self->stalled_ = false;
    spdlog::info("event=probe_stall_recovered");
  }
}

void ControlPlane::reload() {
  auto next = config::loadTopologyFile(options_.config_path);
  if (!next) {
    spdlog::error("event=reload_failed keeping the running config: {}", next.error());
    return;
  }
  if ((*next)->listen_dns.size() != topology_->listen_dns.size())
    spdlog::warn("event=reload listen addresses changed: takes effect at the next restart");
  topology_ = *next;
  router_->applyTopology(topology_);
  monitor_->setTargets(health::buildTargets(*topology_));
  computeStallLimit();
}

void ControlPlane::onSignal(uv_signal_t* h, int signum) {
  auto* self = static_cast<ControlPlane*>(h->data);
  if (signum == SIGHUP) {
    self->reload();
    return;
  }
  spdlog::info("event=stopping signal={}", signum);
  self->stopAll(0);
}

void ControlPlane::stopAll(int exit_code) {
  exit_code_ = exit_code;
  if (dns_) dns_->stop();
  readiness_.dns_serving = false;
  if (admin_) admin_->stop();
  if (monitor_) monitor_->stop();
  for (auto& s : signals_)
    if (s.data) uv_close(reinterpret_cast<uv_handle_t*>(&s), nullptr);
  for (uv_handle_t* h : {reinterpret_cast<uv_handle_t*>(&health_async_), reinterpret_cast<uv_handle_t*>(&watchdog_),
                         reinterpret_cast<uv_handle_t*>(&start_bound_)})
    if (h->data && !uv_is_closing(h)) uv_close(h, nullptr);
  // A pending state write finishes on its own; uv_run returns after it.
}

}  // namespace switchyard::control
