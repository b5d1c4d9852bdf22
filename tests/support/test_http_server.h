// A controllable HTTP server for health tests: on a loopback address it
// answers every request with a chosen status, or misbehaves on purpose (hang,
// reset, close without answer, refuse connections, answer with garbage). Mode changes apply to the
// next connection. Runs on its own thread; every wait is bounded.
// In Status mode, manifest requests (a path with "/manifests/") can get their
// own answer: a status and a Docker-Content-Digest, as a registry replica
// serving a canary would (respondToManifests).
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "common/ip_address.h"

namespace switchyard::test {

class TestHttpServer {
 public:
  enum class Mode { Status, Hang, Reset, Close, Refuse, Garbage };

  // Binds `address` (port may be 0). Throws if it cannot.
  explicit TestHttpServer(const SocketAddress& address);
  ~TestHttpServer();

  void respond(int status) {
    status_ = status;
    setMode(Mode::Status);
  }
  void setMode(Mode mode);
  // Manifest requests get `status` and, when not empty, `digest` as
  // Docker-Content-Digest; status 0 answers them like every other request.
  void respondToManifests(int status, const std::string& digest = "");
  const SocketAddress& address() const { return address_; }
  int requests() const { return requests_.load(); }
  std::string lastHost();
  std::string lastRequest();  // the last request head, as received

 private:
  void run();
  void openListener();
  void closeListener();

  SocketAddress address_;
  std::atomic<Mode> mode_{Mode::Status};
  std::atomic<int> status_{200};
  std::atomic<int> requests_{0};
  std::atomic<bool> stop_{false};
  std::atomic<int> listen_fd_{-1};
  std::mutex mutex_;
  std::string last_host_;
  std::string last_request_;
  int manifest_status_ = 0;  // guarded by mutex_, with manifest_digest_
  std::string manifest_digest_;
  std::thread thread_;
};

// `n` servers on distinct random 127.x addresses sharing one port (the probe
// port is per registry, so a registry's replicas must share it).
std::vector<std::unique_ptr<TestHttpServer>> serversOnOnePort(int n);

}  // namespace switchyard::test
