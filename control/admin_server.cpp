#include "control/admin_server.h"

#include <httplib.h>

#include <nlohmann/json.hpp>

namespace switchyard::control {

AdminServer::AdminServer(const Readiness& readiness)
    : readiness_(readiness), server_(std::make_unique<httplib::Server>()) {
  server_->Get("/healthz", [](const httplib::Request&, httplib::Response& res) {
    res.set_content(R"({"status":"ok"})", "application/json");
  });
  server_->Get("/readyz", [this](const httplib::Request&, httplib::Response& res) {
    bool round = readiness_.health_round_done.load();
    bool dns = readiness_.dns_serving.load();
    nlohmann::json body{{"ready", round && dns}, {"healthRoundDone", round}, {"dnsServing", dns}};
    res.status = round && dns ? 200 : 503;
    res.set_content(body.dump(), "application/json");
  });
}

AdminServer::~AdminServer() { stop(); }

Result<bool> AdminServer::start(const SocketAddress& a) {
  std::string host = a.address.toString();
  if (a.port == 0) {
    int port = server_->bind_to_any_port(host);
    if (port < 0) return makeError("admin: cannot bind " + a.toString());
    port_ = static_cast<uint16_t>(port);
  } else {
    if (!server_->bind_to_port(host, a.port)) return makeError("admin: cannot bind " + a.toString());
    port_ = a.port;
  }
  thread_ = std::thread([this] { server_->listen_after_bind(); });
  return true;
}

void AdminServer::stop() {
  if (!thread_.joinable()) return;
  server_->stop();
  thread_.join();
}

}  // namespace switchyard::control
