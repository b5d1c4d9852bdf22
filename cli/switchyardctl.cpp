// switchyardctl: the operator's command line for a running switchyard
// (CONTRACTS.md §5). Talks to the admin API; prints tables or JSON.
// Exit status: 0 success, 1 the API refused (its message on stderr) or
// wait-replicated timed out, 2 usage, 3 the server could not be reached.
#include <curl/curl.h>
#include <httplib.h>

#include <CLI/CLI.hpp>
#include <atomic>
#include <cctype>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "cli/wait_replicated.h"
#include "config/admin_endpoint.h"
#include "config/duration.h"

#include <openssl/pem.h>
#include <openssl/x509.h>

#include <cstdio>

using nlohmann::json;

namespace {

constexpr const char* kDefaultServer = "http://127.0.0.1:8053";

struct Options {
  std::string server;  // empty: from --config, else kDefaultServer
  std::string token_file;
  std::string cacert;  // CA bundle for an https --server (admin.tls)
  std::string config;  // the daemon's config file (or SWITCHYARD_CONFIG)
  std::string output = "table";
};

struct Failure {
  int code;
  std::string message;
  int http = 0;  // the server's status, when it answered with an error
};

// REQUIRES: resolveTarget(o) ran (the flag, its variable or --config).
std::string readToken(const Options& o) {
  const std::string& path = o.token_file;
  if (path.empty())
    throw Failure{2, "no token: pass --config with the daemon's config file (it names admin.token_file), or "
                     "--token-file FILE (or set SWITCHYARD_CONFIG or SWITCHYARD_TOKEN_FILE)"};
  std::ifstream in(path);
  if (!in) throw Failure{2, "cannot read token file " + path};
  std::stringstream s;
  s << in.rdbuf();
  std::string t = s.str();
  t.erase(t.find_last_not_of(" \t\r\n") + 1);
  t.erase(0, std::min(t.size(), t.find_first_not_of(" \t\r\n")));
  return t;
}

std::string fromEnv(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "";
}

// Whether the PEM file's first certificate signed itself (then it is its own
// trust anchor; a CA-signed one is verified against the system or --cacert).
bool selfSigned(const std::string& pem) {
  FILE* f = std::fopen(pem.c_str(), "r");
  if (!f) return false;
  X509* x = PEM_read_X509(f, nullptr, nullptr, nullptr);
  std::fclose(f);
  bool self = x && X509_check_issued(x, x) == X509_V_OK;
  X509_free(x);
  return self;
}

// Where the daemon is, the way `unbound-control -c` finds it: an explicit
// flag, else its environment variable, else the daemon's config file
// (--config / SWITCHYARD_CONFIG: listen.admin, admin.token_file, admin.tls),
// else the default server.
void resolveTarget(Options& o) {
  if (o.token_file.empty()) o.token_file = fromEnv("SWITCHYARD_TOKEN_FILE");
  if (o.cacert.empty()) o.cacert = fromEnv("SWITCHYARD_CACERT");
  std::string config = o.config.empty() ? fromEnv("SWITCHYARD_CONFIG") : o.config;
  if (!config.empty()) {
    auto e = switchyard::config::readAdminEndpoint(config);
    if (!e) throw Failure{2, e.error()};
    if (o.server.empty()) o.server = e->url();
    if (o.token_file.empty()) o.token_file = e->token_file;
    if (o.cacert.empty() && e->tls && selfSigned(e->tls_cert)) o.cacert = e->tls_cert;
  }
  if (o.server.empty()) o.server = kDefaultServer;
}

std::atomic<bool> interrupted{false};

json call(const Options& o, const std::string& method, const std::string& path, const json& body = nullptr,
          int read_timeout_s = 15, const std::string& raw_body = "") {
  httplib::Client client(o.server);
  if (!client.is_valid()) throw Failure{2, "--server " + o.server + ": expected http://HOST:PORT or https://HOST:PORT"};
  const std::string& cacert = o.cacert;
  // The server's certificate is always verified (name and chain); --cacert
  // adds the CA that signed it when that is not a system CA.
  if (!cacert.empty()) client.set_ca_cert_path(cacert.c_str());
  client.set_connection_timeout(5);
  client.set_read_timeout(read_timeout_s);
  httplib::Headers headers{{"Authorization", "Bearer " + readToken(o)}};
  std::string text = !raw_body.empty() ? raw_body : body.is_null() ? "" : body.dump();
  httplib::Result r = method == "GET"      ? client.Get(path, headers)
                      : method == "POST"   ? client.Post(path, headers, text, "application/json")
                      : method == "PUT"    ? client.Put(path, headers, text, "application/json")
                      : method == "DELETE" ? client.Delete(path, headers)
                                           : client.Patch(path, headers, text, "application/json");
  if (!r) throw Failure{3, "cannot reach " + o.server + ": " + httplib::to_string(r.error())};
  json j;
  try {
    j = json::parse(r->body);
  } catch (const json::exception&) {
    throw Failure{1, "unexpected answer from " + o.server + " (HTTP " + std::to_string(r->status) + ")"};
  }
  if (r->status >= 400)
    throw Failure{1, (j.contains("error") ? j["error"].get<std::string>() : r->body) + " (HTTP " +
                         std::to_string(r->status) + ")", r->status};
  return j;
}

// Left-aligned columns, two spaces apart.
void table(const std::vector<std::string>& head, const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> width(head.size());
  for (size_t i = 0; i < head.size(); ++i) width[i] = head[i].size();
  for (const auto& r : rows)
    for (size_t i = 0; i < r.size(); ++i) width[i] = std::max(width[i], r[i].size());
  auto line = [&](const std::vector<std::string>& cells) {
    std::string out;
    for (size_t i = 0; i < cells.size(); ++i) {
      out += cells[i];
      if (i + 1 < cells.size()) out += std::string(width[i] - cells[i].size() + 2, ' ');
    }
    out.erase(out.find_last_not_of(' ') + 1);
    std::cout << out << "\n";
  };
  line(head);
  for (const auto& r : rows) line(r);
}

// For a query parameter: an IPv6 address has ':' (fine) but never '%' or '&'
// unescaped from a user.
std::string urlEncode(const std::string& v) {
  std::string out;
  for (unsigned char c : v) {
    if (std::isalnum(c) || c == '.' || c == ':' || c == '-' || c == '_') out += static_cast<char>(c);
    else {
      char hex[4];
      std::snprintf(hex, sizeof hex, "%%%02X", c);
      out += hex;
    }
  }
  return out;
}

std::string joined(const json& list, const std::string& sep = ",") {
  std::string out;
  for (const auto& v : list) out += (out.empty() ? "" : sep) + v.get<std::string>();
  return out.empty() ? "-" : out;
}

void printReplications(const Options& o, const json& list) {
  if (o.output == "json") {
    std::cout << list.dump(2) << "\n";
    return;
  }
  std::vector<std::vector<std::string>> rows;
  bool freshness = false;
  for (const auto& r : list) freshness = freshness || r.contains("freshness");
  for (const auto& r : list) {
    std::string note;
    if (r["health"]["fault"] != "none") note = "FAULT INJECTED: " + r["health"]["fault"].get<std::string>();
    else if (r["health"].contains("lastProbe") && r["health"]["lastProbe"]["result"] != "ok") {
      const auto& last = r["health"]["lastProbe"];
      note = "last probe: " + last["result"].get<std::string>();
      // Content checks say which step failed and how: "manifest GET URL: HTTP 500".
      if (last.contains("step") && !last["step"].get<std::string>().empty())
        note += " (" + last["detail"].get<std::string>() + ")";
    }
    std::vector<std::string> row{r["name"], r["region"], r["status"],
                                 r["globalEndpointRouting"].get<bool>() ? "true" : "false", joined(r["servingClients"])};
    if (freshness) {
      std::string state = "-";
      if (r.contains("freshness")) {
        const auto& f = r["freshness"];
        state = f["state"].get<std::string>();
        if (f["secondsBehind"].get<double>() > 0) state += " " + std::to_string(f["secondsBehind"].get<int>()) + "s";
        if (note.empty() && state != "fresh") note = f["detail"].get<std::string>();
      }
      row.push_back(state);
    }
    row.push_back(note);
    rows.push_back(row);
  }
  if (freshness) table({"NAME", "REGION", "STATUS", "GLOBAL ROUTING", "SERVING", "FRESHNESS", "NOTE"}, rows);
  else table({"NAME", "REGION", "STATUS", "GLOBAL ROUTING", "SERVING", "NOTE"}, rows);
}

void printEvent(const json& e) {
  std::string what;
  for (const auto& [k, v] : e.items())
    if (k != "id" && k != "time" && k != "type") what += " " + k + "=" + (v.is_string() ? v.get<std::string>() : v.dump());
  std::cout << e["id"] << "  " << e["time"].get<std::string>() << "  " << e["type"].get<std::string>() << what << "\n";
}

std::string cell(const json& answers, const std::string& key) {
  if (!answers.contains(key)) return "-";
  return joined(answers[key]);
}

void printDrill(const Options& o, const json& d) {
  if (o.output == "json") {
    std::cout << d.dump(2) << "\n";
    return;
  }
  std::string state = d["state"];
  for (auto& c : state) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  std::string scenario = d["scenario"];
  if (d.value("fault", "") == "content_error") scenario += " (content_error)";
  std::cout << "drill " << d["id"] << ": " << scenario << " "
            << d["replica"].get<std::string>() << " of " << d["registry"].get<std::string>() << ", asking "
            << d["dns"].get<std::string>() << " for " << d["globalName"].get<std::string>() << ": " << state << "\n";
  std::cout << "started " << d["startedAt"].get<std::string>();
  if (d.contains("finishedAt")) std::cout << ", finished " << d["finishedAt"].get<std::string>();
  std::cout << "\n\n";
  const json& a = d["answers"];
  std::vector<std::vector<std::string>> rows;
  if (a.contains("baseline"))
    for (const auto& [client, v] : a["baseline"].items())
      rows.push_back({client, joined(v), a.contains("during") ? cell(a["during"], client) : "-",
                      a.contains("after") ? cell(a["after"], client) : "-"});
  table({"CLIENT REGION", "BEFORE", "DURING", "AFTER"}, rows);
  if (a.contains("split") && !a["split"].empty()) {
    // routing.spread sticky: how the probed client subnets split while applied.
    std::cout << "\nclient subnets while applied (each asked 3 times):\n";
    rows.clear();
    for (const auto& [client, replicas] : a["split"].items()) {
      std::string cells;
      for (const auto& [replica, n] : replicas.items())
        cells += (cells.empty() ? "" : ", ") + replica + " " + std::to_string(n.get<int>());
      rows.push_back({client, cells});
    }
    table({"CLIENT REGION", "SUBNETS PER REPLICA"}, rows);
  }
  std::cout << "\n";
  rows.clear();
  for (const auto& e : d["expectations"])
    rows.push_back({e["passed"].get<bool>() ? "pass" : "FAIL", e["name"], e["detail"]});
  table({"RESULT", "EXPECTATION", "DETAIL"}, rows);
  std::string timings;
  static const std::vector<std::pair<std::string, std::string>> kTimings{
      {"applyMs", "change applied"}, {"leftMs", "traffic left"}, {"heldMs", "traffic held"}, {"backMs", "traffic back"}};
  for (const auto& [key, label] : kTimings)
    if (d["timings"].contains(key)) {
      double ms = d["timings"][key].get<double>();
      char value[32];
      std::snprintf(value, sizeof value, "%.3f ms", ms);
      timings += (timings.empty() ? "" : ", ") + label + " " + (ms < 0 ? std::string("never") : std::string(value));
    }
  std::cout << "\ntimings: " << (timings.empty() ? "-" : timings) << "\n";
  if (d.contains("resolverFlushes"))
    for (const auto& [resolver, text] : d["resolverFlushes"].items())
      std::cout << "resolver " << resolver << ": " << text.get<std::string>() << "\n";
  if (!d["events"].empty()) {
    std::cout << "\nevents meanwhile:\n";
    for (const auto& e : d["events"]) printEvent(e);
  }
}

// Starts a drill on the daemon, follows it, prints its report. Ctrl-C asks
// the daemon to abort (which reverts) and still waits for the final report.
int runDrill(const Options& o, const json& request, double bound_seconds) {
  json d = call(o, "POST", "/v1/drills", request);
  std::string path = "/v1/drills/" + std::to_string(d["id"].get<uint64_t>());
  std::signal(SIGINT, [](int) { interrupted = true; });
  std::signal(SIGTERM, [](int) { interrupted = true; });
  bool abort_sent = false;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(static_cast<int64_t>(bound_seconds * 1000));
  while (d["state"] == "running") {
    if (std::chrono::steady_clock::now() > deadline && !abort_sent) interrupted = true;
    if (interrupted && !abort_sent) {
      std::cerr << "switchyardctl: aborting drill " << d["id"] << " (the daemon reverts it)\n";
      call(o, "POST", path + "/abort");
      abort_sent = true;
      deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(static_cast<int64_t>(bound_seconds * 1000));
    } else if (abort_sent && std::chrono::steady_clock::now() > deadline) {
      throw Failure{1, "drill " + d["id"].dump() + " did not finish after the abort; see GET " + path};
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    d = call(o, "GET", path);
  }
  printDrill(o, d);
  if (d["state"] != "passed") {
    std::cerr << "switchyardctl: drill " << d["id"] << " " << d["state"].get<std::string>() << "\n";
    return 1;
  }
  return 0;
}

// `registry list` and `registry show`: one row per registry.
void printRegistries(const Options& o, const json& list) {
  if (o.output == "json") {
    std::cout << list.dump(2) << "\n";
    return;
  }
  std::vector<std::vector<std::string>> rows;
  for (const auto& r : list) {
    auto word = [&](const char* key) { return r.value(key, false) ? std::string("enabled") : std::string("disabled"); };
    std::string serving = r.value("serving", true) ? "yes" : "no: " + r.value("reason", std::string());
    rows.push_back({r["name"], r["home"].is_string() ? r["home"].get<std::string>() : "-", word("regionalEndpoints"),
                    word("dataEndpointEnabled"), r.value("source", std::string("file")), serving,
                    r.value("globalEndpoint", std::string("-"))});
  }
  table({"NAME", "HOME", "REGIONAL ENDPOINTS", "DATA ENDPOINT", "SOURCE", "SERVING", "GLOBAL ENDPOINT"}, rows);
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"switchyardctl: operate a running switchyard"};
  Options o;
  // Global options may come before or after the subcommand (`replication
  // list --registry R --output json`, as `az` takes them): every subcommand
  // lets what it does not know fall through to its parent.
  app.fallthrough();
  app.add_option("--config,-c", o.config,
                 "the daemon's config file: find its admin API (listen.admin, admin.token_file, admin.tls) there "
                 "(or SWITCHYARD_CONFIG)");
  app.add_option("--server", o.server,
                 std::string("admin API base URL (default: from --config, else ") + kDefaultServer + ")");
  app.add_option("--token-file", o.token_file, "file holding the admin bearer token (or SWITCHYARD_TOKEN_FILE)");
  app.add_option("--cacert", o.cacert, "CA certificate (PEM) that signed an https --server's certificate (or SWITCHYARD_CACERT)");
  app.add_option("--output,-o", o.output, "table or json")->check(CLI::IsMember({"table", "json"}))->capture_default_str();
  app.require_subcommand(1);

  std::string registry, name, routing_flag, fault_health;
  uint64_t since = 0;
  bool follow = false;

  auto* replication = app.add_subcommand("replication", "replicas of a registry");
  replication->require_subcommand(1);
  auto* list = replication->add_subcommand("list", "list replicas with status, routing flag and served client regions");
  list->add_option("--registry", registry)->required();
  auto* update = replication->add_subcommand("update", "take a replica out of global routing or back");
  update->add_option("--registry", registry)->required();
  update->add_option("--name", name, "replica (region) name")->required();
  update->add_option("--global-endpoint-routing", routing_flag)->required()->check(CLI::IsMember({"true", "false"}));
  auto* fault = replication->add_subcommand("fault", "inject a health fault for a drill (none clears it)");
  fault->add_option("--registry", registry)->required();
  fault->add_option("--name", name, "replica (region) name")->required();
  fault->add_option("--health", fault_health)->required()->check(CLI::IsMember({"down", "throttled", "none"}));
  // The runtime catalog, shaped like `az acr` and `az acr replication`.
  std::string location, target, probe_address, home, regional_endpoints, data_endpoint, global_routing;
  std::vector<std::string> addresses, data_addresses;
  auto* rep_create = replication->add_subcommand("create", "add a replica to a registry made through the API");
  rep_create->add_option("--registry", registry)->required();
  rep_create->add_option("--location", location, "its region")->required();
  rep_create->add_option("--address", addresses, "an address the global and regional names answer with (repeatable)");
  rep_create->add_option("--target", target, "a host name the names alias (CNAME) instead of addresses");
  rep_create->add_option("--data-address", data_addresses, "an address of its data endpoint (repeatable)");
  rep_create->add_option("--probe-address", probe_address, "where its health probes go, IP or IP:PORT");
  rep_create->add_option("--global-endpoint-routing", global_routing, "take part in global routing (default true)")
      ->check(CLI::IsMember({"true", "false"}));
  double create_wait = 0;
  rep_create->add_option("--wait", create_wait,
                         "seconds to wait for its first probe (a new replica joins global routing only once probed "
                         "healthy); 0: do not wait")
      ->check(CLI::Range(0.0, 600.0));
  auto* rep_delete = replication->add_subcommand("delete", "remove a replica from a registry made through the API");
  rep_delete->add_option("--registry", registry)->required();
  rep_delete->add_option("--location", location, "its region")->required();
  auto* reg_cmd = app.add_subcommand("registry", "registries: list and show all; create, update and delete the API's own");
  reg_cmd->require_subcommand(1);
  auto* reg_create = reg_cmd->add_subcommand("create", "make a registry (its replicas: replication create)");
  auto* reg_update = reg_cmd->add_subcommand("update", "change a registry made through the API");
  for (auto* c : {reg_create, reg_update}) {
    c->add_option("--name,-n", name, "registry name")->required();
    c->add_option("--home", home, "its home region (a replica there serves it)");
    c->add_option("--regional-endpoints", regional_endpoints)->check(CLI::IsMember({"enabled", "disabled"}));
    c->add_option("--data-endpoint-enabled", data_endpoint)->check(CLI::IsMember({"true", "false"}));
  }
  reg_create->get_option("--home")->required();
  auto* reg_delete = reg_cmd->add_subcommand("delete", "delete a registry made through the API");
  reg_delete->add_option("--name,-n", name, "registry name")->required();
  auto* reg_show = reg_cmd->add_subcommand("show", "one registry and its replicas");
  reg_show->add_option("--name,-n", name, "registry name")->required();
  auto* reg_list = reg_cmd->add_subcommand("list", "every registry, from the file and the API");
  std::string import_file;
  auto* reg_import = reg_cmd->add_subcommand(
      "import", "create, update or delete many registries from NDJSON (one PUT body with its name per line; "
                "{\"name\": R, \"delete\": true} deletes), sent in requests of up to 60 KiB, each all or nothing");
  reg_import->add_option("--file,-f", import_file, "the NDJSON file, - for stdin")->required();
  size_t import_lines = 0;
  reg_import->add_option("--lines", import_lines,
                         "at most this many lines per request (default: as many as 60 KiB hold; a request the "
                         "server refuses as too big, e.g. over the 128 operations of one etcd transaction in "
                         "fleet mode, is sent again in halves, and later requests keep to that size)")
      ->check(CLI::Range(1, 100000));
  auto* endpoints = app.add_subcommand("show-endpoints", "global, regional and data names of a registry");
  endpoints->add_option("--registry", registry)->required();
  auto* routing = app.add_subcommand("routing", "routing decisions");
  routing->require_subcommand(1);
  auto* show = routing->add_subcommand("show", "which replicas answer each client region, and why");
  show->add_option("--registry", registry)->required();
  std::string client;
  show->add_option("--client", client, "a client address: which replica its subnet gets, and why");
  auto* events = app.add_subcommand("events", "routing and health events, oldest first");
  events->add_option("--since", since, "only events after this id");
  events->add_flag("--follow,-f", follow, "keep printing new events");
  auto* reload = app.add_subcommand("reload", "reload the daemon's config file");
  auto* resolvers = app.add_subcommand("resolvers", "caching resolvers flushed when a global answer changes, with their last result");
  auto* drill = app.add_subcommand("drill", "failover drills, proven with real DNS queries");
  drill->require_subcommand(1);
  std::string replica, scenario, dns, drill_id, drill_fault;
  double timeout_s = 15, hold_s = 3;
  auto* drill_run = drill->add_subcommand("run", "take a replica out, watch DNS move, put it back, report");
  drill_run->add_option("--registry", registry)->required();
  drill_run->add_option("--replica", replica, "replica (region) name")->required();
  drill_run->add_option("--scenario", scenario)->required()->check(CLI::IsMember({"exclude", "fail", "throttle"}));
  drill_run->add_option("--fault", drill_fault,
                        "fail: what to inject, down (the replica stops answering) or content_error (it answers, its "
                        "storage does not)")
      ->check(CLI::IsMember({"down", "content_error"}));
  drill_run->add_option("--dns", dns, "DNS server to query, HOST:PORT (default: the daemon's own)");
  drill_run->add_option("--timeout", timeout_s, "seconds to wait for traffic to leave and to come back")
      ->capture_default_str()->check(CLI::Range(1.0, 600.0));
  drill_run->add_option("--hold", hold_s, "throttle: seconds traffic must stay")->capture_default_str()
      ->check(CLI::Range(0.0, 600.0));
  auto* drill_list = drill->add_subcommand("list", "running and recent drills");
  auto* drill_show = drill->add_subcommand("show", "one drill's report");
  drill_show->add_option("id", drill_id)->required();
  auto* drill_abort = drill->add_subcommand("abort", "stop a running drill (it reverts)");
  drill_abort->add_option("id", drill_id)->required();
  switchyard::cli::WaitRequest wait;
  std::string wait_timeout = "10m";
  std::vector<std::string> wait_headers;
  auto* wait_cmd = app.add_subcommand(
      "wait-replicated", "block until every replica in global routing serves an image (asks the replicas directly)");
  wait_cmd->add_option("--registry", wait.registry)->required();
  wait_cmd->add_option("--image", wait.image, "repository:tag")->required();
  wait_cmd->add_option("--digest", wait.digest, "the digest to wait for (default: what the home replica serves now)");
  wait_cmd->add_option("--timeout", wait_timeout, "give up after this long (e.g. 90s, 10m)")->capture_default_str();
  wait_cmd->add_option("--registry-cacert", wait.registry_cacert, "CA bundle (PEM) for https replicas");
  wait_cmd->add_option("--header", wait_headers, "extra request header for the replicas, 'Name: value' (repeatable)");

  CLI11_PARSE(app, argc, argv);
  try {
    resolveTarget(o);
    if (wait_cmd->parsed()) {
      auto timeout = switchyard::config::parseDuration(wait_timeout);
      if (!timeout) throw Failure{2, "--timeout: " + timeout.error()};
      wait.timeout = *timeout;
      for (const auto& h : wait_headers) {
        auto colon = h.find(':');
        if (colon == std::string::npos || colon == 0) throw Failure{2, "--header: expected 'Name: value', got '" + h + "'"};
        std::string value = h.substr(colon + 1);
        value.erase(0, std::min(value.size(), value.find_first_not_of(' ')));
        wait.headers.emplace_back(h.substr(0, colon), value);
      }
      wait.json_output = o.output == "json";
      curl_global_init(CURL_GLOBAL_DEFAULT);
      int rc = switchyard::cli::waitReplicated(wait, [&o](const std::string& path) { return call(o, "GET", path); });
      curl_global_cleanup();
      return rc;
    }
    auto registryBody = [&] {
      json body = json::object();
      if (!home.empty()) body["home"] = home;
      if (!regional_endpoints.empty()) body["regionalEndpoints"] = regional_endpoints == "enabled";
      if (!data_endpoint.empty()) body["dataEndpointEnabled"] = data_endpoint == "true";
      return body;
    };
    if (reg_create->parsed()) {
      // create is not update: an existing name is an error, as with az.
      bool exists = true;
      try {
        call(o, "GET", "/v1/registries/" + name);
      } catch (const Failure& f) {
        // Only a 404 means absent; a refused token or a dead server is an error.
        if (f.message.find("(HTTP 404)") == std::string::npos) throw;
        exists = false;
      }
      if (exists) throw Failure{1, "registry '" + name + "' exists already (registry update changes it)"};
      printRegistries(o, json::array({call(o, "PUT", "/v1/registries/" + name, registryBody())}));
    } else if (reg_update->parsed()) {
      call(o, "GET", "/v1/registries/" + name);  // 404 for a name that is not there
      printRegistries(o, json::array({call(o, "PUT", "/v1/registries/" + name, registryBody())}));
    } else if (reg_delete->parsed()) {
      call(o, "DELETE", "/v1/registries/" + name);
      if (o.output == "json") std::cout << json{{"deleted", true}, {"registry", name}}.dump(2) << "\n";
      else std::cout << "deleted registry " << name << "\n";
    } else if (reg_show->parsed()) {
      auto r = call(o, "GET", "/v1/registries/" + name);
      if (o.output == "json") {
        std::cout << r.dump(2) << "\n";
      } else {
        printRegistries(o, json::array({r}));
        if (r.value("serving", true)) {
          std::cout << "\n";
          printReplications(o, r["replications"]);
        }
      }
    } else if (reg_import->parsed()) {
      std::ifstream file;
      if (import_file != "-") {
        file.open(import_file);
        if (!file) throw Failure{2, "--file " + import_file + ": cannot open"};
      }
      std::istream& in = import_file == "-" ? std::cin : file;
      // Whole lines per request, under the admin API's 64 KiB body limit.
      // Each request is all or nothing, so one refused as too big (413) is
      // safe to send again in halves; `cap` then keeps later ones that size.
      size_t sent = 0, created = 0, updated = 0, removed = 0, requests = 0;
      size_t cap = import_lines;  // 0: only the byte limit
      std::vector<std::string> pending;
      size_t pending_bytes = 0;
      auto flush = [&] {
        for (size_t i = 0; i < pending.size();) {
          size_t n = cap ? std::min(cap, pending.size() - i) : pending.size() - i;
          std::string body;
          for (size_t k = i; k < i + n; ++k) body += pending[k] + "\n";
          json r;
          try {
            r = call(o, "POST", "/v1/registries:batch", nullptr, 300, body);
          } catch (const Failure& f) {
            if (f.http == 413 && n > 1) {
              cap = n / 2;
              std::cerr << "the server refused " << n << " lines in one request; sending " << cap << " at a time\n";
              continue;
            }
            throw Failure{f.code, f.message + (sent ? " (the " + std::to_string(sent) + " lines before that request were applied)" : "")};
          }
          created += r["created"].size();
          updated += r["updated"].size();
          removed += r["deleted"].size();
          sent += n;
          i += n;
          ++requests;
        }
        pending.clear();
        pending_bytes = 0;
      };
      for (std::string line; std::getline(in, line);) {
        if (line.size() + 1 > 60 * 1024) throw Failure{2, "a line of " + std::to_string(line.size()) + " bytes: over the 60 KiB a request holds"};
        if (pending_bytes + line.size() + 1 > 60 * 1024 || (cap && pending.size() >= cap)) flush();
        pending_bytes += line.size() + 1;
        pending.push_back(std::move(line));
      }
      flush();
      if (o.output == "json")
        std::cout << json{{"created", created}, {"updated", updated}, {"deleted", removed}, {"requests", requests}}.dump(2) << "\n";
      else
        std::cout << "created " << created << ", updated " << updated << ", deleted " << removed << " registries in "
                  << requests << " requests\n";
    } else if (reg_list->parsed()) {
      printRegistries(o, call(o, "GET", "/v1/registries"));
    } else if (rep_create->parsed()) {
      json body = json::object();
      if (!addresses.empty()) body["addresses"] = addresses;
      if (!target.empty()) body["target"] = target;
      if (!data_addresses.empty()) body["dataAddresses"] = data_addresses;
      if (!probe_address.empty()) body["probeAddress"] = probe_address;
      if (!global_routing.empty()) body["globalEndpointRouting"] = global_routing == "true";
      auto r = call(o, "PUT", "/v1/registries/" + registry + "/replications/" + location, body);
      auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(static_cast<int64_t>(create_wait * 1000));
      while (create_wait > 0 && r.contains("health") && r["health"].value("awaitingFirstProbe", false)) {
        if (std::chrono::steady_clock::now() > deadline)
          throw Failure{1, "replica " + location + " of " + registry + " was not probed within " +
                               std::to_string(static_cast<int>(create_wait)) + " s (it stays out of global routing until it is)"};
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
        for (const auto& x : call(o, "GET", "/v1/registries/" + registry + "/replications"))
          if (x["region"] == location) r = x;
      }
      if (r.contains("status")) printReplications(o, json::array({r}));
      else printRegistries(o, json::array({r}));  // the registry waits for its home replica: it says so
    } else if (rep_delete->parsed()) {
      call(o, "DELETE", "/v1/registries/" + registry + "/replications/" + location);
      if (o.output == "json") std::cout << json{{"deleted", true}, {"registry", registry}, {"region", location}}.dump(2) << "\n";
      else std::cout << "deleted replica " << location << " of " << registry << "\n";
    } else if (list->parsed()) {
      printReplications(o, call(o, "GET", "/v1/registries/" + registry + "/replications"));
    } else if (update->parsed()) {
      auto r = call(o, "PATCH", "/v1/registries/" + registry + "/replications/" + name,
                    {{"globalEndpointRouting", routing_flag == "true"}});
      printReplications(o, json::array({r}));
    } else if (fault->parsed()) {
      auto r = call(o, "POST", "/v1/registries/" + registry + "/replications/" + name + "/fault",
                    {{"health", fault_health}});
      printReplications(o, json::array({r}));
    } else if (endpoints->parsed()) {
      auto e = call(o, "GET", "/v1/registries/" + registry + "/endpoints");
      if (o.output == "json") {
        std::cout << e.dump(2) << "\n";
      } else {
        std::vector<std::vector<std::string>> rows{{"global", "-", e["global"]}};
        for (const auto& [region, n] : e["regional"].items()) rows.push_back({"regional", region, n});
        for (const auto& [region, n] : e["data"].items()) rows.push_back({"data", region, n});
        table({"ENDPOINT", "REGION", "NAME"}, rows);
      }
    } else if (show->parsed()) {
      auto r = call(o, "GET", "/v1/registries/" + registry + "/routing" +
                                  (client.empty() ? "" : "?client=" + urlEncode(client)));
      if (o.output == "json") {
        std::cout << r.dump(2) << "\n";
      } else if (!client.empty()) {
        std::string answer = r["replicas"].empty() ? "SERVFAIL" : joined(r["replicas"], ", ");
        table({"CLIENT", "CLIENT REGION", "SUBNET", "ANSWER", "REASON"},
              {{r["client"], r["clientRegion"], r["subnet"], answer, r["reason"]}});
        std::cout << "why: " << r["why"].get<std::string>() << "\n";
      } else {
        bool sticky = r.value("spread", "all") == "sticky";
        std::cout << "generation " << r["generation"] << ", SOA serial " << r["serial"] << "\n";
        std::vector<std::vector<std::string>> rows;
        for (const auto& [client, choices] : r["clients"].items()) {
          std::string replicas, reason = "-", answer = "-";
          for (const auto& c : choices) {
            char w[16];
            std::snprintf(w, sizeof w, sticky ? "%.0f%%" : "%.2f", c["weight"].get<double>() * (sticky ? 100 : 1));
            replicas += (replicas.empty() ? "" : ", ") + c["replica"].get<std::string>() + " (" + w + ")";
            reason = c["reason"];
          }
          if (choices.size() == 1) answer = "all clients";
          else if (choices.size() > 1)
            answer = sticky ? "one replica per /" + std::to_string(r["stickyPrefix"]["ipv4"].get<int>()) + " (IPv6 /" +
                                  std::to_string(r["stickyPrefix"]["ipv6"].get<int>()) + ")"
                            : "every replica";
          rows.push_back({client, replicas.empty() ? "SERVFAIL" : replicas, answer, reason});
        }
        table({"CLIENT REGION", sticky ? "REPLICAS (SHARE OF SUBNETS)" : "REPLICAS (WEIGHT)", "ANSWER", "REASON"}, rows);
      }
    } else if (events->parsed()) {
      do {
        auto list_events = call(o, "GET", "/v1/events?since=" + std::to_string(since));
        for (const auto& e : list_events) {
          if (o.output == "json") std::cout << e.dump() << "\n";
          else printEvent(e);
          since = e["id"].get<uint64_t>();
        }
        std::cout.flush();
        if (follow) std::this_thread::sleep_for(std::chrono::seconds(1));
      } while (follow);
    } else if (drill_run->parsed()) {
      json request{{"registry", registry}, {"replica", replica}, {"scenario", scenario},
                   {"timeoutSeconds", timeout_s}, {"holdSeconds", hold_s}};
      if (!dns.empty()) request["dns"] = dns;
      if (!drill_fault.empty()) request["fault"] = drill_fault;
      return runDrill(o, request, 2 * timeout_s + hold_s + 30);
    } else if (drill_list->parsed()) {
      auto l = call(o, "GET", "/v1/drills");
      if (o.output == "json") {
        std::cout << l.dump(2) << "\n";
      } else {
        std::vector<std::vector<std::string>> rows;
        for (const auto& d : l)
          rows.push_back({d["id"].dump(), d["registry"], d["replica"], d["scenario"], d["state"], d["phase"],
                          d["startedAt"]});
        table({"ID", "REGISTRY", "REPLICA", "SCENARIO", "STATE", "PHASE", "STARTED"}, rows);
      }
    } else if (drill_show->parsed()) {
      printDrill(o, call(o, "GET", "/v1/drills/" + drill_id));
    } else if (drill_abort->parsed()) {
      printDrill(o, call(o, "POST", "/v1/drills/" + drill_id + "/abort"));
    } else if (resolvers->parsed()) {
      auto l = call(o, "GET", "/v1/resolvers");
      if (o.output == "json") {
        std::cout << l.dump(2) << "\n";
      } else {
        std::vector<std::vector<std::string>> rows;
        for (const auto& r : l) {
          std::string up = r["up"].is_null() ? "-" : r["up"].get<bool>() ? "yes" : "no";
          std::string last = "-";
          if (r.contains("last")) {
            const auto& x = r["last"];
            char ms[32];
            std::snprintf(ms, sizeof ms, "%.1f ms", x["ms"].get<double>());
            last = x["name"].get<std::string>() + " " + x["result"].get<std::string>() + " " + ms +
                   (x.contains("reason") ? " (" + x["reason"].get<std::string>() + ": " + x["detail"].get<std::string>() + ")"
                                         : "") +
                   " at " + x["at"].get<std::string>();
          }
          rows.push_back({r["name"], r["type"], r["target"], up, r["flushed"].dump(), r["errors"].dump(), last});
        }
        table({"NAME", "TYPE", "TARGET", "UP", "FLUSHED", "ERRORS", "LAST"}, rows);
      }
    } else if (reload->parsed()) {
      // A reload of a very large file takes seconds; the daemon answers within
      // 300 s (kReloadWaitSeconds in control/admin_server.h): wait a bit longer.
      auto r = call(o, "POST", "/v1/reload", nullptr, 310);
      if (o.output == "json") std::cout << r.dump(2) << "\n";
      else std::cout << "reloaded (generation " << r["generation"] << ")\n";
    }
  } catch (const Failure& f) {
    std::cerr << "switchyardctl: " << f.message << "\n";
    return f.code;
  }
  return 0;
}
