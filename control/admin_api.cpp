#include "control/admin_api.h"

#include <algorithm>
#include <cctype>

#include "policy/client_map.h"
#include "policy/endpoint_names.h"
#include "policy/routing_policy.h"

namespace switchyard::control {

namespace {

using nlohmann::json;

std::string strip(std::string name) {
  if (!name.empty() && name.back() == '.') name.pop_back();
  return name;
}

Result<json> parseBody(const std::string& body) {
  try {
    auto j = json::parse(body);
    if (!j.is_object()) return makeError("the body must be a JSON object");
    return j;
  } catch (const json::exception& e) {
    return makeError(std::string("the body is not valid JSON: ") + e.what());
  }
}

}  // namespace

void AdminApi::handle(const ApiRequest& r, const std::function<void(ApiResponse)>& reply) {
  const std::string& p = r.path;
  auto reg = r.params.count("registry") ? r.params.at("registry") : "";
  if (r.method == "GET" && p == "/v1/registries") return reply(registries());
  if (r.method == "POST" && p == "/v1/registries:batch") return batch(r, reply);
  if (r.method == "GET" && p == "/v1/events") return reply(events(r));
  if (r.method == "POST" && p == "/v1/reload") return reload(reply);
  if (r.method == "GET" && p == "/v1/status") return reply(status(r));
  if (r.method == "GET" && p == "/v1/resolvers")
    return reply(ApiResponse{200, c_.resolvers ? c_.resolvers() : nlohmann::json::array()});
  if (p.starts_with("/v1/drills")) {
    auto id = r.params.count("drill") ? r.params.at("drill") : "";
    if (r.method == "POST" && p == "/v1/drills") return reply(c_.drills.start(r.body));
    if (r.method == "GET" && p == "/v1/drills") return reply(c_.drills.list());
    if (r.method == "GET") return reply(c_.drills.get(id));
    if (r.method == "POST" && p.ends_with("/abort")) return reply(c_.drills.abort(id));
  }
  if (p == "/v1/registries/" + reg) {  // the registry itself
    if (r.method == "GET") return reply(registry(reg));
    if (r.method == "PUT") return putRegistry(r, reply);
    if (r.method == "DELETE") return deleteRegistry(r, reply);
  }
  if (r.params.count("region") && !p.ends_with("/fault")) {
    if (r.method == "PUT") return putReplication(r, reply);
    if (r.method == "DELETE") return deleteReplication(r, reply);
  }
  if (!c_.router.topology().registryIndex(reg)) return reply(apiError(404, "no registry named '" + reg + "'"));
  if (r.method == "GET" && p.ends_with("/replications")) return reply(replications(reg));
  if (r.method == "GET" && p.ends_with("/endpoints")) return reply(endpoints(reg));
  if (r.method == "GET" && p.ends_with("/routing"))
    return reply(r.params.count("client") ? routingFor(reg, r.params.at("client")) : routing(reg));
  if (r.method == "POST" && p.ends_with("/fault")) return fault(r, reply);
  if (r.method == "PATCH") return patchReplication(r, reply);
  reply(apiError(404, "no such API call: " + r.method + " " + p));
}

namespace {

json registrySummary(const policy::Topology& t, const policy::Registry& g) {
  return {{"name", g.name},
          {"home", t.regions[g.home].name},
          {"regionalEndpoints", g.regional_endpoints},
          {"dataEndpointEnabled", g.data_endpoints},
          {"globalEndpoint", policy::endpointText(t, g, policy::EndpointKind::Global)},
          {"source", g.from_catalog ? "api" : "file"},
          {"serving", true}};
}

// A catalog registry that is not served yet, from its catalog entry.
json pendingSummary(const json& doc, const config::CatalogPending& p) {
  const std::string& reason = p.reason;
  json replications = json::array();
  for (const auto& r : doc["replicas"]) replications.push_back(r.value("region", ""));
  return {{"name", doc["name"]},
          {"home", doc.value("home", json())},
          {"regionalEndpoints", doc.value("regional_endpoints", json("disabled")) == "enabled"},
          {"dataEndpointEnabled", doc.value("data_endpoints", json("disabled")) == "enabled"},
          {"source", "api"},
          {"serving", false},
          {"reason", reason},
          {"refused", p.refused},  // set aside: breaks a rule of the config file (fix the file, or change it here)
          {"replications", replications}};
}

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// Names from a URL or a body, before anything renders them: a registry is
// one DNS label, a region a config key of letters, digits, '-', '_', '.'
// (the loader says more; this keeps bytes that are not text out of JSON).
std::optional<ApiResponse> badName(const std::string& value, const char* field) {
  bool ok = !value.empty() && value.size() <= 63 && std::all_of(value.begin(), value.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.';
  });
  if (ok) return std::nullopt;
  ApiResponse bad = apiError(400, std::string(field) + ": expected 1-63 letters, digits, '-', '_' or '.'");
  bad.body["field"] = field;
  return bad;
}

ApiResponse fieldError(const ApiFieldError& e) {
  ApiResponse bad = apiError(400, e.field.empty() ? e.message : e.field + ": " + e.message);
  bad.body["field"] = e.field;
  return bad;
}

}  // namespace

ApiResponse AdminApi::registries() const {
  const auto& t = c_.router.topology();
  json out = json::array();
  for (const auto& g : t.registries) out.push_back(registrySummary(t, g));
  if (c_.pending_registries && c_.catalog)
    for (const auto& p : *c_.pending_registries)
      if (auto doc = c_.catalog->find(p.registry)) out.push_back(pendingSummary(*doc, p));
  return {200, out};
}

ApiResponse AdminApi::registry(const std::string& name) const {
  const auto& t = c_.router.topology();
  std::string n = lower(name);
  if (auto g = t.registryIndex(n)) {
    json out = registrySummary(t, t.registries[*g]);
    out["replications"] = replications(n).body;
    return {200, out};
  }
  if (c_.pending_registries && c_.catalog)
    for (const auto& p : *c_.pending_registries)
      if (p.registry == n)
        if (auto doc = c_.catalog->find(n)) return {200, pendingSummary(*doc, p)};
  return apiError(404, "no registry named '" + n + "'");
}

std::optional<ApiResponse> AdminApi::catalogCall(const std::string& name, const std::string* region) const {
  if (auto bad = badName(name, "registry")) return bad;
  if (region)
    if (auto bad = badName(*region, "region")) return bad;
  if (!c_.catalog || !c_.change_catalog) return apiError(409, "this server keeps no runtime catalog");
  return fileOwned(name);
}

std::optional<ApiResponse> AdminApi::fileOwned(const std::string& name) const {
  const auto& t = c_.router.topology();
  auto g = t.registryIndex(name);
  if (!g || t.registries[*g].from_catalog) return std::nullopt;
  ApiResponse out = apiError(409, "'" + name + "' is declared in " + t.source_file +
                                      ": change it there and reload; the API changes only the registries it made");
  out.body["field"] = "registry";
  return out;
}

void AdminApi::putRegistry(const ApiRequest& r, const std::function<void(ApiResponse)>& reply) {
  std::string name = lower(r.params.at("registry"));
  if (auto refused = catalogCall(name, nullptr)) return reply(*refused);
  auto body = parseBody(r.body);
  if (!body) return reply(apiError(400, body.error()));
  const std::optional<json> existing = c_.catalog->find(name);
  ApiFieldError error;
  auto doc = registryFromApi(name, *body, existing ? &*existing : nullptr, error);
  if (!doc) return reply(fieldError(error));
  bool created = !existing;
  c_.change_catalog({{{created ? "registry_created" : "registry_updated", name, ""}, std::move(*doc)}},
                    [this, name, created, reply](std::optional<ApiResponse> failed) {
                      if (failed) return reply(*failed);
                      ApiResponse out = registry(name);
                      if (created && out.status == 200) out.status = 201;
                      reply(out);
                    });
}

void AdminApi::deleteRegistry(const ApiRequest& r, const std::function<void(ApiResponse)>& reply) {
  std::string name = lower(r.params.at("registry"));
  if (auto refused = catalogCall(name, nullptr)) return reply(*refused);
  if (!c_.catalog->contains(name)) return reply(apiError(404, "no registry named '" + name + "'"));
  c_.change_catalog({{{"registry_deleted", name, ""}, std::nullopt}}, [name, reply](std::optional<ApiResponse> failed) {
    if (failed) return reply(*failed);
    reply({200, {{"deleted", true}, {"registry", name}}});
  });
}

void AdminApi::putReplication(const ApiRequest& r, const std::function<void(ApiResponse)>& reply) {
  std::string name = lower(r.params.at("registry"));
  std::string region = r.params.at("region");
  if (auto refused = catalogCall(name, &region)) return reply(*refused);
  const std::optional<json> existing = c_.catalog->find(name);
  if (!existing)
    return reply(apiError(404, "no registry named '" + name + "' (create it first: PUT /v1/registries/" + name + ")"));
  auto body = parseBody(r.body);
  if (!body) return reply(apiError(400, body.error()));
  ApiFieldError error;
  auto entry = replicaFromApi(region, *body, "", error);
  if (!entry) return reply(fieldError(error));
  json doc = *existing;
  bool created = true;
  for (auto& rep : doc["replicas"])
    if (rep.value("region", "") == region) {
      for (const auto& [k, v] : entry->items()) {
        // addresses and target are one choice: the newer one replaces the other.
        if (k == "addresses") rep.erase("target");
        if (k == "target") rep.erase("addresses");
        if (v.is_null()) rep.erase(k);
        else rep[k] = v;
      }
      created = false;
    }
  if (created) doc["replicas"].push_back(std::move(*entry));
  c_.change_catalog({{{created ? "replication_created" : "replication_updated", name, region}, std::move(doc)}},
                    [this, name, region, created, reply](std::optional<ApiResponse> failed) {
                      if (failed) return reply(*failed);
                      ApiResponse out = replicationNow(name, region);
                      if (out.status == 404) out = registry(name);  // not served yet: the registry says why
                      if (created && out.status == 200) out.status = 201;
                      reply(out);
                    });
}

void AdminApi::deleteReplication(const ApiRequest& r, const std::function<void(ApiResponse)>& reply) {
  std::string name = lower(r.params.at("registry"));
  std::string region = r.params.at("region");
  if (auto refused = catalogCall(name, &region)) return reply(*refused);
  const std::optional<json> existing = c_.catalog->find(name);
  if (!existing) return reply(apiError(404, "no registry named '" + name + "'"));
  json doc = *existing;
  auto& reps = doc["replicas"];
  auto it = std::find_if(reps.begin(), reps.end(), [&](const json& rep) { return rep.value("region", "") == region; });
  if (it == reps.end()) return reply(apiError(404, "registry '" + name + "' has no replica in '" + region + "'"));
  if (reps.size() == 1)
    return reply(apiError(409, "'" + region + "' is the last replica of '" + name +
                                   "': delete the registry instead (DELETE /v1/registries/" + name + ")"));
  if (doc.value("home", "") == region)
    return reply(apiError(409, "'" + region + "' is the home replica of '" + name +
                                   "': move its home first (PUT /v1/registries/" + name + " {\"home\": REGION})"));
  reps.erase(it);
  c_.change_catalog({{{"replication_deleted", name, region}, std::move(doc)}},
                    [name, region, reply](std::optional<ApiResponse> failed) {
                      if (failed) return reply(*failed);
                      reply({200, {{"deleted", true}, {"registry", name}, {"region", region}}});
                    });
}

json AdminApi::replication(uint32_t g, uint32_t r) const {
  const auto& t = c_.router.topology();
  const auto& reg = t.registries[g];
  const std::string& region = t.regions[reg.replicas[r].region].name;
  auto state = *c_.router.state(reg.name, region);
  Fault fault = *c_.router.fault(reg.name, region);
  auto last = c_.last_probe.find({reg.name, region});
  bool throttled = fault == Fault::Throttled ||
                   (last != c_.last_probe.end() && last->second.result == health::ProbeResult::Throttled);
  std::string status = "unknown";
  if (failsHealth(fault) || state.health == policy::Health::Down) status = "offline";
  else if (throttled) status = "degraded";
  else if (state.health == policy::Health::Up) status = "online";
  json serving = json::array();
  const auto& routing = *c_.router.table()->registries[g];
  for (uint32_t client = 0; client < routing.clients.size(); ++client)
    for (const auto& choice : routing.clients[client].replicas)
      if (choice.replica == r) serving.push_back(t.regions[client].name);
  json health{{"state", policy::healthName(state.health)},
              {"fault", faultName(fault)},
              {"probe", reg.health.scheme == policy::ProbeScheme::None ? "none" : "active"},
              {"check", reg.health.check == policy::HealthCheck::Content ? "content" : "api"}};
  if (reg.health.canary) health["canary"] = reg.health.canary->text();
  if (state.awaiting_probe) health["awaitingFirstProbe"] = true;  // out of global routing until then
  if (last != c_.last_probe.end())
    health["lastProbe"] = {{"result", health::resultName(last->second.result)},
                           {"httpStatus", last->second.http_status},
                           {"seconds", last->second.seconds},
                           {"detail", last->second.detail},
                           {"step", last->second.step}};
  json out{{"name", region},
           {"registry", reg.name},
           {"region", region},
           {"status", status},
           {"globalEndpointRouting", state.global_endpoint_routing},
           {"servingClients", serving},
           {"health", health}};
  if (reg.health.scheme != policy::ProbeScheme::None) {
    // Where the replica's registry API is, so `switchyardctl wait-replicated`
    // can ask the replica itself rather than go through DNS.
    auto endpoint = health::endpointOf(health::targetOf(t, g, r));
    out["endpoint"] = {{"url", endpoint.base_url}, {"connectTo", endpoint.connect_to}};
  }
  if (reg.freshness) out["freshness"] = freshness(g, r);
  return out;
}

ApiResponse AdminApi::removedReply(const std::string& registry, const std::string& region,
                                   std::optional<bool> routing) const {
  // The replication object's shape (clients read it as one), for a pair a
  // reload removed after the request was accepted.
  json out{{"name", region},
           {"registry", registry},
           {"region", region},
           {"status", "removed"},
           {"globalEndpointRouting", routing.value_or(true)},
           {"servingClients", json::array()},
           {"health", {{"state", "unknown"}, {"fault", "none"}, {"probe", "none"}}},
           {"detail", routing ? "saved; a reload removed this replica meanwhile: the decision is kept and applies if "
                                "it returns"
                              : "applied to the fleet; a reload removed this replica from this node meanwhile"}};
  return {200, out};
}

ApiResponse AdminApi::replicationNow(const std::string& registry, const std::string& region) const {
  const auto& t = c_.router.topology();
  auto g = t.registryIndex(registry);
  auto r = g ? t.replicaIndex(*g, region) : std::nullopt;
  if (!r) return apiError(404, "registry '" + registry + "' has no replica in '" + region + "' (any more)");
  return {200, replication(*g, *r)};
}

json AdminApi::freshness(uint32_t g, uint32_t r) const {
  const auto& t = c_.router.topology();
  const auto& reg = t.registries[g];
  const std::string& region = t.regions[reg.replicas[r].region].name;
  auto nullable = [](const std::string& v) { return v.empty() ? json(nullptr) : json(v); };
  const health::FreshnessStatus* status = nullptr;
  const health::FreshnessReport* report = nullptr;
  if (auto it = c_.freshness.find(reg.name); it != c_.freshness.end()) {
    report = &it->second;
    for (size_t i = 0; i < report->regions.size(); ++i)
      if (report->regions[i] == region) status = &report->replicas[i];
  }
  json canaries = json::array();
  for (size_t c = 0; c < reg.freshness->canaries.size(); ++c) {
    std::string image = reg.freshness->canaries[c].text(), served, reference;
    if (status && report && c < report->canaries.size() && report->canaries[c] == image) {
      served = status->served[c];
      reference = report->references[c];
    }
    canaries.push_back({{"image", image}, {"served", nullable(served)}, {"reference", nullable(reference)}});
  }
  bool lagging = c_.router.state(reg.name, region)->lagging;
  // Before the first round after a restart the Router's restored mark is all there is.
  auto state = status ? status->state : lagging ? health::FreshnessState::Lagging : health::FreshnessState::Unknown;
  return {{"state", health::freshnessName(state)},
          {"lagging", lagging},
          {"secondsBehind", status ? status->seconds_behind : 0.0},
          {"detail", status ? status->detail : lagging ? "lagging before the restart; re-checked at the next round" : ""},
          {"maxStalenessSeconds", std::chrono::duration<double>(reg.freshness->max_staleness).count()},
          {"reference", reg.freshness->reference == policy::FreshnessReference::Home ? "home" : "majority"},
          {"canaries", canaries}};
}

ApiResponse AdminApi::replications(const std::string& registry) const {
  uint32_t g = *c_.router.topology().registryIndex(registry);
  json out = json::array();
  for (uint32_t r = 0; r < c_.router.topology().registries[g].replicas.size(); ++r) out.push_back(replication(g, r));
  return {200, out};
}

ApiResponse AdminApi::endpoints(const std::string& registry) const {
  const auto& t = c_.router.topology();
  const auto& g = t.registries[*t.registryIndex(registry)];
  json regional = json::object(), data = json::object();
  for (const auto& r : g.replicas) {
    const std::string& region = t.regions[r.region].name;
    if (g.regional_endpoints) regional[region] = policy::endpointText(t, g, policy::EndpointKind::Regional, r.region);
    if (g.data_endpoints) data[region] = policy::endpointText(t, g, policy::EndpointKind::Data, r.region);
  }
  return {200, {{"global", policy::endpointText(t, g, policy::EndpointKind::Global)}, {"regional", regional}, {"data", data}}};
}

ApiResponse AdminApi::routing(const std::string& registry) const {
  const auto& t = c_.router.topology();
  uint32_t g = *t.registryIndex(registry);
  const auto& table = *c_.router.table();
  json clients = json::object();
  for (uint32_t client = 0; client < t.regions.size(); ++client) {
    json list = json::array();
    for (const auto& choice : table.registries[g]->clients[client].replicas)
      list.push_back({{"replica", t.regions[t.registries[g].replicas[choice.replica].region].name},
                      {"weight", choice.weight},
                      {"reason", policy::reasonName(choice.reason)}});
    clients[t.regions[client].name] = list;
  }
  json body{{"generation", table.generation},
            {"serial", c_.router.serial()},
            {"spread", t.spread == policy::Spread::Sticky ? "sticky" : "all"},
            {"stickyPrefix", {{"ipv4", t.sticky_prefix.ipv4}, {"ipv6", t.sticky_prefix.ipv6}}},
            {"clients", clients}};
  if (c_.fleet_revision) body["revision"] = c_.fleet_revision();
  return {200, body};
}

ApiResponse AdminApi::routingFor(const std::string& registry, const std::string& client) const {
  auto addr = IpAddress::parse(client);
  if (!addr) return apiError(400, "client must be an IP address (IPv4 or IPv6), got '" + client + "'");
  const auto& t = c_.router.topology();
  uint32_t g = *t.registryIndex(registry);
  const auto& reg = t.registries[g];
  const auto& table = *c_.router.table();
  auto regionName = [&](uint32_t replica) { return t.regions[reg.replicas[replica].region].name; };
  // The same lookup as the DNS path: the client map, then the route, then the pick.
  auto region = policy::ClientMap(t.networks, t.default_region).lookup(addr->unmapped());
  const std::string& client_region = t.regions[region.region].name;
  const auto& route = table.registries[g]->clients[region.region];
  auto pick = policy::pickForClient(t, g, route, *addr);
  json share = json::array(), replicas = json::array();
  for (const auto& c : route.replicas)
    share.push_back({{"replica", regionName(c.replica)}, {"weight", c.weight}});
  for (uint32_t r : pick.replicas) replicas.push_back(regionName(r));

  std::string why;
  std::string names;
  for (const auto& c : route.replicas) names += (names.empty() ? "" : ", ") + regionName(c.replica);
  uint32_t nearest = c_.router.ranking().order(g, region.region)[0];
  auto notEligible = [&](uint32_t r) {
    auto state = *c_.router.state(reg.name, regionName(r));
    auto fault = *c_.router.fault(reg.name, regionName(r));
    if (failsHealth(fault)) return std::string("failed by an injected fault (") + faultName(fault) + ")";
    if (state.health == policy::Health::Down) return std::string("down (its probes fail)");
    if (!state.global_endpoint_routing) return std::string("out of global routing (operator)");
    if (state.lagging) return std::string("lagging behind its canary");
    if (state.awaiting_probe) return std::string("new and not probed yet");
    return std::string("not eligible");
  };
  std::string reason = route.servfail || route.replicas.empty() ? "servfail" : policy::reasonName(route.replicas[0].reason);
  if (reason == "servfail") {
    why = "no replica is eligible for " + client_region + " clients and routing.when_none_eligible is servfail";
  } else if (route.replicas[0].reason == policy::Reason::Nearest) {
    why = regionName(route.replicas[0].replica) + " is the nearest replica to " + client_region + " and is eligible";
  } else {
    why = route.replicas[0].reason == policy::Reason::FailOpen
              ? "no replica is eligible, so " + client_region + " clients fail open to " + names
              : "the nearest replica " + regionName(nearest) + " is " + notEligible(nearest) + ", so " +
                    client_region + " clients share the next nearest eligible: " + names;
    if (pick.sticky)
      why += "; each /" + std::to_string(pick.subnet.length) + " client subnet gets one of them (rendezvous hash), and " +
             pick.subnet.toString() + " gets " + regionName(pick.replicas[0]);
    else if (route.replicas.size() > 1)
      why += "; routing.spread is all: the answer holds every one of them";
  }
  json body{{"generation", table.generation},
            {"client", addr->toString()},
            {"clientRegion", client_region},
            {"subnet", pick.subnet.toString()},
            {"replica", replicas.size() == 1 ? json(replicas[0]) : json(nullptr)},
            {"replicas", replicas},
            {"reason", reason},
            {"sticky", pick.sticky},
            {"shareSet", share},
            {"why", why}};
  return {200, body};
}

ApiResponse AdminApi::events(const ApiRequest& r) const {
  uint64_t since = 0;
  if (auto it = r.params.find("since"); it != r.params.end()) {
    try {
      size_t used = 0;
      since = std::stoull(it->second, &used);
      if (used != it->second.size()) throw std::invalid_argument(it->second);
    } catch (const std::exception&) {
      return apiError(400, "since must be an event id (a whole number), got '" + it->second + "'");
    }
  }
  return {200, c_.events.since(since)};
}

void AdminApi::patchReplication(const ApiRequest& r, const std::function<void(ApiResponse)>& reply) {
  const std::string& registry = r.params.at("registry");
  const std::string& region = r.params.at("region");
  if (!c_.router.state(registry, region))
    return reply(apiError(404, "registry '" + registry + "' has no replica in '" + region + "'"));
  auto body = parseBody(r.body);
  if (!body) return reply(apiError(400, body.error()));
  for (const auto& [key, value] : body->items())
    if (key != "globalEndpointRouting")
      return reply(apiError(400, "unknown field '" + key + "' (only globalEndpointRouting can be changed)"));
  if (!body->contains("globalEndpointRouting") || !(*body)["globalEndpointRouting"].is_boolean())
    return reply(apiError(400, "globalEndpointRouting must be true or false"));
  bool enabled = (*body)["globalEndpointRouting"].get<bool>();
  // Names only from here on: the steps below may cross a reload.
  auto apply = [this, registry, region, enabled, reply] {
    auto changed = c_.router.setOperatorFlag(registry, region, enabled);
    if (!changed) return reply(apiError(404, changed.error()));
    c_.persist_overrides([this, registry, region, enabled, reply](std::string error) {
      // The change is live either way; say loudly if it would not survive a restart.
      if (!error.empty()) return reply(apiError(500, "applied but not persisted: " + error));
      ApiResponse now = replicationNow(registry, region);
      // A reload removed the pair while the decision was on its way: it was
      // recorded and persisted (dormant, router.h), so the answer is a 200
      // that says so, never a 404 that reads as "not done".
      if (now.status == 404) now = removedReply(registry, region, enabled);
      reply(now);
    });
  };
  if (!c_.share_routing) return apply();
  c_.share_routing(registry, region, enabled, [apply, reply](std::string error) {
    if (!error.empty()) return reply(apiError(503, "not applied: the fleet's store did not take it: " + error));
    apply();
  });
}

void AdminApi::fault(const ApiRequest& r, const std::function<void(ApiResponse)>& reply) {
  const std::string& registry = r.params.at("registry");
  const std::string& region = r.params.at("region");
  auto body = parseBody(r.body);
  if (!body) return reply(apiError(400, body.error()));
  auto h = body->value("health", json());
  const char* allowed = "health must be \"down\", \"content_error\", \"throttled\" or \"none\"";
  if (!h.is_string()) return reply(apiError(400, allowed));
  std::string v = h.get<std::string>();
  auto parsed = faultFromName(v);
  if (!parsed) return reply(apiError(400, std::string(allowed) + ", got '" + v + "'"));
  Fault f = *parsed;
  if (!c_.router.state(registry, region))
    return reply(apiError(404, "registry '" + registry + "' has no replica in '" + region + "'"));
  auto apply = [this, registry, region, f, reply] {
    auto changed = c_.router.setFault(registry, region, f);
    // Gone during the fleet's round-trip: etcd has the fault, this node has no pair.
    if (!changed) return reply(removedReply(registry, region, std::nullopt));
    reply(replicationNow(registry, region));
  };
  if (!c_.share_fault) return apply();
  c_.share_fault(registry, region, f, [apply, reply](std::string error) {
    if (!error.empty()) return reply(apiError(503, "not applied: the fleet's store did not take it: " + error));
    apply();
  });
}

ApiResponse AdminApi::status(const ApiRequest& r) const {
  const auto& t = c_.router.topology();
  size_t limit = 200;
  if (auto it = r.params.find("limit"); it != r.params.end()) {
    try {
      limit = std::stoul(it->second);
    } catch (const std::exception&) {
      return apiError(400, "limit must be a whole number");
    }
  }
  json client_regions = json::array();
  std::vector<bool> is_client(t.regions.size(), false);
  is_client[t.default_region] = true;
  for (const auto& n : t.networks) is_client[n.region] = true;
  for (uint32_t i = 0; i < t.regions.size(); ++i)
    if (is_client[i]) client_regions.push_back(t.regions[i].name);
  json registries = json::array();
  for (uint32_t g = 0; g < t.registries.size() && g < limit; ++g) {
    const std::string& name = t.registries[g].name;
    registries.push_back({{"name", name},
                          {"global", policy::endpointText(t, t.registries[g], policy::EndpointKind::Global)},
                          {"replicas", replications(name).body},
                          {"routing", routing(name).body["clients"]}});
  }
  json recent = json::array();
  for (const auto& d : c_.drills.list().body)
    recent.push_back({{"id", d["id"]}, {"registry", d["registry"]}, {"replica", d["replica"]},
                      {"scenario", d["scenario"]}, {"state", d["state"]}, {"phase", d["phase"]},
                      {"startedAt", d["startedAt"]}, {"timings", d["timings"]}});
  json events = c_.events.since(c_.events.lastId() > 30 ? c_.events.lastId() - 30 : 0);
  json orphaned = json::array();
  for (const auto& [key, enabled] : c_.router.orphanedOverrides())
    orphaned.push_back({{"registry", key.registry}, {"region", key.region}, {"globalEndpointRouting", enabled}});
  return {200,
          {{"zone", strip(t.zone.toString())},
           {"generation", c_.router.table()->generation},
           {"serial", c_.router.serial()},
           {"clientRegions", client_regions},
           {"spread", t.spread == policy::Spread::Sticky ? "sticky" : "all"},
           {"stickyPrefix", {{"ipv4", t.sticky_prefix.ipv4}, {"ipv6", t.sticky_prefix.ipv6}}},
           {"registryCount", t.registries.size()},
           {"registries", registries},
           {"drills", recent},
           {"orphanedOverrides", orphaned},
           {"events", events}}};
}

void AdminApi::reload(const std::function<void(ApiResponse)>& reply) {
  c_.reload([this, reply](Result<bool> ok) {
    if (!ok) reply(apiError(400, ok.error()));
    else reply({200, {{"reloaded", true}, {"generation", c_.router.table()->generation}}});
  });
}

}  // namespace switchyard::control

namespace switchyard::control {

void AdminApi::batch(const ApiRequest& r, const std::function<void(ApiResponse)>& reply) {
  if (!c_.catalog || !c_.change_catalog) return reply(apiError(409, "this server keeps no runtime catalog"));
  std::vector<CatalogEdit> edits;
  std::map<std::string, size_t> line_of;
  json created = json::array(), updated = json::array(), deleted = json::array();
  auto lineError = [&](size_t line, ApiResponse bad) {
    bad.body["line"] = line;
    bad.body["error"] = "line " + std::to_string(line) + ": " + bad.body["error"].get<std::string>();
    return reply(bad);
  };
  size_t line = 0, begin = 0;
  while (begin <= r.body.size()) {
    size_t end = r.body.find('\n', begin);
    if (end == std::string::npos) end = r.body.size();
    std::string text = r.body.substr(begin, end - begin);
    begin = end + 1;
    ++line;
    if (text.find_first_not_of(" \t\r") == std::string::npos) continue;
    json entry = json::parse(text, nullptr, false);
    if (entry.is_discarded() || !entry.is_object()) return lineError(line, apiError(400, "not a JSON object"));
    if (!entry.contains("name") || !entry["name"].is_string()) {
      ApiResponse bad = apiError(400, "name: every line names its registry");
      bad.body["field"] = "name";
      return lineError(line, bad);
    }
    std::string name = lower(entry["name"].get<std::string>());
    if (auto bad = badName(name, "name")) return lineError(line, *bad);
    if (line_of.count(name)) return lineError(line, apiError(400, "'" + name + "' is on line " + std::to_string(line_of[name]) + " too"));
    line_of[name] = line;
    if (auto owned = fileOwned(name)) return lineError(line, *owned);
    if (entry.contains("delete") && !entry["delete"].is_boolean()) {
      ApiResponse bad = apiError(400, "delete: expected true or false");
      bad.body["field"] = "delete";
      return lineError(line, bad);
    }
    bool remove = entry.value("delete", false);
    entry.erase("name");
    entry.erase("delete");
    const std::optional<json> existing = c_.catalog->find(name);
    if (remove) {
      if (!existing) return lineError(line, apiError(404, "no registry named '" + name + "' to delete"));
      edits.push_back({{"registry_deleted", name, ""}, std::nullopt});
      deleted.push_back(name);
      continue;
    }
    ApiFieldError error;
    auto doc = registryFromApi(name, entry, existing ? &*existing : nullptr, error);
    if (!doc) return lineError(line, fieldError(error));
    (existing ? updated : created).push_back(name);
    edits.push_back({{existing ? "registry_updated" : "registry_created", name, ""}, std::move(*doc)});
  }
  if (edits.empty()) return reply(apiError(400, "the body holds no registry (NDJSON: one JSON object per line)"));
  c_.change_catalog(std::move(edits),
                    [reply, line_of, created, updated, deleted](std::optional<ApiResponse> failed) {
                      if (failed) {
                        ApiResponse bad = *failed;
                        if (bad.body.contains("registry") && line_of.count(bad.body["registry"].get<std::string>())) {
                          size_t at = line_of.at(bad.body["registry"].get<std::string>());
                          bad.body["line"] = at;
                          bad.body["error"] = "line " + std::to_string(at) + " (" + bad.body["registry"].get<std::string>() +
                                              "): " + bad.body["error"].get<std::string>();
                        }
                        return reply(bad);
                      }
                      reply({200, {{"created", created}, {"updated", updated}, {"deleted", deleted}}});
                    });
}

}  // namespace switchyard::control
