// `switchyardctl wait-replicated`: blocks until every replica in a registry's
// global routing serves an image at the wanted digest, asking each replica's
// registry API directly (health/manifest_head.h), never through DNS: a
// pipeline that pushed to one replica learns when a pull through the global
// name cannot land on a replica without the image.
//
// Which replicas: those whose operator flag is on and that are not offline
// when the command starts (an excluded or dead replica gets no global
// traffic, so waiting for it would only block the pipeline). A lagging
// replica is waited for: it is exactly the one behind.
// Which digest: --digest, else what the home replica serves when the command
// starts (so a re-pushed tag is not satisfied by the old image elsewhere).
#pragma once

#include <chrono>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

namespace switchyard::cli {

struct WaitRequest {
  std::string registry;
  std::string image;   // repository:tag
  std::string digest;  // empty: the home replica's
  std::chrono::milliseconds timeout{600'000};
  std::chrono::milliseconds poll{1'000};
  std::string registry_cacert;  // CA bundle for https replicas; empty: the system store
  std::vector<std::pair<std::string, std::string>> headers;  // e.g. Authorization for a private repository
  bool json_output = false;
};

// An admin API GET (throws what the CLI's call() throws).
using ApiGet = std::function<nlohmann::json(const std::string& path)>;

// Returns the exit status: 0 replicated, 1 timed out or refused (one line on
// stderr says what is missing). Progress goes to stdout, one line per replica
// whose state changed.
int waitReplicated(const WaitRequest& request, const ApiGet& get);

}  // namespace switchyard::cli
