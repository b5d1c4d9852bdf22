#include "control/catalog.h"

#include <algorithm>
#include <cctype>
#include <optional>
#include <set>

namespace switchyard::control {

using nlohmann::json;

namespace {

// API field -> the config file's key, per level.
const std::map<std::string, std::string> kRegistryKeys{
    {"home", "home"},
    {"regionalEndpoints", "regional_endpoints"},
    {"dataEndpointEnabled", "data_endpoints"},
    {"health", "health"},
    {"freshness", "freshness"},
};
const std::map<std::string, std::string> kReplicaKeys{
    {"addresses", "addresses"},
    {"target", "target"},
    {"dataAddresses", "data_addresses"},
    {"probeAddress", "probe_address"},
    {"globalEndpointRouting", "global_endpoint_routing"},
};

std::string known(const std::map<std::string, std::string>& keys, const char* extra = nullptr) {
  std::string out;
  for (const auto& [api, file] : keys) out += (out.empty() ? "" : ", ") + api;
  if (extra) out += std::string(", ") + extra;
  return out;
}

// The config's enabled/disabled from the API's bool (or the same words).
json endpointsValue(const json& v) {
  if (v.is_boolean()) return v.get<bool>() ? "enabled" : "disabled";
  return v;  // the loader says what is wrong with anything else
}

std::string apiKey(const std::map<std::string, std::string>& keys, const std::string& file_key) {
  for (const auto& [api, file] : keys)
    if (file == file_key) return api;
  return file_key;
}

}  // namespace

Result<json> Catalog::checkEntry(json r, const std::string& at) {
  if (!r.is_object() || !r.contains("name") || !r["name"].is_string())
    return makeError(at + ": expected an object with a name");
  if (!r.contains("replicas") || !r["replicas"].is_array()) return makeError(at + ": expected a replicas list");
  std::set<std::string> regions;
  for (const auto& rep : r["replicas"])
    if (!rep.is_object() || !rep.contains("region") || !rep["region"].is_string() ||
        !regions.insert(rep["region"].get<std::string>()).second)
      return makeError(at + ": every replica needs a region of its own");
  // The API looks registries up by their lowercase name (DNS names are
  // case-blind); a hand-edited "MyRegistry" would otherwise be unreachable.
  std::string name = r["name"].get<std::string>();
  std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
  r["name"] = name;
  return r;
}

Result<Catalog> Catalog::parse(const std::string& text, const std::string& name) {
  Catalog c;
  if (text.find_first_not_of(" \t\r\n") == std::string::npos) return c;
  auto add = [&](json entry, size_t i) -> Result<bool> {
    std::string at = name + ": registries[" + std::to_string(i) + "]";
    auto r = checkEntry(std::move(entry), at);
    if (!r) return Error{r.error()};
    std::string key = (*r)["name"].get<std::string>();
    if (c.lines_.contains(key)) return makeError(at + ": a second registry named '" + key + "'");
    c.put(std::move(*r));
    return true;
  };
  // As render() writes it, one entry per line: parsed a line at a time, so
  // 100,000 entries never stand as one JSON tree (300 MB).
  const std::string head = "{\"registries\": [\n";
  if (text.rfind(head, 0) == 0) {
    bool closed = false;  // "]}" seen, and nothing but blanks after it
    size_t i = 0;
    for (size_t at = head.size(); at < text.size();) {
      size_t end = text.find('\n', at);
      if (end == std::string::npos) end = text.size();
      std::string_view line(text.data() + at, end - at);
      at = end + 1;
      if (line == "]}") {
        closed = text.find_first_not_of(" \t\r\n", std::min(at, text.size())) == std::string::npos;
        break;
      }
      if (!line.empty() && line.back() == ',') line.remove_suffix(1);
      json entry = json::parse(line, nullptr, false);
      if (entry.is_discarded()) break;  // not one per line (edited by hand): read it as one document below
      auto ok = add(std::move(entry), i++);
      if (!ok) return Error{ok.error()};
    }
    if (closed) return c;
    c = Catalog();
  }
  json doc = json::parse(text, nullptr, false);
  if (doc.is_discarded() || !doc.is_object() || !doc.contains("registries") || !doc["registries"].is_array())
    return makeError(name + ": not a catalog (expected {\"registries\": [...]})");
  for (size_t i = 0; i < doc["registries"].size(); ++i) {
    auto ok = add(std::move(doc["registries"][i]), i);
    if (!ok) return Error{ok.error()};
  }
  return c;
}

CatalogChange describeEdit(const std::string& registry, const json* before, const json* after) {
  if (!before) return {"registry_created", registry, ""};
  if (!after) return {"registry_deleted", registry, ""};
  // One replica added, removed or changed and nothing else: that replica's
  // event, as the API call that made it would have said.
  auto byRegion = [](const json& r) {
    std::map<std::string, const json*> out;
    for (const auto& rep : r["replicas"]) out[rep["region"].get<std::string>()] = &rep;
    return out;
  };
  json rest_before = *before, rest_after = *after;
  rest_before.erase("replicas");
  rest_after.erase("replicas");
  if (rest_before != rest_after) return {"registry_updated", registry, ""};
  auto b = byRegion(*before), a = byRegion(*after);
  std::vector<CatalogChange> changes;
  for (const auto& [region, rep] : a) {
    auto old = b.find(region);
    if (old == b.end()) changes.push_back({"replication_created", registry, region});
    else if (*old->second != *rep) changes.push_back({"replication_updated", registry, region});
  }
  for (const auto& [region, rep] : b)
    if (!a.count(region)) changes.push_back({"replication_deleted", registry, region});
  if (changes.size() == 1) return changes[0];
  return {"registry_updated", registry, ""};
}

std::string Catalog::render() const {
  // Each entry's text is kept from its put(): a write copies bytes instead
  // of serializing every registry again (10,000 registries: 110 ms per
  // change on the control loop, bench/RESULTS.md "Runtime catalog").
  std::vector<std::pair<const std::string*, const std::string*>> sorted;
  sorted.reserve(lines_.size());
  lines_.forEach([&](const std::string& name, const std::string& line) { sorted.emplace_back(&name, &line); });
  std::sort(sorted.begin(), sorted.end(), [](const auto& a, const auto& b) { return *a.first < *b.first; });
  std::string out = "{\"registries\": [";
  out.reserve(out.size() + text_bytes_ + 2 * sorted.size() + 8);
  bool first = true;
  for (const auto& [name, line] : sorted) {
    out += first ? "\n" : ",\n";
    out += *line;
    first = false;
  }
  out += sorted.empty() ? "]}\n" : "\n]}\n";
  return out;
}

std::optional<json> Catalog::find(const std::string& registry) const {
  const std::string* line = lines_.get(registry);
  if (!line) return std::nullopt;
  return json::parse(*line);  // our own dump(): valid
}

const std::string& Catalog::put(const json& registry) {
  std::string name = registry["name"].get<std::string>();
  std::string line = registry.dump();
  if (const std::string* old = lines_.get(name)) text_bytes_ -= old->size();
  text_bytes_ += line.size();
  return lines_.set(name, std::move(line));
}

bool Catalog::erase(const std::string& registry) {
  const std::string* line = lines_.get(registry);
  if (!line) return false;
  text_bytes_ -= line->size();
  lines_.erase(registry);
  return true;
}

namespace journal {

std::string putOp(const std::string& entry_text) { return "{\"put\":" + entry_text + "}"; }

std::string deleteOp(const std::string& registry) { return "{\"delete\":" + json(registry).dump() + "}"; }

std::string line(const std::vector<std::string>& ops) {
  if (ops.size() == 1) return ops[0] + "\n";
  std::string out = "{\"batch\":[";
  for (size_t i = 0; i < ops.size(); ++i) out += (i ? "," : "") + ops[i];
  return out + "]}\n";
}

namespace {

// One op's check (nothing applied): nullopt when it is fine.
std::optional<std::string> checkOp(json& op, const std::string& where) {
  if (!op.is_object() || op.size() != 1)
    return where + ": not a journal line (expected {\"put\": ENTRY}, {\"delete\": NAME} or {\"batch\": [...]})";
  if (op.contains("delete")) {
    if (!op["delete"].is_string()) return where + ": delete: expected a registry name";
    return std::nullopt;
  }
  if (!op.contains("put")) return where + ": not a journal line (expected put, delete or batch)";
  auto entry = Catalog::checkEntry(std::move(op["put"]), where);
  if (!entry) return entry.error();
  op["put"] = std::move(*entry);
  return std::nullopt;
}

}  // namespace

Result<bool> replay(const std::string& text, const std::string& name, Catalog& catalog, size_t& kept) {
  kept = text.size();
  size_t line_no = 0;
  for (size_t at = 0; at < text.size();) {
    const size_t begin = at;
    size_t end = text.find('\n', at);
    const bool last = end == std::string::npos || text.find_first_not_of(" \t\r\n", end) == std::string::npos;
    std::string_view line(text.data() + at, (end == std::string::npos ? text.size() : end) - at);
    at = end == std::string::npos ? text.size() : end + 1;
    ++line_no;
    if (line.find_first_not_of(" \t\r") == std::string_view::npos) continue;
    const std::string where = name + ":" + std::to_string(line_no);
    json doc = json::parse(line, nullptr, false);
    // The ops of one line, all checked before any is applied: a line is one
    // commit (a batch request), applied whole or not at all.
    std::vector<json> ops;
    std::optional<std::string> bad;
    if (doc.is_discarded()) {
      bad = where + ": not a journal line (not JSON)";
    } else if (doc.is_object() && doc.size() == 1 && doc.contains("batch")) {
      if (!doc["batch"].is_array()) bad = where + ": batch: expected a list";
      else
        for (auto& op : doc["batch"]) ops.push_back(std::move(op));
    } else {
      ops.push_back(std::move(doc));
    }
    for (size_t i = 0; !bad && i < ops.size(); ++i) bad = checkOp(ops[i], where);
    // Only the last line can be cut short by a crash: its append was never
    // acknowledged. A line without its newline is such a line even when it
    // parses (the fsync that would have covered it did not return).
    if (last && (bad || end == std::string::npos)) {
      kept = begin;
      break;
    }
    if (bad) return makeError(*bad);
    for (auto& op : ops) {
      if (op.contains("delete")) catalog.erase(op["delete"].get<std::string>());
      else catalog.put(op["put"]);
    }
  }
  return true;
}

}  // namespace journal

Result<json> replicaFromApi(const std::string& region, const json& body, const std::string& field_prefix,
                            ApiFieldError& error) {
  if (!body.is_object()) {
    error = {field_prefix, "expected an object"};
    return makeError(error.message);
  }
  json r{{"region", region}};
  for (const auto& [key, value] : body.items()) {
    auto k = kReplicaKeys.find(key);
    if (k == kReplicaKeys.end()) {
      error = {field_prefix.empty() ? key : field_prefix + "." + key, "unknown field (expected one of: " + known(kReplicaKeys) + ")"};
      return makeError(error.message);
    }
    r[k->second] = value;
  }
  return r;
}

Result<json> registryFromApi(const std::string& name, const json& body, const json* existing, ApiFieldError& error) {
  if (!body.is_object()) {
    error = {"", "expected a JSON object"};
    return makeError(error.message);
  }
  json r = existing ? *existing : json{{"name", name}, {"replicas", json::array()}};
  if (!existing && !body.contains("home")) {
    error = {"home", "a new registry needs its home region"};
    return makeError(error.message);
  }
  for (const auto& [key, value] : body.items()) {
    if (key == "replications") {
      if (!value.is_object()) {
        error = {"replications", "expected an object: REGION -> replication"};
        return makeError(error.message);
      }
      json replicas = json::array();
      for (const auto& [region, rep] : value.items()) {
        bool ok = !region.empty() && region.size() <= 63 && std::all_of(region.begin(), region.end(), [](char c) {
          return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.';
        });
        if (!ok) {
          error = {"replications", "a region is 1-63 letters, digits, '-', '_' or '.'"};
          return makeError(error.message);
        }
        auto entry = replicaFromApi(region, rep, "replications." + region, error);
        if (!entry) return Error{entry.error()};
        replicas.push_back(std::move(*entry));
      }
      r["replicas"] = std::move(replicas);
      continue;
    }
    auto k = kRegistryKeys.find(key);
    if (k == kRegistryKeys.end()) {
      error = {key, "unknown field (expected one of: " + known(kRegistryKeys, "replications") + ")"};
      return makeError(error.message);
    }
    if (key == "health" && value.is_object() && value.contains("tls") && value["tls"].is_object() &&
        value["tls"].contains("ca_file")) {
      // A path the daemon would read: the file's business (health defaults), not the API's.
      error = {"health.tls.ca_file", "not through the API: set it in the config file's health defaults"};
      return makeError(error.message);
    }
    if (value.is_null()) r.erase(k->second);  // back to the default (health, freshness)
    else r[k->second] = key == "regionalEndpoints" || key == "dataEndpointEnabled" ? endpointsValue(value) : value;
  }
  return r;
}

std::string apiField(const std::string& loader_path, const json& registry) {
  // Drop "registries[N]" (and its dot): the caller names the registry.
  std::string path = loader_path;
  if (path.rfind("registries[", 0) == 0) {
    auto close = path.find(']');
    path = close == std::string::npos ? "" : path.substr(close + 1);
    if (!path.empty() && path[0] == '.') path.erase(0, 1);
  }
  auto split = [](const std::string& p) {
    auto dot = p.find('.');
    auto bracket = p.find('[');
    auto end = std::min(dot, bracket);
    return std::make_pair(p.substr(0, end), end == std::string::npos ? std::string() : p.substr(end));
  };
  if (path.rfind("replicas[", 0) == 0) {
    auto close = path.find(']');
    size_t i = std::stoul(path.substr(9, close - 9));
    std::string region = i < registry["replicas"].size() ? registry["replicas"][i].value("region", "?") : "?";
    std::string rest = path.substr(close + 1);
    if (!rest.empty() && rest[0] == '.') {
      auto [key, tail] = split(rest.substr(1));
      rest = "." + apiKey(kReplicaKeys, key) + tail;
    }
    return "replications." + region + rest;
  }
  if (path == "replicas") return "replications";
  auto [key, tail] = split(path);
  return apiKey(kRegistryKeys, key) + tail;
}

}  // namespace switchyard::control
