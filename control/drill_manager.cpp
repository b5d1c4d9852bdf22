#include "control/drill_manager.h"

#include "common/thread_name.h"

#include <spdlog/spdlog.h>

#include <future>
#include <random>
#include <set>

#include "policy/client_map.h"
#include "policy/endpoint_names.h"
#include "policy/routing_policy.h"

namespace switchyard::control {

namespace {

using nlohmann::json;

constexpr size_t kKeepFinished = 20;
constexpr auto kControlBound = std::chrono::seconds(10);

Result<std::chrono::milliseconds> seconds(const json& body, const char* key, double fallback, double low,
                                          double high) {
  if (!body.contains(key)) return std::chrono::milliseconds(static_cast<int64_t>(fallback * 1000));
  const json& v = body[key];
  if (!v.is_number() || v.get<double>() < low || v.get<double>() > high)
    return makeError(std::string(key) + " must be a number of seconds from " + std::to_string(static_cast<int>(low)) +
                     " to " + std::to_string(static_cast<int>(high)));
  return std::chrono::milliseconds(static_cast<int64_t>(v.get<double>() * 1000));
}

// Up to kProbesPerRegion distinct sticky subnets per client region (an
// address inside each, so the server cuts it to the subnet itself), drawn
// from the region's networks, and for the default region from anywhere, each
// checked against the map DNS uses. Seeded by the registry: the same drill
// asks the same subnets.
constexpr size_t kProbesPerRegion = 16;
std::vector<DrillPlan::Client> stickyProbes(const policy::Topology& t, const policy::ClientMap& map,
                                            const policy::Registry& reg) {
  std::vector<DrillPlan::Client> out;
  // Each probe asks with its own family's type where a replica has such
  // addresses (sticky picks among those for that family), else the other.
  bool any_v4 = false, any_v6 = false;
  for (const auto& rep : reg.replicas) {
    for (const auto& a : rep.addresses) (a.isV4() ? any_v4 : any_v6) = true;
    if (rep.target) any_v4 = any_v6 = true;
  }
  auto qtypeFor = [&](bool v4) -> uint16_t { return (v4 ? any_v4 || !any_v6 : !any_v6) ? 1 : 28; };
  std::mt19937_64 rng(policy::replicaSeed(reg.name, "drill probes"));  // the same on every node and build
  for (uint32_t region = 0; region < t.regions.size(); ++region) {
    std::vector<IpPrefix> nets;
    for (const auto& n : t.networks)
      if (n.region == region) nets.push_back(n.prefix);
    if (region == t.default_region) nets.push_back(IpPrefix::parse("0.0.0.0/0").value());
    std::set<std::string> seen;
    for (int attempt = 0; attempt < 256 && seen.size() < kProbesPerRegion && !nets.empty(); ++attempt) {
      IpPrefix net = nets[static_cast<size_t>(attempt) % nets.size()];
      IpAddress a = net.address;
      uint64_t bits = rng();
      for (int i = net.length; i < a.bitLength(); ++i, bits = bits >> 1 | bits << 63)
        if (bits & 1) a.bytes[i / 8] |= static_cast<uint8_t>(0x80u >> (i % 8));
      if (map.lookup(a).region != region) continue;
      if (!seen.insert(policy::stickySubnet(a, t.sticky_prefix).toString()).second) continue;
      out.push_back({t.regions[region].name, IpPrefix{a, a.bitLength()}, qtypeFor(a.isV4())});
    }
  }
  return out;
}

}  // namespace

// The drill thread's way into the control thread: post, then wait (bounded).
class DrillManager::Control final : public DrillControl {
 public:
  Control(DrillManager& m, uint64_t id) : m_(m), id_(id) {}
  Result<bool> apply() override {
    return call<Result<bool>>([this] { return m_.apply(id_); });
  }
  Result<bool> revert() override {
    return call<Result<bool>>([this] { return m_.revert(id_); });
  }
  Result<ClientAnswers> routing() override {
    return call<Result<ClientAnswers>>([this] { return m_.routing(id_); });
  }
  json eventsSince(uint64_t id) override {
    auto r = call<Result<json>>([this, id] { return Result<json>(m_.events_.since(id)); });
    return r ? *r : json::array();
  }

 private:
  template <typename T, typename F>
  T call(F f) {
    // Only the task holds the promise: if the stopping loop drops the task,
    // the promise dies with it and the future is ready at once (broken
    // promise) instead of after the 10 s bound.
    auto promise = std::make_shared<std::promise<T>>();
    auto future = promise->get_future();
    if (!m_.post_([promise = std::move(promise), f] { promise->set_value(f()); }))
      return T(makeError("switchyard is stopping"));
    if (future.wait_for(kControlBound) != std::future_status::ready)
      return T(makeError("the control thread did not answer in 10 s"));
    try {
      return future.get();
    } catch (const std::future_error&) {  // the task was dropped: the daemon is stopping
      return T(makeError("switchyard is stopping"));
    }
  }
  DrillManager& m_;
  uint64_t id_;
};

DrillManager::DrillManager(Router& router, EventLog& events, Post post, Emit emit,
                           std::function<std::optional<SocketAddress>()> default_dns)
    : router_(router),
      events_(events),
      post_(std::move(post)),
      emit_(std::move(emit)),
      default_dns_(std::move(default_dns)) {}

DrillManager::~DrillManager() { joinAll(); }

std::optional<ApiResponse> DrillManager::plan(const json& body, DrillPlan& out) const {
  DrillPlan p;
  if (auto refused = parseRequest(body, p)) return refused;
  if (auto refused = checkDrillable(p)) return refused;
  describeTargets(p);
  if (p.clients.empty()) return apiError(409, "clients.networks is empty: there is no client region to ask as");
  p.first_event_id = events_.lastId();
  out = std::move(p);
  return std::nullopt;
}

std::optional<ApiResponse> DrillManager::parseRequest(const json& body, DrillPlan& p) const {
  for (const auto& [key, value] : body.items())
    if (key != "registry" && key != "replica" && key != "scenario" && key != "dns" && key != "timeoutSeconds" &&
        key != "holdSeconds" && key != "fault")
      return apiError(400, "unknown field '" + key + "'");
  for (const char* key : {"registry", "replica", "scenario"})
    if (!body.contains(key) || !body[key].is_string()) return apiError(400, std::string(key) + " must be a string");
  p.registry = body["registry"];
  p.replica = body["replica"];
  std::string scenario = body["scenario"];
  if (scenario == "exclude") p.scenario = DrillScenario::Exclude;
  else if (scenario == "fail") p.scenario = DrillScenario::Fail;
  else if (scenario == "throttle") p.scenario = DrillScenario::Throttle;
  else return apiError(400, "scenario must be exclude, fail or throttle, got '" + scenario + "'");
  if (body.contains("fault")) {
    // What the fail scenario rehearses: the replica down, or up with broken
    // storage (the failure a content check detects).
    const auto& f = body["fault"];
    if (!f.is_string() || (f != "down" && f != "content_error"))
      return apiError(400, "fault must be \"down\" or \"content_error\"");
    if (p.scenario != DrillScenario::Fail) return apiError(400, "fault applies to the fail scenario only");
    p.content_fault = f == "content_error";
  }
  auto timeout = seconds(body, "timeoutSeconds", 15, 1, 600);
  if (!timeout) return apiError(400, timeout.error());
  auto hold = seconds(body, "holdSeconds", 3, 0, 600);
  if (!hold) return apiError(400, hold.error());
  p.timeout = *timeout;
  p.hold = *hold;
  if (body.contains("dns")) {
    if (!body["dns"].is_string()) return apiError(400, "dns must be \"HOST:PORT\"");
    auto dns = SocketAddress::parse(body["dns"].get<std::string>());
    if (!dns) return apiError(400, "dns: " + dns.error());
    p.dns = *dns;
  } else {
    auto dns = default_dns_();
    if (!dns) return apiError(400, "this daemon serves no DNS yet: pass dns as \"HOST:PORT\"");
    p.dns = *dns;
  }
  return std::nullopt;
}

std::optional<ApiResponse> DrillManager::checkDrillable(const DrillPlan& p) const {
  const auto& t = router_.topology();
  auto g = t.registryIndex(p.registry);
  if (!g) return apiError(404, "no registry named '" + p.registry + "'");
  auto r = t.replicaIndex(*g, p.replica);
  if (!r) return apiError(404, "registry '" + p.registry + "' has no replica in '" + p.replica + "'");
  if (!t.trust_ecs)
    return apiError(409, "dns.trust_ecs is off, so a drill cannot ask as each client region (EDNS Client Subnet)");
  for (const auto& [id, e] : drills_)
    if (!e->done && e->registry == p.registry)
      return apiError(409, "drill " + std::to_string(id) + " is already running on registry " + p.registry);
  auto state = *router_.state(p.registry, p.replica);
  Fault fault = *router_.fault(p.registry, p.replica);
  if (p.scenario == DrillScenario::Exclude && !state.global_endpoint_routing)
    return apiError(409, "" + p.replica + " is already out of global routing");
  if (p.scenario != DrillScenario::Exclude && fault != Fault::None)
    return apiError(409, "" + p.replica + " already has an injected fault (" + faultName(fault) + ")");
  if (p.scenario == DrillScenario::Throttle) return std::nullopt;
  // Exclude and fail take the replica out: another must be left to take over.
  const auto& reg = t.registries[*g];
  int others = 0;
  for (uint32_t i = 0; i < reg.replicas.size(); ++i) {
    if (i == *r) continue;
    auto s = *router_.state(reg.name, t.regions[reg.replicas[i].region].name);
    Fault f = *router_.fault(reg.name, t.regions[reg.replicas[i].region].name);
    bool healthy = f == Fault::Throttled || (f == Fault::None && s.health != policy::Health::Down);
    if (healthy && s.global_endpoint_routing) ++others;
  }
  if (others == 0)
    return apiError(409, "" + p.replica + " is the only eligible replica of " + p.registry +
                     ": taking it out would leave the global name with none");
  return std::nullopt;
}

void DrillManager::describeTargets(DrillPlan& p) const {
  const auto& t = router_.topology();
  const auto& reg = t.registries[*t.registryIndex(p.registry)];
  p.global_name = policy::endpointText(t, reg, policy::EndpointKind::Global);
  for (const auto& r : t.announce.resolvers) p.resolvers.push_back(r.name);
  bool any_v4 = false;
  for (const auto& rep : reg.replicas) {
    std::vector<std::string> records;
    for (const auto& a : rep.addresses) {
      records.push_back((a.isV4() ? "A " : "AAAA ") + a.toString());
      any_v4 = any_v4 || a.isV4();
    }
    for (const auto& a : rep.data_addresses) records.push_back((a.isV4() ? "A " : "AAAA ") + a.toString());
    if (rep.target) {
      records.push_back("CNAME " + rep.target->toString());
      any_v4 = true;
    }
    p.records[t.regions[rep.region].name] = std::move(records);
  }
  p.qtype = any_v4 ? 1 : 28;
  // One subnet per client region, checked against the same map DNS uses.
  policy::ClientMap map(t.networks, t.default_region);
  for (uint32_t region = 0; region < t.regions.size(); ++region)
    for (const auto& n : t.networks)
      if (n.region == region && map.lookup(n.prefix.address).region == region) {
        IpPrefix subnet{n.prefix.address, static_cast<uint8_t>(n.prefix.address.isV4() ? 32 : 128)};
        p.clients.push_back({t.regions[region].name, subnet});
        break;
      }
  p.sticky = t.spread == policy::Spread::Sticky;
  if (p.sticky) p.sticky_probes = stickyProbes(t, map, reg);
  for (const auto& rep : reg.replicas) {
    const std::string& region = t.regions[rep.region].name;
    if (reg.regional_endpoints)
      p.fixed.push_back({"regional " + region, policy::endpointText(t, reg, policy::EndpointKind::Regional, rep.region)});
    if (reg.data_endpoints)
      p.fixed.push_back({"data " + region, policy::endpointText(t, reg, policy::EndpointKind::Data, rep.region)});
  }
}

ApiResponse DrillManager::start(const std::string& text) {
  json body;
  try {
    body = json::parse(text);
  } catch (const json::exception& e) {
    return apiError(400, std::string("the body is not valid JSON: ") + e.what());
  }
  if (!body.is_object()) return apiError(400, "the body must be a JSON object");
  DrillPlan p;
  if (auto refused = plan(body, p)) return *refused;
  uint64_t id = next_id_++;
  auto entry = std::make_unique<Entry>();
  entry->registry = p.registry;
  entry->drill = std::make_shared<Drill>(id, std::move(p));
  const DrillPlan& plan = entry->drill->plan();
  emit_("drill", {{"drill", id}, {"phase", "started"}, {"registry", plan.registry}, {"replica", plan.replica},
                  {"scenario", scenarioName(plan.scenario)}, {"dns", plan.dns.toString()}});
  spdlog::info("event=drill_started drill={} registry={} replica={} scenario={} dns={}", id, plan.registry,
               plan.replica, scenarioName(plan.scenario), plan.dns.toString());
  entry->thread = std::thread([this, id, drill = entry->drill] {
    nameThisThread("sy-drill-" + std::to_string(id));
    Control control(*this, id);
    drill->run(control);
    post_([this, id] { finished(id); });
  });
  json report = entry->drill->report().toJson();
  drills_[id] = std::move(entry);
  return {201, report};
}

Result<bool> DrillManager::apply(uint64_t id) {
  auto it = drills_.find(id);
  if (it == drills_.end() || it->second->done) return makeError("the drill ended");
  Entry& e = *it->second;
  const DrillPlan& p = e.drill->plan();
  Result<bool> ok = p.scenario == DrillScenario::Exclude ? router_.setGlobalEndpointRouting(p.registry, p.replica, false)
                    : router_.setFault(p.registry, p.replica,
                                       p.scenario != DrillScenario::Fail ? Fault::Throttled
                                       : p.content_fault                 ? Fault::ContentError
                                                                         : Fault::Down);
  if (!ok) return ok;
  e.applied = true;
  emit_("drill", {{"drill", id}, {"phase", "applied"}, {"registry", p.registry}, {"replica", p.replica},
                  {"scenario", scenarioName(p.scenario)}});
  return true;
}

Result<bool> DrillManager::revert(uint64_t id) {
  auto it = drills_.find(id);
  if (it == drills_.end()) return makeError("no such drill");
  Entry& e = *it->second;
  if (!e.applied) return true;
  const DrillPlan& p = e.drill->plan();
  // Back to the operator's decision (or the file's), not to "true": an
  // exclusion the operator made meanwhile stays.
  Result<bool> ok = p.scenario == DrillScenario::Exclude ? router_.restoreFlag(p.registry, p.replica)
                                                          : router_.setFault(p.registry, p.replica, Fault::None);
  if (!ok) {
    // The pair vanished in a reload: nothing is left to undo.
    spdlog::warn("event=drill_revert drill={} {}", id, ok.error());
  }
  e.applied = false;
  emit_("drill", {{"drill", id}, {"phase", "reverted"}, {"registry", p.registry}, {"replica", p.replica},
                  {"scenario", scenarioName(p.scenario)}});
  return true;
}

Result<ClientAnswers> DrillManager::routing(uint64_t id) const {
  auto it = drills_.find(id);
  if (it == drills_.end()) return makeError("no such drill");
  const auto& t = router_.topology();
  const DrillPlan& p = it->second->drill->plan();
  auto g = t.registryIndex(p.registry);
  if (!g) return makeError("registry " + p.registry + " was removed by a reload");
  const auto& routing = *router_.table()->registries[*g];
  ClientAnswers out;
  for (const auto& c : p.clients) {
    auto region = t.regionIndex(c.region);
    if (!region) return makeError("region " + c.region + " was removed by a reload");
    // The replicas this client's answer holds: under routing.spread sticky,
    // the one its subnet gets (the DNS path's own rule).
    std::vector<std::string> replicas;
    for (uint32_t r : policy::pickForClient(t, *g, routing.clients[*region], c.subnet.address).replicas)
      replicas.push_back(t.regions[t.registries[*g].replicas[r].region].name);
    std::sort(replicas.begin(), replicas.end());
    out[c.region] = std::move(replicas);
  }
  return out;
}

void DrillManager::finished(uint64_t id) {
  auto it = drills_.find(id);
  if (it == drills_.end()) return;
  Entry& e = *it->second;
  if (e.applied) (void)revert(id);  // the drill thread could not; never leave it applied
  if (e.thread.joinable()) e.thread.join();  // it has returned or is returning
  e.done = true;
  DrillReport report = e.drill->report();
  json timings = report.toJson()["timings"];
  emit_("drill", {{"drill", id}, {"phase", "finished"}, {"registry", report.registry}, {"replica", report.replica},
                  {"scenario", report.scenario}, {"state", report.state}, {"timings", timings}});
  spdlog::info("event=drill_finished drill={} state={} timings={}", id, report.state, timings.dump());
  size_t finished_count = 0;
  for (const auto& [i, d] : drills_) finished_count += d->done;
  for (auto old = drills_.begin(); finished_count > kKeepFinished && old != drills_.end();) {
    if (old->second->done) {
      old = drills_.erase(old);
      --finished_count;
    } else {
      ++old;
    }
  }
}

DrillManager::Entry* DrillManager::find(const std::string& id) const {
  try {
    size_t used = 0;
    uint64_t n = std::stoull(id, &used);
    if (used != id.size()) return nullptr;
    auto it = drills_.find(n);
    return it == drills_.end() ? nullptr : it->second.get();
  } catch (const std::exception&) {
    return nullptr;
  }
}

ApiResponse DrillManager::list() const {
  json out = json::array();
  for (const auto& [id, e] : drills_) out.push_back(e->drill->report().toJson());
  return {200, out};
}

json DrillManager::running() const {
  json out = json::array();
  for (const auto& [id, e] : drills_)
    if (!e->done) out.push_back(e->drill->report().toJson());
  return out;
}

ApiResponse DrillManager::get(const std::string& id) const {
  Entry* e = find(id);
  if (!e) return apiError(404, "no drill with id '" + id + "'");
  return {200, e->drill->report().toJson()};
}

ApiResponse DrillManager::abort(const std::string& id) {
  Entry* e = find(id);
  if (!e) return apiError(404, "no drill with id '" + id + "'");
  e->drill->abort();
  return {202, e->drill->report().toJson()};
}

void DrillManager::stopAll() {
  for (auto& [id, e] : drills_) {
    e->drill->abort();
    if (e->applied) {
      (void)revert(id);
      spdlog::info("event=drill_reverted_on_stop drill={} registry={} replica={}", id, e->drill->plan().registry,
                   e->drill->plan().replica);
    }
  }
}

void DrillManager::joinAll() {
  for (auto& [id, e] : drills_) {
    e->drill->abort();
    if (e->thread.joinable()) e->thread.join();
  }
}

}  // namespace switchyard::control
