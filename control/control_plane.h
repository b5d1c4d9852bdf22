// ControlPlane: the control thread of the daemon. Owns the Router (every
// mutable routing input), the health monitor, the DNS server and the admin
// server, and runs the control loop until SIGTERM/SIGINT.
//
// Start-up:
//   1. Restore pair health from the state directory (an unreadable file is
//      logged and ignored: the probes rebuild it).
//   2. Build the Router (routing table + precompiled answers) and publish it.
//   3. Start probing every pair (health thread).
//   4. Start DNS at once when every probed pair has a restored state;
//      otherwise after the first probe round, bounded by the longest probe
//      timeout plus a second, so global names are not answered from guesses.
//   5. /readyz turns 200 once the first round is done and DNS is serving.
// Running:
//   - Health changes arrive from the health thread through a queue and an
//     async wake-up; each is applied to the Router (which republishes) and the
//     health state is persisted (off the loop, on libuv's work threads).
//   - A watchdog timer logs `event=probe_stall` when no probe result arrived for
//     twice the longest probe period, and `event=probe_stall_recovered` after.
//   - SIGHUP reloads the config: validate first; on error keep serving the old
//     one; on success apply it to the Router and the monitor.
// Thread safety: constructed and run() on one thread; nothing else calls it.
#pragma once

#include <uv.h>

#include <deque>
#include <memory>
#include <mutex>
#include <string>

#include "config/config_loader.h"
#include "control/admin_server.h"
#include "control/router.h"
#include "control/state_store.h"
#include "dns/dns_server.h"
#include "health/health_monitor.h"

namespace switchyard::control {

struct DaemonOptions {
  std::string config_path;
  std::string state_dir;  // empty: nothing persisted
  int threads = 0;        // 0: from the config
};

class ControlPlane {
 public:
  ControlPlane(DaemonOptions options, config::TopologyPtr topology);
  ~ControlPlane();
  // Runs until SIGTERM/SIGINT; returns the exit status.
  int run();

 private:
  static void onSignal(uv_signal_t* h, int signum);
  static void onHealthAsync(uv_async_t* h);
  static void onWatchdog(uv_timer_t* t);
  void reload();
  void startDns();
  void applyHealthChanges();
  void persistHealth();
  void stopAll(int exit_code);
  int threadCount() const;
  void computeStallLimit();

  DaemonOptions options_;
  config::TopologyPtr topology_;
  uv_loop_t loop_{};
  dns::AnswerPublisher publisher_;
  std::unique_ptr<Router> router_;
  std::unique_ptr<dns::DnsServer> dns_;
  std::unique_ptr<health::HealthMonitor> monitor_;
  StateStore store_;
  Readiness readiness_;
  std::unique_ptr<AdminServer> admin_;

  uv_signal_t signals_[3]{};
  uv_async_t health_async_{};
  uv_timer_t watchdog_{};
  uv_timer_t start_bound_{};
  std::mutex changes_mutex_;
  std::deque<health::HealthChange> changes_;  // GUARDED_BY(changes_mutex_)
  bool first_round_done_ = false;             // set on the control thread
  std::atomic<bool> first_round_signal_{false};
  int64_t stall_limit_ms_ = 0;                // 0: nothing probed
  bool stalled_ = false;
  int64_t started_ms_ = 0;
  int exit_code_ = 0;

  // Persistence: at most one write in flight; a change meanwhile sets dirty.
  uv_work_t write_req_{};
  bool write_in_flight_ = false;
  bool write_dirty_ = false;
  std::string write_content_;
  std::string write_error_;
};

}  // namespace switchyard::control
