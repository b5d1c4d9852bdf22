// ControlPlane: the control thread of the daemon, as wiring. Owns the Router
// (the one owner of every routing input, operator overrides included), the
// event log, the health monitor, the DNS server and the admin server, and
// runs the control loop until SIGTERM/SIGINT.
//
// Start-up:
//   0. Add the runtime catalog (catalog.json: registries made through the
//      API) to the file's topology; an unreadable catalog, or one the file
//      no longer allows, stops the start with the reason (nothing is dropped).
//   1. Restore operator overrides (overrides.json). An unreadable file stops
//      the start with a clear message unless --reset-state: an operator's
//      exclusion must never vanish silently.
//   2. Restore pair health (health.json); an unreadable file is logged and
//      ignored (the probes rebuild it).
//   3. Build the Router with the restored health, lagging marks and
//      overrides (overrides of pairs the config lacks stay dormant), publish.
//   4. Read the admin token and start the admin listener (if configured).
//   5. Start probing every pair (health thread).
//   6. Start DNS at once when every probed pair has a restored state;
//      otherwise after the first probe round, bounded by the longest probe
//      timeout plus a second, so global names are not answered from guesses.
//   7. /readyz turns 200 once the first round is done and DNS is serving.
// Running:
//   - Other threads never touch control state: they post() closures, which
//     run on the control loop (health verdicts, probe reports, API calls).
//   - State files are written off the loop on libuv's work threads, one write
//     per file at a time, the newest content last.
//   - A watchdog timer logs `event=probe_stall` when no probe result arrived for
//     twice the longest probe period, and `event=probe_stall_recovered` after.
//   - SIGHUP and POST /v1/reload: the file is read and parsed on a work
//     thread (at 100k registries that takes seconds, and the loop must keep
//     applying health changes and answering the API meanwhile); the new
//     topology is applied on the loop. A bad file keeps the old config. One
//     reload runs at a time; requests arriving meanwhile share one more run
//     afterwards (they may have edited the file after the running one read it).
// Thread safety: constructed and run() on one thread; post() from any thread.
#pragma once

#include <uv.h>

#include <atomic>
#include <deque>
#include <functional>
#include <map>
#include <set>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_set>

#include "common/task_queue.h"
#include "config/config_loader.h"
#include "control/admin_api.h"
#include "control/admin_server.h"
#include "control/catalog.h"
#include "control/control_metrics.h"
#include "control/drill_manager.h"
#include "control/event_log.h"
#include "control/notifier.h"
#include "control/resolver_purger.h"
#include "control/router.h"
#include "control/scrape_cache.h"
#include "control/stall_watchdog.h"
#include "control/state_store.h"
#include "control/tls_identity.h"
#include "fleet/fleet_sync.h"
#include "control/webhook_sender.h"
#include "dns/dns_server.h"
#include "health/health_monitor.h"

namespace switchyard::control {

struct DaemonOptions {
  std::string config_path;
  std::string state_dir;     // empty: nothing persisted
  int threads = 0;           // 0: from the config
  bool reset_state = false;  // start from empty state when a state file is unreadable
  std::string admin_token_file;  // overrides admin.token_file (systemd credentials, k8s secrets)
  // catalog.journal's size past which catalog.json is written whole again;
  // 0: the larger of 256 KiB and an eighth of the catalog.
  size_t catalog_journal_limit = 0;
};

class ControlPlane {
 public:
  ControlPlane(DaemonOptions options, config::TopologyPtr topology);
  ~ControlPlane();
  // Runs until SIGTERM/SIGINT; returns the exit status.
  int run();
  // Runs `task` on the control loop. Safe from any thread; dropped once stopping.
  bool post(std::function<void()> task);

 private:
  // One state file written off the loop: at most one write in flight.
  struct FileWriter {
    std::string path;
    uv_work_t req{};
    bool in_flight = false;
    bool dirty = false;
    std::string content;
    std::string error;
    std::vector<std::function<void(std::string)>> waiting;  // told when their content is on disk
    std::vector<std::function<void(std::string)>> writing;
    std::function<std::string()> render;
  };
  // The catalog's persistence (catalog.h, journal): lines wait in
  // `pending` until the one job in flight is done; a job appends them with
  // one fsync. Once the journal has outgrown a share of the catalog, a job
  // of its own rewrites catalog.json whole from a copy and empties it.
  struct CatalogWriter {
    uv_work_t req{};
    bool in_flight = false;
    std::string pending;  // journal lines no job holds yet
    std::vector<std::function<void(std::string)>> waiting;  // told once `pending` is on disk
    // The job in flight (the work thread touches only these and the store):
    std::string bytes;
    std::optional<Catalog> compact;  // catalog.json's new content, after `bytes`
    std::vector<std::function<void(std::string)>> writing;
    std::string error;
    bool compacted = false;
    bool failed = false;       // the last job's append failed (retried every second)
    size_t journal_bytes = 0;  // on disk
    size_t compact_after = 0;  // after a failed rewrite: not again below this size
  };
  // One reload in flight: parsed on a work thread, applied on the loop.
  struct Reload {
    uv_work_t req{};
    std::string path;
    Catalog catalog;               // the catalog when the run started (a copy: rendered on the work thread)
    std::string catalog_name;      // catalog.json's path, for errors
    uint64_t catalog_version = 0;  // ... and its version: a change since is merged again on the loop
    config::TopologyPtr file;      // the file alone, when it loaded
    config::TopologyPtr previous;  // what was served when the run started
    // What the run changed against `previous` (policy::registriesChanged);
    // applyReload drops it when `previous` is no longer served. When set,
    // only those registries are rebuilt.
    std::optional<std::unordered_set<std::string>> changed;
    std::vector<config::CatalogPending> pending;
    Result<config::TopologyPtr> result = Error{"not parsed"};
    int64_t parse_ms = 0;
    std::vector<std::function<void(Result<bool>)>> told;  // answered when this run ends
    // Checked on the loop: what is installed, with the catalog entries that wait.
    config::TopologyPtr merged;
    std::vector<config::CatalogPending> merged_pending;
    // A rebuild of every answer prepared on a work thread (Router::prepare)
    // from a snapshot taken when `prepared_against` was served at catalog
    // version `prepared_version`; installed only if both still hold.
    uv_work_t compile_req{};
    std::optional<Router::Snapshot> snapshot;
    std::optional<Router::Prepared> prepared;
    std::vector<health::ProbeTarget> targets;  // the merged topology's, built beside it
    config::TopologyPtr prepared_against;
    uint64_t prepared_version = 0;
    double prepare_ms = 0;
  };
  // Below this many registries a full rebuild stays on the loop (a few ms).
  static constexpr size_t kPrepareAbove = 2000;
  static void onSignal(uv_signal_t* h, int signum);
  static void onWatchdog(uv_timer_t* t);
  // Answers `done` (may be empty) on the loop when the reload ends.
  void reload(std::function<void(Result<bool>)> done);
  void startReload();
  // Checks a parsed run and installs it (commitReload), now or once its
  // answers are compiled off the loop; ends the run either way (endReload).
  void applyReload(Reload& run);
  void commitReload(Reload& run, Router::Prepared* prepared);
  void endReload(Result<bool> ok);
  // A new topology (a reload, a catalog change) applied on the loop: routing,
  // probes, metrics, freshness; the caller announces it. `edited`: a catalog
  // edit's registries (Router::applyTopology carries every other one).
  // `prepared`: a reload's answers compiled off the loop (Router::prepare).
  // `targets`: the new topology's probe targets, built off the loop with it.
  // `slots` (a catalog edit, with `edited`): how its registry slots moved;
  // then nothing here walks every registry (Router::applyTopology).
  void applyTopology(config::TopologyPtr next, const std::unordered_set<std::string>* edited = nullptr,
                     Router::Prepared* prepared = nullptr, std::vector<health::ProbeTarget>* targets = nullptr,
                     const policy::SlotEdit* slots = nullptr);
  // The runtime catalog: the edited registries are validated with the
  // loader's rules against what is served now (config::editCatalog: the
  // rest is not parsed again), applied, persisted (catalog.journal), then
  // `done` gets nullopt or the error reply (400 with its field, 500 not persisted).
  // In fleet mode the change is written to etcd instead (one transaction,
  // guarded by each entry's revision) and applied like every node's, from
  // the watch (onFleetCatalog); `done` is called once this node has.
  void changeCatalog(std::vector<CatalogEdit> edits, std::function<void(std::optional<ApiResponse>)> done);
  // The edits checked against what is served: the merge, or the reply that
  // refuses them. `api`: also refuse a change that would stop a served
  // registry (the fleet's own entries are applied as written).
  Result<config::CatalogTopology> checkCatalog(const std::vector<CatalogEdit>& edits, bool api,
                                               ApiResponse& refused) const;
  // Makes checked edits what is served: catalog_, routing, resolver purge,
  // NOTIFY, events. Queues the changes' journal lines; the caller persists
  // them (persistCatalog).
  void commitCatalog(std::vector<CatalogEdit> edits, config::CatalogTopology merged);
  // Tells `done` once every catalog change committed so far is on disk
  // ("" or the error); a failed append is retried every second.
  void persistCatalog(std::function<void(std::string)> done);
  void startCatalogJob();
  void writeFleetCatalog(const std::vector<CatalogEdit>& edits, const config::CatalogTopology& merged,
                         std::function<void(std::optional<ApiResponse>)> done);
  // Fleet mode: catalog entries as etcd holds them (fleet_sync.h on_catalog).
  // An entry this node cannot serve (its config file differs from the
  // writer's) is left out with an error; the rest apply.
  // Returns the registries it refused. With `whole` and etcd holding no
  // catalog at all, this node's copy seeds it instead of being dropped.
  std::set<std::string> onFleetCatalog(const std::map<std::string, std::optional<std::string>>& changes, bool whole);
  // run()'s steps, in the order of the header's start-up list.
  Result<bool> restoreState(HealthStates& initial, PairSet& was_lagging);  // 1, 2
  void buildRouter(const HealthStates& initial, PairSet& was_lagging);     // 3
  void buildApi();                                                         // drills, admin API, fleet
  Result<bool> startAdmin();                                               // 4
  bool startProbing(const HealthStates& initial, const PairSet& was_lagging);  // 5; true: all restored
  void startTimers();                                                      // watchdog, signals
  void scheduleDns(bool all_restored);                                     // 6
  int failStart(const std::string& message);  // the one way out of a failed start
  std::optional<SocketAddress> dnsAddress() const;  // where drills ask by default
  Result<bool> loadToken();
  void startDns();
  void onHealthChange(const health::HealthChange& change);
  void onPairChange(const PairChange& change);
  // A resolver flush's outcome (resolver_purger.h), on the loop: event, log, metrics.
  void onPurgeReport(const PurgeReport& report);
  nlohmann::json resolversJson() const;  // GET /v1/resolvers
  std::string zoneText() const;          // "cr.example.test"
  void onFreshness(const health::FreshnessReport& report);
  void startFleet();
  // Records an event, and sends it to the webhooks.
  void event(const std::string& type, nlohmann::json fields);
  void write(FileWriter& file, std::function<void(std::string)> done = {});
  void stopAll(int exit_code);
  std::string renderMetricsFromHttpThread();
  int threadCount() const;
  // The watchdog's limit from the longest probe period (stall_periods_):
  // whole, or moved by the registries one catalog edit took and brought.
  void computeStallLimit();
  void editStallLimit(const policy::Topology& before, const std::unordered_set<std::string>& edited);
  void setStallLimit();

  DaemonOptions options_;
  config::TopologyPtr topology_;       // the file's registries and the catalog's: what is served
  config::TopologyPtr file_topology_;  // the config file's alone (the catalog is added to it)
  Catalog catalog_;                    // registries made through the API (catalog.json)
  std::map<std::string, std::string> fleet_refused_;  // fleet mode: etcd's entries this node refused, retried after a reload
  uint64_t catalog_version_ = 0;       // bumped by every catalog change
  std::vector<config::CatalogPending> pending_registries_;  // in the catalog, not served yet
  uv_loop_t loop_{};
  dns::AnswerPublisher publisher_;
  std::unique_ptr<Reload> reload_;  // the run in flight, if any
  std::vector<std::function<void(Result<bool>)>> reload_waiting_;
  bool reload_again_ = false;
  bool stopping_ = false;  // set by stopAll(): a reload that ends afterwards is not applied
  std::unique_ptr<Router> router_;
  std::unique_ptr<dns::DnsServer> dns_;
  std::unique_ptr<health::HealthMonitor> monitor_;
  StateStore store_;
  EventLog events_;
  ControlMetrics metrics_;
  std::unique_ptr<Notifier> notifier_;
  WebhookSender webhooks_;
  std::unique_ptr<ResolverPurger> resolvers_;  // announce.resolvers; stopped in stopAll()
  Overrides restored_overrides_;  // overrides.json, until the Router takes them (start-up only)
  // SOA serials: every one handed out is below serial_reserved_, which is on
  // disk (serial.json) before the first answer and renewed in the background
  // while kSerialReserve / 2 serials of headroom remain, so a restart (even
  // after SIGKILL) resumes above any serial a secondary has seen.
  static constexpr uint32_t kSerialReserve = 1000;
  uint32_t serial_floor_ = 0;     // serial.json at start-up
  uint32_t serial_reserved_ = 0;  // written, or being written, to serial.json
  uint32_t serial_on_disk_ = 0;   // the floor serial.json is known to hold
  std::map<PairKey, health::ProbeReport> last_probe_;
  std::map<std::string, health::FreshnessReport> freshness_;  // by registry: its last round
  std::unique_ptr<DrillManager> drills_;
  std::unique_ptr<AdminApi> api_;
  Readiness readiness_;
  std::unique_ptr<AdminServer> admin_;
  std::shared_ptr<TlsIdentity> admin_tls_;  // admin.tls, reloaded with the config
  // Fleet mode: health comes from the fleet's quorum, operator decisions go
  // through etcd (fleet/fleet_sync.h). Null when the config has no fleet.
  std::unique_ptr<fleet::FleetSync> fleet_;
  FileWriter health_file_;
  FileWriter overrides_file_;
  FileWriter serial_file_;
  CatalogWriter catalog_writer_;
  // /metrics: at most one render a second on the loop, on the background
  // lane (behind health results, never ahead), whatever the scrape rate.
  ScrapeCache scrape_cache_{std::chrono::seconds(1)};
  double last_render_seconds_ = 0;  // the render before this one (loop thread)
  std::atomic<size_t> last_page_bytes_{0};  // the last /metrics page's size (HTTP threads)

  uv_signal_t signals_[3]{};
  uv_timer_t watchdog_{};
  uv_timer_t start_bound_{};
  uv_timer_t catalog_retry_{};  // appends the journal again every second after a failed write, until one succeeds
  TaskQueue tasks_;  // closures from other threads (health, HTTP), run on the control loop
  bool first_round_done_ = false;
  StallWatchdog watchdog_state_;
  std::map<int64_t, size_t> stall_periods_;  // probed registries by their period (ms)
  int64_t started_ms_ = 0;
  int exit_code_ = 0;
};

}  // namespace switchyard::control
