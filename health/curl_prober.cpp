#include "health/curl_prober.h"

#include "health/curl_failure.h"

#include <cstring>
#include <string>

namespace switchyard::health {

struct CurlProber::Probe {
  uint64_t id = 0;
  CURL* easy = nullptr;
  ProbeTarget target;
  curl_slist* headers = nullptr;
  curl_slist* connect_to = nullptr;
  uint64_t started_ms = 0;
  char error[CURL_ERROR_SIZE] = {};
};

namespace {

size_t discard(char*, size_t size, size_t n, void*) { return size * n; }

}  // namespace

CurlProber::CurlProber(uv_loop_t* loop, Callback callback)
    : loop_(loop), callback_(std::move(callback)), multi_(loop, [this](CURL* easy, CURLcode code) { done(easy, code); }) {}

CurlProber::~CurlProber() { close(); }

void CurlProber::close() {
  if (closed_) return;
  closed_ = true;
  while (!probes_.empty()) cancel(probes_.begin()->first);
  pool_.clear();
  multi_.close();
}

void CurlProber::start(uint64_t id, const ProbeTarget& t) {
  auto* p = new Probe;
  p->id = id;
  p->target = t;
  p->started_ms = uv_now(loop_);
  CURL* e = pool_.take();
  p->easy = e;
  std::string url = t.url();
  curl_easy_setopt(e, CURLOPT_URL, url.c_str());
  // Dial the replica's probe address while the URL carries the regional name,
  // so Host, SNI and certificate checks all see the name clients use.
  p->connect_to = curl_slist_append(nullptr, connectToEntry(t.host, std::to_string(t.spec.port), t.connect_host).c_str());
  curl_easy_setopt(e, CURLOPT_CONNECT_TO, p->connect_to);
  // No DNS cache: every target is an address already, and libcurl prunes its
  // cache by walking every entry on each new connection, so with thousands of
  // targets (one entry each) the walk cost more than the probe (1.1 ms CPU
  // per probe at 3,000 targets; bench/RESULTS.md).
  curl_easy_setopt(e, CURLOPT_DNS_CACHE_TIMEOUT, 0L);
  curl_easy_setopt(e, CURLOPT_PRIVATE, p);
  curl_easy_setopt(e, CURLOPT_ERRORBUFFER, p->error);
  curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, static_cast<long>(t.spec.timeout.count()));
  curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(t.spec.timeout.count()));
  // A probe must test a fresh path to the replica, not a pooled connection.
  curl_easy_setopt(e, CURLOPT_FRESH_CONNECT, 1L);
  curl_easy_setopt(e, CURLOPT_FORBID_REUSE, 1L);
  curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, &discard);
  curl_easy_setopt(e, CURLOPT_USERAGENT, "switchyard-probe/0.1");
  curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
  if (t.spec.scheme == policy::ProbeScheme::Tcp) curl_easy_setopt(e, CURLOPT_CONNECT_ONLY, 1L);
  if (t.spec.scheme == policy::ProbeScheme::Https) {
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, t.spec.tls_verify ? 1L : 0L);
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, t.spec.tls_verify ? 2L : 0L);
    if (!t.spec.ca_file.empty()) curl_easy_setopt(e, CURLOPT_CAINFO, t.spec.ca_file.c_str());
  }
  for (const auto& [name, value] : t.spec.headers)
    p->headers = curl_slist_append(p->headers, (name + ": " + value).c_str());
  if (p->headers) curl_easy_setopt(e, CURLOPT_HTTPHEADER, p->headers);
  probes_[p->id] = p;
  multi_.add(e);
}

void CurlProber::cancel(uint64_t id) {
  auto it = probes_.find(id);
  if (it == probes_.end()) return;
  Probe* p = it->second;
  probes_.erase(it);
  multi_.remove(p->easy);
  pool_.give(p->easy, !closed_);
  curl_slist_free_all(p->headers);
  curl_slist_free_all(p->connect_to);
  delete p;
}

ProbeReport CurlProber::classify(Probe& p, CURLcode code) {
  ProbeReport r;
  r.seconds = static_cast<double>(uv_now(loop_) - p.started_ms) / 1000.0;
  if (code == CURLE_OK) {
    if (p.target.spec.scheme == policy::ProbeScheme::Tcp) {
      r.result = ProbeResult::Ok;
      return r;
    }
    long status = 0;
    curl_easy_getinfo(p.easy, CURLINFO_RESPONSE_CODE, &status);
    r.http_status = static_cast<int>(status);
    r.result = classifyStatus(p.target.spec, r.http_status);
    r.detail = "HTTP " + std::to_string(status);
    return r;
  }
  r.detail = p.error[0] ? p.error : curl_easy_strerror(code);
  r.result = transferFailure(code);
  return r;
}

void CurlProber::done(CURL* easy, CURLcode code) {
  Probe* p = nullptr;
  curl_easy_getinfo(easy, CURLINFO_PRIVATE, &p);
  ProbeReport report = classify(*p, code);
  uint64_t id = p->id;
  cancel(id);  // frees the probe; the report is already taken
  callback_(id, report);
}

}  // namespace switchyard::health
