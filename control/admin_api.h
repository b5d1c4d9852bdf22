// AdminApi: the /v1 calls of CONTRACTS.md §4, executed on the control thread.
//
// Reads come straight from the Router and the EventLog. Writes:
//   PATCH .../replications/{region}  {"globalEndpointRouting": bool}
//     1. validate; 2. apply to the Router as an operator decision (the next
//     DNS answer has it: the Router returns only after every worker
//     switched); 3. record the event; 4. persist overrides.json and only then
//     reply (an acknowledged exclusion survives a crash).
//   Replies that follow an asynchronous step (a state-file write, an etcd
//   round-trip) look the pair up by NAME when they are sent: a reload in
//   between may have reordered or dropped registries, and the reply is then
//   about the pair asked for, or a 404 if it is gone.
//   POST .../replications/{region}/fault  {"health": "down|throttled|none"}
//     drill fault injection; not persisted (a restart ends a drill).
//   POST /v1/reload  validate the file first; on error keep serving the old one.
//   POST /v1/drills  start a failover drill (DrillManager); GET /v1/drills[/ID],
//     POST /v1/drills/ID/abort.
//   GET /v1/status   everything the status page shows, in one call.
//   GET /v1/resolvers  the caching resolvers flushed on a change, with their last result.
//   PUT/DELETE /v1/registries/{reg}, PUT/DELETE .../replications/{region}:
//     the runtime catalog (control/catalog.h); validated with the loader's
//     rules, applied, catalog.json written and fsync'd, then the reply.
//   GET .../routing?client=ADDR  which replica that client's subnet gets, and why
//     (computed with policy::pickForClient, the DNS path's own rule).
// Extensions of CONTRACTS.md (docs/api.md): a replication also has `endpoint`
// (its registry API, for wait-replicated) and, with freshness, `freshness`.
// Thread safety: every method runs on the control thread.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>

#include "config/config_loader.h"
#include "control/admin_server.h"
#include "control/catalog.h"
#include "control/drill_manager.h"
#include "control/event_log.h"
#include "control/router.h"
#include "control/state_store.h"
#include "health/freshness_monitor.h"
#include "health/manifest_head.h"
#include "health/probe_result.h"

namespace switchyard::control {

// What the API reads and calls; built with designated initializers
// (control_plane.cpp). Operator decisions go to the Router, which owns them.
struct AdminContext {
  Router& router;
  EventLog& events;
  const std::map<PairKey, health::ProbeReport>& last_probe;
  const std::map<std::string, health::FreshnessReport>& freshness;  // by registry: its last freshness round
  // Persists the Router's overrides off the loop; calls done(error or "") on the control thread.
  std::function<void(std::function<void(std::string)> done)> persist_overrides;
  std::function<void(std::function<void(Result<bool>)> done)> reload;  // answers on the control loop
  DrillManager& drills;
  // Fleet mode only (else empty): write an operator flag or a fault to the
  // fleet's store and call done("" or error) on the control thread. The API
  // applies a change only once the fleet has it, so an acknowledged exclusion
  // holds on every node.
  std::function<void(const std::string& registry, const std::string& region, bool enabled,
                     std::function<void(std::string)> done)> share_routing = {};
  std::function<void(const std::string& registry, const std::string& region, Fault fault,
                     std::function<void(std::string)> done)> share_fault = {};
  // Fleet mode: the etcd revision the routing reflects (shown by GET .../routing).
  std::function<int64_t()> fleet_revision = {};
  // GET /v1/resolvers: announce.resolvers with their last flush (no secrets).
  std::function<nlohmann::json()> resolvers = {};
  // The runtime catalog (control/catalog.h): what the API made, the ones
  // not served yet, and the one way to change it (validate, apply, persist;
  // done(nullopt) once catalog.json holds it, or the error reply).
  // Null (tests, no catalog): the catalog's calls answer 409.
  const Catalog* catalog = nullptr;
  const std::vector<config::CatalogPending>* pending_registries = nullptr;
  std::function<void(std::vector<CatalogEdit> edits, std::function<void(std::optional<ApiResponse>)> done)>
      change_catalog = {};
};

class AdminApi {
 public:
  explicit AdminApi(AdminContext context) : c_(std::move(context)) {}
  void handle(const ApiRequest& request, const std::function<void(ApiResponse)>& reply);

  // The replication object of CONTRACTS.md §4 (also used by the CLI's table).
  // REQUIRES: valid indices of the current topology (use within one loop turn).
  nlohmann::json replication(uint32_t registry, uint32_t replica) const;
  // 200 with the pair's replication object as of now, or 404 if it is gone.
  ApiResponse replicationNow(const std::string& registry, const std::string& region) const;
  // 200 "removed": the request was taken, but a reload dropped the pair since.
  ApiResponse removedReply(const std::string& registry, const std::string& region, std::optional<bool> routing) const;
  // Its `freshness` object (registries with freshness only).
  nlohmann::json freshness(uint32_t registry, uint32_t replica) const;

 private:
  ApiResponse registries() const;
  ApiResponse replications(const std::string& registry) const;
  ApiResponse endpoints(const std::string& registry) const;
  ApiResponse routing(const std::string& registry) const;
  // GET .../routing?client=ADDR: that client's answer and why.
  ApiResponse routingFor(const std::string& registry, const std::string& client) const;
  ApiResponse events(const ApiRequest& request) const;
  void patchReplication(const ApiRequest& request, const std::function<void(ApiResponse)>& reply);
  void fault(const ApiRequest& request, const std::function<void(ApiResponse)>& reply);
  void reload(const std::function<void(ApiResponse)>& reply);
  ApiResponse status(const ApiRequest& request) const;
  // The runtime catalog's calls (docs/api.md "Registries and replicas at run time").
  ApiResponse registry(const std::string& name) const;
  void putRegistry(const ApiRequest& request, const std::function<void(ApiResponse)>& reply);
  void deleteRegistry(const ApiRequest& request, const std::function<void(ApiResponse)>& reply);
  void putReplication(const ApiRequest& request, const std::function<void(ApiResponse)>& reply);
  void deleteReplication(const ApiRequest& request, const std::function<void(ApiResponse)>& reply);
  // POST /v1/registries:batch: NDJSON, one registry per line (a PUT body with
  // its "name", or {"name", "delete": true}); all or nothing.
  void batch(const ApiRequest& request, const std::function<void(ApiResponse)>& reply);
  // The refusals every catalog call shares (a name that is not one, no
  // catalog here, a file registry), else nullopt.
  std::optional<ApiResponse> catalogCall(const std::string& name, const std::string* region) const;
  // 409 when `name` is the config file's (read-only here), else nullopt.
  std::optional<ApiResponse> fileOwned(const std::string& name) const;

  AdminContext c_;
};

}  // namespace switchyard::control
