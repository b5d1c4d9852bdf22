#include "tests/support/test_http_server.h"

#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <stdexcept>
#include <random>
#include <vector>

#include "tests/support/daemon_process.h"

namespace switchyard::test {

namespace {
sockaddr_in toSockaddr(const SocketAddress& a) {
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(a.port);
  std::memcpy(&sa.sin_addr, a.address.bytes.data(), 4);
  return sa;
}
}  // namespace

TestHttpServer::TestHttpServer(const SocketAddress& address) : address_(address) {
  openListener();
  if (listen_fd_ < 0) throw std::runtime_error("cannot bind test server on " + address.toString());
  thread_ = std::thread([this] { run(); });
}

TestHttpServer::~TestHttpServer() {
  stop_ = true;
  thread_.join();
  closeListener();
}

void TestHttpServer::openListener() {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in sa = toSockaddr(address_);
  if (bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0 || listen(fd, 64) != 0) {
    close(fd);
    return;
  }
  socklen_t len = sizeof sa;
  getsockname(fd, reinterpret_cast<sockaddr*>(&sa), &len);
  address_.port = ntohs(sa.sin_port);
  listen_fd_ = fd;
}

void TestHttpServer::closeListener() {
  int fd = listen_fd_.exchange(-1);
  if (fd >= 0) close(fd);
}

void TestHttpServer::setMode(Mode mode) {
  mode_ = mode;
}

void TestHttpServer::respondToManifests(int status, const std::string& digest) {
  std::lock_guard<std::mutex> lock(mutex_);
  manifest_status_ = status;
  manifest_digest_ = digest;
}

std::string TestHttpServer::lastHost() {
  std::lock_guard<std::mutex> lock(mutex_);
  return last_host_;
}

std::string TestHttpServer::lastRequest() {
  std::lock_guard<std::mutex> lock(mutex_);
  return last_request_;
}

void TestHttpServer::run() {
  std::vector<int> held;  // connections left hanging
  while (!stop_) {
    Mode mode = mode_;
    if (mode == Mode::Refuse && listen_fd_ >= 0) closeListener();
    if (mode != Mode::Refuse && listen_fd_ < 0) openListener();
    if (mode != Mode::Hang) {
      for (int fd : held) close(fd);
      held.clear();
    }
    int lfd = listen_fd_;
    if (lfd < 0) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
      continue;
    }
    pollfd p{lfd, POLLIN, 0};
    if (poll(&p, 1, 20) != 1) continue;
    int c = accept4(lfd, nullptr, nullptr, SOCK_CLOEXEC);
    if (c < 0) continue;
    // Read the request head (bounded: 1 s, 8 KiB).
    std::string req;
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(1);
    while (req.find("\r\n\r\n") == std::string::npos && req.size() < 8192 &&
           std::chrono::steady_clock::now() < deadline) {
      pollfd cp{c, POLLIN, 0};
      if (poll(&cp, 1, 50) != 1) continue;
      char buf[2048];
      ssize_t n = recv(c, buf, sizeof buf, 0);
      if (n <= 0) break;
      req.append(buf, static_cast<size_t>(n));
    }
    ++requests_;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      last_request_ = req;
      auto h = req.find("\r\nHost: ");
      if (h != std::string::npos) last_host_ = req.substr(h + 8, req.find("\r\n", h + 8) - h - 8);
    }
    mode = mode_;
    if (mode == Mode::Hang) {
      held.push_back(c);
      continue;
    }
    if (mode == Mode::Reset) {
      linger l{1, 0};
      setsockopt(c, SOL_SOCKET, SO_LINGER, &l, sizeof l);
    } else if (mode == Mode::Status) {
      int status = status_.load();
      std::string extra;
      {
        std::lock_guard<std::mutex> lock(mutex_);
        size_t line_end = req.find("\r\n");
        if (manifest_status_ && req.substr(0, line_end).find("/manifests/") != std::string::npos) {
          status = manifest_status_;
          if (!manifest_digest_.empty()) extra = "Docker-Content-Digest: " + manifest_digest_ + "\r\n";
        }
      }
      std::string resp = "HTTP/1.1 " + std::to_string(status) + " X\r\n" + extra +
                         "Content-Length: 0\r\nConnection: close\r\n\r\n";
      send(c, resp.data(), resp.size(), MSG_NOSIGNAL);
    } else if (mode == Mode::Garbage) {
      std::string resp = "SSH-2.0-OpenSSH_9.2\r\n";
      send(c, resp.data(), resp.size(), MSG_NOSIGNAL);
    }
    close(c);
  }
  for (int fd : held) close(fd);
}

std::vector<std::unique_ptr<TestHttpServer>> serversOnOnePort(int n) {
  std::mt19937 rng{std::random_device{}()};
  for (int attempt = 0; attempt < 50; ++attempt) {
    std::vector<std::unique_ptr<TestHttpServer>> out;
    try {
      out.push_back(std::make_unique<TestHttpServer>(freeLoopback()));
      while (static_cast<int>(out.size()) < n)
        out.push_back(std::make_unique<TestHttpServer>(SocketAddress{
            IpAddress::v4(127, static_cast<uint8_t>(1 + rng() % 254), static_cast<uint8_t>(1 + rng() % 254),
                          static_cast<uint8_t>(1 + rng() % 254)),
            out[0]->address().port}));
      return out;
    } catch (const std::exception&) {
      continue;  // an address or the port was taken: another draw
    }
  }
  throw std::runtime_error("could not place test servers");
}

}  // namespace switchyard::test
