// CurlMulti: libcurl's multi-socket interface driven by one libuv loop: curl
// says which sockets to watch and when to time out; libuv watches them. Any
// number of transfers in flight on the loop's thread, no thread per transfer.
// Shared by the prober (health/curl_prober.h) and the fleet's HTTP client
// (fleet/http_client.h).
//
// Thread safety: every method and callback runs on the loop's thread.
// Invariants:
//   1. Each curl socket has at most one uv_poll_t, owned through
//      curl_multi_assign and freed when curl says CURL_POLL_REMOVE.
//   2. on_done is called once per finished transfer, after curl is done with
//      it; the callee may remove (and free) the easy handle.
#pragma once

#include <curl/curl.h>
#include <uv.h>

#include <functional>

namespace switchyard {

class CurlMulti {
 public:
  using Done = std::function<void(CURL* easy, CURLcode result)>;

  // REQUIRES: curl_global_init() was called before any thread started.
  CurlMulti(uv_loop_t* loop, Done on_done);
  ~CurlMulti();
  CurlMulti(const CurlMulti&) = delete;
  CurlMulti& operator=(const CurlMulti&) = delete;

  void add(CURL* easy) { curl_multi_add_handle(multi_, easy); }
  void remove(CURL* easy) { curl_multi_remove_handle(multi_, easy); }
  // Closes the timer; remove every transfer first. Call before the loop ends.
  void close();
  uv_loop_t* loop() const { return loop_; }

 private:
  static int onSocket(CURL* easy, curl_socket_t s, int action, void* userp, void* socketp);
  static int onTimer(CURLM* multi, long timeout_ms, void* userp);
  static void onPoll(uv_poll_t* handle, int status, int events);
  static void onTimeout(uv_timer_t* timer);
  void drain();

  uv_loop_t* loop_;
  Done on_done_;
  CURLM* multi_ = nullptr;
  uv_timer_t timer_{};
  bool closed_ = false;
};

}  // namespace switchyard
