// ManifestHead: one `HEAD /v2/<repository>/manifests/<tag>` against one
// replica, and what its answer says the replica serves. The freshness prober
// (health/digest_fetcher.h, on the health loop) and `switchyardctl
// wait-replicated` (blocking, in the CLI) both build and read requests here, so
// they agree on Accept headers, addressing and classification.
//
// Why HEAD with every manifest media type in Accept: a registry answers a
// manifest request in one of the types the client accepts and names the
// digest of exactly those bytes in Docker-Content-Digest. Accepting only the
// Docker v2 schema 2 type would make a registry convert (or refuse) an OCI
// image or a multi-arch index, and the digest would not be the pushed one.
//
// Thread safety: a ManifestHead is used by one thread at a time; it owns the
// header lists the easy handle points to, so it must outlive the transfer.
#pragma once

#include <curl/curl.h>

#include <string>
#include <utility>
#include <vector>

#include "health/probe_target.h"
#include "policy/topology.h"

namespace switchyard::health {

// Where a replica's registry API is reached.
struct RegistryEndpoint {
  std::string base_url;    // scheme://NAME:PORT; NAME (the regional name) is the Host header and TLS SNI
  std::string connect_to;  // the address dialled instead of resolving NAME; empty: resolve it
  bool tls_verify = true;
  std::string ca_file;     // empty: the system store
  std::vector<std::pair<std::string, std::string>> headers;  // e.g. a static Authorization
  friend bool operator==(const RegistryEndpoint&, const RegistryEndpoint&) = default;
};

// The endpoint of a probed pair: the probe's scheme (tcp counts as http),
// port, address and Host name. REQUIRES: scheme is not `none`.
RegistryEndpoint endpointOf(const ProbeTarget& target);

// Every manifest type a pushed image can have, as an Accept header; an index
// first, so a multi-arch image is compared by its index digest (what
// `docker pull` resolves).
inline constexpr const char* kManifestAccept =
    "Accept: application/vnd.oci.image.index.v1+json, application/vnd.docker.distribution.manifest.list.v2+json, "
    "application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json";

// What a replica serves for one canary.
struct DigestObservation {
  enum class Kind {
    Digest,  // 200 with a Docker-Content-Digest
    Absent,  // 404: the registry does not have the tag (not replicated yet, or deleted)
    Error,   // anything else: says nothing about freshness (health covers reachability)
  };
  Kind kind = Kind::Error;
  std::string digest;  // Kind::Digest only, e.g. "sha256:3f5c..."
  int http_status = 0;
  std::string detail;  // for Error: what went wrong
  std::string challenge;  // for a 401: its WWW-Authenticate (health/registry_token.h)

  // The value compared with the reference: the digest, or "absent".
  std::string value() const { return kind == Kind::Digest ? digest : kind == Kind::Absent ? "absent" : ""; }
  bool observed() const { return kind != Kind::Error; }
};

class ManifestHead {
 public:
  // Sets `easy` (fresh or curl_easy_reset) up for the HEAD. `timeout_ms` bounds
  // the whole request.
  ManifestHead(CURL* easy, const RegistryEndpoint& endpoint, const policy::Canary& canary, long timeout_ms);
  ~ManifestHead();
  ManifestHead(const ManifestHead&) = delete;
  ManifestHead& operator=(const ManifestHead&) = delete;

  // Reads the finished transfer. REQUIRES: the transfer ended with `code`.
  DigestObservation finish(CURLcode code) const;
  CURL* easy() const { return easy_; }

 private:
  CURL* easy_;
  curl_slist* headers_ = nullptr;
  curl_slist* connect_to_ = nullptr;
  char error_[CURL_ERROR_SIZE] = {};
};

// "sha256:" followed by 64 lowercase hex digits (or another algorithm's
// "alg:hex"): what a Docker-Content-Digest header or --digest must look like.
bool isDigest(const std::string& text);

}  // namespace switchyard::health
