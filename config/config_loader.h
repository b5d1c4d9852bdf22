// Loading switchyard.yaml into a validated policy::Topology.
//
// Parsed by libyaml into a config::ConfigTree (config_tree.h); its errors
// never leave config/.
// Every error names FILE:LINE:COLUMN (1-based), the key path and the broken
// rule, e.g.
//   switchyard.yaml:41:20: registries[0].replicas[1].addresses[0]: not an IP address: 'x'
// Unknown keys are errors (a typo must not silently change behaviour). Every
// key of the reference file (shared/switchyard.example.yaml) is built; a
// future feature's key must be refused with "not supported yet" until it is.
// Thread safety: stateless functions; safe from any thread.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "common/result.h"
#include "policy/topology.h"

namespace switchyard::config {

using TopologyPtr = std::shared_ptr<const policy::Topology>;

// Reads and validates `path`. Relative paths inside the file (admin.token_file,
// tls.ca_file) are resolved against the file's directory.
Result<TopologyPtr> loadTopologyFile(const std::string& path);

// Same rules for text already in memory; `name` stands for the file in errors
// and `base_dir` resolves relative paths.
Result<TopologyPtr> loadTopologyText(const std::string& text, const std::string& name,
                                     const std::string& base_dir = ".");

// The runtime catalog: registries made through the API, kept in the state
// directory in the config file's own schema ({"registries": [...]}, JSON,
// which is YAML), so one set of rules validates both.
struct CatalogPending {
  std::string registry;
  std::string reason;    // why it is not served yet (no replica in its home region; the rule it breaks)
  bool refused = false;  // set aside: the entry breaks a rule of this config file (set_aside below)
};
struct CatalogTopology {
  TopologyPtr topology;                 // the file's registries, then the catalog's served ones
  std::vector<CatalogPending> pending;  // valid, kept, not served yet
  // editCatalog: how the registry slots moved from `current` (the rest of
  // the list is the same registry objects, shared).
  std::optional<policy::SlotEdit> slots;
};
// A broken rule without FILE:LINE:COLUMN: the key path ("registries[0].replicas[1].addresses[0]") and what is wrong.
struct FieldError {
  std::string path;
  std::string message;
};
// `file`'s topology plus the catalog's registries, each checked with the
// file's rules against the file's regions and health defaults (relative paths
// resolve beside the file). A catalog registry may have no replica in its
// home region yet: it is kept as pending, not served. One named like a file
// registry is an error. Errors name `catalog_name`:LINE:COLUMN; `field`, when
// given, gets the path and the rule apart.
// `set_aside`: an entry that breaks a rule is not an error but pending and
// refused (its reason the error), so one registry the file no longer fits
// (a region removed, a name the file now declares) cannot keep every other
// registry from being served; the catalog's shape is still checked whole.
Result<CatalogTopology> addCatalog(const TopologyPtr& file, const std::string& catalog_json,
                                   const std::string& catalog_name, FieldError* field = nullptr,
                                   bool set_aside = false);

// One API change's worth of the catalog, checked against what is served now
// rather than by loading the whole catalog again (that is O(catalog) on the
// control loop per call): `current` without the registries named in
// `removed` (deleted or about to be replaced), plus `added` (a catalog text
// of the new versions), each checked with the file's rules. Errors and
// `field` as for addCatalog; a path's registries[N] is the N-th of `added`.
// `pending` gets the added registries that wait for their home replica.
Result<CatalogTopology> editCatalog(const TopologyPtr& current, const std::vector<std::string>& removed,
                                    const std::string& added_json, const std::string& catalog_name,
                                    FieldError* field = nullptr);

}  // namespace switchyard::config
