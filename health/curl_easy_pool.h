// EasyPool: reset libcurl easy handles kept for reuse by a prober, because
// creating one per probe costs more than the probe (bench/RESULTS.md).
// Also the CONNECT_TO entry every prober uses to dial a replica's address
// while the URL (Host, SNI) carries its regional name.
// Thread safety: one pool per prober, used on its loop's thread.
#pragma once

#include <curl/curl.h>

#include <cstdint>
#include <string>
#include <vector>

namespace switchyard::health {

class EasyPool {
 public:
  EasyPool() = default;
  ~EasyPool() { clear(); }
  EasyPool(const EasyPool&) = delete;
  EasyPool& operator=(const EasyPool&) = delete;

  CURL* take() {
    if (idle_.empty()) return curl_easy_init();
    CURL* e = idle_.back();
    idle_.pop_back();
    return e;
  }
  // REQUIRES: `easy` is in no multi handle. Keeps it (reset) unless the pool
  // is full or `keep` is false.
  void give(CURL* easy, bool keep = true) {
    if (keep && idle_.size() < kMaxIdle) {
      curl_easy_reset(easy);
      idle_.push_back(easy);
    } else {
      curl_easy_cleanup(easy);
    }
  }
  void clear() {
    for (CURL* e : idle_) curl_easy_cleanup(e);
    idle_.clear();
  }

  static constexpr size_t kMaxIdle = 1024;

 private:
  std::vector<CURL*> idle_;
};

// "NAME:PORT:ADDRESS:PORT" (an IPv6 ADDRESS in brackets) for CURLOPT_CONNECT_TO.
inline std::string connectToEntry(const std::string& name, const std::string& port, const std::string& address) {
  bool v6 = address.find(':') != std::string::npos;
  return name + ":" + port + ":" + (v6 ? "[" + address + "]" : address) + ":" + port;
}

}  // namespace switchyard::health
