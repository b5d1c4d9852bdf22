#include "config/config_loader.h"


#include <sys/un.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <functional>
#include <initializer_list>
#include <set>
#include <sstream>
#include <thread>
#include <unordered_map>
#include <unordered_set>

#include "config/config_tree.h"
#include "config/duration.h"

namespace switchyard::config {

namespace {

using policy::ProbeSpec;
using policy::Topology;

// Thrown inside this file only; loadTopology* turn it into an Error.
struct ConfigError {
  std::string message;
  std::string path;  // the key path alone, and the rule: for API errors
  std::string what;
};

class Loader {
 public:
  Loader(std::string name, std::string base_dir)
      : name_(std::move(name)), base_dir_(std::move(base_dir)) {}

  TopologyPtr load(const ConfigNode& root);
  // The catalog's registries added to a copy of `file` (addCatalog).
  CatalogTopology loadCatalog(const Topology& file, const ConfigNode& root);
  void setAside(bool on) { set_aside_ = on; }
  // ... or to `base` itself, already a copy (editCatalog).
  CatalogTopology loadCatalogInto(std::shared_ptr<Topology> base, const ConfigNode& root);

 private:
  [[noreturn]] void fail(const Mark& mark, const std::string& path,
                         const std::string& what) const {
    std::ostringstream out;
    out << name_;
    if (mark.line >= 0) out << ':' << mark.line + 1 << ':' << mark.column + 1;
    out << ": ";
    if (!path.empty()) out << path << ": ";
    out << what;
    throw ConfigError{out.str(), path, what};
  }
  [[noreturn]] void fail(const ConfigNode& node, const std::string& path,
                         const std::string& what) const {
    fail(node.mark(), path, what);
  }

  // Refuses keys not in `allowed`, and duplicates.
  void checkKeys(const ConfigNode& map, const std::string& path, std::initializer_list<const char*> allowed) const;
  void requireMap(const ConfigNode& node, const std::string& path) const {
    if (!node.isMap()) fail(node, path, "expected a mapping");
  }
  void requireSeq(const ConfigNode& node, const std::string& path) const {
    if (!node.isSequence()) fail(node, path, "expected a list");
  }
  ConfigNode required(const ConfigNode& map, const char* key, const std::string& path) const {
    ConfigNode n = map[key];
    if (!n) fail(map, path, std::string("missing required key '") + key + "'");
    return n;
  }
  static std::string join(const std::string& path, const std::string& key) {
    return path.empty() ? key : path + "." + key;
  }
  static std::string at(const std::string& path, size_t i) {
    return path + "[" + std::to_string(i) + "]";
  }

  std::string str(const ConfigNode& n, const std::string& path) const;
  long long integer(const ConfigNode& n, const std::string& path, long long lo, long long hi) const;
  bool boolean(const ConfigNode& n, const std::string& path) const;
  bool enabled(const ConfigNode& n, const std::string& path) const;
  policy::Millis duration(const ConfigNode& n, const std::string& path) const;
  IpAddress ip(const ConfigNode& n, const std::string& path) const;
  std::vector<IpAddress> ipList(const ConfigNode& n, const std::string& path) const;
  DnsName name(const ConfigNode& n, const std::string& path) const;
  std::string filePath(const ConfigNode& n, const std::string& path) const;
  std::vector<policy::StatusRange> statusList(const ConfigNode& n, const std::string& path) const;
  ProbeSpec probe(const ConfigNode& n, const std::string& path, ProbeSpec base) const;
  uint32_t region(const Topology& t, const ConfigNode& n, const std::string& path) const;

  void loadNameservers(Topology& t, const ConfigNode& n) const;
  void loadTtl(Topology& t, const ConfigNode& n) const;
  void loadListen(Topology& t, const ConfigNode& n) const;
  void loadRegions(Topology& t, const ConfigNode& n) const;
  void loadClients(Topology& t, const ConfigNode& n) const;
  void loadRouting(Topology& t, const ConfigNode& n) const;
  void loadRateLimit(Topology& t, const ConfigNode& n) const;
  void loadFleet(Topology& t, const ConfigNode& n) const;
  void loadAnnounce(Topology& t, const ConfigNode& n) const;
  policy::CachingResolver loadResolver(const ConfigNode& n, const std::string& path) const;
  void socketPath(const ConfigNode& n, const std::string& path, const std::string& socket) const;
  // A file that must exist and be readable; returns its content.
  std::string readFile(const ConfigNode& n, const std::string& path, const std::string& file) const;
  void loadRegistry(Topology& t, const ConfigNode& n, const std::string& path);
  policy::Freshness loadFreshness(const policy::Registry& g, const ConfigNode& n, const std::string& path) const;
  // health.check: content needs http(s) and a canary (health.canary, else the
  // first freshness canary); write_check needs content.
  void checkContent(policy::Registry& g, const ConfigNode& n, const std::string& path) const;
  policy::Replica loadReplica(const Topology& t, const policy::Registry& g, const ConfigNode& n,
                              const std::string& path) const;

  std::string name_;
  bool catalog_ = false;                  // loading the catalog: see addCatalog
  bool set_aside_ = false;                // ... an entry that breaks a rule goes to pending_, refused
  std::vector<CatalogPending> pending_;   // the catalog's registries not served yet
  std::string base_dir_;
};

void Loader::checkKeys(const ConfigNode& map, const std::string& path,
                       std::initializer_list<const char*> allowed) const {
  requireMap(map, path);
  std::set<std::string> seen;
  for (const auto& kv : map) {
    std::string key = str(kv.first, path);
    if (!seen.insert(key).second) fail(kv.first, join(path, key), "duplicate key");
    bool ok = false;
    for (const char* a : allowed) ok = ok || key == a;
    if (ok) continue;
    std::string list;
    for (const char* a : allowed) list += std::string(list.empty() ? "" : ", ") + a;
    fail(kv.first, join(path, key), "unknown key (expected one of: " + list + ")");
  }
}

std::string Loader::str(const ConfigNode& n, const std::string& path) const {
  if (!n.isScalar()) fail(n, path, "expected a string");
  return n.scalar();
}

long long Loader::integer(const ConfigNode& n, const std::string& path, long long lo,
                          long long hi) const {
  long long v = 0;
  if (!n.isScalar() || !parseInteger(n.view(), v))
    fail(n, path, "expected a whole number, got '" + (n.isScalar() ? n.scalar() : "") + "'");
  if (v < lo || v > hi)
    fail(n, path, "must be between " + std::to_string(lo) + " and " + std::to_string(hi) +
                      ", got " + std::to_string(v));
  return v;
}

bool Loader::boolean(const ConfigNode& n, const std::string& path) const {
  bool v = false;
  if (!n.isScalar() || !parseBoolean(n.view(), v))
    fail(n, path, "expected true or false");
  return v;
}

bool Loader::enabled(const ConfigNode& n, const std::string& path) const {
  std::string s = str(n, path);
  if (s == "enabled") return true;
  if (s == "disabled") return false;
  fail(n, path, "expected 'enabled' or 'disabled', got '" + s + "'");
}

policy::Millis Loader::duration(const ConfigNode& n, const std::string& path) const {
  auto d = parseDuration(str(n, path));
  if (!d) fail(n, path, d.error());
  return *d;
}

IpAddress Loader::ip(const ConfigNode& n, const std::string& path) const {
  auto a = IpAddress::parse(str(n, path));
  if (!a) fail(n, path, a.error());
  return *a;
}

std::vector<IpAddress> Loader::ipList(const ConfigNode& n, const std::string& path) const {
  requireSeq(n, path);
  std::vector<IpAddress> out;
  for (size_t i = 0; i < n.size(); ++i) {
    IpAddress a = ip(n[i], at(path, i));
    for (const auto& b : out)
      if (a == b) fail(n[i], at(path, i), "duplicate address " + a.toString());
    out.push_back(a);
  }
  if (out.empty()) fail(n, path, "must list at least one address");
  return out;
}

DnsName Loader::name(const ConfigNode& n, const std::string& path) const {
  auto d = DnsName::parse(str(n, path));
  if (!d) fail(n, path, d.error());
  return *d;
}

std::string Loader::filePath(const ConfigNode& n, const std::string& path) const {
  std::filesystem::path p(str(n, path));
  if (p.empty()) fail(n, path, "empty path");
  return p.is_absolute() ? p.string() : (std::filesystem::path(base_dir_) / p).lexically_normal().string();
}

std::vector<policy::StatusRange> Loader::statusList(const ConfigNode& n,
                                                    const std::string& path) const {
  requireSeq(n, path);
  std::vector<policy::StatusRange> out;
  for (size_t i = 0; i < n.size(); ++i) {
    std::string s = str(n[i], at(path, i));
    auto dash = s.find('-');
    int lo = 0, hi = 0;
    try {
      size_t used = 0;
      lo = std::stoi(s.substr(0, dash), &used);
      if (used != (dash == std::string::npos ? s.size() : dash)) throw std::invalid_argument(s);
      hi = lo;
      if (dash != std::string::npos) {
        hi = std::stoi(s.substr(dash + 1), &used);
        if (used != s.size() - dash - 1) throw std::invalid_argument(s);
      }
    } catch (const std::exception&) {
      fail(n[i], at(path, i), "expected an HTTP status or range like \"200-299\", got '" + s + "'");
    }
    if (lo < 100 || hi > 599 || lo > hi)
      fail(n[i], at(path, i), "HTTP status range must lie within 100-599, got '" + s + "'");
    out.push_back({lo, hi});
  }
  return out;
}

ProbeSpec Loader::probe(const ConfigNode& n, const std::string& path, ProbeSpec p) const {
  checkKeys(n, path,
            {"scheme", "port", "path", "interval", "timeout", "fall", "rise", "healthy_status",
             "throttled_status", "host_header", "tls", "headers", "check", "canary", "write_check"});
  if (auto s = n["scheme"]) {
    std::string v = str(s, join(path, "scheme"));
    if (v == "http") p.scheme = policy::ProbeScheme::Http;
    else if (v == "https") p.scheme = policy::ProbeScheme::Https;
    else if (v == "tcp") p.scheme = policy::ProbeScheme::Tcp;
    else if (v == "none") p.scheme = policy::ProbeScheme::None;
    else fail(s, join(path, "scheme"), "expected http, https, tcp or none, got '" + v + "'");
  }
  if (auto s = n["port"]) p.port = static_cast<uint16_t>(integer(s, join(path, "port"), 1, 65535));
  if (auto s = n["path"]) {
    p.path = str(s, join(path, "path"));
    if (p.path.empty() || p.path[0] != '/') fail(s, join(path, "path"), "must start with '/'");
  }
  if (auto s = n["interval"]) p.interval = duration(s, join(path, "interval"));
  if (auto s = n["timeout"]) p.timeout = duration(s, join(path, "timeout"));
  if (auto s = n["fall"]) p.fall = static_cast<int>(integer(s, join(path, "fall"), 1, 1000));
  if (auto s = n["rise"]) p.rise = static_cast<int>(integer(s, join(path, "rise"), 1, 1000));
  if (auto s = n["healthy_status"]) p.healthy_status = statusList(s, join(path, "healthy_status"));
  if (auto s = n["throttled_status"])
    p.throttled_status = statusList(s, join(path, "throttled_status"));
  if (auto s = n["host_header"]) {
    p.host_header = str(s, join(path, "host_header"));
    std::string rest = p.host_header;
    for (const char* var : {"{registry}", "{region}", "{zone}"})
      for (size_t i; (i = rest.find(var)) != std::string::npos;) rest.erase(i, std::string(var).size());
    if (rest.find_first_of("{}") != std::string::npos)
      fail(s, join(path, "host_header"),
           "unknown placeholder (allowed: {registry}, {region}, {zone})");
  }
  if (auto s = n["tls"]) {
    std::string tp = join(path, "tls");
    checkKeys(s, tp, {"verify", "ca_file"});
    if (auto v = s["verify"]) p.tls_verify = boolean(v, join(tp, "verify"));
    if (auto v = s["ca_file"]) p.ca_file = filePath(v, join(tp, "ca_file"));
  }
  if (auto s = n["headers"]) {
    std::string hp = join(path, "headers");
    requireMap(s, hp);
    p.headers.clear();
    for (const auto& kv : s) {
      std::string key = str(kv.first, hp);
      if (key.empty() || key.find_first_of(": \r\n") != std::string::npos)
        fail(kv.first, hp, "bad header name '" + key + "'");
      std::string value = str(kv.second, join(hp, key));
      if (value.find_first_of("\r\n") != std::string::npos)
        fail(kv.second, join(hp, key), "header value must be one line");
      p.headers.emplace_back(key, value);
    }
  }
  if (auto s = n["check"]) {
    std::string v = str(s, join(path, "check"));
    if (v == "api") p.check = policy::HealthCheck::Api;
    else if (v == "content") p.check = policy::HealthCheck::Content;
    else fail(s, join(path, "check"), "expected api or content, got '" + v + "'");
  }
  if (auto s = n["canary"]) {
    auto c = policy::Canary::parse(str(s, join(path, "canary")));
    if (!c) fail(s, join(path, "canary"), c.error());
    p.canary = std::move(*c);
  }
  if (auto s = n["write_check"]; s && s.isNull()) {
    p.write_check.reset();  // `write_check: null` turns an inherited write check off
  } else if (s) {
    std::string wp = join(path, "write_check");
    checkKeys(s, wp, {"repository", "every"});
    policy::WriteCheck w;
    ConfigNode repo = required(s, "repository", wp);
    w.repository = str(repo, join(wp, "repository"));
    if (!policy::Canary::isRepository(w.repository))
      fail(repo, join(wp, "repository"),
           "'" + w.repository + "' is not a repository path (lowercase a-z 0-9 . _ - and '/')");
    if (auto e = s["every"]) w.every = static_cast<int>(integer(e, join(wp, "every"), 1, 1000000));
    p.write_check = std::move(w);
  }
  if (p.timeout.count() <= 0) fail(n, path, "timeout must be greater than 0");
  if (p.interval < p.timeout)
    fail(n, path, "interval (" + std::to_string(p.interval.count()) +
                      "ms) must not be shorter than timeout (" + std::to_string(p.timeout.count()) +
                      "ms): probes of one pair would overlap");
  return p;
}

uint32_t Loader::region(const Topology& t, const ConfigNode& n, const std::string& path) const {
  std::string r = str(n, path);
  auto idx = t.regionIndex(r);
  if (!idx) fail(n, path, "region '" + r + "' is not declared under 'regions'");
  return *idx;
}

void Loader::loadNameservers(Topology& t, const ConfigNode& n) const {
  requireSeq(n, "nameservers");
  if (n.size() == 0) fail(n, "nameservers", "must list at least one nameserver");
  for (size_t i = 0; i < n.size(); ++i) {
    std::string path = at("nameservers", i);
    checkKeys(n[i], path, {"name", "addresses"});
    policy::Nameserver ns{name(required(n[i], "name", path), join(path, "name")), {}};
    if (auto a = n[i]["addresses"]) ns.addresses = ipList(a, join(path, "addresses"));
    if (ns.name.isSubdomainOf(t.zone) && ns.addresses.empty())
      fail(n[i], path, "nameserver " + ns.name.toString() +
                           " is inside the zone and needs 'addresses' (glue)");
    for (const auto& other : t.nameservers)
      if (other.name == ns.name) fail(n[i], path, "duplicate nameserver " + ns.name.toString());
    t.nameservers.push_back(std::move(ns));
  }
}

void Loader::loadTtl(Topology& t, const ConfigNode& n) const {
  checkKeys(n, "ttl", {"global", "regional", "data", "negative", "apex"});
  auto ttl = [&](const char* key, uint32_t& out) {
    if (auto v = n[key]) out = static_cast<uint32_t>(integer(v, join("ttl", key), 0, 2147483647));
  };
  ttl("global", t.ttl.global);
  ttl("regional", t.ttl.regional);
  ttl("data", t.ttl.data);
  ttl("negative", t.ttl.negative);
  ttl("apex", t.ttl.apex);
}

void Loader::loadListen(Topology& t, const ConfigNode& n) const {
  checkKeys(n, "listen", {"dns", "admin", "tcp"});
  ConfigNode dns = required(n, "dns", "listen");
  requireSeq(dns, "listen.dns");
  if (dns.size() == 0) fail(dns, "listen.dns", "must list at least one address");
  for (size_t i = 0; i < dns.size(); ++i) {
    auto sa = SocketAddress::parse(str(dns[i], at("listen.dns", i)));
    if (!sa) fail(dns[i], at("listen.dns", i), sa.error());
    for (const auto& other : t.listen_dns)
      if (other.toString() == sa->toString())
        fail(dns[i], at("listen.dns", i), "duplicate listen address " + sa->toString());
    t.listen_dns.push_back(*sa);
  }
  if (auto a = n["admin"]) {
    auto sa = SocketAddress::parse(str(a, "listen.admin"));
    if (!sa) fail(a, "listen.admin", sa.error());
    t.listen_admin = *sa;
  }
  if (auto tcp = n["tcp"]) {
    requireMap(tcp, "listen.tcp");
    checkKeys(tcp, "listen.tcp", {"idle_timeout", "max_connection_time", "max_connections"});
    if (auto v = tcp["idle_timeout"]) t.tcp.idle = duration(v, "listen.tcp.idle_timeout");
    if (auto v = tcp["max_connection_time"]) t.tcp.max_lifetime = duration(v, "listen.tcp.max_connection_time");
    if (auto v = tcp["max_connections"])
      t.tcp.max_connections = static_cast<int>(integer(v, "listen.tcp.max_connections", 1, 65536));
    if (t.tcp.idle.count() <= 0) fail(tcp["idle_timeout"], "listen.tcp.idle_timeout", "must be positive");
    if (t.tcp.max_lifetime < t.tcp.idle)
      fail(tcp["max_connection_time"] ? tcp["max_connection_time"] : tcp, "listen.tcp.max_connection_time",
           "must be at least idle_timeout");
  }
}

void Loader::loadRegions(Topology& t, const ConfigNode& n) const {
  requireMap(n, "regions");
  if (n.size() == 0) fail(n, "regions", "must declare at least one region");
  std::set<std::string> seen;
  for (const auto& kv : n) {
    std::string rname = str(kv.first, "regions");
    std::string path = join("regions", rname);
    if (!isValidLabel(rname)) fail(kv.first, path, "a region name must be one DNS label");
    if (!seen.insert(rname).second) fail(kv.first, path, "duplicate region");
    checkKeys(kv.second, path, {"location"});
    ConfigNode loc = required(kv.second, "location", path);
    std::string lp = join(path, "location");
    if (!loc.isSequence() || loc.size() != 2) fail(loc, lp, "expected [latitude, longitude]");
    double lat = 0, lon = 0;
    if (!parseDouble(loc[0].view(), lat) || lat < -90 || lat > 90)
      fail(loc[0], lp, "latitude must be a number between -90 and 90");
    if (!parseDouble(loc[1].view(), lon) || lon < -180 || lon > 180)
      fail(loc[1], lp, "longitude must be a number between -180 and 180");
    t.regions.push_back({rname, lat, lon});
  }
}

void Loader::loadClients(Topology& t, const ConfigNode& n) const {
  checkKeys(n, "clients", {"trust_ecs", "default_region", "networks"});
  if (auto v = n["trust_ecs"]) t.trust_ecs = boolean(v, "clients.trust_ecs");
  t.default_region = region(t, required(n, "default_region", "clients"), "clients.default_region");
  if (auto nets = n["networks"]) {
    requireSeq(nets, "clients.networks");
    for (size_t i = 0; i < nets.size(); ++i) {
      std::string path = at("clients.networks", i);
      checkKeys(nets[i], path, {"cidr", "region"});
      ConfigNode c = required(nets[i], "cidr", path);
      auto prefix = IpPrefix::parse(str(c, join(path, "cidr")));
      if (!prefix) fail(c, join(path, "cidr"), prefix.error());
      for (const auto& other : t.networks)
        if (other.prefix == *prefix) fail(c, join(path, "cidr"), "duplicate network " + prefix->toString());
      t.networks.push_back({*prefix, region(t, required(nets[i], "region", path), join(path, "region"))});
    }
  }
}

void Loader::loadRouting(Topology& t, const ConfigNode& n) const {
  checkKeys(n, "routing", {"failover_spread", "when_none_eligible", "spread", "sticky_prefix"});
  if (auto v = n["failover_spread"])
    t.failover_spread = static_cast<int>(integer(v, "routing.failover_spread", 1, 64));
  if (auto v = n["when_none_eligible"]) {
    std::string s = str(v, "routing.when_none_eligible");
    if (s == "fail-open") t.when_none_eligible = policy::WhenNoneEligible::FailOpen;
    else if (s == "servfail") t.when_none_eligible = policy::WhenNoneEligible::Servfail;
    else fail(v, "routing.when_none_eligible", "expected 'fail-open' or 'servfail', got '" + s + "'");
  }
  if (auto v = n["spread"]) {
    std::string s = str(v, "routing.spread");
    if (s == "sticky") t.spread = policy::Spread::Sticky;
    else if (s == "all") t.spread = policy::Spread::All;
    else fail(v, "routing.spread", "expected 'sticky' or 'all', got '" + s + "'");
  }
  if (auto v = n["sticky_prefix"]) {
    checkKeys(v, "routing.sticky_prefix", {"ipv4", "ipv6"});
    if (auto b = v["ipv4"]) t.sticky_prefix.ipv4 = static_cast<uint8_t>(integer(b, "routing.sticky_prefix.ipv4", 8, 32));
    if (auto b = v["ipv6"]) t.sticky_prefix.ipv6 = static_cast<uint8_t>(integer(b, "routing.sticky_prefix.ipv6", 16, 128));
  }
}

void Loader::loadRateLimit(Topology& t, const ConfigNode& n) const {
  requireMap(n, "rate_limit");
  checkKeys(n, "rate_limit",
            {"responses_per_second", "errors_per_second", "slip", "ipv4_prefix", "ipv6_prefix", "exempt",
             "table_size"});
  policy::RateLimit& r = t.rate_limit;
  auto count = [&](const char* key, long long lo, long long hi) {
    return static_cast<uint32_t>(integer(n[key], join("rate_limit", key), lo, hi));
  };
  // 16 bits of count per bucket (dns/rate_limiter.h): 65535 a second at most.
  if (n["responses_per_second"]) r.responses_per_second = count("responses_per_second", 0, 65535);
  r.errors_per_second = n["errors_per_second"] ? count("errors_per_second", 1, 65535) : r.responses_per_second;
  if (n["errors_per_second"] && !r.enabled())
    fail(n["errors_per_second"], "rate_limit.errors_per_second",
         "needs responses_per_second (rate limiting is off while that is 0)");
  if (n["slip"]) r.slip = count("slip", 0, 10);
  if (n["ipv4_prefix"]) r.ipv4_prefix = static_cast<int>(count("ipv4_prefix", 8, 32));
  if (n["ipv6_prefix"]) r.ipv6_prefix = static_cast<int>(count("ipv6_prefix", 16, 128));
  if (n["table_size"]) {
    r.table_size = count("table_size", 1024, 1 << 24);
    if (r.table_size & (r.table_size - 1)) fail(n["table_size"], "rate_limit.table_size", "must be a power of two");
  }
  if (auto list = n["exempt"]) {
    requireSeq(list, "rate_limit.exempt");
    // Checked one by one on the (rare) limited path: keep the list short.
    if (list.size() > 64) fail(list, "rate_limit.exempt", "at most 64 networks");
    for (size_t i = 0; i < list.size(); ++i) {
      auto prefix = IpPrefix::parse(str(list[i], at("rate_limit.exempt", i)));
      if (!prefix) fail(list[i], at("rate_limit.exempt", i), prefix.error());
      r.exempt.push_back(*prefix);
    }
  }
}

void Loader::loadFleet(Topology& t, const ConfigNode& n) const {
  requireMap(n, "fleet");
  checkKeys(n, "fleet", {"node", "etcd", "prefix", "quorum", "lease_ttl"});
  policy::Fleet f;
  f.node = str(required(n, "node", "fleet"), "fleet.node");
  if (!isValidLabel(f.node)) fail(n["node"], "fleet.node", "a node name must be one DNS label");
  ConfigNode etcd = required(n, "etcd", "fleet");
  requireSeq(etcd, "fleet.etcd");
  if (etcd.size() == 0) fail(etcd, "fleet.etcd", "must list at least one etcd endpoint");
  for (size_t i = 0; i < etcd.size(); ++i) {
    std::string url = str(etcd[i], at("fleet.etcd", i));
    if (url.rfind("http://", 0) != 0 && url.rfind("https://", 0) != 0)
      fail(etcd[i], at("fleet.etcd", i), "expected http://HOST:PORT (etcd's client URL), got '" + url + "'");
    while (url.size() > 8 && url.back() == '/') url.pop_back();
    f.endpoints.push_back(url);
  }
  if (auto p = n["prefix"]) {
    f.prefix = str(p, "fleet.prefix");
    if (f.prefix.empty() || f.prefix.front() != '/') fail(p, "fleet.prefix", "must start with '/'");
    if (f.prefix.back() != '/') f.prefix += '/';
  }
  if (auto q = n["quorum"]) {
    if (q.isScalar() && q.scalar() == "majority") f.quorum = 0;
    else f.quorum = static_cast<int>(integer(q, "fleet.quorum", 1, 1000));
  }
  if (auto l = n["lease_ttl"]) {
    f.lease_ttl = duration(l, "fleet.lease_ttl");
    if (f.lease_ttl < std::chrono::seconds(2) || f.lease_ttl.count() % 1000 != 0)
      fail(l, "fleet.lease_ttl", "must be whole seconds, at least 2s (etcd leases count in seconds)");
  }
  t.fleet = std::move(f);
}

void Loader::loadAnnounce(Topology& t, const ConfigNode& n) const {
  checkKeys(n, "announce", {"notify", "webhooks", "resolvers"});
  if (auto list = n["resolvers"]) {
    requireSeq(list, "announce.resolvers");
    std::set<std::string> names;
    for (size_t i = 0; i < list.size(); ++i) {
      auto r = loadResolver(list[i], at("announce.resolvers", i));
      if (!names.insert(r.name).second)
        fail(list[i]["name"], join(at("announce.resolvers", i), "name"), "a second resolver named '" + r.name + "'");
      t.announce.resolvers.push_back(std::move(r));
    }
  }
  if (auto list = n["notify"]) {
    requireSeq(list, "announce.notify");
    for (size_t i = 0; i < list.size(); ++i) {
      std::string text = str(list[i], at("announce.notify", i));
      // A bare address means the DNS port.
      bool has_port = text.find("]:") != std::string::npos ||
                      (text.find(':') != std::string::npos && text.find(':') == text.rfind(':'));
      if (!has_port) text = text.find(':') != std::string::npos ? "[" + text + "]:53" : text + ":53";
      auto sa = SocketAddress::parse(text);
      if (!sa) fail(list[i], at("announce.notify", i), sa.error());
      t.announce.notify.push_back(*sa);
    }
  }
  if (auto list = n["webhooks"]) {
    requireSeq(list, "announce.webhooks");
    for (size_t i = 0; i < list.size(); ++i) {
      std::string path = at("announce.webhooks", i);
      checkKeys(list[i], path, {"url"});
      ConfigNode u = required(list[i], "url", path);
      std::string url = str(u, join(path, "url"));
      auto scheme_end = url.find("://");
      std::string scheme = scheme_end == std::string::npos ? "" : url.substr(0, scheme_end);
      if ((scheme != "http" && scheme != "https") || url.size() <= scheme_end + 3)
        fail(u, join(path, "url"), "expected an http:// or https:// URL, got '" + url + "'");
      t.announce.webhooks.push_back(url);
    }
  }
}

std::string Loader::readFile(const ConfigNode& n, const std::string& path, const std::string& file) const {
  std::ifstream in(file, std::ios::binary);
  if (!in) fail(n, path, "cannot read '" + file + "': " + std::strerror(errno));
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// A unix socket's path must fit sockaddr_un (107 bytes and the NUL): said
// now, not as a connect error at the first flush.
void Loader::socketPath(const ConfigNode& n, const std::string& path, const std::string& socket) const {
  if (socket.size() >= sizeof(sockaddr_un::sun_path))
    fail(n, path, "a unix socket path has at most " + std::to_string(sizeof(sockaddr_un::sun_path) - 1) +
                      " bytes; this one has " + std::to_string(socket.size()));
}

policy::CachingResolver Loader::loadResolver(const ConfigNode& n, const std::string& path) const {
  using Type = policy::CachingResolver::Type;
  if (!n.isMap()) fail(n, path, "expected a map with name and type");
  policy::CachingResolver r;
  r.name = str(required(n, "name", path), join(path, "name"));
  if (r.name.empty() || r.name.size() > 63 ||
      !std::all_of(r.name.begin(), r.name.end(), [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.'; }))
    fail(n["name"], join(path, "name"), "expected 1-63 letters, digits, '-', '_' or '.' (it is a metric label), got '" + r.name + "'");
  ConfigNode type = required(n, "type", path);
  std::string type_name = str(type, join(path, "type"));
  if (type_name == "pdns-recursor") {
    r.type = Type::PdnsRecursor;
    checkKeys(n, path, {"name", "type", "url", "api_key_file", "ca_file"});
    ConfigNode u = required(n, "url", path);
    r.url = str(u, join(path, "url"));
    auto scheme_end = r.url.find("://");
    std::string scheme = scheme_end == std::string::npos ? "" : r.url.substr(0, scheme_end);
    if ((scheme != "http" && scheme != "https") || r.url.size() <= scheme_end + 3)
      fail(u, join(path, "url"), "expected http://HOST:PORT (the recursor's web server), got '" + r.url + "'");
    while (r.url.size() > scheme_end + 3 && r.url.back() == '/') r.url.pop_back();
    // Credentials in the URL would be in every error detail and log line.
    if (r.url.substr(scheme_end + 3, r.url.find('/', scheme_end + 3) - scheme_end - 3).find('@') != std::string::npos)
      fail(u, join(path, "url"), "no user:password@ in the url: the recursor takes its key from api_key_file");
    ConfigNode k = required(n, "api_key_file", path);
    r.api_key_file = filePath(k, join(path, "api_key_file"));
    r.api_key = readFile(k, join(path, "api_key_file"), r.api_key_file);
    while (!r.api_key.empty() && std::isspace(static_cast<unsigned char>(r.api_key.back()))) r.api_key.pop_back();
    if (r.api_key.empty()) fail(k, join(path, "api_key_file"), "'" + r.api_key_file + "' is empty");
    if (auto ca = n["ca_file"]) {
      if (scheme != "https") fail(ca, join(path, "ca_file"), "ca_file is for an https:// url; this one is " + scheme);
      r.ca_file = filePath(ca, join(path, "ca_file"));
      readFile(ca, join(path, "ca_file"), r.ca_file);  // exists and is readable now, not at the first flush
    }
  } else if (type_name == "unbound") {
    r.type = Type::Unbound;
    checkKeys(n, path, {"name", "type", "control", "tls"});
    ConfigNode c = required(n, "control", path);
    r.control = str(c, join(path, "control"));
    bool is_path = !r.control.empty() && r.control.front() == '/';
    if (is_path) {
      socketPath(c, join(path, "control"), r.control);
    } else {
      auto at_sign = r.control.rfind('@');
      auto port = at_sign == std::string::npos ? std::string() : r.control.substr(at_sign + 1);
      bool ok = at_sign != std::string::npos && at_sign > 0 && !port.empty() && port.size() <= 5 &&
                std::all_of(port.begin(), port.end(), [](char ch) { return std::isdigit(static_cast<unsigned char>(ch)); }) &&
                std::stoi(port) > 0 && std::stoi(port) < 65536 && IpAddress::parse(r.control.substr(0, at_sign));
      if (!ok)
        fail(c, join(path, "control"),
             "expected ADDRESS@PORT (unbound's control-interface and control-port) or an absolute socket path, got '" +
                 r.control + "'");
    }
    if (auto tls = n["tls"]) {
      std::string tp = join(path, "tls");
      if (is_path) fail(tls, tp, "TLS is for control: ADDRESS@PORT; a unix socket is not encrypted");
      checkKeys(tls, tp, {"server_cert", "client_cert", "client_key"});
      auto file = [&](const char* key) {
        ConfigNode f = required(tls, key, tp);
        std::string p = filePath(f, join(tp, key));
        readFile(f, join(tp, key), p);  // exists and is readable now, not at the first flush
        return p;
      };
      r.tls_server_cert = file("server_cert");
      r.tls_client_cert = file("client_cert");
      r.tls_client_key = file("client_key");
    }
  } else if (type_name == "knot-resolver") {
    r.type = Type::KnotResolver;
    checkKeys(n, path, {"name", "type", "socket"});
    ConfigNode so = required(n, "socket", path);
    r.socket = str(so, join(path, "socket"));
    if (r.socket.empty() || r.socket.front() != '/')
      fail(so, join(path, "socket"), "expected the absolute path of kresd's control socket, got '" + r.socket + "'");
    socketPath(so, join(path, "socket"), r.socket);
  } else {
    fail(type, join(path, "type"), "expected pdns-recursor, unbound or knot-resolver, got '" + type_name + "'");
  }
  return r;
}

policy::Replica Loader::loadReplica(const Topology& t, const policy::Registry& g,
                                    const ConfigNode& n, const std::string& path) const {
  checkKeys(n, path,
            {"region", "addresses", "data_addresses", "target", "probe_address",
             "global_endpoint_routing"});
  policy::Replica r;
  r.region = region(t, required(n, "region", path), join(path, "region"));
  for (const auto& other : g.replicas)
    if (other.region == r.region)
      fail(n["region"], join(path, "region"),
           "duplicate replica: registry '" + g.name + "' already has a replica in '" +
               t.regions[r.region].name + "'");
  if (auto a = n["addresses"]) r.addresses = ipList(a, join(path, "addresses"));
  if (auto a = n["target"]) r.target = name(a, join(path, "target"));
  if (r.addresses.empty() && !r.target)
    fail(n, path, "replica needs 'addresses' or 'target'");
  if (!r.addresses.empty() && r.target)
    fail(n["target"], join(path, "target"), "give either 'addresses' or 'target', not both");
  if (r.target && r.target->isSubdomainOf(t.zone))
    fail(n["target"], join(path, "target"), "target must be outside the zone " + t.zone.toString());
  if (auto a = n["data_addresses"]) r.data_addresses = ipList(a, join(path, "data_addresses"));
  if (g.data_endpoints && r.data_addresses.empty())
    fail(n, path, "registry '" + g.name + "' has data_endpoints enabled, so every replica needs 'data_addresses'");
  if (auto a = n["probe_address"]) r.probe_address = ip(a, join(path, "probe_address"));
  if (auto a = n["global_endpoint_routing"])
    r.global_endpoint_routing = boolean(a, join(path, "global_endpoint_routing"));
  return r;
}

void Loader::loadRegistry(Topology& t, const ConfigNode& n, const std::string& path) {
  checkKeys(n, path,
            {"name", "home", "regional_endpoints", "data_endpoints", "health", "replicas", "freshness"});
  policy::Registry g;
  ConfigNode nn = required(n, "name", path);
  g.name = str(nn, join(path, "name"));
  if (!isValidLabel(g.name)) fail(nn, join(path, "name"), "a registry name must be one DNS label");
  for (char& c : g.name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (g.name == "geo" || g.name == "data")
    fail(nn, join(path, "name"), "'" + g.name + "' is reserved for regional/data names");
  if (auto same = t.registryIndex(g.name)) {
    if (catalog_ && !t.registries[*same].from_catalog)
      fail(nn, join(path, "name"), "'" + g.name + "' is declared in " + t.source_file +
                                       " too; a registry lives in the config file or in the catalog, not both");
    fail(nn, join(path, "name"), "duplicate registry '" + g.name + "'");
  }
  g.from_catalog = catalog_;
  auto global = t.zone.prepend(g.name);
  if (!global) fail(nn, join(path, "name"), global.error());
  for (const auto& ns : t.nameservers)
    if (ns.name == *global) fail(nn, join(path, "name"), "collides with nameserver " + ns.name.toString());
  if (auto v = n["regional_endpoints"]) g.regional_endpoints = enabled(v, join(path, "regional_endpoints"));
  if (auto v = n["data_endpoints"]) g.data_endpoints = enabled(v, join(path, "data_endpoints"));
  g.health = t.health_defaults;
  if (auto v = n["health"]) g.health = probe(v, join(path, "health"), t.health_defaults);
  ConfigNode reps = required(n, "replicas", path);
  requireSeq(reps, join(path, "replicas"));
  if (reps.size() == 0 && !catalog_) fail(reps, join(path, "replicas"), "must list at least one replica");
  g.replicas.reserve(reps.size());  // exact: 100,000 registries keep them
  for (size_t i = 0; i < reps.size(); ++i)
    g.replicas.push_back(loadReplica(t, g, reps[i], at(join(path, "replicas"), i)));
  ConfigNode home = required(n, "home", path);
  g.home = region(t, home, join(path, "home"));
  bool has_home = false;
  for (const auto& r : g.replicas) has_home = has_home || r.region == g.home;
  if (!has_home && !catalog_)
    fail(home, join(path, "home"), "home region '" + t.regions[g.home].name + "' has no replica");
  if (auto f = n["freshness"]) g.freshness = loadFreshness(g, f, join(path, "freshness"));
  checkContent(g, n, path);
  if (!has_home) {
    // Made through the API one step at a time: served once its home replica exists.
    pending_.push_back({g.name, "no replica in its home region " + t.regions[g.home].name + " yet"});
    return;
  }
  t.addRegistry(std::move(g));
}

void Loader::checkContent(policy::Registry& g, const ConfigNode& n, const std::string& path) const {
  // The node to blame: the registry's own health map when it has one, else
  // the registry (the setting came from the top-level defaults).
  ConfigNode at = n["health"] ? n["health"] : n;
  std::string at_path = n["health"] ? join(path, "health") : path;
  if (g.health.scheme == policy::ProbeScheme::None) return;  // never probed: nothing to check
  if (g.health.check != policy::HealthCheck::Content) {
    if (g.health.write_check)
      fail(at, at_path, "health.write_check needs health.check: content (it runs as a step of the content probe)");
    return;
  }
  if (g.health.scheme != policy::ProbeScheme::Http && g.health.scheme != policy::ProbeScheme::Https)
    fail(at, at_path, "health.check: content reads images over the registry API: health.scheme must be http or https");
  if (!g.health.canary) {
    if (!g.freshness)
      fail(at, at_path,
           "health.check: content needs an image to read: set health.canary (repository:tag) or freshness.canaries");
    g.health.canary = g.freshness->canaries.front();
  }
}

policy::Freshness Loader::loadFreshness(const policy::Registry& g, const ConfigNode& n,
                                        const std::string& path) const {
  checkKeys(n, path, {"canaries", "max_staleness", "reference"});
  if (g.health.scheme == policy::ProbeScheme::None)
    fail(n, path, "needs the registry API: health.scheme must be http, https or tcp (the canary is read there)");
  policy::Freshness f;
  ConfigNode list = required(n, "canaries", path);
  std::string lpath = join(path, "canaries");
  requireSeq(list, lpath);
  if (list.size() == 0) fail(list, lpath, "must list at least one image (repository:tag)");
  for (size_t i = 0; i < list.size(); ++i) {
    auto c = policy::Canary::parse(str(list[i], at(lpath, i)));
    if (!c) fail(list[i], at(lpath, i), c.error());
    for (const auto& seen : f.canaries)
      if (seen == *c) fail(list[i], at(lpath, i), "duplicate canary '" + c->text() + "'");
    f.canaries.push_back(std::move(*c));
  }
  if (auto v = n["max_staleness"]) {
    f.max_staleness = duration(v, join(path, "max_staleness"));
    // Shorter than one probe interval would judge a replica on a single
    // round, i.e. on the timing of the probe rather than on lag.
    if (f.max_staleness < g.health.interval)
      fail(v, join(path, "max_staleness"), "must be at least the registry's probe interval (" +
                                               std::to_string(g.health.interval.count()) + "ms)");
  }
  if (auto v = n["reference"]) {
    std::string r = str(v, join(path, "reference"));
    if (r == "home") f.reference = policy::FreshnessReference::Home;
    else if (r == "majority") f.reference = policy::FreshnessReference::Majority;
    else fail(v, join(path, "reference"), "expected home or majority, got '" + r + "'");
  }
  return f;
}

TopologyPtr Loader::load(const ConfigNode& root) {
  if (!root || root.isNull()) fail(Mark{}, "", "the file is empty");
  checkKeys(root, "",
            {"zone", "nameservers", "ttl", "listen", "admin", "threads", "regions", "clients",
             "routing", "health", "announce", "registries", "rate_limit", "fleet"});
  auto t = std::make_shared<Topology>();
  t->source_file = name_;
  t->zone = name(required(root, "zone", ""), "zone");
  if (t->zone.labelCount() == 0) fail(root["zone"], "zone", "the zone cannot be the root");
  loadNameservers(*t, required(root, "nameservers", ""));
  if (auto n = root["ttl"]) loadTtl(*t, n);
  loadListen(*t, required(root, "listen", ""));
  if (auto n = root["admin"]) {
    checkKeys(n, "admin", {"token_file", "tls"});
    if (auto f = n["token_file"]) t->admin_token_file = filePath(f, "admin.token_file");
    if (auto tls = n["tls"]) {
      requireMap(tls, "admin.tls");
      checkKeys(tls, "admin.tls", {"cert_file", "key_file"});
      t->admin_tls_cert = filePath(required(tls, "cert_file", "admin.tls"), "admin.tls.cert_file");
      t->admin_tls_key = filePath(required(tls, "key_file", "admin.tls"), "admin.tls.key_file");
    }
  }
  if (auto n = root["threads"]) {
    if (n.isScalar() && n.scalar() == "auto") t->threads = 0;
    else t->threads = static_cast<int>(integer(n, "threads", 1, 256));
  }
  loadRegions(*t, required(root, "regions", ""));
  loadClients(*t, required(root, "clients", ""));
  if (auto n = root["routing"]) loadRouting(*t, n);
  if (auto n = root["rate_limit"]) loadRateLimit(*t, n);
  if (auto n = root["fleet"]) loadFleet(*t, n);
  if (auto n = root["health"]) t->health_defaults = probe(n, "health", t->health_defaults);
  if (auto n = root["announce"]) loadAnnounce(*t, n);
  ConfigNode regs = required(root, "registries", "");
  requireSeq(regs, "registries");
  if (regs.size() == 0) fail(regs, "registries", "must list at least one registry");
  t->registries.reserve(regs.size());
  for (size_t i = 0; i < regs.size(); ++i) loadRegistry(*t, regs[i], at("registries", i));
  return t;
}

CatalogTopology Loader::loadCatalog(const Topology& file, const ConfigNode& root) {
  return loadCatalogInto(std::make_shared<Topology>(file), root);
}

CatalogTopology Loader::loadCatalogInto(std::shared_ptr<Topology> t, const ConfigNode& root) {
  catalog_ = true;
  if (root && !root.isNull()) {
    checkKeys(root, "", {"registries"});
    ConfigNode regs = required(root, "registries", "");
    requireSeq(regs, "registries");
    t->registries.reserve(t->registries.size() + regs.size());
    for (size_t i = 0; i < regs.size(); ++i) {
      if (!set_aside_) {
        loadRegistry(*t, regs[i], at("registries", i));
        continue;
      }
      // loadRegistry changes `t` only once the entry is whole: a refused one leaves nothing behind.
      try {
        loadRegistry(*t, regs[i], at("registries", i));
      } catch (const ConfigError& e) {
        ConfigNode n = regs[i].isMap() ? regs[i]["name"] : ConfigNode();
        std::string name = n && n.isScalar() ? n.scalar() : at("registries", i);
        for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        pending_.push_back({name, e.message, true});
      }
    }
  }
  return {t, std::move(pending_), std::nullopt};
}

// "NAME:LINE:COLUMN: message" for a document that is not YAML.
std::string syntaxError(const std::string& name, const SyntaxError& e) {
  std::ostringstream out;
  out << name;
  if (e.mark.line >= 0) out << ':' << e.mark.line + 1 << ':' << e.mark.column + 1;
  out << ": " << e.message;
  return out.str();
}

Result<TopologyPtr> loadWith(const std::string& name, const std::string& base_dir, std::string_view text) {
  try {
    ConfigTree tree = ConfigTree::parse(text);
    return Loader(name, base_dir).load(tree.root());
  } catch (const ConfigError& e) {
    return makeError(e.message);
  } catch (const SyntaxError& e) {
    return makeError(syntaxError(name, e));
  }
}

}  // namespace

Result<TopologyPtr> loadTopologyFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return makeError(path + ": cannot open: " + std::strerror(errno));
  std::stringstream text;
  text << in.rdbuf();
  std::string dir = std::filesystem::path(path).parent_path().string();
  return loadTopologyText(text.str(), path, dir.empty() ? "." : dir);
}

Result<TopologyPtr> loadTopologyText(const std::string& text, const std::string& name,
                                     const std::string& base_dir) {
  return loadWith(name, base_dir, text);
}

Result<CatalogTopology> addCatalog(const TopologyPtr& file, const std::string& catalog_json,
                                   const std::string& catalog_name, FieldError* field, bool set_aside) {
  // No catalog: the file's topology itself, not a copy (100,000 registries).
  if (catalog_json.find_first_not_of(" \t\r\n") == std::string::npos) return CatalogTopology{file, {}, std::nullopt};
  std::string dir = std::filesystem::path(file->source_file).parent_path().string();
  try {
    ConfigTree tree = ConfigTree::parse(catalog_json);
    Loader loader(catalog_name, dir.empty() ? "." : dir);
    loader.setAside(set_aside);
    return loader.loadCatalog(*file, tree.root());
  } catch (const ConfigError& e) {
    if (field) *field = {e.path, e.what};
    return makeError(e.message);
  } catch (const SyntaxError& e) {
    if (field) *field = {"", e.message};
    return makeError(syntaxError(catalog_name, e));
  }
}

Result<CatalogTopology> editCatalog(const TopologyPtr& current, const std::vector<std::string>& removed,
                                    const std::string& added_json, const std::string& catalog_name, FieldError* field) {
  // A copy without the removed registries: the list and its name index are
  // chunked and shared (policy/topology.h), so this is O(edited). Each
  // removed slot takes the last registry; the added ones are appended.
  auto t = std::make_shared<Topology>(*current);
  policy::SlotEdit slots;
  slots.base = current.get();
  slots.kept = static_cast<uint32_t>(t->registries.size());
  std::unordered_set<std::string> gone;
  for (const auto& name : removed)
    if (gone.insert(name).second)
      if (auto i = t->registryIndex(name)) t->removeRegistry(*i, slots);
  std::string dir = std::filesystem::path(current->source_file).parent_path().string();
  try {
    ConfigTree tree = ConfigTree::parse(added_json);
    CatalogTopology merged = Loader(catalog_name, dir.empty() ? "." : dir).loadCatalogInto(t, tree.root());
    merged.slots = std::move(slots);
    return merged;
  } catch (const ConfigError& e) {
    if (field) *field = {e.path, e.what};
    return makeError(e.message);
  } catch (const SyntaxError& e) {
    if (field) *field = {"", e.message};
    return makeError(catalog_name + ": " + e.message);
  }
}

}  // namespace switchyard::config
