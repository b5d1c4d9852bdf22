// Prober against real HTTP servers on loopback: every outcome class, and a
// hung target that does not delay the others. The outcome cases run twice,
// once on the plain libuv prober and once with libcurl for everything, so the
// two classify every outcome the same way.
#include <catch2/catch.hpp>

#include <uv.h>

#include <chrono>
#include <map>

#include "health/prober.h"
#include "tests/support/daemon_process.h"
#include "tests/support/test_http_server.h"

using namespace switchyard;
using namespace switchyard::health;
using test::TestHttpServer;

namespace {

ProbeTarget target(const SocketAddress& a, policy::ProbeScheme scheme = policy::ProbeScheme::Http,
                   int timeout_ms = 500) {
  ProbeTarget t;
  t.registry = "reg";
  t.region = "eastus";
  t.spec.scheme = scheme;
  t.spec.port = a.port;
  t.spec.timeout = std::chrono::milliseconds(timeout_ms);
  t.spec.interval = std::chrono::milliseconds(timeout_ms);
  t.connect_host = a.address.toString();
  t.host = "reg.eastus.geo.cr.example.test";
  return t;
}

// Runs the given probes to completion (bounded by 5 s) and returns id -> report.
struct Run {
  uv_loop_t loop{};
  std::map<uint64_t, ProbeReport> reports;
  std::map<uint64_t, double> finished_at;
  std::unique_ptr<Prober> prober;
  explicit Run(bool plain = true) {
    uv_loop_init(&loop);
    prober = std::make_unique<Prober>(
        &loop,
        [this](uint64_t id, const ProbeReport& r) {
          reports[id] = r;
          finished_at[id] = static_cast<double>(uv_now(&loop));
        },
        ProberOptions{plain});
  }
  ~Run() {
    prober->close();
    uv_run(&loop, UV_RUN_DEFAULT);
    uv_loop_close(&loop);
  }
  void wait(size_t n) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (reports.size() < n && std::chrono::steady_clock::now() < deadline) uv_run(&loop, UV_RUN_ONCE);
  }
  // Turns the loop for `ms` whatever happens.
  void runFor(uint64_t ms) {
    uv_timer_t timer;
    uv_timer_init(&loop, &timer);
    bool fired = false;
    timer.data = &fired;
    uv_timer_start(&timer, [](uv_timer_t* t) { *static_cast<bool*>(t->data) = true; }, ms, 0);
    while (!fired) uv_run(&loop, UV_RUN_ONCE);
    uv_close(reinterpret_cast<uv_handle_t*>(&timer), nullptr);
    uv_run(&loop, UV_RUN_NOWAIT);
  }
};

SocketAddress fresh() { return test::freeLoopback(); }

}  // namespace

TEST_CASE("probe outcomes: ok, 401 ok, throttled 429, http_error, connect_error, timeout") {
  bool plain = GENERATE(true, false);
  INFO((plain ? "plain prober" : "libcurl prober"));
  TestHttpServer ok(fresh()), unauthorized(fresh()), throttled(fresh()), broken(fresh()), hang(fresh()),
      reset(fresh()), closed(fresh()), garbage(fresh());
  unauthorized.respond(401);
  throttled.respond(429);
  broken.respond(503);
  hang.setMode(TestHttpServer::Mode::Hang);
  reset.setMode(TestHttpServer::Mode::Reset);
  closed.setMode(TestHttpServer::Mode::Close);
  garbage.setMode(TestHttpServer::Mode::Garbage);
  SocketAddress refused = fresh();  // nothing listens there

  Run run(plain);
  auto id_ok = run.prober->start(target(ok.address()));
  auto id_401 = run.prober->start(target(unauthorized.address()));
  auto id_429 = run.prober->start(target(throttled.address()));
  auto id_503 = run.prober->start(target(broken.address()));
  auto id_hang = run.prober->start(target(hang.address(), policy::ProbeScheme::Http, 300));
  auto id_reset = run.prober->start(target(reset.address()));
  auto id_closed = run.prober->start(target(closed.address()));
  auto id_refused = run.prober->start(target(refused));
  auto id_tcp = run.prober->start(target(hang.address(), policy::ProbeScheme::Tcp));
  auto id_tcp_refused = run.prober->start(target(refused, policy::ProbeScheme::Tcp));
  auto id_garbage = run.prober->start(target(garbage.address()));
  run.wait(11);
  REQUIRE(run.reports.size() == 11);
  CHECK(run.prober->inFlight() == 0);
  CHECK(run.reports[id_ok].result == ProbeResult::Ok);
  CHECK(run.reports[id_ok].http_status == 200);
  CHECK(run.reports[id_401].result == ProbeResult::Ok);
  CHECK(run.reports[id_429].result == ProbeResult::Throttled);
  CHECK(run.reports[id_503].result == ProbeResult::HttpError);
  CHECK(run.reports[id_503].detail == "HTTP 503");
  CHECK(run.reports[id_hang].result == ProbeResult::Timeout);
  CHECK(run.reports[id_reset].result == ProbeResult::ConnectError);
  CHECK(run.reports[id_closed].result == ProbeResult::ConnectError);
  CHECK(run.reports[id_refused].result == ProbeResult::ConnectError);
  CHECK(run.reports[id_tcp].result == ProbeResult::Ok);  // tcp: connecting is enough
  CHECK(run.reports[id_tcp_refused].result == ProbeResult::ConnectError);
  CHECK(run.reports[id_garbage].result == ProbeResult::HttpError);
  CHECK(run.reports[id_hang].seconds >= 0.29);
  CHECK(run.reports[id_hang].seconds < 2.0);
  // The probe carried the regional name, not the address, as Host.
  CHECK(ok.lastHost() == "reg.eastus.geo.cr.example.test:" + std::to_string(ok.address().port));
  // The hung target cost only its own timeout: the others finished long before.
  CHECK(run.finished_at[id_ok] < run.finished_at[id_hang]);
}

TEST_CASE("the plain prober sends what libcurl sends: path, Host, custom headers") {
  for (bool plain : {true, false}) {
    INFO((plain ? "plain prober" : "libcurl prober"));
    TestHttpServer server(fresh());
    Run run(plain);
    ProbeTarget t = target(server.address());
    t.spec.path = "/v2/_catalog?n=1";
    t.spec.headers = {{"Authorization", "Bearer abc"}, {"X-Probe", "1"}};
    auto id = run.prober->start(t);
    run.wait(1);
    REQUIRE(run.reports.count(id));
    CHECK(run.reports[id].result == ProbeResult::Ok);
    std::string head = server.lastRequest();
    CHECK(head.rfind("GET /v2/_catalog?n=1 HTTP/1.1\r\n", 0) == 0);
    CHECK(head.find("\r\nAuthorization: Bearer abc\r\n") != std::string::npos);
    CHECK(head.find("\r\nX-Probe: 1\r\n") != std::string::npos);
    CHECK(head.find("\r\nUser-Agent: switchyard-probe/0.1\r\n") != std::string::npos);
    CHECK(server.lastHost() == "reg.eastus.geo.cr.example.test:" + std::to_string(server.address().port));
  }
}

TEST_CASE("a target given as a host name goes through libcurl, which resolves it") {
  TestHttpServer server(fresh());
  Run run;  // plain on: the name still needs resolving, which only libcurl does
  ProbeTarget t = target(server.address());
  t.connect_host = "localhost.invalid";  // never resolves: proves which prober ran it
  CHECK_FALSE(PlainProber::handles(t));
  auto id = run.prober->start(t);
  run.wait(1);
  REQUIRE(run.reports.count(id));
  CHECK(run.reports[id].result == ProbeResult::ConnectError);
  CHECK(run.reports[id].detail.find("resolve") != std::string::npos);
}

TEST_CASE("an https target that stalls the TLS handshake costs only its own timeout") {
  // Accepts the connection, reads the ClientHello, never answers it.
  TestHttpServer stall(fresh()), ok(fresh());
  stall.setMode(TestHttpServer::Mode::Hang);
  Run run;
  auto id_stall = run.prober->start(target(stall.address(), policy::ProbeScheme::Https, 1500));
  // The stalled handshake is under way before the other probe starts (and
  // OpenSSL's one-time start-up, slow under ASan on a busy machine, is paid).
  run.runFor(200);
  REQUIRE(run.reports.empty());
  auto id_ok = run.prober->start(target(ok.address()));
  run.wait(2);
  REQUIRE(run.reports.size() == 2);
  CHECK(run.reports[id_stall].result == ProbeResult::Timeout);
  CHECK(run.reports[id_stall].seconds >= 1.49);
  CHECK(run.reports[id_ok].result == ProbeResult::Ok);
  CHECK(run.finished_at[id_ok] < run.finished_at[id_stall]);
}

TEST_CASE("https with verification on fails against a plain HTTP server as tls_error") {
  TestHttpServer plain(fresh());
  Run run;
  // Long timeout: the plain server answers only after giving up on the request head (1 s).
  auto id = run.prober->start(target(plain.address(), policy::ProbeScheme::Https, 3000));
  run.wait(1);
  REQUIRE(run.reports.count(id));
  CHECK(run.reports[id].result == ProbeResult::TlsError);
}

TEST_CASE("a cancelled probe never calls back") {
  bool plain = GENERATE(true, false);
  TestHttpServer hang(fresh());
  hang.setMode(TestHttpServer::Mode::Hang);
  Run run(plain);
  auto id = run.prober->start(target(hang.address()));
  uv_run(&run.loop, UV_RUN_NOWAIT);
  run.prober->cancel(id);
  CHECK(run.prober->inFlight() == 0);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(700);
  while (std::chrono::steady_clock::now() < deadline) uv_run(&run.loop, UV_RUN_NOWAIT);
  CHECK(run.reports.empty());
}
