#include "health/manifest_head.h"

#include "health/curl_easy_pool.h"

#include <cctype>

namespace switchyard::health {

namespace {

size_t discard(char*, size_t size, size_t n, void*) { return size * n; }

// NAME:PORT of a base URL (scheme://NAME:PORT).
std::string authority(const std::string& base_url) {
  auto start = base_url.find("://");
  return start == std::string::npos ? base_url : base_url.substr(start + 3);
}

}  // namespace

RegistryEndpoint endpointOf(const ProbeTarget& t) {
  RegistryEndpoint e;
  bool https = t.spec.scheme == policy::ProbeScheme::Https;
  e.base_url = std::string(https ? "https" : "http") + "://" + t.host + ":" + std::to_string(t.spec.port);
  e.connect_to = t.connect_host;
  e.tls_verify = t.spec.tls_verify;
  e.ca_file = t.spec.ca_file;
  e.headers = t.spec.headers;
  return e;
}

bool isDigest(const std::string& text) {
  auto colon = text.find(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 >= text.size()) return false;
  for (size_t i = 0; i < colon; ++i) {
    char c = text[i];
    if (!std::islower(static_cast<unsigned char>(c)) && !std::isdigit(static_cast<unsigned char>(c)) &&
        c != '+' && c != '.' && c != '_' && c != '-')
      return false;
  }
  for (size_t i = colon + 1; i < text.size(); ++i)
    if (!std::isxdigit(static_cast<unsigned char>(text[i])) || std::isupper(static_cast<unsigned char>(text[i])))
      return false;
  return text.compare(0, colon, "sha256") != 0 || text.size() - colon - 1 == 64;
}

ManifestHead::ManifestHead(CURL* e, const RegistryEndpoint& endpoint, const policy::Canary& canary, long timeout_ms)
    : easy_(e) {
  std::string url = endpoint.base_url + "/v2/" + canary.repository + "/manifests/" + canary.tag;
  curl_easy_setopt(e, CURLOPT_URL, url.c_str());
  if (!endpoint.connect_to.empty()) {
    // Dial the replica itself while Host and SNI carry its regional name, as
    // the health probe does: the question is what THIS replica serves.
    std::string hostport = authority(endpoint.base_url);
    auto colon = hostport.rfind(':');
    std::string port = colon == std::string::npos ? "" : hostport.substr(colon + 1);
    std::string name = colon == std::string::npos ? hostport : hostport.substr(0, colon);
    connect_to_ = curl_slist_append(nullptr, connectToEntry(name, port, endpoint.connect_to).c_str());
    curl_easy_setopt(e, CURLOPT_CONNECT_TO, connect_to_);
  }
  headers_ = curl_slist_append(headers_, kManifestAccept);
  for (const auto& [name, value] : endpoint.headers)
    headers_ = curl_slist_append(headers_, (name + ": " + value).c_str());
  curl_easy_setopt(e, CURLOPT_HTTPHEADER, headers_);
  curl_easy_setopt(e, CURLOPT_NOBODY, 1L);  // HEAD: the digest is in the headers
  curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, &discard);
  curl_easy_setopt(e, CURLOPT_ERRORBUFFER, error_);
  curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, timeout_ms);
  curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms);
  // A redirect would ask another server (a CDN, another replica).
  curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(e, CURLOPT_DNS_CACHE_TIMEOUT, 0L);  // see curl_prober.cpp
  curl_easy_setopt(e, CURLOPT_USERAGENT, "switchyard-freshness/0.1");
  curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, endpoint.tls_verify ? 1L : 0L);
  curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, endpoint.tls_verify ? 2L : 0L);
  if (!endpoint.ca_file.empty()) curl_easy_setopt(e, CURLOPT_CAINFO, endpoint.ca_file.c_str());
}

ManifestHead::~ManifestHead() {
  curl_slist_free_all(headers_);
  curl_slist_free_all(connect_to_);
}

DigestObservation ManifestHead::finish(CURLcode code) const {
  DigestObservation o;
  if (code != CURLE_OK) {
    o.detail = error_[0] ? error_ : curl_easy_strerror(code);
    return o;
  }
  long status = 0;
  curl_easy_getinfo(easy_, CURLINFO_RESPONSE_CODE, &status);
  o.http_status = static_cast<int>(status);
  if (status == 404) {
    o.kind = DigestObservation::Kind::Absent;
    return o;
  }
  if (status != 200) {
    o.detail = "HTTP " + std::to_string(status);
    curl_header* auth = nullptr;
    if (status == 401 && curl_easy_header(easy_, "WWW-Authenticate", 0, CURLH_HEADER, -1, &auth) == CURLHE_OK && auth)
      o.challenge = auth->value;
    if (status == 401 || status == 403)
      o.detail += " (the canary must be readable anonymously, through the registry's token flow, or with the"
                  " registry's health.headers)";
    return o;
  }
  curl_header* h = nullptr;
  if (curl_easy_header(easy_, "Docker-Content-Digest", 0, CURLH_HEADER, -1, &h) != CURLHE_OK || !h) {
    o.detail = "HTTP 200 without a Docker-Content-Digest header";
    return o;
  }
  std::string digest = h->value;
  while (!digest.empty() && std::isspace(static_cast<unsigned char>(digest.back()))) digest.pop_back();
  if (!isDigest(digest)) {
    o.detail = "malformed Docker-Content-Digest '" + digest.substr(0, 100) + "'";
    return o;
  }
  o.kind = DigestObservation::Kind::Digest;
  o.digest = std::move(digest);
  return o;
}

}  // namespace switchyard::health
