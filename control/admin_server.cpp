#include "control/admin_server.h"

#include "common/thread_name.h"
#include "control/admin_task_queue.h"
#include "control/status_page.h"
#include "control/tls_identity.h"

#include <httplib.h>
#include <sys/socket.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <future>

namespace switchyard::control {

ApiResponse apiError(int status, const std::string& message) { return {status, {{"error", message}}}; }

namespace {

void send(httplib::Response& res, const ApiResponse& r) {
  res.status = r.status;
  res.set_content(r.body.dump(), "application/json");
}

// Constant-time comparison: the token must not leak through timing.
bool sameToken(const std::string& a, const std::string& b) {
  unsigned char diff = a.size() == b.size() ? 0 : 1;
  for (size_t i = 0; i < a.size(); ++i) diff |= static_cast<unsigned char>(a[i] ^ b[i % (b.empty() ? 1 : b.size())]);
  return diff == 0 && !b.empty();
}

}  // namespace

namespace {

std::unique_ptr<httplib::Server> makeServer(const std::shared_ptr<TlsIdentity>& tls) {
  if (!tls) return std::make_unique<httplib::Server>();
  TlsIdentity* identity = tls.get();
  return std::make_unique<httplib::SSLServer>([identity](SSL_CTX& ctx) { return identity->configure(ctx); });
}

}  // namespace

AdminServer::AdminServer(const Readiness& readiness, Dispatch dispatch, MetricsRenderer metrics,
                         std::shared_ptr<TlsIdentity> tls)
    : readiness_(readiness),
      dispatch_(std::move(dispatch)),
      metrics_(std::move(metrics)),
      tls_(std::move(tls)),
      server_(makeServer(tls_)) {
  server_->Get("/healthz", [](const httplib::Request&, httplib::Response& res) {
    res.set_content(R"({"status":"ok"})", "application/json");
  });
  server_->Get("/readyz", [this](const httplib::Request&, httplib::Response& res) {
    bool round = readiness_.health_round_done.load();
    bool dns = readiness_.dns_serving.load();
    nlohmann::json body{{"ready", round && dns}, {"healthRoundDone", round}, {"dnsServing", dns}};
    // A node that lost etcd still serves its last table, so it stays ready;
    // it says so here and in switchyard_fleet_connected.
    if (int fleet = readiness_.fleet.load(); fleet >= 0) body["fleet"] = fleet ? "connected" : "disconnected";
    send(res, {round && dns ? 200 : 503, body});
  });
  server_->Get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
    res.set_content(metrics_ ? metrics_() : "", "text/plain; version=0.0.4; charset=utf-8");
  });
  // The status page: static files, no data, no token (the page asks for it).
  for (const auto& asset : statusPageAssets()) {
    server_->Get(std::string(asset.path), [&asset](const httplib::Request&, httplib::Response& res) {
      res.set_content(asset.body.data(), asset.body.size(), std::string(asset.content_type) + "; charset=utf-8");
      res.set_header("Cache-Control", "no-cache");
      res.set_header("Content-Security-Policy", "default-src 'self'; frame-ancestors 'none'");
      res.set_header("X-Content-Type-Options", "nosniff");
    });
  }
  server_->Get("/", [](const httplib::Request&, httplib::Response& res) { res.set_redirect("/status"); });
  // Each call names its path parameters and the query parameters it reads;
  // any other query parameter is a 400 (a query can never stand in for a
  // path capture: a proxy's path rule and the audit log name the target).
  route("GET", R"(/v1/registries)", {});
  route("GET", R"(/v1/registries/([^/]+)/replications)", {"registry"});
  route("PATCH", R"(/v1/registries/([^/]+)/replications/([^/]+))", {"registry", "region"});
  // The runtime catalog (control/catalog.h): registries and replicas made through the API.
  route("POST", R"(/v1/registries:batch)", {});
  route("PUT", R"(/v1/registries/([^/]+))", {"registry"});
  route("DELETE", R"(/v1/registries/([^/]+))", {"registry"});
  route("GET", R"(/v1/registries/([^/]+))", {"registry"});
  route("PUT", R"(/v1/registries/([^/]+)/replications/([^/]+))", {"registry", "region"});
  route("DELETE", R"(/v1/registries/([^/]+)/replications/([^/]+))", {"registry", "region"});
  route("POST", R"(/v1/registries/([^/]+)/replications/([^/]+)/fault)", {"registry", "region"});
  route("GET", R"(/v1/registries/([^/]+)/endpoints)", {"registry"});
  route("GET", R"(/v1/registries/([^/]+)/routing)", {"registry"}, {"client"});
  route("GET", R"(/v1/events)", {}, {"since"});
  // A reload parses on a work thread and rebuilds on the loop: seconds at
  // 100k registries, so its caller may wait longer than for anything else.
  route("POST", R"(/v1/reload)", {}, {}, std::chrono::seconds(kReloadWaitSeconds));
  route("GET", R"(/v1/status)", {}, {"limit"});
  route("GET", R"(/v1/resolvers)", {});
  route("GET", R"(/v1/drills)", {});
  route("POST", R"(/v1/drills)", {});
  route("GET", R"(/v1/drills/([^/]+))", {"drill"});
  route("POST", R"(/v1/drills/([^/]+)/abort)", {"drill"});
  // Anything else under /v1 is a JSON 404, not httplib's HTML. POST and
  // PATCH take the content-reader form so an unknown path never reads a body.
  auto unknown = [](const httplib::Request& req, httplib::Response& res) {
    send(res, apiError(404, "no such API call: " + req.method + " " + req.path));
  };
  auto unknown_with_body = [unknown](const httplib::Request& req, httplib::Response& res,
                                     const httplib::ContentReader&) { unknown(req, res); };
  server_->Get(R"(/v1/.*)", unknown);
  server_->Post(R"(/v1/.*)", unknown_with_body);
  server_->Patch(R"(/v1/.*)", unknown_with_body);
  server_->Put(R"(/v1/.*)", unknown_with_body);
  server_->Delete(R"(/v1/.*)", unknown_with_body);
  guardBodies();
}

void AdminServer::guardBodies() {
  // httplib reads a request's whole body before routing to a plain handler,
  // and bounds only Content-Length bodies (not chunked ones): a stranger
  // could fill memory. So every body is judged here, before a byte of it is
  // read: only an authorized POST, PATCH, PUT or DELETE under /v1 may carry one, and it
  // is read by the route, at most kMaxBodyBytes. Anything refused leaves its
  // body unread; the connection then closes (one request per connection:
  // httplib cannot close a kept-alive one early, and the next request would
  // be parsed from the body's bytes).
  server_->set_payload_max_length(kMaxBodyBytes);
  server_->set_keep_alive_max_count(1);
  // And no connection reads more than kAdminReadBudget, head included
  // (httplib reads request lines and headers unbounded: read_budget.h).
  server_->new_task_queue = [] { return new AdminTaskQueue(kAdminThreads); };
  server_->set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
    auto refused = refuseBody(req);
    if (!refused) return httplib::Server::HandlerResponse::Unhandled;  // the route reads it, bounded
    send(res, *refused);
    return httplib::Server::HandlerResponse::Handled;
  });
  // A client that asks first (Expect: 100-continue, as curl does for large
  // bodies) is told no before it sends the body at all.
  server_->set_expect_100_continue_handler([this](const httplib::Request& req, httplib::Response& res) {
    auto refused = refuseBody(req);
    if (!refused) return 100;
    send(res, *refused);
    return refused->status;
  });
}

std::optional<ApiResponse> AdminServer::refuseBody(const httplib::Request& req) {
  bool chunked = req.has_header("Transfer-Encoding");
  std::string length = req.get_header_value("Content-Length");
  if (!chunked && (length.empty() || length == "0")) return std::nullopt;
  bool takes_body = (req.method == "POST" || req.method == "PATCH" || req.method == "PUT" || req.method == "DELETE") &&
                    req.path.rfind("/v1/", 0) == 0;
  std::string why;
  if (!takes_body) return apiError(400, req.method + " " + req.path + " takes no request body");
  if (!authorized(req.get_header_value("Authorization"), why)) return apiError(401, why);
  if (!chunked) {
    bool digits = !length.empty() && length.size() <= 12 &&
                  std::all_of(length.begin(), length.end(), [](unsigned char ch) { return std::isdigit(ch) != 0; });
    if (!digits) return apiError(400, "Content-Length is not a number: '" + length + "'");
    if (std::stoull(length) > kMaxBodyBytes)
      return apiError(413, "the request body is larger than " + std::to_string(kMaxBodyBytes) + " bytes");
  }
  return std::nullopt;
}

AdminServer::~AdminServer() { stop(); }

void AdminServer::setToken(std::string token) {
  std::lock_guard<std::mutex> lock(token_mutex_);
  token_ = std::move(token);
}

bool AdminServer::authorized(const std::string& header, std::string& why) {
  std::string token;
  {
    std::lock_guard<std::mutex> lock(token_mutex_);
    token = token_;
  }
  if (token.empty()) {
    why = "the admin API is disabled: no admin.token_file is configured";
    return false;
  }
  static const std::string kBearer = "Bearer ";
  if (header.compare(0, kBearer.size(), kBearer) != 0) {
    why = "missing 'Authorization: Bearer TOKEN' header";
    return false;
  }
  if (!sameToken(header.substr(kBearer.size()), token)) {
    why = "invalid token";
    return false;
  }
  return true;
}

void AdminServer::route(const char* method, const std::string& pattern, std::vector<std::string> names,
                        std::vector<std::string> query, std::chrono::seconds wait) {
  auto serve = [this, method, names, query, wait](const httplib::Request& req, httplib::Response& res,
                                                   std::string body) {
    ApiRequest api{method, req.path, {}, std::move(body)};
    for (const auto& [k, v] : req.params) {
      if (std::find(query.begin(), query.end(), k) != query.end()) {
        api.params[k] = v;
        continue;
      }
      std::string allowed;
      for (const auto& q : query) allowed += (allowed.empty() ? "" : ", ") + q;
      ApiResponse bad = apiError(400, "unknown query parameter '" + k + "' for " + std::string(method) + " " +
                                          req.path + (allowed.empty() ? " (it takes none)" : " (it takes: " + allowed + ")"));
      bad.body["field"] = k;
      return send(res, bad);
    }
    // Path captures last: nothing in the query can replace them.
    for (size_t i = 0; i < names.size() && i + 1 < req.matches.size(); ++i) api.params[names[i]] = req.matches[i + 1];
    // Only the reply callback holds the promise: a call the stopping loop
    // drops breaks it, and this thread answers 503 at once.
    auto promise = std::make_shared<std::promise<ApiResponse>>();
    auto future = promise->get_future();
    dispatch_(std::move(api), [promise = std::move(promise)](ApiResponse r) { promise->set_value(std::move(r)); });
    if (future.wait_for(wait) != std::future_status::ready) {
      send(res, apiError(503, "the control thread did not answer in " + std::to_string(wait.count()) + " s"));
      return;
    }
    try {
      send(res, future.get());
    } catch (const std::future_error&) {
      send(res, apiError(503, "switchyard is stopping"));
    }
  };
  std::string m = method;
  if (m == "GET") {
    server_->Get(pattern, [this, serve](const httplib::Request& req, httplib::Response& res) {
      std::string why;
      if (!authorized(req.get_header_value("Authorization"), why)) return send(res, apiError(401, why));
      serve(req, res, "");
    });
    return;
  }
  // POST and PATCH read their body themselves: after the token check (a
  // stranger never gets to send one), bounded in size, and not at all when
  // the request declares none. (httplib would otherwise wait for the peer to
  // close before routing a body-less POST, as `curl -X POST` sends, and
  // answer an empty 400 after its 5 s read timeout.)
  auto handler = [this, serve](const httplib::Request& req, httplib::Response& res,
                               const httplib::ContentReader& content) {
    std::string why;
    if (!authorized(req.get_header_value("Authorization"), why)) return send(res, apiError(401, why));
    std::string body;
    if (req.has_header("Content-Length") || req.has_header("Transfer-Encoding")) {
      bool too_large = false;
      content([&](const char* data, size_t n) {
        if (body.size() + n > kMaxBodyBytes) {
          too_large = true;
          return false;
        }
        body.append(data, n);
        return true;
      });
      if (too_large)
        return send(res, apiError(413, "the request body is larger than " + std::to_string(kMaxBodyBytes) + " bytes"));
    }
    serve(req, res, std::move(body));
  };
  if (m == "POST") server_->Post(pattern, handler);
  else if (m == "PATCH") server_->Patch(pattern, handler);
  else if (m == "PUT") server_->Put(pattern, handler);
  else if (m == "DELETE") server_->Delete(pattern, handler);
}

Result<bool> AdminServer::start(const SocketAddress& a) {
  if (!server_->is_valid()) return makeError("admin: cannot set up TLS (OpenSSL refused the context)");
  std::string host = a.address.toString();
  int listen_fd = -1;
  server_->set_socket_options([&listen_fd](socket_t fd) {
    httplib::default_socket_options(fd);
    listen_fd = fd;  // the last one made is the one bound
  });
  if (a.port == 0) {
    int port = server_->bind_to_any_port(host);
    if (port < 0) return makeError("admin: cannot bind " + a.toString());
    port_ = static_cast<uint16_t>(port);
  } else {
    if (!server_->bind_to_port(host, a.port)) return makeError("admin: cannot bind " + a.toString());
    port_ = a.port;
  }
  // httplib listens with a backlog of 5 (compiled into Debian's libcpp-httplib,
  // so its macro cannot change it): a few scrapers hammering /metrics on a busy
  // machine overflowed it, the kernel dropped an operator's SYN and the PATCH
  // waited a second for the resend. listen() again on a listening socket sets
  // the new backlog.
  if (listen_fd < 0 || ::listen(listen_fd, kAdminBacklog) != 0)
    return makeError("admin: cannot listen on " + a.toString() + " with a backlog of " + std::to_string(kAdminBacklog));
  server_->set_socket_options(httplib::default_socket_options);  // the lambda above points into this frame
  thread_ = std::thread([this] {
    nameThisThread("sy-admin");
    server_->listen_after_bind();
  });
  return true;
}

void AdminServer::stop() {
  if (!thread_.joinable()) return;
  server_->stop();
  thread_.join();
}

}  // namespace switchyard::control
