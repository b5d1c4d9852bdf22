#include "health/registry_token.h"

#include <algorithm>

#include <cctype>
#include <nlohmann/json.hpp>

namespace switchyard::health {

namespace {

std::string percentEncode(std::string_view s) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

bool startsWithNoCase(std::string_view s, std::string_view prefix) {
  if (s.size() < prefix.size()) return false;
  for (size_t i = 0; i < prefix.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(s[i])) != std::tolower(static_cast<unsigned char>(prefix[i])))
      return false;
  return true;
}

}  // namespace

std::string BearerChallenge::url() const {
  std::string out = realm;
  char sep = realm.find('?') == std::string::npos ? '?' : '&';
  if (!service.empty()) {
    out += sep + std::string("service=") + percentEncode(service);
    sep = '&';
  }
  if (!scope.empty()) out += sep + std::string("scope=") + percentEncode(scope);
  return out;
}

std::optional<BearerChallenge> parseBearerChallenge(std::string_view h) {
  while (!h.empty() && h.front() == ' ') h.remove_prefix(1);
  if (!startsWithNoCase(h, "bearer ")) return std::nullopt;
  h.remove_prefix(7);
  BearerChallenge c;
  // key="value" pairs separated by commas; a quoted value may hold commas.
  size_t i = 0;
  while (i < h.size()) {
    while (i < h.size() && (h[i] == ' ' || h[i] == ',')) ++i;
    size_t eq = h.find('=', i);
    if (eq == std::string_view::npos) break;
    std::string key(h.substr(i, eq - i));
    for (char& ch : key) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    std::string value;
    i = eq + 1;
    if (i < h.size() && h[i] == '"') {
      for (++i; i < h.size() && h[i] != '"'; ++i) {
        if (h[i] == '\\' && i + 1 < h.size()) ++i;
        value += h[i];
      }
      ++i;  // the closing quote
    } else {
      size_t end = h.find(',', i);
      if (end == std::string_view::npos) end = h.size();
      value = std::string(h.substr(i, end - i));
      i = end;
    }
    if (key == "realm") c.realm = value;
    else if (key == "service") c.service = value;
    else if (key == "scope") c.scope = value;
  }
  if (!startsWithNoCase(c.realm, "http://") && !startsWithNoCase(c.realm, "https://")) return std::nullopt;
  return c;
}

Result<RegistryTokenValue> parseTokenResponse(std::string_view body) {
  auto j = nlohmann::json::parse(body, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return makeError("the token server's answer is not a JSON object");
  RegistryTokenValue v;
  for (const char* key : {"token", "access_token"})
    if (j.contains(key) && j[key].is_string() && !j[key].get<std::string>().empty()) {
      v.token = j[key].get<std::string>();
      break;
    }
  if (v.token.empty()) return makeError("the token server's answer has no token");
  if (j.contains("expires_in") && j["expires_in"].is_number_integer())
    v.expires_in_s = std::max(1, j["expires_in"].get<int>());
  return v;
}

TokenRequest::TokenRequest(CURL* e, const BearerChallenge& challenge, const RegistryEndpoint& endpoint,
                           long timeout_ms)
    : easy_(e), url_(challenge.url()) {
  curl_easy_setopt(e, CURLOPT_URL, url_.c_str());
  for (const auto& [name, value] : endpoint.headers)
    if (startsWithNoCase(name, "authorization") && startsWithNoCase(value, "basic "))
      headers_ = curl_slist_append(headers_, (name + ": " + value).c_str());
  if (headers_) curl_easy_setopt(e, CURLOPT_HTTPHEADER, headers_);
  curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, &TokenRequest::collect);
  curl_easy_setopt(e, CURLOPT_WRITEDATA, this);
  curl_easy_setopt(e, CURLOPT_ERRORBUFFER, error_);
  curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, timeout_ms);
  curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms);
  curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(e, CURLOPT_USERAGENT, "switchyard-freshness/0.1");
  curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, endpoint.tls_verify ? 1L : 0L);
  curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, endpoint.tls_verify ? 2L : 0L);
  if (!endpoint.ca_file.empty()) curl_easy_setopt(e, CURLOPT_CAINFO, endpoint.ca_file.c_str());
}

TokenRequest::~TokenRequest() { curl_slist_free_all(headers_); }

size_t TokenRequest::collect(char* data, size_t size, size_t n, void* self) {
  auto* r = static_cast<TokenRequest*>(self);
  if (r->body_.size() + size * n > 64 * 1024) return 0;  // a token answer is small; stop a runaway body
  r->body_.append(data, size * n);
  return size * n;
}

Result<RegistryTokenValue> TokenRequest::finish(CURLcode code) const {
  if (code != CURLE_OK) return makeError("token from " + url_ + ": " + (error_[0] ? error_ : curl_easy_strerror(code)));
  long status = 0;
  curl_easy_getinfo(easy_, CURLINFO_RESPONSE_CODE, &status);
  if (status != 200) return makeError("token from " + url_ + ": HTTP " + std::to_string(status));
  auto v = parseTokenResponse(body_);
  if (!v) return makeError("token from " + url_ + ": " + v.error());
  return v;
}

RegistryEndpoint withBearer(RegistryEndpoint endpoint, const std::string& token) {
  std::erase_if(endpoint.headers, [](const auto& h) { return startsWithNoCase(h.first, "authorization"); });
  endpoint.headers.emplace_back("Authorization", "Bearer " + token);
  return endpoint;
}

DigestObservation readDigestBlocking(const RegistryEndpoint& endpoint, const policy::Canary& canary, long timeout_ms) {
  auto head = [&](const RegistryEndpoint& e) {
    CURL* easy = curl_easy_init();
    DigestObservation o;
    {
      ManifestHead request(easy, e, canary, timeout_ms);
      o = request.finish(curl_easy_perform(easy));
    }
    curl_easy_cleanup(easy);
    return o;
  };
  DigestObservation o = head(endpoint);
  auto challenge = o.http_status == 401 ? parseBearerChallenge(o.challenge) : std::nullopt;
  if (!challenge) return o;
  CURL* easy = curl_easy_init();
  Result<RegistryTokenValue> token = Error{""};
  {
    TokenRequest request(easy, *challenge, endpoint, timeout_ms);
    token = request.finish(curl_easy_perform(easy));
  }
  curl_easy_cleanup(easy);
  if (!token) {
    o.detail = "HTTP 401, and " + token.error();
    return o;
  }
  return head(withBearer(endpoint, token->token));
}

const std::string* TokenCache::forChallenge(const std::string& key, uint64_t now_ms) const {
  auto it = tokens_.find(key);
  return it != tokens_.end() && it->second.expires_ms > now_ms ? &it->second.value : nullptr;
}

const std::string* TokenCache::forResource(const std::string& resource, uint64_t now_ms) const {
  auto c = challenges_.find(resource);
  return c == challenges_.end() ? nullptr : forChallenge(c->second, now_ms);
}

void TokenCache::challenged(const std::string& resource, const std::string& challenge_key) {
  challenges_[resource] = challenge_key;
}

void TokenCache::store(const std::string& resource, const RegistryTokenValue& token, uint64_t now_ms) {
  // Renew a little early: a token that expires in flight costs a round.
  uint64_t life_ms = static_cast<uint64_t>(token.expires_in_s) * 1000;
  tokens_[challenges_[resource]] = {token.token, now_ms + life_ms - std::min<uint64_t>(life_ms / 10, 10'000)};
}

}  // namespace switchyard::health
