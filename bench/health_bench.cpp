// Health benchmarks (numbers go to bench/RESULTS.md; nothing here asserts).
//
//   health_bench detection [--runs 30] [--interval-ms 100] [--timeout-ms 80] [--fall 3] [--rise 2]
//     Time from a replica refusing connections to the monitor's Down verdict,
//     and from recovery to Up, over many runs, against the configured window.
//   health_bench capacity --addr-file F --port P [--pairs N] [--interval-ms 1000] [--seconds 10] [--prober plain|curl]
//                         [--check api|content]
//     N pairs probed at the given interval by one health thread against the
//     addresses in F (serve them with ../shared/bench/health_responder.py, or
//     for --check content with bench/content_responder.py, which serves a
//     canary manifest and blob with keep-alive): achieved probes/s versus the
//     schedule, outcomes, and CPU of this process.
//   health_bench freshness --addr-file F --port P [--registries N] [--replicas 3] [--canaries 1]
//                          [--interval-ms 10000] [--seconds 30]
//     Replication-freshness rounds (manifest HEADs through libcurl) for N
//     registries, against the same responder: digest reads per second versus
//     the schedule, and CPU of this process per read.
#include <curl/curl.h>
#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <fstream>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "health/health_monitor.h"
#include "tests/support/daemon_process.h"
#include "tests/support/test_http_server.h"

using namespace switchyard;
using namespace switchyard::health;
using Clock = std::chrono::steady_clock;

namespace {

std::map<std::string, std::string> flags(int argc, char** argv) {
  std::map<std::string, std::string> f;
  for (int i = 2; i + 1 < argc; i += 2) f[argv[i]] = argv[i + 1];
  return f;
}
int num(const std::map<std::string, std::string>& f, const char* k, int d) {
  auto it = f.find(k);
  return it == f.end() ? d : std::stoi(it->second);
}

ProbeTarget makeTarget(const std::string& key, const std::string& ip, int port, int interval, int timeout, int fall,
                       int rise) {
  ProbeTarget t;
  t.registry = "bench";
  t.region = key;
  t.connect_host = ip;
  t.host = "bench." + key + ".geo.cr.example.test";
  t.spec.port = static_cast<uint16_t>(port);
  t.spec.interval = std::chrono::milliseconds(interval);
  t.spec.timeout = std::chrono::milliseconds(timeout);
  t.spec.fall = fall;
  t.spec.rise = rise;
  return t;
}

double percentile(std::vector<double> v, double p) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[static_cast<size_t>(p * static_cast<double>(v.size() - 1))];
}

int detection(const std::map<std::string, std::string>& f) {
  int runs = num(f, "--runs", 30), interval = num(f, "--interval-ms", 100), timeout = num(f, "--timeout-ms", 80);
  int fall = num(f, "--fall", 3), rise = num(f, "--rise", 2);
  std::vector<double> down_ms, up_ms;
  for (int run = 0; run < runs; ++run) {
    test::TestHttpServer server(test::freeLoopback());
    std::mutex m;
    std::condition_variable cv;
    policy::Health state = policy::Health::Unknown;
    HealthMonitor::Callbacks cb;
    cb.on_change = [&](HealthChange c) {
      std::lock_guard<std::mutex> lock(m);
      state = c.to;
      cv.notify_all();
    };
    HealthMonitor monitor(cb);
    monitor.start({makeTarget("r", server.address().address.toString(), server.address().port, interval, timeout,
                              fall, rise)},
                  {});
    auto waitState = [&](policy::Health want) {
      std::unique_lock<std::mutex> lock(m);
      return cv.wait_for(lock, std::chrono::seconds(10), [&] { return state == want; });
    };
    if (!waitState(policy::Health::Up)) return 1;
    // Fail at a random phase of the probe cycle.
    std::this_thread::sleep_for(std::chrono::milliseconds(interval + (run * 37) % interval));
    auto t0 = Clock::now();
    server.setMode(test::TestHttpServer::Mode::Refuse);
    if (!waitState(policy::Health::Down)) return 1;
    down_ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
    t0 = Clock::now();
    server.respond(200);
    if (!waitState(policy::Health::Up)) return 1;
    up_ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
    monitor.stop();
  }
  std::printf("detection runs=%d interval_ms=%d timeout_ms=%d fall=%d rise=%d\n", runs, interval, timeout, fall, rise);
  std::printf("  failover: window [%d, %d] ms  min=%.0f p50=%.0f p90=%.0f max=%.0f ms\n", (fall - 1) * interval * 9 / 10,
              fall * interval * 11 / 10 + timeout, percentile(down_ms, 0), percentile(down_ms, 0.5),
              percentile(down_ms, 0.9), percentile(down_ms, 1));
  std::printf("  failback: window [%d, %d] ms  min=%.0f p50=%.0f p90=%.0f max=%.0f ms\n", (rise - 1) * interval * 9 / 10,
              rise * interval * 11 / 10 + timeout, percentile(up_ms, 0), percentile(up_ms, 0.5), percentile(up_ms, 0.9),
              percentile(up_ms, 1));
  return 0;
}

double cpuSeconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

// The --addr-file lines (loopback addresses the responder serves); empty,
// with a message, when there are none.
std::vector<std::string> addressFile(const std::map<std::string, std::string>& f, const char* mode) {
  std::vector<std::string> addrs;
  std::ifstream in(f.count("--addr-file") ? f.at("--addr-file") : "");
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) addrs.push_back(line);
  if (addrs.empty()) std::fprintf(stderr, "%s needs --addr-file with loopback addresses\n", mode);
  return addrs;
}

int capacity(const std::map<std::string, std::string>& f) {
  int pairs = num(f, "--pairs", 1000), interval = num(f, "--interval-ms", 1000), seconds = num(f, "--seconds", 10);
  int port = num(f, "--port", 18080);
  std::vector<std::string> addrs = addressFile(f, "capacity");
  if (addrs.empty()) return 2;
  std::vector<ProbeTarget> targets;
  bool content = f.count("--check") && f.at("--check") == "content";
  for (int i = 0; i < pairs; ++i) {
    targets.push_back(makeTarget("r" + std::to_string(i), addrs[static_cast<size_t>(i) % addrs.size()], port, interval,
                                 std::min(interval, 2000), 3, 2));
    if (content) {
      targets.back().spec.check = policy::HealthCheck::Content;
      targets.back().spec.canary = *policy::Canary::parse("canary/heartbeat:latest");
    }
  }
  std::atomic<long> reports{0};
  std::array<std::atomic<long>, 9> by{};  // per ProbeResult
  HealthMonitor::Callbacks cb;
  cb.on_report = [&](const std::string&, const std::string&, const ProbeReport& r) {
    ++reports;
    ++by[static_cast<size_t>(r.result)];
  };
  bool plain = !f.count("--prober") || f.at("--prober") != "curl";
  HealthMonitor monitor(cb, ProberOptions{plain});
  monitor.start(std::move(targets), {});
  std::this_thread::sleep_for(std::chrono::milliseconds(2 * interval));  // past the start-up burst
  long r0 = reports;
  double c0 = cpuSeconds();
  auto t0 = Clock::now();
  std::this_thread::sleep_for(std::chrono::seconds(seconds));
  double wall = std::chrono::duration<double>(Clock::now() - t0).count();
  long done = reports - r0;
  double cpu = cpuSeconds() - c0;
  monitor.stop();
  double expected = pairs * 1000.0 / interval;
  long other = 0;
  for (size_t i : {1, 2, 5, 6, 7, 8}) other += by[i].load();
  std::printf("capacity check=%s prober=%s pairs=%d interval_ms=%d seconds=%.1f probes_per_s=%.0f expected_per_s=%.0f ratio=%.3f "
              "cpu_pct_of_core=%.1f us_cpu_per_probe=%.1f ok=%ld timeout=%ld connect_error=%ld other=%ld\n",
              content ? "content" : "api", plain ? "plain" : "curl", pairs, interval, wall, done / wall, expected, done / wall / expected, 100 * cpu / wall,
              done ? 1e6 * cpu / static_cast<double>(done) : 0.0, by[0].load(), by[3].load(), by[4].load(), other);
  return 0;
}

int freshness(const std::map<std::string, std::string>& f) {
  int registries = num(f, "--registries", 1000), replicas = num(f, "--replicas", 3), canaries = num(f, "--canaries", 1);
  int interval = num(f, "--interval-ms", 10000), seconds = num(f, "--seconds", 30), port = num(f, "--port", 18080);
  std::vector<std::string> addrs = addressFile(f, "freshness");
  if (addrs.empty()) return 2;
  std::vector<FreshnessTarget> targets;
  size_t next = 0;
  for (int g = 0; g < registries; ++g) {
    FreshnessTarget t;
    t.registry = "bench" + std::to_string(g);
    for (int c = 0; c < canaries; ++c) t.config.canaries.push_back({"canary/hb" + std::to_string(c), "latest"});
    t.interval = std::chrono::milliseconds(interval);
    t.timeout = std::chrono::milliseconds(std::min(interval, 2000));
    for (int r = 0; r < replicas; ++r) {
      t.regions.push_back("r" + std::to_string(r));
      RegistryEndpoint e;
      e.base_url = "http://" + t.registry + ".r" + std::to_string(r) + ".geo.cr.example.test:" + std::to_string(port);
      e.connect_to = addrs[next++ % addrs.size()];
      t.endpoints.push_back(e);
    }
    targets.push_back(std::move(t));
  }
  std::atomic<long> reads{0}, digests{0}, errors{0};
  HealthMonitor::Callbacks cb;
  cb.on_freshness = [&](FreshnessReport report) {
    for (const auto& s : report.replicas)
      for (const auto& served : s.served) {
        ++reads;
        ++(served.empty() ? errors : digests);
      }
  };
  HealthMonitor monitor(cb);
  monitor.start({}, {});
  monitor.setFreshness(std::move(targets));
  std::this_thread::sleep_for(std::chrono::milliseconds(2 * interval));  // past the first, spread-out round
  long r0 = reads;
  double c0 = cpuSeconds();
  auto t0 = Clock::now();
  std::this_thread::sleep_for(std::chrono::seconds(seconds));
  double wall = std::chrono::duration<double>(Clock::now() - t0).count();
  long done = reads - r0;
  double cpu = cpuSeconds() - c0;
  monitor.stop();
  double expected = registries * replicas * canaries * 1000.0 / interval;
  std::printf("freshness registries=%d replicas=%d canaries=%d interval_ms=%d seconds=%.1f reads_per_s=%.0f "
              "expected_per_s=%.0f ratio=%.3f cpu_pct_of_core=%.1f us_cpu_per_read=%.1f with_digest=%ld without=%ld\n",
              registries, replicas, canaries, interval, wall, done / wall, expected, done / wall / expected,
              100 * cpu / wall, done ? 1e6 * cpu / static_cast<double>(done) : 0.0, digests.load(), errors.load());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  curl_global_init(CURL_GLOBAL_DEFAULT);
  std::string mode = argc > 1 ? argv[1] : "";
  auto f = flags(argc, argv);
  int rc = mode == "detection" ? detection(f) : mode == "capacity" ? capacity(f) : mode == "freshness" ? freshness(f) : 2;
  if (rc == 2 && mode != "capacity" && mode != "freshness")
    std::fprintf(stderr, "usage: health_bench detection|capacity|freshness [flags]\n");
  return rc;
}
