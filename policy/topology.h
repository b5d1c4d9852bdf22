// Topology: the validated, immutable model of switchyard.yaml.
//
// config/ builds it (the only place YAML is read); everything else reads it.
// Regions, registries and replicas are referred to by index: a region index is
// a position in `regions`, a replica index a position in `Registry::replicas`.
// Thread safety: immutable once built; shared as std::shared_ptr<const Topology>.
// Invariants (established by config::loadTopology):
//   1. Every region index anywhere is < regions.size(); region names are unique.
//   2. Registry names are unique valid labels; replica regions are unique within
//      a registry; `home` is the region of one of the registry's replicas.
//   3. A replica has either addresses (non-empty) or a target, never both.
//   4. When a registry's data_endpoints is on, each replica has data_addresses.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "common/chunked_list.h"
#include "common/dns_name.h"
#include "common/result.h"
#include "common/ip_address.h"
#include "common/name_index.h"
#include "policy/sticky.h"

namespace switchyard::policy {

using Millis = std::chrono::milliseconds;

struct Region {
  std::string name;
  double latitude = 0;
  double longitude = 0;
  friend bool operator==(const Region&, const Region&) = default;
};

struct ClientNetwork {
  IpPrefix prefix;
  uint32_t region = 0;
  friend bool operator==(const ClientNetwork&, const ClientNetwork&) = default;
};

// None: never probed, always counts as healthy (replicas that cannot be
// probed from here; operator exclusions still apply).
enum class ProbeScheme { Http, Https, Tcp, None };

struct StatusRange {
  int low = 0;
  int high = 0;
  bool contains(int status) const { return status >= low && status <= high; }
  friend bool operator==(const StatusRange&, const StatusRange&) = default;
};

// An image the operator re-pushes on a schedule (to the home replica, for
// reference: home) so replication lag shows as a digest difference.
struct Canary {
  std::string repository;  // e.g. "canary/heartbeat"
  std::string tag;         // e.g. "latest"
  std::string text() const { return repository + ":" + tag; }
  // "repository:tag" by the distribution spec's grammar (lowercase path
  // components; a tag of at most 128 word characters, '.' and '-'); a digest
  // reference is refused (a canary is re-pushed; wait-replicated takes the
  // digest apart). The error says what is wrong, for the config loader and
  // the CLI alike.
  static Result<Canary> parse(std::string_view text);
  // A repository path by the same grammar (for health.write_check).
  static bool isRepository(std::string_view text);
  friend bool operator==(const Canary&, const Canary&) = default;
};

// What a probe asks of a replica (health.check): `api` is one GET of `path`
// (is the registry API up?); `content` also reads the pair's canary image,
// manifest and one blob with its digest checked (can it serve images?).
enum class HealthCheck { Api, Content };

// health.write_check: every `every`-th content probe also pushes a small
// unique blob to `repository` and reads it back (can it take pushes?).
struct WriteCheck {
  std::string repository;
  int every = 6;
  friend bool operator==(const WriteCheck&, const WriteCheck&) = default;
};

// How one (registry, replica) pair is probed (health/ runs the probes); the
// registry-level `health` map overrides the top-level defaults key by key.
struct ProbeSpec {
  ProbeScheme scheme = ProbeScheme::Http;
  uint16_t port = 5000;
  std::string path = "/v2/";
  Millis interval{10'000};
  Millis timeout{5'000};
  int fall = 3;
  int rise = 2;
  std::vector<StatusRange> healthy_status{{200, 299}, {401, 401}};
  std::vector<StatusRange> throttled_status{{429, 429}};
  std::string host_header = "{registry}.{region}.geo.{zone}";
  bool tls_verify = true;
  std::string ca_file;  // absolute path, or empty for the system store
  std::vector<std::pair<std::string, std::string>> headers;
  HealthCheck check = HealthCheck::Api;
  // The image a content check reads; set whenever check is Content (the
  // loader defaults it to the first freshness canary).
  std::optional<Canary> canary;
  std::optional<WriteCheck> write_check;  // content checks only
  friend bool operator==(const ProbeSpec&, const ProbeSpec&) = default;

  bool isHealthy(int status) const { return inRanges(healthy_status, status); }
  bool isThrottled(int status) const { return inRanges(throttled_status, status); }
  static bool inRanges(const std::vector<StatusRange>& ranges, int status) {
    for (const auto& r : ranges)
      if (r.contains(status)) return true;
    return false;
  }
};

struct Replica {
  uint32_t region = 0;
  std::vector<IpAddress> addresses;       // empty when target is set
  std::vector<IpAddress> data_addresses;  // answers REG.REGION.data.ZONE
  std::optional<DnsName> target;          // answered as a CNAME
  std::optional<IpAddress> probe_address; // default: addresses[0]
  bool global_endpoint_routing = true;    // operator flag at start-up
  friend bool operator==(const Replica&, const Replica&) = default;
};

enum class FreshnessReference { Home, Majority };

// Replication freshness (registries[].freshness; health/freshness_tracker.h):
// a replica serving a canary digest other than the reference for longer than
// max_staleness leaves global routing until it catches up.
struct Freshness {
  std::vector<Canary> canaries;  // at least one
  Millis max_staleness{120'000};
  FreshnessReference reference = FreshnessReference::Home;
  friend bool operator==(const Freshness&, const Freshness&) = default;
};

struct Registry {
  std::string name;
  uint32_t home = 0;
  bool regional_endpoints = false;
  bool data_endpoints = false;
  ProbeSpec health;
  std::vector<Replica> replicas;
  std::optional<Freshness> freshness;  // off unless configured
  // Made through the API (the state directory's catalog), not the config
  // file: the API may change or delete it; the file's registries are read-only there.
  bool from_catalog = false;
  friend bool operator==(const Registry&, const Registry&) = default;
};

struct Nameserver {
  DnsName name;
  std::vector<IpAddress> addresses;  // glue; required when name is in the zone
  friend bool operator==(const Nameserver&, const Nameserver&) = default;
};

struct Ttls {
  uint32_t global = 30;
  uint32_t regional = 300;
  uint32_t data = 300;
  uint32_t negative = 30;
  uint32_t apex = 3600;
  friend bool operator==(const Ttls&, const Ttls&) = default;
};

enum class WhenNoneEligible { FailOpen, Servfail };

// A caching resolver whose cache is flushed when a global name's answer
// changes (announce.resolvers; control/resolver_purger.h).
struct CachingResolver {
  enum class Type { PdnsRecursor, Unbound, KnotResolver };
  std::string name;
  Type type = Type::PdnsRecursor;
  // pdns-recursor: its web server (http://HOST:PORT) and API key (the file's
  // content, trimmed; never logged or shown by the API).
  std::string url;
  std::string api_key;
  std::string api_key_file;
  std::string ca_file;  // https: the CA that signed its certificate (empty: the system's)
  // unbound: remote control at HOST@PORT (TCP), or a socket path; with TLS
  // the files unbound-control-setup makes.
  std::string control;
  std::string tls_server_cert, tls_client_cert, tls_client_key;
  // knot-resolver: its control socket.
  std::string socket;

  // Where it is reached, for logs and the API (no secrets).
  std::string target() const { return type == Type::PdnsRecursor ? url : type == Type::Unbound ? control : socket; }
  bool operator==(const CachingResolver&) const = default;
};
const char* resolverTypeName(CachingResolver::Type type);

// Who hears about routing changes.
struct Announce {
  std::vector<SocketAddress> notify;  // DNS NOTIFY (RFC 1996) targets
  std::vector<std::string> webhooks;  // URLs that get each event as a JSON POST
  std::vector<CachingResolver> resolvers;  // caches flushed on a global name's change
  friend bool operator==(const Announce&, const Announce&) = default;
};

// DNS-over-TCP limits, per serving thread (listen.tcp).
struct TcpLimits {
  Millis idle{10'000};             // no complete message for this long: closed
  Millis max_lifetime{120'000};    // any connection older than this: closed (slow senders)
  int max_connections = 256;       // beyond this, new connections are closed at once
  friend bool operator==(const TcpLimits&, const TcpLimits&) = default;
};

// Response Rate Limiting (rate_limit): caps the UDP answers one client
// prefix gets per second for one name (answers) or at all (NXDOMAIN and
// errors), so the server cannot be used to flood a spoofed victim. Off when
// responses_per_second is 0 (the default).
struct RateLimit {
  uint32_t responses_per_second = 0;  // per (prefix, name); 0 = off
  uint32_t errors_per_second = 0;     // per prefix: NXDOMAIN, REFUSED, FORMERR, ...
  uint32_t slip = 2;                  // every slip-th limited answer goes out truncated; 0 = none
  int ipv4_prefix = 24;
  int ipv6_prefix = 56;
  std::vector<IpPrefix> exempt;       // never limited
  uint32_t table_size = 1u << 18;     // buckets (a power of two); changes at restart
  friend bool operator==(const RateLimit&, const RateLimit&) = default;

  bool enabled() const { return responses_per_second > 0; }
};

// Fleet mode (fleet:, docs/fleet.md): nodes share exclusions, faults and
// probe observations through etcd and decide health by quorum.
struct Fleet {
  std::string node;                    // unique in the fleet (one key label)
  std::vector<std::string> endpoints;  // etcd v3 "http://HOST:PORT"
  std::string prefix = "/switchyard/";
  int quorum = 0;                      // nodes that must see a pair down; 0 = a majority of live nodes
  Millis lease_ttl{10'000};            // a silent node's votes expire after this

  friend bool operator==(const Fleet&, const Fleet&) = default;
};

// Everything but the registries: what a reload compares to know whether the
// registries it did not change can keep their state, routing and answers
// (registriesChanged below).
struct TopologySettings {
  std::string source_file;  // for messages and relative paths
  DnsName zone;
  std::vector<Nameserver> nameservers;
  Ttls ttl;
  std::vector<SocketAddress> listen_dns;
  std::optional<SocketAddress> listen_admin;
  TcpLimits tcp;
  RateLimit rate_limit;
  std::optional<Fleet> fleet;
  std::string admin_token_file;  // absolute path or empty
  std::string admin_tls_cert;    // admin.tls: absolute paths, both or neither
  std::string admin_tls_key;
  int threads = 0;               // 0 = one per core
  std::vector<Region> regions;
  bool trust_ecs = true;
  uint32_t default_region = 0;
  std::vector<ClientNetwork> networks;
  int failover_spread = 2;
  Spread spread = Spread::Sticky;  // routing.spread: one replica per client subnet, or all
  StickyPrefix sticky_prefix;      // routing.sticky_prefix
  WhenNoneEligible when_none_eligible = WhenNoneEligible::FailOpen;
  ProbeSpec health_defaults;
  Announce announce;

  friend bool operator==(const TopologySettings&, const TopologySettings&) = default;
};

struct SlotEdit;

struct Topology : TopologySettings {
  // Chunked and shared between copies (common/chunked_list.h): a catalog
  // edit copies the list of 100,000 in microseconds.
  ChunkedList<Registry> registries;
  NameIndex registry_by_name;  // filled by addRegistry()

  std::optional<uint32_t> regionIndex(std::string_view name) const;
  // O(1): by_name when it indexes every registry (the loader fills it), else a scan.
  std::optional<uint32_t> registryIndex(std::string_view name) const;
  // Adds a registry and indexes its name.
  void addRegistry(Registry registry);
  // Empties slot `index` by moving the last registry into it (the only
  // registry whose index changes), and records the move in `edit`.
  void removeRegistry(uint32_t index, SlotEdit& edit);
  // Index of the replica of `registry` in region `region`, if any.
  std::optional<uint32_t> replicaIndex(uint32_t registry, std::string_view region) const;
};

// How a catalog edit (config::editCatalog) moved the registry slots, so
// whatever is kept per registry slot (the Router's states, the routing
// table, the answers, the metrics) follows in O(edited), not O(registries):
// each slot of `removed` in turn is emptied by moving the last registry
// into it (the list is then one shorter); then the added registries are
// appended, slots [kept, next size).
struct SlotEdit {
  const Topology* base = nullptr;  // the topology it applies to (compared by identity)
  std::vector<uint32_t> removed;   // slots, in the order emptied
  uint32_t kept = 0;               // registries after the removals

  // The moves on any per-slot container with set/back/pop_back semantics;
  // `move(from, to)` copies the element at `from` into `to` (from > to).
  template <typename MoveLast, typename PopBack>
  void replay(size_t size, MoveLast&& move, PopBack&& pop) const {
    for (uint32_t slot : removed) {
      if (slot + 1 != size) move(static_cast<uint32_t>(size - 1), slot);
      pop();
      --size;
    }
  }
  // The same on a std::vector; appended slots start as T{}.
  template <typename T>
  void apply(std::vector<T>& v, size_t next_size) const {
    replay(v.size(), [&](uint32_t from, uint32_t to) { v[to] = std::move(v[from]); }, [&] { v.pop_back(); });
    v.resize(next_size);
  }
  // The same on a SharedChunks; the caller appends the added slots.
  template <typename Chunks>
  void applyShared(Chunks& c) const {
    replay(c.size(), [&](uint32_t from, uint32_t to) { c.set(to, c[from]); }, [&] { c.pop_back(); });
  }
};

// For each registry of `next`, its index in `previous` (by name), or kNoIndex.
// A reload or a catalog edit keeps the order of what stays, so this walks
// both lists side by side and hashes a name only where they part (an added
// or removed registry): 100,000 registries cost a pass of string compares,
// not 100,000 hash lookups.
inline constexpr uint32_t kNoIndex = UINT32_MAX;
std::vector<uint32_t> previousIndices(const Topology& previous, const Topology& next);

// The registries `next` adds, changes (any field of their definition) or
// removes against `previous`, by name; nullopt when anything else differs
// (regions, zone, TTLs, routing, ...: every answer may move). O(registries),
// for a reload's work thread: the loop then rebuilds only those (the
// Router's catalog-edit path) instead of all 100,000.
std::optional<std::unordered_set<std::string>> registriesChanged(const Topology& previous, const Topology& next);

}  // namespace switchyard::policy
