// AdminServer: the HTTP listener on `listen.admin`.
//
//   GET /healthz, GET /readyz, GET /metrics   no authentication
//   GET /, /status, /status/*            the status page (static; no data)
//   /v1/...                                    Authorization: Bearer TOKEN
// With admin.tls the listener speaks only HTTPS (TLS 1.2+, tls_identity.h).
// cpp-httplib runs the listener and its worker threads, isolated from the DNS
// workers. A /v1 call is authenticated on the HTTP thread, then handed to the
// control thread (`Dispatch`), which owns all routing state; the HTTP thread
// waits for the answer (bounded: a control thread that does not answer in
// 10 s gets a 503, never a hung client).
// Request bodies: only an authorized POST or PATCH under /v1 may send one,
// at most kMaxBodyBytes in any form (Content-Length or chunked); anything
// else is refused before a byte of its body is read, and every connection
// serves one request (docs/security.md). Query parameters a call does not
// read are a 400, and never replace a path parameter.
// Thread safety: start()/stop()/setToken() from the control thread;
// handlers run on httplib's threads.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include <nlohmann/json.hpp>

#include "common/ip_address.h"
#include "common/result.h"

namespace httplib {
class Server;
struct Request;
}

namespace switchyard::control {

struct Readiness {
  std::atomic<bool> health_round_done{false};
  std::atomic<bool> dns_serving{false};
  std::atomic<int> fleet{-1};  // -1: not in a fleet; 0: etcd lost (serving the last table); 1: connected
};

struct ApiRequest {
  std::string method;
  std::string path;
  std::map<std::string, std::string> params;  // path parameters and query
  std::string body;
};

struct ApiResponse {
  int status = 200;
  nlohmann::json body;
};
ApiResponse apiError(int status, const std::string& message);

// Runs `request` on the control thread and eventually calls `reply` there
// (possibly later, e.g. after a state write). Called on an HTTP thread.
using Dispatch = std::function<void(ApiRequest request, std::function<void(ApiResponse)> reply)>;
// Renders /metrics; called on an HTTP thread.
using MetricsRenderer = std::function<std::string()>;

// How long POST /v1/reload waits for the reload to end (switchyardctl's
// reload waits as long).
inline constexpr int kReloadWaitSeconds = 300;
// Threads serving admin connections (httplib's default on up to 9 cores).
inline constexpr size_t kAdminThreads = 8;
// Connections the kernel holds for the listener thread (nginx's 511; capped
// by net.core.somaxconn).
inline constexpr int kAdminBacklog = 511;
// The largest request body the API reads (every valid one is under 1 KiB).
inline constexpr size_t kMaxBodyBytes = 64 * 1024;

class TlsIdentity;

class AdminServer {
 public:
  // `tls` (may be null: plain HTTP) serves HTTPS with that identity.
  AdminServer(const Readiness& readiness, Dispatch dispatch, MetricsRenderer metrics,
              std::shared_ptr<TlsIdentity> tls = nullptr);
  ~AdminServer();
  Result<bool> start(const SocketAddress& address);
  void stop();
  uint16_t port() const { return port_; }
  // Empty: every /v1 call is refused (no admin.token_file configured).
  void setToken(std::string token);

 private:
  // `names`: the path captures; `query`: the query parameters the call reads
  // (any other is a 400); `wait`: how long the HTTP thread waits for the
  // control loop's answer.
  void route(const char* method, const std::string& pattern, std::vector<std::string> names,
             std::vector<std::string> query = {}, std::chrono::seconds wait = std::chrono::seconds(10));
  // Refuses request bodies before they are read (see the .cpp).
  void guardBodies();
  // Why `req` may not send its body (nullopt: it may, bounded by its route).
  std::optional<ApiResponse> refuseBody(const httplib::Request& req);
  bool authorized(const std::string& header, std::string& why);

  const Readiness& readiness_;
  Dispatch dispatch_;
  MetricsRenderer metrics_;
  std::shared_ptr<TlsIdentity> tls_;  // outlives server_ (its SSL_CTX calls into it)
  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
  uint16_t port_ = 0;
  std::mutex token_mutex_;
  std::string token_;  // GUARDED_BY(token_mutex_)
};

}  // namespace switchyard::control
