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
//   3. add() and remove() work from anywhere on the loop's thread, curl's own
//      callbacks included (a stream's chunk handler that starts a request or
//      cancels one): libcurl refuses both there (CURLM_RECURSIVE_API_CALL,
//      the transfer silently never runs), so inside curl_multi_socket_action
//      they are queued and done as soon as it returns.
#pragma once

#include <curl/curl.h>
#include <uv.h>

#include <functional>
#include <utility>
#include <vector>

namespace switchyard {

class CurlMulti {
 public:
  using Done = std::function<void(CURL* easy, CURLcode result)>;

  // REQUIRES: curl_global_init() was called before any thread started.
  CurlMulti(uv_loop_t* loop, Done on_done);
  ~CurlMulti();
  CurlMulti(const CurlMulti&) = delete;
  CurlMulti& operator=(const CurlMulti&) = delete;

  void add(CURL* easy);
  // Takes the transfer out of curl, then calls `release` (which may free the
  // easy handle and what its callbacks use): at once, or, inside a curl
  // callback, once curl has returned (invariant 3).
  void remove(CURL* easy, std::function<void()> release = {});
  // Closes the timer; remove every transfer first. Call before the loop ends.
  void close();
  uv_loop_t* loop() const { return loop_; }

 private:
  static int onSocket(CURL* easy, curl_socket_t s, int action, void* userp, void* socketp);
  static int onTimer(CURLM* multi, long timeout_ms, void* userp);
  static void onPoll(uv_poll_t* handle, int status, int events);
  static void onTimeout(uv_timer_t* timer);
  void drain();
  void act(curl_socket_t fd, int flags);
  void flushDeferred();

  uv_loop_t* loop_;
  Done on_done_;
  CURLM* multi_ = nullptr;
  uv_timer_t timer_{};
  bool closed_ = false;
  bool acting_ = false;  // inside curl_multi_socket_action (invariant 3)
  std::vector<CURL*> deferred_adds_;
  std::vector<std::pair<CURL*, std::function<void()>>> deferred_removes_;
};

}  // namespace switchyard
