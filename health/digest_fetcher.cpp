#include "health/digest_fetcher.h"

namespace switchyard::health {

struct DigestFetcher::Fetch {
  uint64_t id = 0;
  RegistryEndpoint endpoint;
  policy::Canary canary;
  long timeout_ms = 0;
  bool with_token = false;  // the HEAD in flight carries a bearer token
  DigestObservation challenged;  // the 401 that started the token flow
  CURL* easy = nullptr;     // the transfer in flight
  std::unique_ptr<ManifestHead> head;
  std::unique_ptr<TokenRequest> token;

  std::string resource() const { return endpoint.base_url + " " + canary.repository; }
};

DigestFetcher::DigestFetcher(uv_loop_t* loop, Callback callback)
    : loop_(loop),
      callback_(std::move(callback)),
      multi_(loop, [this](CURL* easy, CURLcode code) { done(easy, code); }) {}

DigestFetcher::~DigestFetcher() { close(); }

void DigestFetcher::close() {
  if (closed_) return;
  closed_ = true;
  while (!fetches_.empty()) cancel(fetches_.begin()->first);
  multi_.close();
}

uint64_t DigestFetcher::start(const RegistryEndpoint& endpoint, const policy::Canary& canary, long timeout_ms) {
  auto fetch = std::make_unique<Fetch>();
  Fetch& f = *fetch;
  f.id = next_id_++;
  f.endpoint = endpoint;
  f.canary = canary;
  f.timeout_ms = timeout_ms;
  fetches_.emplace(f.id, std::move(fetch));
  // A registry that challenged before: present its token at once.
  if (const std::string* token = tokens_.forResource(f.resource(), uv_now(loop_)))
    startHead(f, withBearer(endpoint, *token), true);
  else startHead(f, endpoint, false);
  return f.id;
}

void DigestFetcher::startHead(Fetch& f, const RegistryEndpoint& endpoint, bool with_token) {
  f.with_token = with_token;
  f.easy = curl_easy_init();
  f.head = std::make_unique<ManifestHead>(f.easy, endpoint, f.canary, f.timeout_ms);
  curl_easy_setopt(f.easy, CURLOPT_PRIVATE, reinterpret_cast<void*>(static_cast<uintptr_t>(f.id)));
  multi_.add(f.easy);
}

void DigestFetcher::startToken(Fetch& f, const BearerChallenge& challenge) {
  ++token_requests_;
  f.easy = curl_easy_init();
  f.token = std::make_unique<TokenRequest>(f.easy, challenge, f.endpoint, f.timeout_ms);
  curl_easy_setopt(f.easy, CURLOPT_PRIVATE, reinterpret_cast<void*>(static_cast<uintptr_t>(f.id)));
  multi_.add(f.easy);
}

void DigestFetcher::cancel(uint64_t id) {
  auto it = fetches_.find(id);
  if (it == fetches_.end()) return;
  endTransfer(*it->second);
  fetches_.erase(it);
}

void DigestFetcher::endTransfer(Fetch& f) {
  if (!f.easy) return;
  multi_.remove(f.easy);
  curl_easy_cleanup(f.easy);
  f.easy = nullptr;
  f.head.reset();  // the header lists the handle pointed to
  f.token.reset();
}

void DigestFetcher::done(CURL* easy, CURLcode code) {
  void* priv = nullptr;
  curl_easy_getinfo(easy, CURLINFO_PRIVATE, &priv);
  auto it = fetches_.find(static_cast<uint64_t>(reinterpret_cast<uintptr_t>(priv)));
  if (it == fetches_.end()) return;
  Fetch& f = *it->second;
  if (f.token) tokenDone(f, code);
  else headDone(f, code);
}

void DigestFetcher::headDone(Fetch& f, CURLcode code) {
  DigestObservation o = f.head->finish(code);
  endTransfer(f);
  auto challenge = o.http_status == 401 && !f.with_token ? parseBearerChallenge(o.challenge) : std::nullopt;
  if (!challenge) return complete(f.id, o);
  tokens_.challenged(f.resource(), challenge->key());
  f.challenged = o;
  // Another read of the same resource may have fetched a token meanwhile.
  if (const std::string* token = tokens_.forChallenge(challenge->key(), uv_now(loop_)))
    return startHead(f, withBearer(f.endpoint, *token), true);
  startToken(f, *challenge);
}

void DigestFetcher::tokenDone(Fetch& f, CURLcode code) {
  auto token = f.token->finish(code);
  endTransfer(f);
  if (!token) {
    DigestObservation o = f.challenged;
    o.detail = "HTTP 401, and " + token.error();
    return complete(f.id, o);
  }
  tokens_.store(f.resource(), *token, uv_now(loop_));
  startHead(f, withBearer(f.endpoint, token->token), true);
}

void DigestFetcher::complete(uint64_t id, const DigestObservation& observation) {
  fetches_.erase(id);
  callback_(id, observation);
}

}  // namespace switchyard::health
