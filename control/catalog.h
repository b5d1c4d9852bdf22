// Catalog: the registries made through the API (PUT /v1/registries/{reg},
// PUT .../replications/{region}), kept in the state directory as
// catalog.json in the config file's own schema ({"registries": [...]}), so
// config::addCatalog validates them with the loader's rules, one
// implementation for the file and the API.
//
// This file also holds the API's shape of a registry and a replication
// (camelCase, replications by region) and its translation to that schema,
// and back for error fields: the loader says
// "registries[0].replicas[1].addresses[0]", the API caller reads
// "replications.westus.addresses[0]".
//
// Thread safety: a value type; the ControlPlane owns the live one on the
// control thread. A copy costs O(shards) (common/name_index.h) and may be
// rendered on a work thread while the original changes.
// Invariants:
//   1. Every entry is an object whose "name" is its key and whose
//      "replicas" is a list (possibly empty: a registry waiting for its
//      home replica), each with a distinct "region".
//   2. Each value of lines_ is its entry's dump(), keyed by the entry's name.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/name_index.h"
#include "common/result.h"

namespace switchyard::control {

class Catalog {
 public:
  // catalog.json's text; an empty text is an empty catalog. Checks the
  // shape only (invariant 1); the rules are config::addCatalog's.
  static Result<Catalog> parse(const std::string& text, const std::string& name);
  // One entry's shape (invariant 1), its name lowercased; `at` names it in
  // the error.
  static Result<nlohmann::json> checkEntry(nlohmann::json entry, const std::string& at);
  // One registry per line, sorted by name: a stable, diffable file.
  // O(catalog): on a work thread, from a copy (100,000 registries: ~35 MB).
  std::string render() const;

  // The entry, parsed from its text (a few microseconds: API calls, not
  // the DNS path).
  std::optional<nlohmann::json> find(const std::string& registry) const;
  bool contains(const std::string& registry) const { return lines_.contains(registry); }
  // By its "name"; returns the entry's text (its line in catalog.json).
  const std::string& put(const nlohmann::json& registry);
  bool erase(const std::string& registry);
  size_t size() const { return lines_.size(); }
  size_t textBytes() const { return text_bytes_; }
  // Every entry, in no order: f(name, its entry's text).
  template <typename F>
  void forEach(F&& f) const {
    lines_.forEach(f);
  }

 private:
  // Only the text: at 100,000 registries the entries as JSON trees were
  // ~300 MB (bench/RESULTS.md "Scale"). Sharded so a copy is cheap.
  ShardedMap<std::string> lines_;
  size_t text_bytes_ = 0;  // their total size
};

// catalog.journal: the catalog changes since catalog.json was last
// written whole, one JSON line per committed change ({"put": ENTRY},
// {"delete": NAME}, or {"batch": [those]} for a change of several
// registries, so a torn line loses a whole request or nothing), appended and
// fsync'd before an API reply: a change costs its own bytes, not a rewrite
// of the whole catalog (35 MB at 100,000 registries). catalog.json is
// rewritten from a copy (and the journal emptied) once the journal outgrows
// a share of it. Replaying a journal onto a catalog that already holds some
// of its changes leaves the same catalog (each line sets or removes whole
// entries, in order), so a crash between the two steps loses nothing.
namespace journal {
std::string putOp(const std::string& entry_text);
std::string deleteOp(const std::string& registry);
// One line for a commit's ops (putOp/deleteOp): the op itself, or a batch.
std::string line(const std::vector<std::string>& ops);
// Applies `text` (a journal) to `catalog`. A last line cut short (a crash
// mid-append: never acknowledged) is ignored; `kept` is then where it
// starts, else text.size(). Any other bad line is an error naming `name`
// and the line.
Result<bool> replay(const std::string& text, const std::string& name, Catalog& catalog, size_t& kept);
}  // namespace journal

// What a catalog change was, for its event: registry_created,
// registry_updated, registry_deleted, replication_created, ...
struct CatalogChange {
  std::string event;
  std::string registry;
  std::string replica;  // empty for a registry's own change
};

// One registry's new catalog entry (nullopt: deleted), and what it was.
struct CatalogEdit {
  CatalogChange change;
  std::optional<nlohmann::json> doc;
};

// What changed between two entries of one registry (nullptr: absent), as
// the event the API call that made it raises: one replica's change is a
// replication_* event, anything more a registry_updated.
CatalogChange describeEdit(const std::string& registry, const nlohmann::json* before, const nlohmann::json* after);

// A request body broken before the loader sees it (unknown field, wrong
// type): the API's field name and what is wrong.
struct ApiFieldError {
  std::string field;
  std::string message;
};

// PUT /v1/registries/{reg}: `body` over `existing` (nullptr: a new one).
// Fields: home (required for a new one), regionalEndpoints and
// dataEndpointEnabled (true/false, or "enabled"/"disabled"), health and
// freshness (the config file's keys), replications (optional: REGION ->
// a replication body, replacing the registry's replicas).
Result<nlohmann::json> registryFromApi(const std::string& name, const nlohmann::json& body,
                                       const nlohmann::json* existing, ApiFieldError& error);
// PUT .../replications/{region}: the replica entry. Fields: addresses or
// target, dataAddresses, probeAddress, globalEndpointRouting.
Result<nlohmann::json> replicaFromApi(const std::string& region, const nlohmann::json& body,
                                      const std::string& field_prefix, ApiFieldError& error);
// The loader's key path inside `registry` (a catalog entry), in the API's
// words: "registries[0].replicas[1].addresses[0]" -> "replications.westus.addresses[0]".
std::string apiField(const std::string& loader_path, const nlohmann::json& registry);

}  // namespace switchyard::control
