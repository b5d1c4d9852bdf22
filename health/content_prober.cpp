#include "health/content_prober.h"

#include <algorithm>
#include <cassert>
#include <string>

#include "health/curl_failure.h"
#include "health/manifest_head.h"
#include "health/sha256.h"

namespace switchyard::health {

namespace {

bool isSha256(const std::string& digest) { return digest.rfind("sha256:", 0) == 0; }

std::string header(CURL* easy, const char* name) {
  curl_header* h = nullptr;
  if (curl_easy_header(easy, name, 0, CURLH_HEADER, -1, &h) != CURLHE_OK || !h) return "";
  std::string v = h->value;
  while (!v.empty() && (v.back() == ' ' || v.back() == '\t' || v.back() == '\r')) v.pop_back();
  return v;
}

}  // namespace

struct ContentProber::Probe {
  uint64_t id = 0;
  ProbeTarget target;
  RegistryEndpoint endpoint;
  bool write = false;
  uint64_t started_ms = 0;
  uint64_t deadline_ms = 0;
  bool first_request = true;

  ContentStep step = ContentStep::Api;
  std::string method;
  std::string url;
  bool tried_token = false;       // this step already carried a fresh token
  std::string read_bearer;        // token for the canary's repository
  std::string write_bearer;       // token for the write check's repository

  CURL* easy = nullptr;           // the registry transfer's handle
  bool attached = false;          // easy is in the multi handle
  curl_slist* headers = nullptr;  // this step's request headers
  curl_slist* connect_to = nullptr;
  char error[CURL_ERROR_SIZE] = {};
  std::unique_ptr<TokenRequest> token;  // a token GET in flight
  CURL* token_easy = nullptr;
  std::string challenge_resource;

  // What the step's body is for.
  std::string body;         // manifests: kept whole (bounded)
  bool keep_body = false;
  bool hash_body = false;   // blobs: hashed as they stream
  Sha256 hash;
  int64_t body_bytes = 0;
  bool too_large = false;

  std::string expect_digest;  // child and blob steps: what the bytes must hash to
  ContentRef blob;
  bool blob_head = false;      // the blob is too large to read: HEAD only

  std::string write_blob;      // the unique bytes pushed
  std::string write_digest;
  std::string upload_location;
  int last_status = 0;

  std::string base() const { return endpoint.base_url; }
  const policy::Canary& canary() const { return *target.spec.canary; }
  std::string readResource() const { return base() + " " + canary().repository; }
  std::string writeResource() const { return base() + " " + target.spec.write_check->repository + " push"; }
  bool lastStep() const { return write ? step == ContentStep::WriteDelete : step == ContentStep::Blob; }
};

ContentProber::ContentProber(uv_loop_t* loop, Callback callback)
    : loop_(loop),
      callback_(std::move(callback)),
      multi_(loop, [this](CURL* easy, CURLcode code) { done(easy, code); }) {}

ContentProber::~ContentProber() { close(); }

void ContentProber::close() {
  if (closed_) return;
  closed_ = true;
  while (!probes_.empty()) cancel(probes_.begin()->first);
  pool_.clear();
  multi_.close();
}

void ContentProber::start(uint64_t id, const ProbeTarget& t, bool write) {
  auto probe = std::make_unique<Probe>();
  Probe& p = *probe;
  p.id = id;
  p.target = t;
  p.endpoint = endpointOf(t);
  p.write = write && t.spec.write_check.has_value();
  p.started_ms = uv_now(loop_);
  p.deadline_ms = p.started_ms + static_cast<uint64_t>(t.spec.timeout.count());
  // Dial the replica's probe address while Host and SNI carry its regional
  // name, as the api probe does.
  p.connect_to = curl_slist_append(nullptr, connectToEntry(t.host, std::to_string(t.spec.port), t.connect_host).c_str());
  if (p.write) {
    // Unique per probe, so the push really writes (a registry may skip a
    // blob it already has).
    p.write_blob = "switchyard write check " + t.registry + " " + t.region + " " + std::to_string(uv_hrtime()) +
                   " " + std::to_string(++write_serial_) + "\n";
    p.write_digest = sha256Digest(p.write_blob);
  }
  [[maybe_unused]] bool inserted = probes_.emplace(id, std::move(probe)).second;
  assert(inserted);  // ids are unique among probes in flight (prober.h)
  p.step = ContentStep::Api;
  runStep(p);
}

void ContentProber::release(Probe& p) {
  if (p.easy) {
    if (p.attached) multi_.remove(p.easy);
    p.attached = false;
    pool_.give(p.easy, !closed_);
    p.easy = nullptr;
  }
  if (p.token_easy) {
    multi_.remove(p.token_easy);
    curl_easy_cleanup(p.token_easy);
    p.token_easy = nullptr;
  }
  p.token.reset();
  curl_slist_free_all(p.headers);
  p.headers = nullptr;
}

void ContentProber::cancel(uint64_t id) {
  auto it = probes_.find(id);
  if (it == probes_.end()) return;
  release(*it->second);
  curl_slist_free_all(it->second->connect_to);
  probes_.erase(it);
}

size_t ContentProber::onBody(char* data, size_t size, size_t n, void* userp) {
  auto* p = static_cast<Probe*>(userp);
  size_t len = size * n;
  p->body_bytes += static_cast<int64_t>(len);
  if (p->keep_body) {
    if (p->body.size() + len > kMaxManifestBytes) {
      p->too_large = true;
      return 0;  // ends the transfer with CURLE_WRITE_ERROR
    }
    p->body.append(data, len);
  } else if (p->hash_body) {
    if (p->body_bytes > kMaxBlobBytes) {
      p->too_large = true;
      return 0;
    }
    p->hash.update(data, len);
  }
  return len;
}

void ContentProber::runStep(Probe& p) {
  uint64_t now = uv_now(loop_);
  if (now >= p.deadline_ms) {
    fail(p, ProbeResult::Timeout, "no verdict within " + std::to_string(p.target.spec.timeout.count()) + " ms");
    return;
  }
  const auto& spec = p.target.spec;
  const std::string repo = p.canary().repository;
  const std::string wrepo = spec.write_check ? spec.write_check->repository : "";
  p.keep_body = p.hash_body = p.too_large = false;
  p.body.clear();
  p.body_bytes = 0;
  p.hash.reset();
  p.error[0] = 0;
  bool head = false;
  bool follow = false;
  std::string* bearer = nullptr;
  switch (p.step) {
    case ContentStep::Api:
      p.method = "GET";
      p.url = p.base() + spec.path;
      break;
    case ContentStep::Manifest:
      p.method = "GET";
      p.url = p.base() + "/v2/" + repo + "/manifests/" + p.canary().tag;
      p.keep_body = true;
      bearer = &p.read_bearer;
      break;
    case ContentStep::Child:
      p.method = "GET";
      p.url = p.base() + "/v2/" + repo + "/manifests/" + p.expect_digest;
      p.keep_body = true;
      bearer = &p.read_bearer;
      break;
    case ContentStep::Blob:
      head = p.blob_head;
      p.method = head ? "HEAD" : "GET";
      p.url = p.base() + "/v2/" + repo + "/blobs/" + p.blob.digest;
      p.hash_body = !head;
      follow = true;  // blob storage may redirect (S3, Azure, a CDN); clients follow too
      bearer = &p.read_bearer;
      break;
    case ContentStep::WriteStart:
      p.method = "POST";
      p.url = p.base() + "/v2/" + wrepo + "/blobs/uploads/";
      bearer = &p.write_bearer;
      break;
    case ContentStep::WriteUpload: {
      p.method = "PUT";
      // The upload continues on THIS replica: an absolute Location (which
      // may name the global name or the registry's own idea of its host) is
      // taken for its path only.
      std::string loc = p.upload_location;
      if (auto scheme = loc.find("://"); scheme != std::string::npos) {
        auto path = loc.find('/', scheme + 3);
        loc = path == std::string::npos ? "/" : loc.substr(path);
      }
      if (loc.empty() || loc[0] != '/') loc = "/" + loc;
      loc = p.base() + loc;
      p.url = loc + (loc.find('?') == std::string::npos ? "?" : "&") + "digest=" + p.write_digest;
      bearer = &p.write_bearer;
      break;
    }
    case ContentStep::WriteRead:
      p.method = "GET";
      p.url = p.base() + "/v2/" + wrepo + "/blobs/" + p.write_digest;
      p.hash_body = true;
      follow = true;
      bearer = &p.write_bearer;
      break;
    case ContentStep::WriteDelete:
      p.method = "DELETE";
      p.url = p.base() + "/v2/" + wrepo + "/blobs/" + p.write_digest;
      bearer = &p.write_bearer;
      break;
  }
  // Steady state: the token an earlier probe got for this repository.
  if (bearer && bearer->empty()) {
    bool w = isWriteStep(p.step);
    if (const std::string* t = tokens_.forResource(w ? p.writeResource() : p.readResource(), now)) *bearer = *t;
  }

  if (!p.easy) p.easy = pool_.take();
  CURL* e = p.easy;
  if (p.attached) multi_.remove(e);
  p.attached = false;
  // A reset handle keeps its connection (the cache is the multi handle's):
  // only the last step's options go.
  curl_easy_reset(e);
  curl_easy_setopt(e, CURLOPT_URL, p.url.c_str());
  curl_easy_setopt(e, CURLOPT_CONNECT_TO, p.connect_to);
  long left = static_cast<long>(p.deadline_ms - now);
  curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, left);
  curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, left);
  curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(e, CURLOPT_DNS_CACHE_TIMEOUT, 0L);  // see curl_prober.cpp
  curl_easy_setopt(e, CURLOPT_FRESH_CONNECT, p.first_request ? 1L : 0L);
  curl_easy_setopt(e, CURLOPT_FORBID_REUSE, p.lastStep() ? 1L : 0L);
  curl_easy_setopt(e, CURLOPT_MAXAGE_CONN, kIdleSeconds);
  p.first_request = false;
  curl_easy_setopt(e, CURLOPT_ERRORBUFFER, p.error);
  curl_easy_setopt(e, CURLOPT_PRIVATE, reinterpret_cast<void*>(static_cast<uintptr_t>(p.id)));
  curl_easy_setopt(e, CURLOPT_USERAGENT, "switchyard-probe/0.1");
  curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(e, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, follow ? 1L : 0L);
  curl_easy_setopt(e, CURLOPT_MAXREDIRS, 3L);
  curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, &ContentProber::onBody);
  curl_easy_setopt(e, CURLOPT_WRITEDATA, &p);
  if (spec.scheme == policy::ProbeScheme::Https) {
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, spec.tls_verify ? 1L : 0L);
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, spec.tls_verify ? 2L : 0L);
    if (!spec.ca_file.empty()) curl_easy_setopt(e, CURLOPT_CAINFO, spec.ca_file.c_str());
  }
  if (head) curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
  if (p.method == "POST") {
    curl_easy_setopt(e, CURLOPT_POST, 1L);
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, "");
    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, 0L);
  } else if (p.method == "PUT") {
    curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, "PUT");
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, p.write_blob.c_str());
    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, static_cast<long>(p.write_blob.size()));
  } else if (p.method == "DELETE") {
    curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, "DELETE");
  }

  curl_slist_free_all(p.headers);
  p.headers = nullptr;
  if (p.step == ContentStep::Manifest || p.step == ContentStep::Child) p.headers = curl_slist_append(p.headers, kManifestAccept);
  if (p.method == "PUT") p.headers = curl_slist_append(p.headers, "Content-Type: application/octet-stream");
  // A POST or PUT must not wait for "100 Continue".
  if (p.method == "POST" || p.method == "PUT") p.headers = curl_slist_append(p.headers, "Expect:");
  RegistryEndpoint ep = bearer && !bearer->empty() ? withBearer(p.endpoint, *bearer) : p.endpoint;
  for (const auto& [name, value] : ep.headers) p.headers = curl_slist_append(p.headers, (name + ": " + value).c_str());
  if (p.headers) curl_easy_setopt(e, CURLOPT_HTTPHEADER, p.headers);
  multi_.add(e);
  p.attached = true;
}

void ContentProber::done(CURL* easy, CURLcode code) {
  void* priv = nullptr;
  curl_easy_getinfo(easy, CURLINFO_PRIVATE, &priv);
  auto it = probes_.find(static_cast<uint64_t>(reinterpret_cast<uintptr_t>(priv)));
  if (it == probes_.end()) return;
  Probe& p = *it->second;
  if (easy == p.token_easy) tokenDone(p, code);
  else stepDone(p, code);
}

void ContentProber::fail(Probe& p, ProbeResult result, const std::string& why) {
  ProbeReport r;
  r.result = result;
  r.http_status = p.last_status;
  r.step = stepName(p.step);
  r.detail = r.step + " " + p.method + " " + p.url + ": " + why;
  finish(p, std::move(r));
}

void ContentProber::finish(Probe& p, ProbeReport report) {
  report.seconds = static_cast<double>(uv_now(loop_) - p.started_ms) / 1000.0;
  uint64_t id = p.id;
  cancel(id);  // frees the probe; the report is already taken
  callback_(id, report);
}

bool ContentProber::tryToken(Probe& p) {
  if (p.step == ContentStep::Api || p.step == ContentStep::WriteDelete || p.tried_token) return false;
  auto challenge = parseBearerChallenge(header(p.easy, "WWW-Authenticate"));
  if (!challenge) return false;
  bool w = isWriteStep(p.step);
  std::string resource = w ? p.writeResource() : p.readResource();
  tokens_.challenged(resource, challenge->key());
  p.tried_token = true;
  std::string& bearer = w ? p.write_bearer : p.read_bearer;
  uint64_t now = uv_now(loop_);
  const std::string* cached = tokens_.forChallenge(challenge->key(), now);
  if (cached && *cached != bearer) {
    bearer = *cached;
    runStep(p);
    return true;
  }
  if (now >= p.deadline_ms) {
    fail(p, ProbeResult::Timeout, "HTTP 401, and no time left for the token flow");
    return true;
  }
  ++token_requests_;
  multi_.remove(p.easy);
  p.attached = false;
  p.challenge_resource = resource;
  p.token_easy = curl_easy_init();
  p.token = std::make_unique<TokenRequest>(p.token_easy, *challenge, p.endpoint, static_cast<long>(p.deadline_ms - now));
  curl_easy_setopt(p.token_easy, CURLOPT_PRIVATE, reinterpret_cast<void*>(static_cast<uintptr_t>(p.id)));
  multi_.add(p.token_easy);
  return true;
}

void ContentProber::tokenDone(Probe& p, CURLcode code) {
  auto token = p.token->finish(code);
  multi_.remove(p.token_easy);
  curl_easy_cleanup(p.token_easy);
  p.token_easy = nullptr;
  p.token.reset();
  if (!token) {
    fail(p, isWriteStep(p.step) ? ProbeResult::WriteError : ProbeResult::ContentError, "HTTP 401, and " + token.error());
    return;
  }
  tokens_.store(p.challenge_resource, *token, uv_now(loop_));
  (isWriteStep(p.step) ? p.write_bearer : p.read_bearer) = token->token;
  runStep(p);
}

void ContentProber::stepDone(Probe& p, CURLcode code) {
  if (p.step == ContentStep::WriteDelete) {
    // Clean-up only: whatever the answer (405 where deletes are off, a
    // timeout, a 401 for a scope we were not given), the checks passed.
    long status = 0;
    if (code == CURLE_OK) curl_easy_getinfo(p.easy, CURLINFO_RESPONSE_CODE, &status);
    p.last_status = static_cast<int>(status);
    advance(p);
    return;
  }
  if (code != CURLE_OK) {
    p.last_status = 0;
    if (code == CURLE_WRITE_ERROR && p.too_large) {
      fail(p, isWriteStep(p.step) ? ProbeResult::WriteError : ProbeResult::ContentError,
           p.keep_body ? "a manifest larger than " + std::to_string(kMaxManifestBytes) + " bytes"
                       : "more than " + std::to_string(kMaxBlobBytes) + " bytes");
      return;
    }
    fail(p, transferFailure(code), p.error[0] ? p.error : curl_easy_strerror(code));
    return;
  }
  long status = 0;
  curl_easy_getinfo(p.easy, CURLINFO_RESPONSE_CODE, &status);
  p.last_status = static_cast<int>(status);
  if (status == 401 && tryToken(p)) return;
  StepVerdict v = judgeStatus(p.step, p.last_status, p.target.spec);
  if (v.outcome == StepOutcome::Throttled) {
    ProbeReport r{ProbeResult::Throttled, p.last_status, 0,
                  std::string(stepName(p.step)) + " " + p.method + " " + p.url + ": HTTP " + std::to_string(status),
                  stepName(p.step)};
    finish(p, std::move(r));
    return;
  }
  if (v.outcome == StepOutcome::Failed) {
    std::string why = "HTTP " + std::to_string(status);
    if (status == 401 || status == 403)
      why += " (the canary must be readable anonymously, through the registry's token flow, or with the registry's"
             " health.headers)";
    fail(p, v.result, why);
    return;
  }

  // 2xx: what the body says.
  switch (p.step) {
    case ContentStep::Manifest:
    case ContentStep::Child: {
      std::string got = sha256Digest(p.body);
      std::string named = p.step == ContentStep::Child ? p.expect_digest : header(p.easy, "Docker-Content-Digest");
      if (isSha256(named) && named != got) {
        fail(p, ProbeResult::ContentError, "digest mismatch: expected " + named + ", the body hashes to " + got);
        return;
      }
      auto m = parseManifest(p.body);
      if (!m) {
        fail(p, ProbeResult::ContentError, m.error());
        return;
      }
      if (m->index && p.step == ContentStep::Child) {
        fail(p, ProbeResult::ContentError, "an index inside an index");
        return;
      }
      if (m->index) {
        p.expect_digest = m->next.digest;
        p.step = ContentStep::Child;
      } else {
        p.blob = m->next;
        // Unknown size (schema 1) or too large to read: HEAD only.
        p.blob_head = p.blob.size < 0 || p.blob.size > kMaxBlobBytes;
        p.step = ContentStep::Blob;
      }
      p.tried_token = false;
      runStep(p);
      return;
    }
    case ContentStep::Blob:
    case ContentStep::WriteRead: {
      const std::string& want = p.step == ContentStep::Blob ? p.blob.digest : p.write_digest;
      if (p.step == ContentStep::Blob && p.blob_head) {
        curl_off_t length = -1;
        curl_easy_getinfo(p.easy, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &length);
        if (p.blob.size >= 0 && length >= 0 && length != p.blob.size) {
          fail(p, ProbeResult::ContentError, "the blob is " + std::to_string(length) + " bytes, the manifest says " +
                                                 std::to_string(p.blob.size));
          return;
        }
        break;
      }
      if (isSha256(want)) {
        std::string got = p.hash.digest();
        if (got != want) {
          fail(p, p.step == ContentStep::Blob ? ProbeResult::ContentError : ProbeResult::WriteError,
               "digest mismatch: expected " + want + ", " + std::to_string(p.body_bytes) + " bytes hash to " + got);
          return;
        }
      }
      break;
    }
    case ContentStep::WriteStart:
      p.upload_location = header(p.easy, "Location");
      if (p.upload_location.empty()) {
        fail(p, ProbeResult::WriteError, "HTTP " + std::to_string(status) + " without a Location header");
        return;
      }
      break;
    default:
      break;
  }
  advance(p);
}

void ContentProber::advance(Probe& p) {
  if (p.lastStep()) {
    std::string what = p.write ? "canary and write check" : "canary";
    finish(p, {ProbeResult::Ok, p.last_status, 0, what + " " + p.canary().text() + " served", stepName(p.step)});
    return;
  }
  switch (p.step) {
    case ContentStep::Api: p.step = ContentStep::Manifest; break;
    case ContentStep::Blob: p.step = ContentStep::WriteStart; break;
    case ContentStep::WriteStart: p.step = ContentStep::WriteUpload; break;
    case ContentStep::WriteUpload: p.step = ContentStep::WriteRead; break;
    case ContentStep::WriteRead: p.step = ContentStep::WriteDelete; break;
    default: break;  // manifest and child advance in stepDone
  }
  p.tried_token = false;
  runStep(p);
}

}  // namespace switchyard::health
