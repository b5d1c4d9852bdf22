// The PowerDNS Recursor flush's HTTP side against stand-in servers: the
// request it sends, how answers map to reasons, and that one deadline bounds
// the whole attempt even when the server trickles bytes (the real recursor
// is in integration/resolver_purge_test.cpp).
#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <chrono>
#include <string>
#include <thread>

#include <httplib.h>

#include "control/resolver_flush.h"

using namespace switchyard;
using namespace std::chrono_literals;

namespace {

policy::CachingResolver pdnsAt(const std::string& url) {
  policy::CachingResolver r;
  r.name = "pdns";
  r.type = policy::CachingResolver::Type::PdnsRecursor;
  r.url = url;
  r.api_key = "secret-key";
  return r;
}

// An httplib server on a free loopback port, stopped and joined on scope exit.
struct StandIn {
  httplib::Server server;
  int port = 0;
  std::thread thread;
  explicit StandIn(std::function<void(const httplib::Request&, httplib::Response&)> handler) {
    server.Put(".*", [handler](const httplib::Request& q, httplib::Response& a) { handler(q, a); });
    port = server.bind_to_any_port("127.0.0.1");
    REQUIRE(port > 0);
    thread = std::thread([this] { server.listen_after_bind(); });
  }
  ~StandIn() {
    server.stop();
    thread.join();
  }
};

}  // namespace

TEST_CASE("the recursor gets PUT cache/flush with the canonical name, its key and an empty body") {
  std::string method, path, domain, subtree, key, length;
  StandIn s([&](const httplib::Request& q, httplib::Response& a) {
    method = q.method;
    path = q.path;
    domain = q.get_param_value("domain");
    subtree = q.get_param_value("subtree");
    key = q.get_header_value("X-API-Key");
    length = q.get_header_value("Content-Length");
    a.set_content(R"({"count": 2, "result": "Flushed cache."})", "application/json");
  });
  // A host name, not an address: curl looks it up within the same deadline.
  auto r = pdnsAt("http://localhost:" + std::to_string(s.port));
  auto out = control::flushResolverCache(r, "myregistry.azurecr.io", false, 2000ms);
  INFO(out.detail);
  CHECK(out.ok);
  CHECK(method == "PUT");
  CHECK(path == "/api/v1/servers/localhost/cache/flush");
  CHECK(domain == "myregistry.azurecr.io.");
  CHECK(subtree.empty());
  CHECK(key == "secret-key");
  CHECK(length == "0");

  out = control::flushResolverCache(r, "azurecr.io", true, 2000ms);
  CHECK(out.ok);
  CHECK(domain == "azurecr.io.");
  CHECK(subtree == "true");
}

TEST_CASE("the recursor's answers map to reasons, and no reason's detail holds the key") {
  int status = 401;
  std::string body = R"({"error": "Unauthorized"})";
  StandIn s([&](const httplib::Request&, httplib::Response& a) {
    a.status = status;
    a.set_content(body, "application/json");
  });
  auto r = pdnsAt("http://127.0.0.1:" + std::to_string(s.port));
  auto out = control::flushResolverCache(r, "a.example.net", false, 2000ms);
  CHECK(out.reason == "auth");
  status = 422;
  body = R"({"error": "not canonical"})";
  out = control::flushResolverCache(r, "a.example.net", false, 2000ms);
  CHECK(out.reason == "refused");
  CHECK(out.detail.find("422") != std::string::npos);
  status = 200;
  body = "<html>a proxy's page</html>";
  out = control::flushResolverCache(r, "a.example.net", false, 2000ms);
  CHECK(out.reason == "protocol");
  CHECK(out.detail.find("secret-key") == std::string::npos);
}

TEST_CASE("a recursor that is not listening is a connect error at once") {
  // A port that was free a moment ago and has no listener now.
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in sin{};
  sin.sin_family = AF_INET;
  sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&sin), sizeof sin) == 0);
  socklen_t len = sizeof sin;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&sin), &len);
  int port = ntohs(sin.sin_port);
  ::close(fd);
  auto t = std::chrono::steady_clock::now();
  auto out = control::flushResolverCache(pdnsAt("http://127.0.0.1:" + std::to_string(port)), "a.example.net", false, 2000ms);
  CHECK(out.reason == "connect");
  CHECK(std::chrono::steady_clock::now() - t < 1s);
}

TEST_CASE("a recursor that trickles its answer a byte at a time is cut off at the deadline, not kept") {
  // Accepts, then sends a status line's bytes 200 ms apart for ever: every
  // read gets data in time, so only a whole-request deadline ends it.
  int listener = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  REQUIRE(listener >= 0);
  sockaddr_in sin{};
  sin.sin_family = AF_INET;
  sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::bind(listener, reinterpret_cast<sockaddr*>(&sin), sizeof sin) == 0);
  REQUIRE(::listen(listener, 4) == 0);
  socklen_t len = sizeof sin;
  ::getsockname(listener, reinterpret_cast<sockaddr*>(&sin), &len);
  std::atomic<bool> stop{false};
  std::thread trickle([&] {
    pollfd p{listener, POLLIN, 0};
    if (::poll(&p, 1, 3000) != 1) return;
    int c = ::accept(listener, nullptr, nullptr);
    const std::string head = "HTTP/1.1 200 OK\r\nX-Padding: " + std::string(200, 'x');
    for (size_t i = 0; !stop && i < head.size(); ++i) {
      if (::send(c, &head[i], 1, MSG_NOSIGNAL) != 1) break;
      std::this_thread::sleep_for(200ms);
    }
    ::close(c);
  });
  auto t = std::chrono::steady_clock::now();
  auto out = control::flushResolverCache(pdnsAt("http://127.0.0.1:" + std::to_string(ntohs(sin.sin_port))),
                                         "a.example.net", false, 1000ms);
  auto took = std::chrono::steady_clock::now() - t;
  stop = true;
  trickle.join();
  ::close(listener);
  CHECK_FALSE(out.ok);
  CHECK(out.reason == "timeout");
  CHECK(took < 1500ms);
}

TEST_CASE("an https recursor is trusted through ca_file, and refused as tls without it") {
  std::string dir = "/tmp/switchyard-flush-tls-" + std::to_string(::getpid());
  std::string make = "mkdir -p " + dir + " && cd " + dir +
                     " && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout key.pem"
                     " -out cert.pem -days 2 -subj /CN=localhost -addext subjectAltName=DNS:localhost 2>/dev/null";
  REQUIRE(std::system(make.c_str()) == 0);
  httplib::SSLServer server((dir + "/cert.pem").c_str(), (dir + "/key.pem").c_str());
  REQUIRE(server.is_valid());
  server.Put(".*", [](const httplib::Request&, httplib::Response& a) { a.set_content(R"({"count": 1})", "application/json"); });
  int port = server.bind_to_any_port("127.0.0.1");
  REQUIRE(port > 0);
  std::thread t([&] { server.listen_after_bind(); });
  auto r = pdnsAt("https://localhost:" + std::to_string(port));
  auto untrusted = control::flushResolverCache(r, "a.example.net", false, 2000ms);
  r.ca_file = dir + "/cert.pem";
  auto trusted = control::flushResolverCache(r, "a.example.net", false, 2000ms);
  server.stop();
  t.join();
  std::filesystem::remove_all(dir);
  CHECK(untrusted.reason == "tls");
  INFO(trusted.detail);
  CHECK(trusted.ok);
}
