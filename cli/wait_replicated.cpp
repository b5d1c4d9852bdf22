#include "cli/wait_replicated.h"

#include <curl/curl.h>

#include <algorithm>
#include <cstdio>
#include <iostream>
#include <optional>
#include <thread>

#include "health/registry_token.h"

namespace switchyard::cli {

namespace {

using Clock = std::chrono::steady_clock;
using nlohmann::json;

struct Replica {
  std::string name;
  health::RegistryEndpoint endpoint;
  std::string served;     // last value seen: digest, "absent", or "error: ..."
  double done_after = -1; // seconds from the start, once it serves the digest
};

double since(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }

std::string seconds(double s) {
  char b[32];
  std::snprintf(b, sizeof b, "%.1fs", s);
  return b;
}

std::string describe(const health::DigestObservation& o) {
  return o.observed() ? o.value() : "error: " + o.detail;
}

int refuse(const std::string& message) {
  std::cerr << "switchyardctl: " << message << "\n";
  return 1;
}

}  // namespace

int waitReplicated(const WaitRequest& w, const ApiGet& get) {
  auto parsed = policy::Canary::parse(w.image);
  if (!parsed) {
    std::cerr << "switchyardctl: --image: " << parsed.error() << "\n";
    return 2;
  }
  const policy::Canary& image = *parsed;
  if (!w.digest.empty() && !health::isDigest(w.digest)) {
    std::cerr << "switchyardctl: --digest: expected ALGORITHM:HEX (e.g. sha256:...), got '" << w.digest << "'\n";
    return 2;
  }
  auto start = Clock::now();
  auto deadline = start + w.timeout;

  std::string home;
  for (const auto& r : get("/v1/registries"))
    if (r["name"] == w.registry) home = r["home"];
  if (home.empty()) return refuse("no registry named '" + w.registry + "'");
  std::vector<Replica> replicas;
  std::optional<health::RegistryEndpoint> home_endpoint;
  for (const auto& r : get("/v1/registries/" + w.registry + "/replications")) {
    std::string name = r["name"];
    health::RegistryEndpoint e;
    if (r.contains("endpoint")) {
      e.base_url = r["endpoint"]["url"];
      e.connect_to = r["endpoint"]["connectTo"];
      e.ca_file = w.registry_cacert;
      e.headers = w.headers;
      if (name == home) home_endpoint = e;
    }
    if (!r["globalEndpointRouting"].get<bool>() || r["status"] == "offline") {
      if (!w.json_output)
        std::cout << name << "  skipped: " << (r["status"] == "offline" ? "offline" : "excluded from global routing")
                  << " (gets no global traffic)\n";
      continue;
    }
    if (!r.contains("endpoint"))
      return refuse("replica " + name + " has no registry endpoint (health.scheme none): it cannot be asked directly");
    replicas.push_back({name, e, "", -1});
  }
  if (replicas.empty()) return refuse("registry '" + w.registry + "' has no replica in global routing");

  std::string want = w.digest;
  if (want.empty()) {
    if (!home_endpoint) return refuse("the home replica (" + home + ") has no registry endpoint: pass --digest");
    auto o = health::readDigestBlocking(*home_endpoint, image, 10'000);
    if (o.kind != health::DigestObservation::Kind::Digest)
      return refuse("the home replica (" + home + ") does not serve " + w.image + " (" + describe(o) +
                    "): push it there first, or pass --digest");
    want = o.digest;
  }
  if (!w.json_output)
    std::cout << "waiting for " << w.image << "@" << want << " on " << replicas.size() << " replica(s), up to "
              << seconds(std::chrono::duration<double>(w.timeout).count()) << "\n"
              << std::flush;

  while (true) {
    size_t pending = 0;
    for (auto& r : replicas) {
      if (r.done_after >= 0) continue;
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
      auto o = health::readDigestBlocking(r.endpoint, image, static_cast<long>(std::clamp<int64_t>(left, 100, 5'000)));
      std::string served = describe(o);
      bool done = o.kind == health::DigestObservation::Kind::Digest && o.digest == want;
      if (done) r.done_after = since(start);
      else ++pending;
      if (served != r.served && !w.json_output) {
        std::cout << r.name << "  " << served
                  << (done ? "  replicated after " + seconds(r.done_after) : "  (waiting)") << "\n"
                  << std::flush;
      }
      r.served = served;
    }
    bool timed_out = pending > 0 && Clock::now() >= deadline;
    if (pending == 0 || timed_out) {
      if (w.json_output) {
        json list = json::array();
        for (const auto& r : replicas)
          list.push_back({{"replica", r.name},
                          {"served", r.served},
                          {"replicated", r.done_after >= 0},
                          {"seconds", r.done_after >= 0 ? json(r.done_after) : json(nullptr)}});
        std::cout << json{{"image", w.image}, {"digest", want}, {"complete", pending == 0},
                          {"seconds", since(start)}, {"replicas", list}}
                         .dump(2)
                  << "\n";
      }
      if (pending == 0) {
        if (!w.json_output)
          std::cout << "replicated: " << replicas.size() << " replica(s) serve " << want << " after "
                    << seconds(since(start)) << "\n";
        return 0;
      }
      std::string missing;
      for (const auto& r : replicas)
        if (r.done_after < 0) missing += (missing.empty() ? "" : "; ") + r.name + " serves " + r.served;
      return refuse("timed out after " + seconds(since(start)) + " waiting for " + w.image + "@" + want + ": " +
                    missing);
    }
    std::this_thread::sleep_for(std::min<Clock::duration>(w.poll, deadline - Clock::now()));
  }
}

}  // namespace switchyard::cli
