// CurlProber against real HTTP servers on loopback: every outcome class, and a
// hung target that does not delay the others.
#include <catch2/catch.hpp>

#include <uv.h>

#include <chrono>
#include <map>

#include "health/curl_prober.h"
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
  std::unique_ptr<CurlProber> prober;
  Run() {
    uv_loop_init(&loop);
    prober = std::make_unique<CurlProber>(&loop, [this](uint64_t id, const ProbeReport& r) {
      reports[id] = r;
      finished_at[id] = static_cast<double>(uv_now(&loop));
    });
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
};

SocketAddress fresh() { return test::freeLoopback(); }

}  // namespace

TEST_CASE("probe outcomes: ok, 401 ok, throttled 429, http_error, connect_error, timeout") {
  TestHttpServer ok(fresh()), unauthorized(fresh()), throttled(fresh()), broken(fresh()), hang(fresh()),
      reset(fresh()), closed(fresh());
  unauthorized.respond(401);
  throttled.respond(429);
  broken.respond(503);
  hang.setMode(TestHttpServer::Mode::Hang);
  reset.setMode(TestHttpServer::Mode::Reset);
  closed.setMode(TestHttpServer::Mode::Close);
  SocketAddress refused = fresh();  // nothing listens there

  Run run;
  auto id_ok = run.prober->start(target(ok.address()));
  auto id_401 = run.prober->start(target(unauthorized.address()));
  auto id_429 = run.prober->start(target(throttled.address()));
  auto id_503 = run.prober->start(target(broken.address()));
  auto id_hang = run.prober->start(target(hang.address(), policy::ProbeScheme::Http, 300));
  auto id_reset = run.prober->start(target(reset.address()));
  auto id_closed = run.prober->start(target(closed.address()));
  auto id_refused = run.prober->start(target(refused));
  auto id_tcp = run.prober->start(target(hang.address(), policy::ProbeScheme::Tcp));
  run.wait(9);
  REQUIRE(run.reports.size() == 9);
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
  // The probe carried the regional name, not the address, as Host.
  CHECK(ok.lastHost() == "reg.eastus.geo.cr.example.test:" + std::to_string(ok.address().port));
  // The hung target cost only its own timeout: the others finished long before.
  CHECK(run.finished_at[id_ok] < run.finished_at[id_hang]);
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
  TestHttpServer hang(fresh());
  hang.setMode(TestHttpServer::Mode::Hang);
  Run run;
  auto id = run.prober->start(target(hang.address()));
  uv_run(&run.loop, UV_RUN_NOWAIT);
  run.prober->cancel(id);
  CHECK(run.prober->inFlight() == 0);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(700);
  while (std::chrono::steady_clock::now() < deadline) uv_run(&run.loop, UV_RUN_NOWAIT);
  CHECK(run.reports.empty());
}
