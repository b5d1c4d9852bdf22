#include "health/digest_fetcher.h"

namespace switchyard::health {

DigestFetcher::DigestFetcher(uv_loop_t* loop, Callback callback)
    : callback_(std::move(callback)), multi_(loop, [this](CURL* easy, CURLcode code) { done(easy, code); }) {}

DigestFetcher::~DigestFetcher() { close(); }

void DigestFetcher::close() {
  if (closed_) return;
  closed_ = true;
  while (!fetches_.empty()) cancel(fetches_.begin()->first);
  multi_.close();
}

uint64_t DigestFetcher::start(const RegistryEndpoint& endpoint, const policy::Canary& canary, long timeout_ms) {
  uint64_t id = next_id_++;
  CURL* easy = curl_easy_init();
  auto head = std::make_unique<ManifestHead>(easy, endpoint, canary, timeout_ms);
  curl_easy_setopt(easy, CURLOPT_PRIVATE, reinterpret_cast<void*>(static_cast<uintptr_t>(id)));
  fetches_.emplace(id, std::move(head));
  multi_.add(easy);
  return id;
}

void DigestFetcher::cancel(uint64_t id) {
  auto it = fetches_.find(id);
  if (it == fetches_.end()) return;
  CURL* easy = it->second->easy();
  multi_.remove(easy);
  fetches_.erase(it);  // frees the header lists the handle pointed to
  curl_easy_cleanup(easy);
}

void DigestFetcher::done(CURL* easy, CURLcode code) {
  void* priv = nullptr;
  curl_easy_getinfo(easy, CURLINFO_PRIVATE, &priv);
  auto id = static_cast<uint64_t>(reinterpret_cast<uintptr_t>(priv));
  auto it = fetches_.find(id);
  if (it == fetches_.end()) return;
  DigestObservation observation = it->second->finish(code);
  cancel(id);
  callback_(id, observation);
}

}  // namespace switchyard::health
