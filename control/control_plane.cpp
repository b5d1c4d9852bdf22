#include "control/control_plane.h"

#include <spdlog/fmt/ranges.h>
#include <spdlog/spdlog.h>

#include <malloc.h>

#include <algorithm>
#include <chrono>
#include <ctime>
#include <fstream>
#include <future>
#include <sstream>
#include <thread>

#include "common/elapsed.h"
#include "control/metrics_scrape.h"
#include "control/query_metrics.h"
#include "policy/endpoint_names.h"

namespace switchyard::control {

namespace {

int64_t nowMs() { return static_cast<int64_t>(uv_hrtime() / 1'000'000); }

// Loading a large config frees a YAML tree of millions of small nodes. Give
// that memory back now: otherwise it stays in the process, and the first
// larger allocation later (the first routing change) pays for merging it
// (malloc_consolidate: half a second at 100,000 registries).
void returnFreedMemory() { malloc_trim(0); }

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
  loop_.data = this;
  health_file_.path = store_.healthPath();
  health_file_.render = [this] { return StateStore::encodeHealth(router_->healthStates(), router_->laggingPairs()); };
  overrides_file_.path = store_.overridesPath();
  overrides_file_.render = [this] { return StateStore::encodeOverrides(router_->overrides()); };
  serial_file_.path = store_.serialPath();
  serial_file_.render = [this] { return StateStore::encodeSerial(serial_reserved_); };
  file_topology_ = topology_;
}

ControlPlane::~ControlPlane() { uv_loop_close(&loop_); }

int ControlPlane::threadCount() const {
  int threads = options_.threads ? options_.threads : topology_->threads;
  return threads ? threads : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
}

namespace {

// A probed registry's probe period for the watchdog (ms), or nullopt.
std::optional<int64_t> stallPeriod(const policy::Registry& g) {
  if (g.health.scheme == policy::ProbeScheme::None) return std::nullopt;
  return g.health.interval.count() * 3 / 2 + g.health.timeout.count();
}

}  // namespace

void ControlPlane::computeStallLimit() {
  stall_periods_.clear();
  for (const auto& g : topology_->registries)
    if (auto p = stallPeriod(g)) ++stall_periods_[*p];
  setStallLimit();
}

void ControlPlane::editStallLimit(const policy::Topology& before, const std::unordered_set<std::string>& edited) {
  for (const auto& name : edited) {
    if (auto g = before.registryIndex(name))
      if (auto p = stallPeriod(before.registries[*g]))
        if (auto it = stall_periods_.find(*p); it != stall_periods_.end() && --it->second == 0) stall_periods_.erase(it);
    if (auto g = topology_->registryIndex(name))
      if (auto p = stallPeriod(topology_->registries[*g])) ++stall_periods_[*p];
  }
  setStallLimit();
}

void ControlPlane::setStallLimit() {
  const int64_t longest = stall_periods_.empty() ? 0 : stall_periods_.rbegin()->first;
  watchdog_state_.setLimit(longest == 0 ? 0 : 2 * longest + 1000);
}

bool ControlPlane::post(std::function<void()> task) { return tasks_.post(std::move(task)); }

Result<bool> ControlPlane::loadToken() {
  if (!admin_) return true;
  const std::string& path = options_.admin_token_file.empty() ? topology_->admin_token_file : options_.admin_token_file;
  if (path.empty()) {
    spdlog::warn("event=admin_api_disabled no admin.token_file configured: every /v1 call gets 401");
    admin_->setToken("");
    return true;
  }
  std::ifstream in(path);
  if (!in) return makeError("admin token file " + path + ": cannot read");
  std::stringstream text;
  text << in.rdbuf();
  std::string token = text.str();
  token.erase(token.find_last_not_of(" \t\r\n") + 1);
  token.erase(0, token.find_first_not_of(" \t\r\n") == std::string::npos ? token.size()
                                                                          : token.find_first_not_of(" \t\r\n"));
  if (token.size() < 16) return makeError("admin token file " + path + ": the token must be at least 16 characters");
  admin_->setToken(token);
  return true;
}

int ControlPlane::run() {
  tasks_.init(&loop_);
  HealthStates initial;
  PairSet was_lagging;
  if (auto ok = restoreState(initial, was_lagging); !ok) return failStart(ok.error());
  buildRouter(initial, was_lagging);
  buildApi();
  if (auto ok = startAdmin(); !ok) return failStart(ok.error());
  bool all_restored = startProbing(initial, was_lagging);
  startTimers();
  scheduleDns(all_restored);
  uv_run(&loop_, UV_RUN_DEFAULT);
  drills_->joinAll();
  spdlog::info("event=stopped exit_code={}", exit_code_);
  return exit_code_;
}

int ControlPlane::failStart(const std::string& message) {
  spdlog::error("event=start_failed {}", message);
  stopAll(1);
  uv_run(&loop_, UV_RUN_DEFAULT);  // drain the closed handles
  return 1;
}

Result<bool> ControlPlane::restoreState(HealthStates& initial, PairSet& was_lagging) {
  // 0. The runtime catalog: its registries are served like the file's.
  auto text = store_.loadCatalogText();
  if (!text) return makeError(text.error() + " (registries made through the API would be lost; fix the file)");
  auto catalog = Catalog::parse(*text, store_.catalogPath());
  if (!catalog) return makeError(catalog.error() + " (registries made through the API would be lost; fix the file)");
  catalog_ = std::move(*catalog);
  // The changes since catalog.json was last written whole.
  auto journal = store_.loadJournalText();
  if (!journal) return makeError(journal.error() + " (registries made through the API would be lost; fix the file)");
  if (!journal->empty()) {
    size_t kept = 0;
    auto replayed = journal::replay(*journal, store_.journalPath(), catalog_, kept);
    if (!replayed) return makeError(replayed.error() + " (registries made through the API would be lost; fix the file)");
    catalog_writer_.journal_bytes = journal->size();
    if (kept < journal->size()) {
      // A crash mid-append: the cut line was never acknowledged. Cut it off
      // now, or the next append would leave it in the middle.
      if (auto ok = StateStore::writeAtomically(store_.journalPath(), journal->substr(0, kept)); !ok) return Error{ok.error()};
      catalog_writer_.journal_bytes = kept;
      spdlog::warn("event=catalog_journal_torn {}: the last line was cut short by a crash (never acknowledged): dropped",
                   store_.journalPath());
    }
  }
  if (catalog_.size() > 0) {
    // One entry the file no longer fits is set aside (kept, listed, not
    // served) rather than keeping every registry from being served.
    auto merged = config::addCatalog(file_topology_, catalog_.render(), store_.catalogPath(), nullptr, true);
    if (!merged) return makeError(merged.error() + " (registries made through the API would be lost; fix the file)");
    topology_ = merged->topology;
    pending_registries_ = std::move(merged->pending);
    for (const auto& p : pending_registries_)
      if (p.refused)
        spdlog::error("event=catalog_entry_refused registry={} {} (kept in the catalog, not served: fix the config "
                      "file and reload, or change the registry through the API)",
                      p.registry, p.reason);
    spdlog::info("event=catalog_loaded registries={} pending={}", catalog_.size(), pending_registries_.size());
  }
  // 1. Operator decisions first: refusing to start beats forgetting them.
  auto overrides = store_.loadOverrides();
  if (!overrides) {
    if (!options_.reset_state)
      return makeError(overrides.error() +
                       " (operator exclusions would be lost; fix or remove the file, or start with --reset-state)");
    spdlog::warn("event=state_reset {} (--reset-state: starting without operator overrides)", overrides.error());
  } else {
    restored_overrides_ = std::move(*overrides);
  }
  // 2. Observations.
  auto restored = store_.loadHealth();
  if (!restored) spdlog::warn("event=state_ignored {} (health will be re-learned by probing)", restored.error());
  else initial = std::move(*restored);
  if (auto lagging = store_.loadLagging()) was_lagging = std::move(*lagging);
  else spdlog::warn("event=state_ignored {} (lagging marks are re-learned by the freshness rounds)", lagging.error());
  // 3. The SOA serial's floor, and the first reservation above it, on disk
  // before any answer carries a serial (one small fsync at start-up).
  if (auto floor = store_.loadSerialFloor()) serial_floor_ = *floor;
  else spdlog::warn("event=state_ignored {} (the SOA serial restarts from the clock)", floor.error());
  serial_reserved_ = std::max(serial_floor_, static_cast<uint32_t>(std::time(nullptr))) + kSerialReserve;
  if (store_.enabled()) {
    if (auto ok = StateStore::writeAtomically(serial_file_.path, serial_file_.render()); !ok)
      return makeError(ok.error() + " (the state directory must be writable: SOA serials and operator decisions live there)");
    serial_on_disk_ = serial_reserved_;
  }
  return true;
}

void ControlPlane::buildRouter(const HealthStates& initial, PairSet& was_lagging) {
  // 3. The router, with the restored state.
  router_ = std::make_unique<Router>(topology_, publisher_, initial, serial_floor_);
  metrics_.retain(topology_);
  router_->onSerial([this](uint32_t serial) {
    if (serial + kSerialReserve / 2 <= serial_reserved_) return;
    serial_reserved_ = serial + kSerialReserve;
    write(serial_file_, [this, floor = serial_reserved_](const std::string& error) {
      if (error.empty()) serial_on_disk_ = std::max(serial_on_disk_, floor);
      else serial_reserved_ = serial_on_disk_;  // not on disk: the next serial tries again
    });
  });
  // A replica that lagged before the restart stays out of global routing
  // until a freshness round sees it serve the reference (the monitor's
  // trackers are seeded the same way, startProbing).
  for (auto it = was_lagging.begin(); it != was_lagging.end();) {
    auto g = topology_->registryIndex(it->registry);
    if (g && topology_->registries[*g].freshness &&
        router_->setLagging(it->registry, it->region, true, "lagging before the restart (health.json)")) {
      spdlog::info("event=freshness_restored pair={} lagging=true (re-checked at the next freshness round)",
                   it->str());
      ++it;
    } else {
      it = was_lagging.erase(it);
    }
  }
  notifier_ = std::make_unique<Notifier>(&loop_);
  webhooks_.setUrls(topology_->announce.webhooks);
  resolvers_ = std::make_unique<ResolverPurger>([this](const PurgeReport& r) {
    tasks_.postBackground([this, r] { onPurgeReport(r); });
  });
  resolvers_->setResolvers(zoneText(), topology_->announce.resolvers);
  metrics_.retainResolvers(topology_->announce.resolvers);
  router_->onChange([this](const PairChange& c) { onPairChange(c); });
  for (const auto& key : router_->restoreOverrides(restored_overrides_))
    spdlog::warn("event=override_dormant pair={} (not in this config; kept, and applied if the pair returns)",
                 key.str());
  restored_overrides_.clear();
}

void ControlPlane::buildApi() {
  drills_ = std::make_unique<DrillManager>(
      *router_, events_, [this](std::function<void()> task) { return post(std::move(task)); },
      [this](const std::string& type, nlohmann::json fields) { event(type, std::move(fields)); },
      [this] { return dnsAddress(); });
  AdminContext context{
      .router = *router_,
      .events = events_,
      .last_probe = last_probe_,
      .freshness = freshness_,
      .persist_overrides = [this](std::function<void(std::string)> done) { write(overrides_file_, std::move(done)); },
      .reload = [this](std::function<void(Result<bool>)> done) { reload(std::move(done)); },
      .drills = *drills_,
      .resolvers = [this] { return resolversJson(); },
      .catalog = &catalog_,
      .pending_registries = &pending_registries_,
      .change_catalog =
          [this](std::vector<CatalogEdit> edits, std::function<void(std::optional<ApiResponse>)> done) {
            changeCatalog(std::move(edits), std::move(done));
          },
  };
  if (topology_->fleet) {
    startFleet();
    context.share_routing = [this](const std::string& registry, const std::string& region, bool enabled,
                                   std::function<void(std::string)> done) {
      fleet_->setRouting(registry, region, enabled, std::move(done));
    };
    context.share_fault = [this](const std::string& registry, const std::string& region, Fault fault,
                                 std::function<void(std::string)> done) {
      fleet_->setFault(registry, region, faultName(fault), std::move(done));
    };
    context.fleet_revision = [this] { return fleet_->revision(); };
  }
  api_ = std::make_unique<AdminApi>(std::move(context));
}

std::optional<SocketAddress> ControlPlane::dnsAddress() const {
  if (!dns_ || dns_->bound().empty()) return std::nullopt;
  SocketAddress a = dns_->bound().front();
  // A wildcard listener is reached over loopback of the same family.
  if (std::all_of(a.address.bytes.begin(), a.address.bytes.end(), [](uint8_t b) { return b == 0; }))
    a.address = *IpAddress::parse(a.address.isV4() ? "127.0.0.1" : "::1");
  return a;
}

Result<bool> ControlPlane::startAdmin() {
  // 4. The admin listener.
  if (!topology_->listen_admin) return true;
  if (!topology_->admin_tls_cert.empty()) {
    auto tls = TlsIdentity::load(topology_->admin_tls_cert, topology_->admin_tls_key);
    if (!tls) return Error{tls.error()};
    admin_tls_ = *tls;
    spdlog::info("event=admin_tls certificate=\"{}\"", admin_tls_->describe());
  }
  admin_ = std::make_unique<AdminServer>(
      readiness_,
      [this](ApiRequest req, std::function<void(ApiResponse)> reply) {
        auto shared_reply = std::make_shared<std::function<void(ApiResponse)>>(std::move(reply));
        if (!post([this, req = std::move(req), shared_reply] {
              // A request no check foresaw must cost a 500, never the process.
              try {
                api_->handle(req, *shared_reply);
              } catch (const std::exception& e) {
                spdlog::error("event=api_exception method={} path={} what=[{}]", req.method, req.path, e.what());
                (*shared_reply)(apiError(500, std::string("internal error: ") + e.what()));
              }
            }))
          (*shared_reply)(apiError(503, "switchyard is stopping"));
      },
      [this] { return renderMetricsFromHttpThread(); }, admin_tls_);
  auto token = loadToken();
  if (!token) return token;
  if (auto ok = admin_->start(*topology_->listen_admin); !ok) return ok;
  spdlog::info("event=admin_listening address={}:{} scheme={}", topology_->listen_admin->address.toString(),
               admin_->port(), admin_tls_ ? "https" : "http");
  return true;
}

bool ControlPlane::startProbing(const HealthStates& initial, const PairSet& was_lagging) {
  // 5. Probing.
  health::HealthMonitor::Callbacks callbacks;
  // Background lane: a burst of health results must not hold up API calls (task_queue.h).
  callbacks.on_change = [this](health::HealthChange c) {
    tasks_.postBackground([this, c = std::move(c)] { onHealthChange(c); });
  };
  // Reports and the first-round signal share that lane, so they stay in order
  // with the changes (DNS starts only after the first round's changes apply).
  callbacks.on_report = [this](const std::string& registry, const std::string& region, const health::ProbeReport& r) {
    tasks_.postBackground([this, registry, region, r] {
      if (!router_->state(registry, region)) return;  // queued before a reload that removed the pair
      last_probe_[{registry, region}] = r;
      metrics_.probe(registry, region, r);
    });
  };
  callbacks.on_freshness = [this](health::FreshnessReport report) {
    tasks_.postBackground([this, report = std::move(report)] { onFreshness(report); });
  };
  callbacks.on_first_round = [this] {
    tasks_.postBackground([this] {
      first_round_done_ = true;
      readiness_.health_round_done = true;
      spdlog::info("event=first_probe_round_done ms={}", nowMs() - started_ms_);
      if (!dns_ && !exit_code_) startDns();
    });
  };
  auto t0 = std::chrono::steady_clock::now();
  monitor_ = std::make_unique<health::HealthMonitor>(std::move(callbacks));
  auto targets = health::buildTargets(*topology_);
  bool all_restored = true;
  for (const auto& t : targets)
    if (t.spec.scheme != policy::ProbeScheme::None && !initial.count(t.key())) all_restored = false;
  const size_t pairs = targets.size();
  monitor_->start(std::move(targets), initial);
  monitor_->setFreshness(health::buildFreshnessTargets(*topology_), was_lagging);
  computeStallLimit();
  auto t1 = std::chrono::steady_clock::now();
  returnFreedMemory();
  const auto ms = millisBetween;
  spdlog::info("event=probing_started probed_pairs={} targets_ms={:.1f} trim_ms={:.1f}", pairs, ms(t0, t1),
               ms(t1, std::chrono::steady_clock::now()));
  started_ms_ = nowMs();
  return all_restored;
}

void ControlPlane::startTimers() {
  uv_timer_init(&loop_, &watchdog_);
  watchdog_.data = this;
  uv_timer_init(&loop_, &catalog_retry_);
  catalog_retry_.data = this;
  uv_timer_start(&watchdog_, &ControlPlane::onWatchdog, 1000, 1000);
  int signums[3] = {SIGHUP, SIGTERM, SIGINT};
  for (int i = 0; i < 3; ++i) {
    uv_signal_init(&loop_, &signals_[i]);
    signals_[i].data = this;
    uv_signal_start(&signals_[i], &ControlPlane::onSignal, signums[i]);
  }
}

void ControlPlane::scheduleDns(bool all_restored) {
  // 6. DNS: at once when every probed pair has a restored state, else after
  // the first probe round, bounded by the longest timeout plus a second.
  uv_timer_init(&loop_, &start_bound_);
  start_bound_.data = this;
  if (all_restored) return startDns();
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

void ControlPlane::startDns() {
  uv_timer_stop(&start_bound_);
  dns::WorkerOptions tcp{topology_->tcp.idle, topology_->tcp.max_lifetime,
                         static_cast<size_t>(topology_->tcp.max_connections), topology_->rate_limit.table_size};
  auto server = dns::DnsServer::start(topology_->listen_dns, threadCount(), publisher_, tcp);
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

void ControlPlane::startFleet() {
  const policy::Fleet& f = *topology_->fleet;
  fleet::FleetSync::Callbacks callbacks;
  callbacks.on_health = [this](const std::string& registry, const std::string& region, policy::Health health,
                               const std::string& why) {
    auto r = router_->setHealth(registry, region, health, "fleet: " + why);
    if (!r) spdlog::debug("event=health_change_dropped {} (fleet: {})", r.error(), why);
    write(health_file_);
  };
  callbacks.on_routing = [this](const std::string& registry, const std::string& region, bool enabled) {
    auto changed = router_->setOperatorFlag(registry, region, enabled);
    if (changed && *changed) write(overrides_file_);  // a local copy, for a start without etcd
  };
  callbacks.on_fault = [this](const std::string& registry, const std::string& region, const std::string& fault) {
    // An unknown spelling (a newer node's) counts as no fault.
    (void)router_->setFault(registry, region, faultFromName(fault).value_or(Fault::None));
  };
  callbacks.on_catalog = [this](const std::map<std::string, std::optional<std::string>>& changes, bool whole) {
    return onFleetCatalog(changes, whole);
  };
  callbacks.on_connection = [this](bool connected, const std::string& why) {
    readiness_.fleet = connected ? 1 : 0;
    if (connected) {
      // etcd is the truth: a flag this node kept locally (from before it
      // joined, or changed while it was away) that etcd does not hold is dropped.
      auto flags = fleet_->routingFlags();
      size_t dropped = router_->retainOverrides([&](const PairKey& key) {
        if (flags.count(key)) return true;
        spdlog::warn("event=fleet_override_dropped pair={} (not in etcd)", key.str());
        return false;
      });
      if (dropped) write(overrides_file_);
    }
    if (connected) spdlog::info("event=fleet_connected node={} etcd={}", fleet_->node(), why);
    else spdlog::error("event=fleet_disconnected node={} {} (serving the last routing table)", fleet_->node(), why);
    event("fleet", {{"node", fleet_->node()}, {"connected", connected}, {"detail", why}});
  };
  fleet::FleetOptions options{f.node, f.endpoints, f.prefix, f.quorum,
                              std::chrono::duration_cast<std::chrono::seconds>(f.lease_ttl)};
  fleet_ = std::make_unique<fleet::FleetSync>(&loop_, std::move(options), std::move(callbacks));
  readiness_.fleet = 0;
  spdlog::info("event=fleet_joining node={} etcd=[{}] prefix={} quorum={}", f.node, fmt::join(f.endpoints, " "),
               f.prefix, f.quorum ? std::to_string(f.quorum) : "majority");
  fleet_->start();
}

void ControlPlane::onHealthChange(const health::HealthChange& c) {
  if (fleet_) {
    // In a fleet this node only votes; the decision comes back from etcd.
    fleet_->observe(c.registry, c.region, c.to);
    return;
  }
  std::string cause = "from=" + std::string(policy::healthName(c.from)) + " probes=" + describeReports(c.recent);
  if (!c.recent.empty() && !c.recent.back().detail.empty()) cause += " last=\"" + c.recent.back().detail + "\"";
  auto r = router_->setHealth(c.registry, c.region, c.to, cause);
  if (!r) spdlog::debug("event=health_change_dropped {} ({})", r.error(), cause);
  write(health_file_);
}

std::string ControlPlane::renderMetricsFromHttpThread() {
  return scrape_cache_.get([this] {
    // The loop takes a snapshot (metrics_scrape.h); this thread serializes it.
    auto promise = std::make_shared<std::promise<MetricsScrape>>();
    auto future = promise->get_future();
    if (!tasks_.postBackground([this, promise] {
          auto started = std::chrono::steady_clock::now();
          metrics_.scraped(*router_, last_render_seconds_);
          if (fleet_) metrics_.fleet(fleet_->node(), fleet_->connected(), fleet_->liveNodes(), fleet_->revision());
          MetricsScrape scrape{
              queryMetrics(dns_ ? dns_->stats() : std::vector<const dns::WorkerStats*>{})->Collect(),
              RoutingMetrics::take(*router_), metrics_.events(), metrics_.registry(), last_page_bytes_.load()};
          last_render_seconds_ = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
          promise->set_value(std::move(scrape));
        }))
      return std::string();
    if (future.wait_for(std::chrono::seconds(10)) != std::future_status::ready) return std::string();
    std::string text = future.get().text();
    last_page_bytes_ = text.size();
    // A big page's parts were freed on this HTTP thread's malloc arena;
    // give them back now rather than keep them until the next scrape (at
    // 1,000 registries: +19 MiB resident after three scrapes without this).
    if (text.size() > (1u << 20)) returnFreedMemory();
    return text;
  });
}

void ControlPlane::onFreshness(const health::FreshnessReport& report) {
  auto g = topology_->registryIndex(report.registry);
  if (!g || !topology_->registries[*g].freshness) return;  // a round from before a reload
  auto previous = freshness_.find(report.registry);
  for (size_t r = 0; r < report.regions.size(); ++r) {
    const std::string& region = report.regions[r];
    const health::FreshnessStatus& now = report.replicas[r];
    health::FreshnessState before = health::FreshnessState::Unknown;
    if (previous != freshness_.end() && r < previous->second.regions.size() &&
        previous->second.regions[r] == region)
      before = previous->second.replicas[r].state;
    if (!router_->state(report.registry, region)) continue;  // not in this topology (any more)
    metrics_.freshness(report.registry, region, now);
    if (before != now.state) {
      spdlog::info("event=freshness registry={} replica={} from={} to={} seconds_behind={:.1f} detail=[{}]",
                   report.registry, region, health::freshnessName(before), health::freshnessName(now.state),
                   now.seconds_behind, now.detail);
      event("freshness", {{"registry", report.registry},
                          {"replica", region},
                          {"from", health::freshnessName(before)},
                          {"state", health::freshnessName(now.state)},
                          {"secondsBehind", now.seconds_behind},
                          {"detail", now.detail}});
    }
    // Per node, also in a fleet: each node reads the digests itself
    // (docs/fleet.md), so nodes agree within about one round.
    auto changed = router_->setLagging(report.registry, region, now.lagging(), now.detail);
    if (changed && *changed) write(health_file_);
  }
  freshness_[report.registry] = report;
}

void ControlPlane::onPairChange(const PairChange& c) {
  metrics_.change(c, *router_);
  static const std::map<std::string, std::string> kType{
      {"health", "health"}, {"operator", "exclusion"}, {"fault", "fault"}};
  nlohmann::json fields{{"registry", c.registry},
                        {"replica", c.replica},
                        {"health", policy::healthName(c.state.health)},
                        {"globalEndpointRouting", c.state.global_endpoint_routing},
                        {"lagging", c.state.lagging},
                        {"fault", faultName(c.fault)},
                        {"detail", c.detail},
                        {"routingChanged", c.routing_changed},
                        {"generation", c.generation}};
  // A freshness change has its own event already (onFreshness, with the lag).
  if (c.cause != "freshness") event(kType.count(c.cause) ? kType.at(c.cause) : c.cause, fields);
  if (c.routing_changed) {
    // The decision was change_seconds ago (recompute, compile, every worker switched).
    auto decided = std::chrono::steady_clock::now() -
                   std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                       std::chrono::duration<double>(std::max(0.0, c.change_seconds)));
    if (auto g = topology_->registryIndex(c.registry); g && resolvers_)
      resolvers_->purge(policy::endpointText(*topology_, topology_->registries[*g], policy::EndpointKind::Global),
                        decided);
    notifier_->notify(*topology_, router_->serial());
    event("routing", {{"registry", c.registry},
                            {"cause", c.cause},
                            {"replica", c.replica},
                            {"generation", c.generation},
                            {"routing", c.routing},
                            {"serial", router_->serial()},
                            {"purgeSeconds", c.purge_seconds},
                            {"changeSeconds", c.change_seconds}});
  }
}

std::string ControlPlane::zoneText() const {
  std::string zone = topology_->zone.toString();
  if (zone.size() > 1 && zone.back() == '.') zone.pop_back();
  return zone;
}

void ControlPlane::onPurgeReport(const PurgeReport& r) {
  // A sender retired by a reload may still report its last flush; its
  // resolver's series are gone and must not come back.
  const auto& named = topology_->announce.resolvers;
  if (std::none_of(named.begin(), named.end(), [&](const auto& c) { return c.name == r.resolver; })) return;
  metrics_.resolverPurge(r);
  double ms = (r.ok ? r.seconds : r.attempt_seconds) * 1000;
  if (r.ok)
    spdlog::info("event=resolver_purge resolver={} name={} result=ok ms={:.2f} attempt={} decisions={}", r.resolver,
                 r.name, ms, r.attempt, r.decisions);
  else
    spdlog::warn("event=resolver_purge resolver={} name={} result=error reason={} attempt={}/{} detail=[{}]{}",
                 r.resolver, r.name, r.reason, r.attempt, ResolverPurger::kMaxAttempts, r.detail,
                 r.final ? " (given up: the TTL bounds what the resolver serves)" : "");
  nlohmann::json fields{{"resolver", r.resolver}, {"name", r.name},          {"subtree", r.subtree},
                        {"result", r.ok ? "ok" : "error"}, {"ms", ms}, {"attempt", r.attempt},
                        {"decisions", r.decisions}};
  if (!r.ok) {
    fields["reason"] = r.reason;
    fields["detail"] = r.detail;
    fields["final"] = r.final;
  }
  event("resolver_purge", std::move(fields));
}

nlohmann::json ControlPlane::resolversJson() const {
  nlohmann::json out = nlohmann::json::array();
  if (!resolvers_) return out;
  for (const auto& s : resolvers_->status()) {
    nlohmann::json j{{"name", s.resolver.name},
                     {"type", policy::resolverTypeName(s.resolver.type)},
                     {"target", s.resolver.target()},
                     {"up", s.last ? nlohmann::json(s.up) : nlohmann::json(nullptr)},
                     {"flushed", s.flushed},
                     {"errors", s.errors},
                     {"givenUp", s.given_up},
                     {"pending", s.pending}};
    if (s.resolver.type == policy::CachingResolver::Type::Unbound)
      j["tls"] = !s.resolver.tls_server_cert.empty();
    if (s.last) {
      const auto& l = *s.last;
      char at[32];
      std::time_t t = std::chrono::system_clock::to_time_t(s.last_at);
      std::strftime(at, sizeof at, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&t));
      j["last"] = {{"name", l.name}, {"result", l.ok ? "ok" : "error"},
                   {"ms", (l.ok ? l.seconds : l.attempt_seconds) * 1000}, {"attempt", l.attempt}, {"at", at}};
      if (!l.ok) {
        j["last"]["reason"] = l.reason;
        j["last"]["detail"] = l.detail;
      }
    }
    out.push_back(std::move(j));
  }
  return out;
}

void ControlPlane::event(const std::string& type, nlohmann::json fields) {
  events_.add(type, std::move(fields));
  webhooks_.enqueue(events_.last().dump());
}

void ControlPlane::write(FileWriter& file, std::function<void(std::string)> done) {
  if (!store_.enabled()) {
    if (done) done("");
    return;
  }
  if (done) file.waiting.push_back(std::move(done));
  if (file.in_flight) {
    file.dirty = true;
    return;
  }
  file.in_flight = true;
  file.dirty = false;
  file.content = file.render();
  file.writing.swap(file.waiting);
  file.req.data = &file;
  uv_queue_work(
      &loop_, &file.req,
      [](uv_work_t* req) {
        auto* f = static_cast<FileWriter*>(req->data);
        auto ok = StateStore::writeAtomically(f->path, f->content);
        f->error = ok ? "" : ok.error();
      },
      [](uv_work_t* req, int) {
        auto* f = static_cast<FileWriter*>(req->data);
        auto* self = static_cast<ControlPlane*>(req->loop->data);
        f->in_flight = false;
        if (!f->error.empty()) spdlog::error("event=state_write_failed {}", f->error);
        auto told = std::move(f->writing);
        f->writing.clear();
        for (auto& d : told) d(f->error);
        if (f->dirty || !f->waiting.empty()) self->write(*f);
      });
}

void ControlPlane::onWatchdog(uv_timer_t* t) {
  auto* self = static_cast<ControlPlane*>(t->data);
  int64_t now = nowMs(), last = self->monitor_->lastResultMs();
  switch (self->watchdog_state_.check(now, last, self->started_ms_)) {
    case StallWatchdog::Event::Stalled:
      self->metrics_.setStalled(true);
      spdlog::error("event=probe_stall no probe result for {} ms (limit {} ms): health is stale",
                    now - std::max(last, self->started_ms_), self->watchdog_state_.limit());
      break;
    case StallWatchdog::Event::Recovered:
      self->metrics_.setStalled(false);
      spdlog::info("event=probe_stall_recovered");
      break;
    case StallWatchdog::Event::None:
      break;
  }
}

void ControlPlane::reload(std::function<void(Result<bool>)> done) {
  if (done) reload_waiting_.push_back(std::move(done));
  if (reload_) {
    reload_again_ = true;
    return;
  }
  startReload();
}

void ControlPlane::startReload() {
  spdlog::info("event=reload_started file={}", options_.config_path);
  reload_ = std::make_unique<Reload>();
  reload_->path = options_.config_path;
  reload_->catalog = catalog_;  // O(shards): rendered on the work thread
  reload_->catalog_version = catalog_version_;
  reload_->catalog_name = store_.catalogPath();
  reload_->previous = topology_;
  reload_->told.swap(reload_waiting_);
  reload_->req.data = reload_.get();
  uv_queue_work(
      &loop_, &reload_->req,
      [](uv_work_t* req) {  // work thread: touches only the Reload
        auto* run = static_cast<Reload*>(req->data);
        auto start = std::chrono::steady_clock::now();
        run->result = config::loadTopologyFile(run->path);
        if (run->result) {
          run->file = *run->result;
          auto merged = config::addCatalog(run->file, run->catalog.size() ? run->catalog.render() : "",
                                           run->catalog_name, nullptr, true);
          if (merged) {
            run->result = merged->topology;
            run->pending = std::move(merged->pending);
            run->changed = policy::registriesChanged(*run->previous, *merged->topology);
          } else {
            run->result = Error{merged.error()};
          }
        }
        run->parse_ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start)
                            .count();
      },
      [](uv_work_t* req, int) {  // the loop again
        auto* self = static_cast<ControlPlane*>(req->loop->data);
        if (self->stopping_) return self->endReload(Error{"switchyard is stopping"});
        self->applyReload(*self->reload_);
      });
}

void ControlPlane::endReload(Result<bool> ok) {
  std::unique_ptr<Reload> run = std::move(reload_);
  for (auto& d : run->told) d(ok);
  if (reload_again_ && !stopping_) {
    reload_again_ = false;
    startReload();
  }
}

void ControlPlane::applyReload(Reload& run) {
  auto& next = run.result;
  spdlog::info("event=config_loaded file={} ok={} parse_ms={}", run.path, static_cast<bool>(next), run.parse_ms);
  if (!next) {
    spdlog::error("event=reload_failed keeping the running config: {}", next.error());
    event("reload", {{"ok", false}, {"error", next.error()}});
    return endReload(Error{next.error()});
  }
  if ((*next)->listen_dns.size() != topology_->listen_dns.size())
    spdlog::warn("event=reload listen addresses changed: takes effect at the next restart");
  if ((*next)->tcp.idle != topology_->tcp.idle || (*next)->tcp.max_lifetime != topology_->tcp.max_lifetime ||
      (*next)->tcp.max_connections != topology_->tcp.max_connections)
    spdlog::warn("event=reload listen.tcp changed: takes effect at the next restart");
  if ((*next)->rate_limit.table_size != topology_->rate_limit.table_size)
    spdlog::warn("event=reload rate_limit.table_size changed: takes effect at the next restart"
                 " (the other rate_limit keys apply now)");
  if ((*next)->fleet != topology_->fleet)
    spdlog::warn("event=reload fleet changed: takes effect at the next restart");
  if ((*next)->admin_tls_cert.empty() != topology_->admin_tls_cert.empty())
    spdlog::warn("event=reload admin.tls added or removed: takes effect at the next restart");
  config::TopologyPtr merged = *next;
  std::vector<config::CatalogPending> pending = std::move(run.pending);
  if (run.catalog_version != catalog_version_) {
    // The API changed the catalog while the file was parsed: merge the
    // catalog as it is now (it was valid against the old file; a file that
    // refuses it fails the reload like any bad file, changing nothing).
    auto again = config::addCatalog(run.file, catalog_.render(), store_.catalogPath(), nullptr, true);
    if (!again) {
      spdlog::error("event=reload_failed keeping the running config: {}", again.error());
      event("reload", {{"ok", false}, {"error", again.error()}});
      return endReload(Error{again.error()});
    }
    merged = again->topology;
    pending = std::move(again->pending);
    run.changed.reset();  // against a topology no longer served
  }
  // Entries set aside stay aside until the file fits them again; but a file
  // that refuses a registry served now fails the reload, changing nothing
  // (stopping it is a DELETE, not a side effect of an edit).
  for (const auto& p : pending) {
    if (!p.refused) continue;
    auto g = topology_->registryIndex(p.registry);
    bool served = g && topology_->registries[*g].from_catalog;
    bool waiting = std::any_of(pending_registries_.begin(), pending_registries_.end(),
                               [&](const config::CatalogPending& q) { return q.registry == p.registry && !q.refused; });
    if (served || waiting) {
      std::string error = p.reason + " (registry '" + p.registry + "', made through the API)";
      spdlog::error("event=reload_failed keeping the running config: {}", error);
      event("reload", {{"ok", false}, {"error", error}});
      return endReload(Error{error});
    }
  }
  run.merged = merged;
  run.merged_pending = std::move(pending);
  // Every answer moves (a setting changed, or the served topology is not
  // the one the run compared with) and there are many: compile the new
  // answers on a work thread while this loop goes on serving the API and
  // applying changes; commitReload installs them.
  if (!(run.changed && topology_ == run.previous)) run.changed.reset();  // compared with what is no longer served
  if (run.changed || merged->registries.size() < kPrepareAbove) return commitReload(run, nullptr);
  run.prepared_against = topology_;
  run.prepared_version = catalog_version_;
  run.snapshot = router_->snapshot();
  run.compile_req.data = &run;
  uv_queue_work(
      &loop_, &run.compile_req,
      [](uv_work_t* req) {  // work thread: the snapshot and immutable topologies only
        auto* r = static_cast<Reload*>(req->data);
        auto t0 = std::chrono::steady_clock::now();
        r->prepared = Router::prepare(*r->snapshot, r->merged);
        r->snapshot.reset();
        r->targets = health::buildTargets(*r->merged);  // 500,000 probed pairs: 0.5 s
        r->prepare_ms = millisBetween(t0, std::chrono::steady_clock::now());
      },
      [](uv_work_t* req, int) {
        auto* self = static_cast<ControlPlane*>(req->loop->data);
        Reload& r = *self->reload_;
        if (self->stopping_) return self->endReload(Error{"switchyard is stopping"});
        spdlog::info("event=reload_prepared registries={} prepare_ms={:.1f} (off the control loop)",
                     r.merged->registries.size(), r.prepare_ms);
        if (self->topology_ != r.prepared_against || self->catalog_version_ != r.prepared_version) {
          // The API changed the catalog meanwhile: read the file and the
          // catalog again rather than install answers that miss the change.
          spdlog::info("event=reload_restarted (the catalog changed while the new answers were compiled)");
          for (auto& d : r.told) self->reload_waiting_.push_back(std::move(d));
          self->reload_.reset();
          self->reload_again_ = false;
          return self->startReload();
        }
        self->commitReload(r, &*r.prepared);
      });
}

void ControlPlane::commitReload(Reload& run, Router::Prepared* prepared) {
  config::TopologyPtr merged = run.merged;
  for (const auto& p : pending_registries_)
    if (p.refused && merged->registryIndex(p.registry))
      spdlog::info("event=catalog_entry_admitted registry={} (the config file fits it again)", p.registry);
  file_topology_ = run.file;
  pending_registries_ = std::move(run.merged_pending);
  if (run.changed) {
    // Only registries changed: the others keep their states, routing and
    // answers (the catalog-edit path), so the loop does O(changed) work
    // plus a pass of pointers, not a rebuild of every answer.
    spdlog::info("event=reload_changes registries={} (the rest carried)", run.changed->size());
    applyTopology(merged, &*run.changed);
  } else {
    applyTopology(merged, nullptr, prepared, prepared ? &run.targets : nullptr);
  }
  // The parse's tree and the old answers back to the system, on a work
  // thread: malloc_trim walks the whole heap (not per API change).
  auto* trim = new uv_work_t;
  uv_queue_work(&loop_, trim, [](uv_work_t*) { returnFreedMemory(); }, [](uv_work_t* req, int) { delete req; });
  if (auto token = loadToken(); !token) spdlog::error("event=reload_token_failed {} (keeping the old token)", token.error());
  if (admin_tls_ && !topology_->admin_tls_cert.empty()) {
    // A rotated certificate is picked up here; new connections get it.
    if (auto ok = admin_tls_->reload(topology_->admin_tls_cert, topology_->admin_tls_key); !ok)
      spdlog::error("event=reload_tls_failed {} (keeping the old certificate)", ok.error());
    else
      spdlog::info("event=admin_tls certificate=\"{}\"", admin_tls_->describe());
  }
  webhooks_.setUrls(topology_->announce.webhooks);
  metrics_.retainResolvers(topology_->announce.resolvers);
  if (resolvers_) {  // gone once stopAll ran
    resolvers_->setResolvers(zoneText(), topology_->announce.resolvers);
    // Any answer may have moved (replicas, addresses, TTLs): one flush of the
    // zone's subtree per resolver covers every name.
    resolvers_->purge(zoneText(), std::chrono::steady_clock::now(), true);
  }
  notifier_->notify(*topology_, router_->serial());  // a reload is a new version of the zone
  event("reload", {{"ok", true}, {"generation", router_->table()->generation}});
  if (fleet_ && !fleet_refused_.empty()) {
    // The fleet's entries this node refused: the new file may fit them.
    std::map<std::string, std::optional<std::string>> again(fleet_refused_.begin(), fleet_refused_.end());
    fleet_refused_.clear();
    onFleetCatalog(again, false);
    size_t admitted = 0;
    for (const auto& [name, text] : again) {
      const bool refused = fleet_refused_.count(name) > 0;
      fleet_->setRefused(name, refused);
      if (!refused) ++admitted;
    }
    // Counts what this reload let in, not what it tried: a still-refused entry stays listed as refused.
    if (admitted > 0) spdlog::info("event=fleet_catalog_admitted registries={}", admitted);
  }
  endReload(true);
}

void ControlPlane::applyTopology(config::TopologyPtr next, const std::unordered_set<std::string>* edited,
                                 Router::Prepared* prepared, std::vector<health::ProbeTarget>* targets,
                                 const policy::SlotEdit* slots) {
  auto before = std::move(topology_);
  topology_ = std::move(next);
  if (slots && (!edited || slots->base != before.get())) slots = nullptr;
  // Where a new topology's time goes (bench/catalog_bench.sh reads it).
  auto t0 = std::chrono::steady_clock::now();
  const auto ms = millisBetween;
  // The Router applies the reload rule (router.h) to overrides as well.
  if (router_->applyTopology(topology_, edited, prepared, slots) > 0) write(overrides_file_);
  auto t1 = std::chrono::steady_clock::now();
  // The series of what went go with it.
  if (slots) metrics_.retainEdit(topology_, *slots, *edited);
  else metrics_.retain(topology_);
  scrape_cache_.invalidate();  // families and series change with the config: no scrape of the old one
  auto gone = [this](const auto& kv) { return !router_->state(kv.first.registry, kv.first.region); };
  if (edited) {
    for (const auto& name : *edited)
      for (auto it = last_probe_.lower_bound(PairKey{name, ""}); it != last_probe_.end() && it->first.registry == name;)
        it = gone(*it) ? last_probe_.erase(it) : std::next(it);
  } else {
    std::erase_if(last_probe_, gone);
  }
  auto t2 = std::chrono::steady_clock::now();
  if (edited) {
    // Only the edited registries' probes change: targets for those alone.
    std::vector<health::ProbeTarget> targets;
    for (const auto& name : *edited)
      if (auto g = topology_->registryIndex(name))
        for (uint32_t r = 0; r < topology_->registries[*g].replicas.size(); ++r)
          targets.push_back(health::targetOf(*topology_, *g, r));
    monitor_->setRegistryTargets({edited->begin(), edited->end()}, std::move(targets));
  } else {
    monitor_->setTargets(targets ? std::move(*targets) : health::buildTargets(*topology_));
  }
  // Freshness checks are few registries: rebuilt when an edit touches one
  // of them (a walk of every registry), else left alone.
  bool freshness_moved = !edited;
  if (edited)
    for (const auto& name : *edited)
      for (const auto* t : {before.get(), topology_.get()}) {
        auto g = t ? t->registryIndex(name) : std::nullopt;
        freshness_moved = freshness_moved || (g && t->registries[*g].freshness);
      }
  if (freshness_moved) monitor_->setFreshness(health::buildFreshnessTargets(*topology_));
  auto t3 = std::chrono::steady_clock::now();
  spdlog::info("event=topology_applied registries={} router_ms={:.3f} metrics_ms={:.3f} probes_ms={:.3f}",
               topology_->registries.size(), ms(t0, t1), ms(t1, t2), ms(t2, t3));
  for (auto it = freshness_.begin(); it != freshness_.end();) {
    auto g = topology_->registryIndex(it->first);
    if (g && topology_->registries[*g].freshness) {
      ++it;
      continue;
    }
    metrics_.forgetFreshness(it->first);
    it = freshness_.erase(it);
  }
  if (slots) editStallLimit(*before, *edited);
  else computeStallLimit();
  if (fleet_ && before) {
    // A pair gone: its vote and the fleet's last decision go (a pair made
    // again later is decided afresh). A pair new here: the fleet may have
    // decided it already, while this node did not know it.
    auto eachPair = [](const policy::Topology& t, auto&& f) {
      for (const auto& reg : t.registries)
        for (const auto& r : reg.replicas) f(reg.name, t.regions[r.region].name);
    };
    auto has = [](const policy::Topology& t, const std::string& registry, const std::string& region) {
      auto g = t.registryIndex(registry);
      return g && t.replicaIndex(*g, region);
    };
    auto gone = [&](const std::string& registry, const std::string& region) {
      if (!has(*topology_, registry, region)) fleet_->forgetPair(registry, region);
    };
    auto come = [&](const std::string& registry, const std::string& region) {
      if (!has(*before, registry, region)) fleet_->redeliver(registry, region);
    };
    if (edited) {
      // A catalog edit: only its registries' pairs can come or go.
      auto eachPairOf = [](const policy::Topology& t, const std::string& name, auto&& f) {
        if (auto g = t.registryIndex(name))
          for (const auto& r : t.registries[*g].replicas) f(name, t.regions[r.region].name);
      };
      for (const auto& name : *edited) {
        eachPairOf(*before, name, gone);
        eachPairOf(*topology_, name, come);
      }
    } else {
      eachPair(*before, gone);
      eachPair(*topology_, come);
    }
  }
}

void ControlPlane::changeCatalog(std::vector<CatalogEdit> edits, std::function<void(std::optional<ApiResponse>)> done) {
  // In a fleet etcd holds the catalog (catalog.json is a local copy).
  if (!store_.enabled() && !topology_->fleet)
    return done(apiError(409, "registries made through the API live in the state directory: start switchyard with "
                              "--state-dir"));
  ApiResponse refused;
  auto t0 = std::chrono::steady_clock::now();
  auto merged = checkCatalog(edits, true, refused);
  if (!merged) return done(refused);
  if (topology_->fleet) return writeFleetCatalog(edits, *merged, std::move(done));
  auto t1 = std::chrono::steady_clock::now();
  commitCatalog(std::move(edits), std::move(*merged));
  auto t2 = std::chrono::steady_clock::now();
  persistCatalog([done](std::string error) {
    if (error.empty()) return done(std::nullopt);
    // Memory holds it and the disk does not: the append is retried every
    // second until it lands (a retried DELETE finds nothing to delete).
    done(apiError(500, "applied but not persisted (catalog.journal): " + error + "; retried every second"));
  });
  const auto ms = millisBetween;
  spdlog::info("event=catalog_change registries={} check_ms={:.3f} apply_ms={:.3f} render_ms={:.3f}",
               topology_->registries.size(), ms(t0, t1), ms(t1, t2), ms(t2, std::chrono::steady_clock::now()));
}

Result<config::CatalogTopology> ControlPlane::checkCatalog(const std::vector<CatalogEdit>& edits, bool api,
                                                           ApiResponse& refused) const {
  std::vector<std::string> removed;
  nlohmann::json added = nlohmann::json::array();
  for (const auto& e : edits) {
    removed.push_back(e.change.registry);
    if (e.doc) added.push_back(*e.doc);
  }
  config::FieldError field;
  auto merged = config::editCatalog(topology_, removed, nlohmann::json{{"registries", added}}.dump(1),
                                    store_.catalogPath(), &field);
  if (!merged) {
    refused = apiError(400, merged.error());
    // "registries[N]..." is the N-th edited entry: name it, and say the rest
    // in the API's words.
    size_t n = added.size();
    if (field.path.rfind("registries[", 0) == 0) n = std::strtoul(field.path.c_str() + 11, nullptr, 10);
    if (n < added.size()) {
      std::string api_field = apiField(field.path, added[n]);
      refused.body["registry"] = added[n]["name"];
      refused.body["field"] = api_field;
      refused.body["error"] = (api_field.empty() ? "" : api_field + ": ") + field.message;
    } else if (!field.path.empty()) {
      refused.body["field"] = field.path;
    }
    return Error{refused.body["error"].get<std::string>()};
  }
  // A change must not quietly stop a served registry (a new home without a
  // replica, replications emptied): that is a DELETE, said as one.
  if (api)
    for (const auto& p : merged->pending)
      if (topology_->registryIndex(p.registry)) {
        refused = apiError(409, "'" + p.registry + "' would stop serving: " + p.reason +
                                    " (give its home region a replica first, or delete the registry)");
        refused.body["registry"] = p.registry;
        refused.body["field"] = "home";
        return Error{refused.body["error"].get<std::string>()};
      }
  return merged;
}

void ControlPlane::commitCatalog(std::vector<CatalogEdit> edits, config::CatalogTopology merged) {
  std::vector<CatalogChange> changes;
  std::vector<std::string> ops;  // one journal line for the whole change
  for (auto& e : edits) {
    const std::string& name = e.change.registry;
    std::erase_if(pending_registries_, [&](const config::CatalogPending& p) { return p.registry == name; });
    if (e.doc) ops.push_back(journal::putOp(catalog_.put(*e.doc)));
    else if (catalog_.erase(name)) ops.push_back(journal::deleteOp(name));
    changes.push_back(std::move(e.change));
  }
  if (!ops.empty()) catalog_writer_.pending += journal::line(ops);
  // An operator's decision about a replica the API deleted goes with it: a
  // replica made again later starts from its new settings, not an old exclusion.
  size_t forgotten = 0;
  for (const auto& change : changes) {
    auto g = merged.topology->registryIndex(change.registry);
    forgotten += router_->forgetOverrides(change.registry, [&](const std::string& region) {
      return !g || !merged.topology->replicaIndex(*g, region);
    });
  }
  if (forgotten > 0) write(overrides_file_);
  ++catalog_version_;
  for (auto& p : merged.pending) pending_registries_.push_back(std::move(p));
  auto before = topology_;
  std::unordered_set<std::string> edited;
  for (const auto& change : changes) edited.insert(change.registry);
  applyTopology(merged.topology, &edited, nullptr, nullptr, merged.slots ? &*merged.slots : nullptr);
  // Resolvers may hold the registries' names (an NXDOMAIN before one
  // existed, the old answer after): flush those, not the whole zone.
  if (resolvers_) {
    auto now = std::chrono::steady_clock::now();
    for (const auto& change : changes)
      for (const auto* t : {before.get(), topology_.get()}) {
        auto g = t->registryIndex(change.registry);
        if (!g) continue;
        const auto& reg = t->registries[*g];
        resolvers_->purge(policy::endpointText(*t, reg, policy::EndpointKind::Global), now);
        for (const auto& r : reg.replicas) {
          if (reg.regional_endpoints)
            resolvers_->purge(policy::endpointText(*t, reg, policy::EndpointKind::Regional, r.region), now);
          if (reg.data_endpoints) resolvers_->purge(policy::endpointText(*t, reg, policy::EndpointKind::Data, r.region), now);
        }
      }
  }
  notifier_->notify(*topology_, router_->serial());
  for (const auto& change : changes) {
    nlohmann::json fields{{"registry", change.registry}, {"generation", router_->table()->generation}};
    if (!change.replica.empty()) fields["replica"] = change.replica;
    spdlog::info("event={} registry={} replica={} generation={}", change.event, change.registry, change.replica,
                 router_->table()->generation);
    event(change.event, std::move(fields));
  }
}

void ControlPlane::persistCatalog(std::function<void(std::string)> done) {
  auto& w = catalog_writer_;
  if (!store_.enabled()) {
    w.pending.clear();
    if (done) done("");
    return;
  }
  if (done) w.waiting.push_back(std::move(done));
  startCatalogJob();
}

void ControlPlane::startCatalogJob() {
  auto& w = catalog_writer_;
  if (w.in_flight || uv_is_active(reinterpret_cast<uv_handle_t*>(&catalog_retry_))) return;
  if (stopping_ && w.failed) return;  // a disk that keeps failing must not hold up the exit
  const bool appending = !w.pending.empty() || !w.waiting.empty();
  // catalog.json whole again once the journal outgrows an eighth of it (a
  // restart replays at most that), from a copy of the catalog, in a job of
  // its own so no reply waits for it; appends that come meanwhile wait. Under
  // a stream of changes that never leaves a gap, past twice the limit, the
  // job appends first and rewrites after, so the journal stays bounded.
  const size_t limit = options_.catalog_journal_limit ? options_.catalog_journal_limit
                                                      : std::max<size_t>(256 << 10, catalog_.textBytes() / 8);
  const size_t journal = w.journal_bytes + w.pending.size();
  const bool compacting = journal > limit && journal >= w.compact_after && (!appending || journal > 2 * limit);
  if (!appending && !compacting) return;
  w.in_flight = true;
  w.bytes = std::move(w.pending);
  w.pending.clear();
  w.writing = std::move(w.waiting);
  w.waiting.clear();
  w.error.clear();
  w.compacted = false;
  // The copy holds every change committed so far: those on disk, and
  // `bytes`, appended first.
  if (compacting) w.compact = catalog_;
  else w.compact.reset();
  w.req.data = this;
  uv_queue_work(
      &loop_, &w.req,
      [](uv_work_t* req) {  // work thread: the job's fields and the file system only
        auto* self = static_cast<ControlPlane*>(req->data);
        auto& job = self->catalog_writer_;
        if (!job.bytes.empty())
          if (auto ok = self->store_.appendJournal(job.bytes); !ok) {
            job.error = ok.error();
            return;
          }
        if (!job.compact) return;
        auto t0 = std::chrono::steady_clock::now();
        if (auto ok = StateStore::writeAtomically(self->store_.catalogPath(), job.compact->render()); !ok) {
          spdlog::error("event=catalog_compact_failed {} (the journal keeps every change)", ok.error());
          return;
        }
        if (auto ok = self->store_.clearJournal(); !ok) {
          spdlog::error("event=catalog_compact_failed {} (replaying it again is harmless)", ok.error());
          return;
        }
        job.compacted = true;
        spdlog::info("event=catalog_compacted registries={} ms={:.1f}", job.compact->size(),
                     millisBetween(t0, std::chrono::steady_clock::now()));
      },
      [](uv_work_t* req, int) {
        auto* self = static_cast<ControlPlane*>(req->data);
        auto& job = self->catalog_writer_;
        job.in_flight = false;
        const bool tried_compaction = job.compact.has_value();
        job.compact.reset();  // its shards go back to the loop's catalog alone
        auto told = std::move(job.writing);
        job.writing.clear();
        job.failed = !job.error.empty();
        if (job.failed) {
          spdlog::error("event=state_write_failed {}", job.error);
          job.pending = std::move(job.bytes) + job.pending;  // in front: the order of changes is the journal's
          if (!self->stopping_)
            uv_timer_start(&self->catalog_retry_, [](uv_timer_t* t) {
              auto* cp = static_cast<ControlPlane*>(t->loop->data);
              cp->persistCatalog([cp](std::string again) {
                if (again.empty()) spdlog::info("event=catalog_persisted after an earlier failure");
              });
            }, 1000, 0);
        } else {
          job.journal_bytes = job.compacted ? 0 : job.journal_bytes + job.bytes.size();
          // A rewrite that failed is tried again only after as much again.
          job.compact_after = tried_compaction && !job.compacted ? job.journal_bytes * 2 : 0;
        }
        job.bytes.clear();
        for (auto& d : told) d(job.error);
        self->startCatalogJob();
      });
}

void ControlPlane::writeFleetCatalog(const std::vector<CatalogEdit>& edits, const config::CatalogTopology& merged,
                                     std::function<void(std::optional<ApiResponse>)> done) {
  fleet::FleetSync::CatalogWrite w;
  size_t ops = 1;  // the catalog-initialized marker (fleet_sync.h)
  for (const auto& e : edits) {
    const std::string& name = e.change.registry;
    w.entries[name] = e.doc ? std::optional<std::string>(e.doc->dump()) : std::nullopt;
    ops += e.doc ? 1 : 3;  // a deletion also takes the registry's flags and faults
    auto g = topology_->registryIndex(name);
    auto after = merged.topology->registryIndex(name);
    if (!g || !after) continue;
    for (const auto& r : topology_->registries[*g].replicas) {
      const std::string& region = topology_->regions[r.region].name;
      if (merged.topology->replicaIndex(*after, region)) continue;
      w.gone_pairs.push_back({name, region});
      ops += 2;
    }
  }
  // etcd refuses a bigger transaction (--max-txn-ops, 128 by default) with
  // a message that names neither the cause nor the way out.
  if (ops > 128) {
    ApiResponse bad = apiError(413, "fleet mode: this change is " + std::to_string(ops) +
                                        " etcd operations, over the 128 one transaction holds; send fewer registries "
                                        "per request (switchyardctl registry import --lines N)");
    bad.body["field"] = "batch";
    return done(bad);
  }
  std::map<std::string, std::optional<nlohmann::json>> wrote;
  for (const auto& e : edits) wrote[e.change.registry] = e.doc;
  fleet_->writeCatalog(w, [this, wrote = std::move(wrote), done = std::move(done)](fleet::FleetSync::CatalogWritten r) {
    if (!r.error.empty()) return done(apiError(r.conflict ? 409 : 503, r.error));
    int64_t revision = r.revision;
    fleet_->whenApplied(revision, [this, wrote, done, revision](bool applied) {
      if (!applied)
        return done(apiError(503, "written to etcd at revision " + std::to_string(revision) +
                                      ", not applied on this node yet: it will be once it reads etcd again"));
      // Applied as written? A reload between the check and the watch, or
      // another node's write in the same batch, can make this node refuse it.
      for (const auto& [name, doc] : wrote) {
        const std::optional<nlohmann::json> now = catalog_.find(name);
        if (doc ? now && *now == *doc : !now) continue;
        ApiResponse bad = apiError(409, "written to etcd at revision " + std::to_string(revision) + ", but this node " +
                                            (now || !doc ? "holds another version of '" + name + "' now"
                                                         : "refused '" + name + "' (event catalog_refused)") +
                                            ": read it again");
        bad.body["registry"] = name;
        return done(bad);
      }
      done(std::nullopt);
    });
  });
}

std::set<std::string> ControlPlane::onFleetCatalog(const std::map<std::string, std::optional<std::string>>& changes,
                                                   bool whole) {
  std::set<std::string> refused;
  auto refuse = [&](const std::string& name, const std::optional<std::string>& text, const std::string& error) {
    spdlog::error("event=fleet_catalog_refused registry={} {} (keeping what this node serves)", name, error);
    event("catalog_refused", {{"registry", name}, {"error", error}});
    refused.insert(name);
    if (text) fleet_refused_[name] = *text;  // tried again after the next reload
  };
  if (whole && changes.empty() && catalog_.size() > 0 && !fleet_->catalogInitialized()) {
    // etcd never held a catalog (fleet mode just turned on, a new etcd, a
    // changed prefix): seed it from this node's copy rather than stop serving
    // every registry made through the API. One emptied by deletes carries
    // the marker, so what was deleted while this node was away stays gone. Guarded creates: a node seeding
    // at the same time wins or loses whole chunks, never half an entry.
    spdlog::warn("event=fleet_catalog_seeded registries={} (etcd holds no catalog; this node's copy is written to it)",
                 catalog_.size());
    fleet::FleetSync::CatalogWrite chunk;
    auto send = [this](fleet::FleetSync::CatalogWrite w) {
      fleet_->writeCatalog(w, [](fleet::FleetSync::CatalogWritten r) {
        if (!r.error.empty()) spdlog::error("event=fleet_catalog_seed_failed {}", r.error);
      });
    };
    catalog_.forEach([&](const std::string& name, const std::string& line) {
      chunk.entries[name] = line;
      if (chunk.entries.size() == 100) send(std::exchange(chunk, {}));
    });
    if (!chunk.entries.empty()) send(std::move(chunk));
    return refused;
  }
  std::vector<CatalogEdit> edits;
  auto consider = [&](const std::string& name, const std::optional<std::string>& text) {
    fleet_refused_.erase(name);
    const std::optional<nlohmann::json> before = catalog_.find(name);
    std::optional<nlohmann::json> after;
    if (text) {
      auto checked = Catalog::checkEntry(nlohmann::json::parse(*text, nullptr, false), "etcd catalog/" + name);
      if (checked && (*checked)["name"] != name) checked = makeError("etcd catalog/" + name + ": names another registry");
      if (!checked) return refuse(name, text, checked.error());
      after = std::move(*checked);
    }
    if (!before && !after) return;
    if (before && after && *before == *after) return;  // this node's own write, or a resync that found nothing new
    edits.push_back({describeEdit(name, before ? &*before : nullptr, after ? &*after : nullptr), std::move(after)});
  };
  for (const auto& [name, text] : changes) consider(name, text);
  if (whole) {
    std::vector<std::string> gone;
    catalog_.forEach([&](const std::string& name, const std::string&) {
      if (!changes.count(name)) gone.push_back(name);
    });
    std::sort(gone.begin(), gone.end());
    for (const auto& name : gone) {
      // etcd is the truth: deleted while this node was away.
      spdlog::warn("event=fleet_catalog_dropped registry={} (not in etcd)", name);
      consider(name, std::nullopt);
    }
  }
  if (edits.empty()) return refused;
  auto text = [&](const CatalogEdit& e) {
    auto it = changes.find(e.change.registry);
    return it == changes.end() ? std::optional<std::string>() : it->second;
  };
  ApiResponse why;
  if (auto merged = checkCatalog(edits, false, why)) {
    commitCatalog(std::move(edits), std::move(*merged));
  } else {
    // One entry this node cannot serve must not hold back the others: one
    // at a time (the slow path, for a refusal).
    for (auto& e : edits) {
      auto one = checkCatalog({e}, false, why);
      if (!one) {
        refuse(e.change.registry, text(e), why.body.value("error", std::string("refused")));
        continue;
      }
      commitCatalog({std::move(e)}, std::move(*one));
    }
  }
  // A local copy: a restart without etcd serves what the fleet last had.
  persistCatalog([](std::string error) {
    if (!error.empty()) spdlog::error("event=catalog_copy_write_failed {}", error);
  });
  return refused;
}

void ControlPlane::onSignal(uv_signal_t* h, int signum) {
  auto* self = static_cast<ControlPlane*>(h->data);
  if (signum == SIGHUP) {
    self->reload({});
    return;
  }
  spdlog::info("event=stopping signal={}", signum);
  self->stopAll(0);
}

void ControlPlane::stopAll(int exit_code) {
  exit_code_ = exit_code;
  stopping_ = true;
  if (drills_) drills_->stopAll();  // undo drill changes while the loop still runs
  // Answer reload requests now: their HTTP threads wait for the answer, and
  // stopping the admin server below joins those threads. (The parse itself
  // finishes on its work thread; its result is then dropped.)
  std::vector<std::function<void(Result<bool>)>> unanswered;
  unanswered.swap(reload_waiting_);
  if (reload_) {
    for (auto& d : reload_->told) unanswered.push_back(std::move(d));
    reload_->told.clear();
  }
  reload_again_ = false;
  for (auto& d : unanswered) d(Error{"switchyard is stopping"});
  tasks_.close();
  if (dns_) dns_->stop();
  readiness_.dns_serving = false;
  if (admin_) admin_->stop();
  if (monitor_) monitor_->stop();
  if (notifier_) notifier_->close();
  if (fleet_) fleet_->stop();
  webhooks_.stop();
  if (resolvers_) resolvers_->stop();
  resolvers_.reset();  // its senders report through tasks_, destroyed before it
  for (auto& s : signals_)
    if (s.data) uv_close(reinterpret_cast<uv_handle_t*>(&s), nullptr);
  for (uv_handle_t* h : {reinterpret_cast<uv_handle_t*>(&watchdog_), reinterpret_cast<uv_handle_t*>(&start_bound_),
                         reinterpret_cast<uv_handle_t*>(&catalog_retry_)})
    if (h->data && !uv_is_closing(h)) uv_close(h, nullptr);
  // Pending state writes finish on their own; uv_run returns after them.
}

}  // namespace switchyard::control
