// RegistryToken: the registry token flow of the distribution spec, so a
// canary can be read from registries that require a bearer token even for
// anonymous pulls (Docker Hub, GHCR, ACR with anonymous pull, Harbor):
//   1. HEAD .../manifests/TAG -> 401 with
//      WWW-Authenticate: Bearer realm="https://auth.example/token",service="reg",scope="repository:r:pull"
//   2. GET realm?service=reg&scope=repository:r:pull (anonymous, or with the
//      endpoint's own Basic credentials) -> {"token": "...", "expires_in": 300}
//   3. HEAD again with Authorization: Bearer TOKEN.
// The prober (DigestFetcher, asynchronous, with a token cache) and
// `switchyardctl wait-replicated` (blocking) both use these pieces.
// Thread safety: plain functions and values; a TokenRequest is used by one
// thread at a time and must outlive its transfer.
#pragma once

#include <curl/curl.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "common/result.h"
#include "health/manifest_head.h"

namespace switchyard::health {

struct BearerChallenge {
  std::string realm;    // an http(s) URL
  std::string service;  // may be empty
  std::string scope;    // may be empty
  std::string url() const;  // realm?service=...&scope=... (percent-encoded)
  std::string key() const { return realm + " " + service + " " + scope; }
};

// The Bearer challenge of a WWW-Authenticate header value; nullopt for any
// other scheme (e.g. Basic: static credentials are the only answer to it).
std::optional<BearerChallenge> parseBearerChallenge(std::string_view header);

struct RegistryTokenValue {
  std::string token;
  int expires_in_s = 60;  // the spec's default when the server omits it
};

// The token of a token server's JSON answer ("token", or OAuth2's "access_token").
Result<RegistryTokenValue> parseTokenResponse(std::string_view body);

// One GET of a token realm. The endpoint's Authorization header goes along
// only when it is Basic (credentials for the token server, never a bearer
// token meant for another host); its TLS settings apply.
class TokenRequest {
 public:
  TokenRequest(CURL* easy, const BearerChallenge& challenge, const RegistryEndpoint& endpoint, long timeout_ms);
  ~TokenRequest();
  TokenRequest(const TokenRequest&) = delete;
  TokenRequest& operator=(const TokenRequest&) = delete;

  // REQUIRES: the transfer ended with `code`.
  Result<RegistryTokenValue> finish(CURLcode code) const;
  CURL* easy() const { return easy_; }

 private:
  static size_t collect(char* data, size_t size, size_t n, void* self);
  CURL* easy_;
  std::string url_;
  curl_slist* headers_ = nullptr;
  std::string body_;
  char error_[CURL_ERROR_SIZE] = {};
};

// The endpoint with `Authorization: Bearer token` in place of any
// Authorization header it had.
RegistryEndpoint withBearer(RegistryEndpoint endpoint, const std::string& token);

// Tokens by challenge, and which challenge each resource got, so a steady
// state presents a live token at once (one request per read, not three). A
// resource is whatever the caller's challenges are per, e.g.
// "BASE_URL REPOSITORY" for pulls. Owned by one thread (a prober's loop).
class TokenCache {
 public:
  // The live token for `resource`'s last challenge, or nullptr.
  const std::string* forResource(const std::string& resource, uint64_t now_ms) const;
  const std::string* forChallenge(const std::string& challenge_key, uint64_t now_ms) const;
  void challenged(const std::string& resource, const std::string& challenge_key);
  // Keeps `token` for `resource`'s challenge, renewed a little before it expires.
  // REQUIRES: challenged(resource, ...) was called.
  void store(const std::string& resource, const RegistryTokenValue& token, uint64_t now_ms);

 private:
  struct Token {
    std::string value;
    uint64_t expires_ms = 0;
  };
  std::unordered_map<std::string, Token> tokens_;             // by BearerChallenge::key()
  std::unordered_map<std::string, std::string> challenges_;  // resource -> its challenge key
};

// Blocking: the HEAD, and on a Bearer challenge the token and the HEAD again.
// For the CLI; the daemon's prober does the same steps on its loop.
DigestObservation readDigestBlocking(const RegistryEndpoint& endpoint, const policy::Canary& canary, long timeout_ms);

}  // namespace switchyard::health
