// Routing churn under load: flips one replica's global routing every
// --period-ms through the admin API while checking, query after query, that
// every answer for that registry is exactly one of the two complete answers
// (replica in, replica out): never a mix, never missing, never an error.
// Run it beside a saturating dnsperf (bench/churn_bench.sh does both).
//   churn_bench --dns 127.0.0.1:PORT --admin 127.0.0.1:PORT --token-file F
//               --registry reg0001 --replica eastus --ecs 10.1.0.0/24 [--seconds 20] [--period-ms 10]
#include <httplib.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <thread>

#include "dns/client/dns_client.h"

using namespace switchyard;
using Clock = std::chrono::steady_clock;

namespace {

std::string arg(int argc, char** argv, const std::string& name, const std::string& fallback = "") {
  for (int i = 1; i + 1 < argc; ++i)
    if (argv[i] == "--" + name) return argv[i + 1];
  if (fallback.empty()) {
    std::fprintf(stderr, "missing --%s\n", name.c_str());
    std::exit(2);
  }
  return fallback;
}

std::string answerOf(const SocketAddress& dns, const std::string& name, const IpPrefix& ecs) {
  dnsclient::QueryOptions o;
  o.ecs = ecs;
  o.timeout_ms = 1000;
  auto reply = dnsclient::query(dns, name, 1, o);
  if (!reply) return "!timeout";
  if (ldns_pkt_get_rcode(reply.get()) != LDNS_RCODE_NOERROR) return "!rcode";
  std::string out;
  for (const auto& a : dnsclient::answers(reply.get())) out += a + ";";
  return out.empty() ? "!empty" : out;
}

}  // namespace

int main(int argc, char** argv) {
  auto dns = SocketAddress::parse(arg(argc, argv, "dns")).value();
  auto admin = SocketAddress::parse(arg(argc, argv, "admin")).value();
  std::ifstream tf(arg(argc, argv, "token-file"));
  std::stringstream ts;
  ts << tf.rdbuf();
  std::string token = ts.str();
  token.erase(token.find_last_not_of(" \r\n") + 1);
  std::string registry = arg(argc, argv, "registry"), replica = arg(argc, argv, "replica");
  auto ecs = IpPrefix::parse(arg(argc, argv, "ecs")).value();
  int seconds = std::stoi(arg(argc, argv, "seconds", "20"));
  int period_ms = std::stoi(arg(argc, argv, "period-ms", "10"));
  std::string zone = arg(argc, argv, "zone", "example.test");
  std::string name = registry + "." + zone;

  httplib::Client api(admin.address.toString(), admin.port);
  api.set_read_timeout(10);
  httplib::Headers auth{{"Authorization", "Bearer " + token}};
  std::string path = "/v1/registries/" + registry + "/replications/" + replica;
  auto set = [&](bool on) {
    auto r = api.Patch(path, auth, on ? R"({"globalEndpointRouting":true})" : R"({"globalEndpointRouting":false})",
                       "application/json");
    return r && r->status == 200;
  };

  // The two complete answers this name may have.
  if (!set(true)) return std::fprintf(stderr, "PATCH failed\n"), 1;
  std::string in = answerOf(dns, name, ecs);
  if (!set(false)) return std::fprintf(stderr, "PATCH failed\n"), 1;
  std::string out = answerOf(dns, name, ecs);
  set(true);
  if (in == out || in[0] == '!' || out[0] == '!') {
    std::fprintf(stderr, "the exclusion does not change the answer (in=%s out=%s): pick another replica/ecs\n",
                 in.c_str(), out.c_str());
    return 1;
  }

  std::atomic<bool> stop{false};
  std::atomic<long> flips{0}, flip_errors{0};
  std::thread toggler([&] {
    bool on = true;
    auto next = Clock::now();
    while (!stop) {
      next += std::chrono::milliseconds(period_ms);
      on = !on;
      if (set(on)) ++flips;
      else ++flip_errors;
      std::this_thread::sleep_until(next);
    }
    set(true);
  });
  long checked = 0, saw_in = 0, saw_out = 0, torn = 0, failed = 0;
  std::map<std::string, long> odd;
  auto end = Clock::now() + std::chrono::seconds(seconds);
  while (Clock::now() < end) {
    std::string a = answerOf(dns, name, ecs);
    ++checked;
    if (a == in) ++saw_in;
    else if (a == out) ++saw_out;
    else if (a[0] == '!') ++failed, ++odd[a];
    else ++torn, ++odd[a];
  }
  stop = true;
  toggler.join();
  std::printf("churn flips=%ld flip_errors=%ld period_ms=%d checked=%ld in=%ld out=%ld torn=%ld failed=%ld\n", flips.load(),
              flip_errors.load(), period_ms, checked, saw_in, saw_out, torn, failed);
  for (const auto& [a, n] : odd) std::printf("  unexpected answer x%ld: %s\n", n, a.c_str());
  return torn == 0 && failed == 0 && flip_errors == 0 ? 0 : 1;
}
