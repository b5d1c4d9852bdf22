#include "fleet/fleet_sync.h"

namespace switchyard::fleet {

namespace {

std::vector<std::string> split(const std::string& s) {
  std::vector<std::string> parts;
  size_t start = 0;
  for (size_t slash; (slash = s.find('/', start)) != std::string::npos; start = slash + 1)
    parts.push_back(s.substr(start, slash - start));
  parts.push_back(s.substr(start));
  return parts;
}

const char* verdict(policy::Health h) { return h == policy::Health::Down ? "down" : "up"; }


}  // namespace

FleetSync::FleetSync(uv_loop_t* loop, FleetOptions options, Callbacks callbacks)
    : options_(std::move(options)),
      callbacks_(std::move(callbacks)),
      http_(loop),
      etcd_(http_, options_.endpoints),
      quorum_(options_.quorum) {
  uv_timer_init(loop, &keepalive_);
  uv_timer_init(loop, &retry_);
  uv_timer_init(loop, &applied_timer_);
  keepalive_.data = retry_.data = applied_timer_.data = this;
}

FleetSync::~FleetSync() { stop(); }

void FleetSync::start() { connect(); }

void FleetSync::stop() {
  if (stopped_) return;
  stopped_ = true;
  *alive_ = false;
  if (watch_) etcd_.cancelWatch(watch_);
  fireApplied(false);
  http_.close();
  uv_close(reinterpret_cast<uv_handle_t*>(&keepalive_), nullptr);
  uv_close(reinterpret_cast<uv_handle_t*>(&retry_), nullptr);
  uv_close(reinterpret_cast<uv_handle_t*>(&applied_timer_), nullptr);
}

// Connecting: a fresh lease, this node's key and verdicts on it, a full read,
// then a watch from just after that read. Any failure: disconnect() retries.
void FleetSync::connect() {
  if (stopped_) return;
  uint64_t attempt = ++attempt_;
  std::weak_ptr<bool> alive = alive_;
  auto current = [this, alive, attempt] { return !alive.expired() && attempt == attempt_ && !stopped_; };
  etcd_.grantLease(options_.lease_ttl.count(), [this, current](Result<int64_t> lease) {
    if (!current()) return;
    if (!lease) return disconnect(lease.error());
    lease_ = *lease;
    etcd_.put(options_.prefix + "nodes/" + options_.node, "alive", lease_, [this, current](Result<int64_t> put) {
      if (!current()) return;
      if (!put) return disconnect(put.error());
      etcd_.getPrefix(options_.prefix, [this, current](Result<RangeResult> snapshot) {
        if (!current()) return;
        if (!snapshot) return disconnect(snapshot.error());
        // Connected before the read is applied: what it calls back may write
        // (seeding an empty catalog), and a write refuses while disconnected.
        connected_ = true;
        resync(*snapshot);
        watchFrom(snapshot->revision + 1);
        uint64_t every = static_cast<uint64_t>(options_.lease_ttl.count()) * 1000 / 3;
        uv_timer_start(&keepalive_, &FleetSync::onKeepAlive, every, every);
        for (const auto& [pair, health] : mine_) unsent_.insert(pair);
        flushObservations();
        if (callbacks_.on_connection) callbacks_.on_connection(true, etcd_.endpoint());
      });
    });
  });
}

void FleetSync::disconnect(const std::string& why) {
  if (stopped_) return;
  ++attempt_;  // whatever is still in flight belongs to the old connection
  if (watch_) etcd_.cancelWatch(watch_);
  watch_ = 0;
  writing_ = false;
  uv_timer_stop(&keepalive_);
  bool was = connected_;
  connected_ = false;
  fireApplied(false);
  if (was && callbacks_.on_connection) callbacks_.on_connection(false, why);
  uv_timer_start(&retry_, &FleetSync::onRetry, 1000, 0);
}

void FleetSync::onRetry(uv_timer_t* t) { static_cast<FleetSync*>(t->data)->connect(); }

void FleetSync::onKeepAlive(uv_timer_t* t) {
  auto* self = static_cast<FleetSync*>(t->data);
  std::weak_ptr<bool> alive = self->alive_;
  uint64_t attempt = self->attempt_;
  self->etcd_.keepAlive(self->lease_, [self, alive, attempt](Result<int64_t> ttl) {
    if (alive.expired() || attempt != self->attempt_) return;
    if (!ttl) self->disconnect("lease keep-alive: " + ttl.error());
  });
}

void FleetSync::watchFrom(int64_t revision) {
  std::weak_ptr<bool> alive = alive_;
  uint64_t attempt = attempt_;
  watch_ = etcd_.watch(
      options_.prefix, revision,
      [this](int64_t rev, std::vector<WatchEvent> events) {
        for (const auto& e : events) {
          apply(e.kv, e.type == WatchEvent::Type::Delete);
          applied_revision_ = std::max(applied_revision_, e.kv.mod_revision);
        }
        revision_ = std::max(revision_, rev);
        flushCatalog(false);
        fireApplied(true);
      },
      [this, alive, attempt](std::string why, int64_t) {
        if (alive.expired() || attempt != attempt_) return;
        watch_ = 0;
        // A gap could hide a change: reconnect does a full read first.
        disconnect("watch ended: " + why);
      });
}

void FleetSync::resync(const RangeResult& snapshot) {
  quorum_ = Quorum(options_.quorum);
  std::map<std::string, std::string> before;
  before.swap(operator_keys_);
  // Decide once everything is read: half a snapshot (some votes, not all)
  // could flip a pair for a moment.
  resyncing_ = true;
  catalog_revisions_.clear();
  catalog_refused_.clear();
  catalog_batch_.clear();
  catalog_initialized_ = false;
  for (const auto& kv : snapshot.kvs) apply(kv, false);
  resyncing_ = false;
  // Operator keys deleted while this node was away.
  for (const auto& [key, value] : before)
    if (!operator_keys_.count(key)) apply(KeyValue{options_.prefix + key, "", 0, 0, 0}, true);
  std::set<std::string> pairs = quorum_.pairs();
  for (const auto& [pair, health] : decided_) pairs.insert(pair);
  for (const auto& pair : pairs) redecide(pair);
  revision_ = std::max(revision_, snapshot.revision);
  applied_revision_ = std::max(applied_revision_, snapshot.revision);
  flushCatalog(true);
  fireApplied(true);
}

void FleetSync::flushCatalog(bool whole) {
  if (!whole && catalog_batch_.empty()) return;
  std::map<std::string, std::optional<std::string>> batch;
  batch.swap(catalog_batch_);
  if (!callbacks_.on_catalog) return;
  // The guard of this node's next write of a refused entry: never etcd's
  // (invariant 3).
  for (const auto& name : callbacks_.on_catalog(batch, whole))
    if (catalog_revisions_.count(name)) catalog_refused_.insert(name);
}

void FleetSync::setRefused(const std::string& registry, bool refused) {
  if (refused && catalog_revisions_.count(registry)) catalog_refused_.insert(registry);
  else catalog_refused_.erase(registry);
}

void FleetSync::fireApplied(bool connected) {
  // Taken out first: a callback may add a waiter.
  std::vector<std::function<void(bool)>> ready;
  for (auto it = applied_waiters_.begin(); it != applied_waiters_.end();) {
    if (connected && it->first > applied_revision_) break;
    ready.push_back(std::move(it->second.done));
    it = applied_waiters_.erase(it);
  }
  if (applied_waiters_.empty() && !stopped_) uv_timer_stop(&applied_timer_);
  for (auto& f : ready) f(connected);
}

void FleetSync::onAppliedTimer(uv_timer_t* t) {
  auto* self = static_cast<FleetSync*>(t->data);
  auto now = std::chrono::steady_clock::now();
  std::vector<std::function<void(bool)>> late;
  for (auto it = self->applied_waiters_.begin(); it != self->applied_waiters_.end();) {
    if (it->second.deadline > now) {
      ++it;
      continue;
    }
    late.push_back(std::move(it->second.done));
    it = self->applied_waiters_.erase(it);
  }
  if (self->applied_waiters_.empty()) uv_timer_stop(&self->applied_timer_);
  for (auto& f : late) f(false);
}

void FleetSync::apply(const KeyValue& kv, bool deleted) {
  if (kv.key.compare(0, options_.prefix.size(), options_.prefix) != 0) return;
  std::string rel = kv.key.substr(options_.prefix.size());
  auto parts = split(rel);
  if (parts.size() == 2 && parts[0] == "nodes") {
    quorum_.setAlive(parts[1], !deleted);
    for (const auto& pair : quorum_.pairs()) redecide(pair);
  } else if (parts.size() == 4 && parts[0] == "observations") {
    std::string pair = policy::PairKey{parts[1], parts[2]}.str();
    policy::Health h = deleted ? policy::Health::Unknown
                       : kv.value == "down" ? policy::Health::Down
                                            : policy::Health::Up;
    quorum_.observe(pair, parts[3], h);
    redecide(pair);
  } else if (parts.size() == 2 && parts[0] == "catalog" && !parts[1].empty()) {
    catalog_refused_.erase(parts[1]);  // a new version: the caller judges it afresh
    if (deleted) catalog_revisions_.erase(parts[1]);
    else catalog_revisions_[parts[1]] = kv.mod_revision;
    if (deleted) catalog_batch_[parts[1]] = std::nullopt;
    else catalog_batch_[parts[1]] = kv.value;
  } else if (parts.size() == 1 && parts[0] == "catalog-initialized") {
    catalog_initialized_ = !deleted;
  } else if (parts.size() == 3 && (parts[0] == "routing" || parts[0] == "faults")) {
    if (deleted) operator_keys_.erase(rel);
    else operator_keys_[rel] = kv.value;
    if (parts[0] == "routing") {
      if (callbacks_.on_routing) callbacks_.on_routing(parts[1], parts[2], deleted || kv.value != "false");
    } else if (callbacks_.on_fault) {
      callbacks_.on_fault(parts[1], parts[2], deleted ? "none" : kv.value);
    }
  }
}

void FleetSync::redecide(const std::string& pair) {
  if (resyncing_) return;
  policy::Health d = quorum_.decide(pair);
  if (d == policy::Health::Unknown) return;  // nobody alive has a view: keep the last decision
  auto it = decided_.find(pair);
  if (it != decided_.end() && it->second == d) return;
  decided_[pair] = d;
  auto key = policy::PairKey::parse(pair);
  if (key && callbacks_.on_health) callbacks_.on_health(key->registry, key->region, d, quorum_.explain(pair));
}

std::map<policy::PairKey, bool> FleetSync::routingFlags() const {
  std::map<policy::PairKey, bool> out;
  for (const auto& [key, value] : operator_keys_)
    if (key.rfind("routing/", 0) == 0)
      if (auto pair = policy::PairKey::parse(key.substr(8))) out[*pair] = value != "false";
  return out;
}

void FleetSync::observe(const std::string& registry, const std::string& region, policy::Health health) {
  std::string pair = policy::PairKey{registry, region}.str();
  if (health == policy::Health::Unknown) mine_.erase(pair);
  else mine_[pair] = health;
  unsent_.insert(pair);
  flushObservations();
}

void FleetSync::flushObservations() {
  if (!connected_ || writing_ || unsent_.empty()) return;
  std::string pair = *unsent_.begin();
  unsent_.erase(unsent_.begin());
  std::string key = options_.prefix + "observations/" + pair + "/" + options_.node;
  writing_ = true;
  std::weak_ptr<bool> alive = alive_;
  uint64_t attempt = attempt_;
  auto done = [this, alive, attempt, pair](Result<int64_t> r) {
    if (alive.expired() || attempt != attempt_) return;
    writing_ = false;
    if (!r) {
      unsent_.insert(pair);  // written again after reconnecting
      return disconnect("observation write: " + r.error());
    }
    flushObservations();
  };
  auto it = mine_.find(pair);
  if (it == mine_.end()) etcd_.remove(key, done);
  else etcd_.put(key, verdict(it->second), lease_, done);
}

void FleetSync::writeCatalog(const CatalogWrite& write, std::function<void(CatalogWritten)> done) {
  if (!connected_) return done({"fleet: this node is not connected to etcd; the change was not made", false, 0});
  std::vector<TxnCompare> guards;
  std::vector<TxnOp> ops;
  for (const auto& [registry, entry] : write.entries) {
    std::string key = options_.prefix + "catalog/" + registry;
    auto rev = catalog_revisions_.find(registry);
    if (catalog_refused_.count(registry))
      return done({"this node could not apply the fleet's entry for '" + registry +
                       "' (event catalog_refused: its config file does not fit it); change it through a node that "
                       "serves it, or fix this node's config file",
                   true, 0});
    guards.push_back({key, rev == catalog_revisions_.end() ? 0 : rev->second});
    if (entry) {
      ops.push_back({TxnOp::Kind::Put, key, *entry, false});
      continue;
    }
    ops.push_back({TxnOp::Kind::Delete, key, "", false});
    // A deleted registry's flags and faults go with it, whatever its regions.
    for (const char* kind : {"routing/", "faults/"})
      ops.push_back({TxnOp::Kind::Delete, options_.prefix + kind + registry + "/", "", true});
  }
  for (const auto& pair : write.gone_pairs) {
    auto entry = write.entries.find(pair.registry);
    if (entry != write.entries.end() && !entry->second) continue;  // covered by the prefix delete
    for (const char* kind : {"routing/", "faults/"})
      ops.push_back({TxnOp::Kind::Delete, options_.prefix + kind + pair.str(), "", false});
  }
  // Every catalog write marks the catalog as made, so a catalog emptied by
  // deletes is never mistaken for one never written (and seeded again).
  ops.push_back({TxnOp::Kind::Put, options_.prefix + "catalog-initialized", "true", false});
  std::weak_ptr<bool> alive = alive_;
  etcd_.txn(guards, ops, [alive, done = std::move(done)](Result<TxnResult> r) {
    if (alive.expired()) return;
    if (!r)
      return done({"fleet: etcd did not confirm the change (" + r.error() +
                       "); it may or may not have been made: read the registry to see",
                   false, 0});
    if (!r->succeeded)
      return done({"another node changed one of these registries since this node read it; read it again and retry",
                   true, r->revision});
    done({"", false, r->revision});
  });
}

void FleetSync::whenApplied(int64_t revision, std::function<void(bool)> done) {
  if (!connected_) return done(false);
  if (revision <= applied_revision_) return done(true);
  applied_waiters_.emplace(revision, AppliedWaiter{std::chrono::steady_clock::now() + std::chrono::seconds(3),
                                                   std::move(done)});
  if (!uv_is_active(reinterpret_cast<uv_handle_t*>(&applied_timer_)))
    uv_timer_start(&applied_timer_, &FleetSync::onAppliedTimer, 500, 500);
}

void FleetSync::forgetPair(const std::string& registry, const std::string& region) {
  std::string pair = policy::PairKey{registry, region}.str();
  decided_.erase(pair);
  if (mine_.erase(pair)) {
    unsent_.insert(pair);  // deletes this node's vote
    flushObservations();
  }
}

void FleetSync::redeliver(const std::string& registry, const std::string& region) {
  std::string pair = policy::PairKey{registry, region}.str();
  decided_.erase(pair);
  redecide(pair);
  // A fault has no dormant copy in the Router (a flag does, as an override,
  // but sending it again is harmless): one that came with the registry, or
  // before it, would be lost.
  if (auto f = operator_keys_.find("faults/" + pair); f != operator_keys_.end() && callbacks_.on_fault)
    callbacks_.on_fault(registry, region, f->second);
  if (auto r = operator_keys_.find("routing/" + pair); r != operator_keys_.end() && callbacks_.on_routing)
    callbacks_.on_routing(registry, region, r->second != "false");
}

void FleetSync::setRouting(const std::string& registry, const std::string& region, bool enabled,
                           std::function<void(std::string)> done) {
  std::weak_ptr<bool> alive = alive_;
  etcd_.put(options_.prefix + "routing/" + policy::PairKey{registry, region}.str(), enabled ? "true" : "false", 0,
            [alive, done = std::move(done)](Result<int64_t> r) {
              if (alive.expired()) return;
              done(r ? "" : r.error());
            });
}

void FleetSync::setFault(const std::string& registry, const std::string& region, const std::string& fault,
                         std::function<void(std::string)> done) {
  std::weak_ptr<bool> alive = alive_;
  std::string key = options_.prefix + "faults/" + policy::PairKey{registry, region}.str();
  auto reply = [alive, done = std::move(done)](Result<int64_t> r) {
    if (alive.expired()) return;
    done(r ? "" : r.error());
  };
  if (fault == "none") etcd_.remove(key, reply);
  else etcd_.put(key, fault, 0, reply);
}

}  // namespace switchyard::fleet
