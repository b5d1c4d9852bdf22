// Loading switchyard.yaml into a validated policy::Topology.
//
// The only place yaml-cpp is used; its exceptions never leave config/.
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

}  // namespace switchyard::config
