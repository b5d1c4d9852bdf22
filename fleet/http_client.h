// HttpClient: asynchronous HTTP/1.1 requests on one libuv loop (libcurl's
// multi interface through common/curl_multi.h), for the fleet's etcd client:
// ordinary request/response calls and long-lived streams (etcd's watch),
// whose body arrives chunk by chunk.
//
// Thread safety: every method and callback runs on the loop's thread.
// Invariants:
//   1. Every sent request ends in exactly one `done` call, unless cancelled
//      (cancel() and close() never call back).
//   2. A streaming request delivers its body only through on_chunk; its
//      response body is empty.
#pragma once

#include <uv.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/curl_multi.h"

namespace switchyard::fleet {

struct HttpRequest {
  std::string method = "GET";
  std::string url;
  std::string body;
  std::vector<std::string> headers;  // "Name: value"
  std::chrono::milliseconds timeout{5000};          // whole request; 0 = none (streams)
  std::chrono::milliseconds connect_timeout{2000};
  // Set: a stream. Called with each piece of the body as it arrives; return
  // false to stop (the request then ends with error "stopped").
  std::function<bool(std::string_view chunk)> on_chunk;
};

struct HttpResponse {
  int status = 0;      // 0 when there was no HTTP answer
  std::string body;
  std::string error;   // transport error ("" when an HTTP answer came)
  bool ok() const { return error.empty() && status >= 200 && status < 300; }
};

class HttpClient {
 public:
  using Done = std::function<void(HttpResponse)>;

  // REQUIRES: curl_global_init() was called before any thread started.
  explicit HttpClient(uv_loop_t* loop);
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // Returns the request's id (for cancel()).
  uint64_t send(HttpRequest request, Done done);
  void cancel(uint64_t id);
  // Cancels everything and closes the loop handles; call before the loop ends.
  void close();
  size_t inFlight() const { return requests_.size(); }

 private:
  struct Transfer;
  static size_t onWrite(char* data, size_t size, size_t n, void* userp);
  void finished(CURL* easy, CURLcode code);

  CurlMulti multi_;
  bool closed_ = false;
  uint64_t next_id_ = 1;
  std::unordered_map<uint64_t, Transfer*> requests_;
};

}  // namespace switchyard::fleet
