#include "control/drill.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <thread>

#include "control/event_log.h"
#include "dns/client/dns_client.h"

namespace switchyard::control {

namespace {

using Clock = std::chrono::steady_clock;
using nlohmann::json;

// Milliseconds with microsecond resolution: a purge takes well under 1 ms.
double msSince(Clock::time_point t) {
  return std::round(std::chrono::duration<double, std::milli>(Clock::now() - t).count() * 1000) / 1000;
}

std::string ms(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3f ms", v);
  return buf;
}

std::string list(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : ",") + s;
  return out.empty() ? "(none)" : out;
}

// "westus: eastus,westeurope (expected eastus)" for the first client that differs.
std::string firstDifference(const ClientAnswers& seen, const ClientAnswers& want) {
  for (const auto& [client, expected] : want) {
    auto it = seen.find(client);
    std::vector<std::string> got = it == seen.end() ? std::vector<std::string>{} : it->second;
    if (got != expected) return "client region " + client + " got " + list(got) + ", expected " + list(expected);
  }
  return "";
}

bool contains(const ClientAnswers& answers, const std::string& replica) {
  for (const auto& [client, replicas] : answers)
    if (std::find(replicas.begin(), replicas.end(), replica) != replicas.end()) return true;
  return false;
}

// Queries with ldns over UDP, and again over TCP when the reply was truncated.
// Returns the answer's A/AAAA/CNAME records, or one "!REASON" entry.
std::vector<std::string> ask(const SocketAddress& server, const std::string& name, uint16_t qtype,
                             const std::optional<IpPrefix>& subnet) {
  dnsclient::QueryOptions o;
  o.ecs = subnet;
  o.timeout_ms = 1000;
  auto reply = dnsclient::query(server, name, qtype, o);
  if (reply && ldns_pkt_tc(reply.get())) {
    o.tcp = true;
    reply = dnsclient::query(server, name, qtype, o);
  }
  if (!reply) return {"!timeout"};
  if (ldns_pkt_get_rcode(reply.get()) != LDNS_RCODE_NOERROR) {
    char* rcode = ldns_pkt_rcode2str(ldns_pkt_get_rcode(reply.get()));
    std::string out = std::string("!") + rcode;
    free(rcode);
    return {out};
  }
  std::vector<std::string> records;
  for (auto& r : dnsclient::answers(reply.get()))
    if (r.starts_with("A ") || r.starts_with("AAAA ") || r.starts_with("CNAME ")) records.push_back(std::move(r));
  return records;
}

}  // namespace

const char* scenarioName(DrillScenario s) {
  switch (s) {
    case DrillScenario::Exclude: return "exclude";
    case DrillScenario::Fail: return "fail";
    case DrillScenario::Throttle: return "throttle";
  }
  return "?";
}

bool DrillReport::passed() const {
  if (expectations.empty()) return false;
  for (const auto& e : expectations)
    if (!e.passed) return false;
  return true;
}

json DrillReport::toJson() const {
  json out{{"id", id},
           {"registry", registry},
           {"replica", replica},
           {"scenario", scenario},
           {"fault", fault},
           {"dns", dns},
           {"globalName", global_name},
           {"state", state},
           {"phase", phase},
           {"startedAt", started_at},
           {"timeoutMs", timeout_ms},
           {"timings", json::object()},
           {"answers", answers},
           {"expectations", json::array()},
           {"events", events}};
  for (const auto& [k, v] : timings) out["timings"][k] = v;
  for (const auto& e : expectations)
    out["expectations"].push_back({{"name", e.name}, {"passed", e.passed}, {"detail", e.detail}});
  if (!resolver_flushes.empty()) out["resolverFlushes"] = resolver_flushes;
  if (hold_ms) out["holdMs"] = *hold_ms;
  if (!finished_at.empty()) out["finishedAt"] = finished_at;
  return out;
}

Drill::Drill(uint64_t id, DrillPlan plan) : id_(id), plan_(std::move(plan)) {
  report_.id = id_;
  report_.registry = plan_.registry;
  report_.replica = plan_.replica;
  report_.scenario = scenarioName(plan_.scenario);
  report_.fault = plan_.scenario == DrillScenario::Fail       ? (plan_.content_fault ? "content_error" : "down")
                  : plan_.scenario == DrillScenario::Throttle ? "throttled"
                                                              : "none";
  report_.dns = plan_.dns.toString();
  report_.global_name = plan_.global_name;
  report_.started_at = nowRfc3339();
  report_.timeout_ms = plan_.timeout.count();
  if (plan_.scenario == DrillScenario::Throttle) report_.hold_ms = plan_.hold.count();
}

DrillReport Drill::report() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return report_;
}

void Drill::setPhase(const char* phase) {
  std::lock_guard<std::mutex> lock(mutex_);
  report_.phase = phase;
}

void Drill::expect(std::string name, bool passed, std::string detail) {
  std::lock_guard<std::mutex> lock(mutex_);
  report_.expectations.push_back({std::move(name), passed, std::move(detail)});
}

std::vector<std::string> Drill::replicasOf(const std::vector<std::string>& records) const {
  if (records.size() == 1 && records[0].starts_with("!")) return records;
  std::vector<std::string> out;
  for (const auto& record : records) {
    std::string owner = "?" + record;
    for (const auto& [replica, mine] : plan_.records)
      if (std::find(mine.begin(), mine.end(), record) != mine.end()) owner = replica;
    if (std::find(out.begin(), out.end(), owner) == out.end()) out.push_back(owner);
  }
  std::sort(out.begin(), out.end());
  return out;
}

Drill::Observation Drill::observe() const {
  Observation o;
  for (const auto& c : plan_.clients)
    o.clients[c.region] = replicasOf(ask(plan_.dns, plan_.global_name, plan_.qtype, c.subnet));
  for (const auto& f : plan_.fixed) o.fixed[f.label] = ask(plan_.dns, f.name, plan_.qtype, std::nullopt);
  return o;
}

void Drill::fixedMoved(const Observation& o) {
  if (!fixed_moved_.empty()) return;
  for (const auto& [label, records] : o.fixed)
    if (records != baseline_.fixed[label])
      fixed_moved_ = label + " answered " + list(records) + " instead of " + list(baseline_.fixed[label]);
}

template <typename Done>
double Drill::pollUntil(std::chrono::milliseconds bound, Done done, Observation& last, bool abortable) {
  auto start = Clock::now();
  for (int round = 0; round < 100'000; ++round) {
    last = observe();
    fixedMoved(last);
    if (done(last)) return msSince(start);
    if ((abortable && aborted_) || Clock::now() - start >= bound) return -1;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return -1;
}

void Drill::checkSticky() {
  constexpr int kAsks = 3;
  json split = json::object();
  std::string unstable;
  // Bounded like every other phase: the scenario stays applied meanwhile.
  auto deadline = Clock::now() + plan_.timeout;
  size_t asked = 0;
  for (const auto& probe : plan_.sticky_probes) {
    if (aborted_ || Clock::now() > deadline) {
      if (unstable.empty())
        unstable = aborted_ ? "aborted" : "not all subnets asked within " + std::to_string(plan_.timeout.count()) + " ms";
      break;
    }
    ++asked;
    std::vector<std::string> first;
    for (int i = 0; i < kAsks; ++i) {
      auto got = replicasOf(ask(plan_.dns, plan_.global_name, probe.qtype ? probe.qtype : plan_.qtype, probe.subnet));
      if (i == 0) first = got;
      if (unstable.empty() && (got.size() != 1 || got != first || got[0].starts_with("!") || got[0].starts_with("?")))
        unstable = "subnet " + probe.subnet.toString() + " (" + probe.region + ") got " + list(got) +
                   (i == 0 ? "" : " after " + list(first));
    }
    if (first.size() == 1 && !first[0].starts_with("!") && !first[0].starts_with("?")) {
      json& n = split[probe.region][first[0]];
      n = n.is_null() ? 1 : n.get<int>() + 1;
    }
  }
  {
    std::lock_guard<std::mutex> lock(mutex_);
    report_.answers["split"] = split;
  }
  expect("every client subnet keeps one replica", unstable.empty(),
         unstable.empty() ? std::to_string(asked) + " subnets asked " + std::to_string(kAsks) +
                                " times each while applied: one stable replica each"
                          : unstable);
}

ResolverFlushes resolverFlushes(const json& events, const std::string& name, const std::vector<std::string>& resolvers) {
  struct Seen {
    std::string text;
    int64_t decisions = 0;  // covered by a flush that succeeded or gave up
  };
  std::map<std::string, Seen> seen;
  for (const auto& e : events) {
    if (e.value("type", "") != "resolver_purge" || e.value("name", "") != name) continue;
    int64_t decisions = e.value("decisions", int64_t{1});
    std::string part;
    if (e.value("result", "") == "ok") {
      char ms[64];
      std::snprintf(ms, sizeof ms, decisions > 1 ? "%.1f ms (%lld changes in one flush)" : "%.1f ms",
                    e.value("ms", 0.0), static_cast<long long>(decisions));
      part = ms;
    } else if (e.value("final", false)) {
      part = "failed (" + e.value("reason", "") + ")";
    } else {
      continue;  // an attempt that will be retried
    }
    Seen& s = seen[e.value("resolver", "")];
    s.text += (s.text.empty() ? "" : ", ") + part;
    s.decisions += decisions;
  }
  ResolverFlushes out;
  for (const auto& r : resolvers) {
    const Seen& s = seen[r];
    out.summary[r] = s.text.empty() ? "no flush seen" : "resolver caches flushed in " + s.text;
    if (s.decisions < 2) out.complete = false;
  }
  return out;
}

void Drill::run(DrillControl& control) {
  const std::string& replica = plan_.replica;
  auto finish = [&] {
    json events = control.eventsSince(plan_.first_event_id);
    // Each resolver's flushes of the global name (apply and revert) finish a
    // few ms after the DNS moved: wait for them, bounded past one attempt's
    // timeout, so the report has them.
    auto deadline = Clock::now() + std::chrono::milliseconds(2500);
    ResolverFlushes found = resolverFlushes(events, plan_.global_name, plan_.resolvers);
    while (!found.complete && Clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
      events = control.eventsSince(plan_.first_event_id);
      found = resolverFlushes(events, plan_.global_name, plan_.resolvers);
    }
    std::map<std::string, std::string> summary = std::move(found.summary);
    std::lock_guard<std::mutex> lock(mutex_);
    report_.state = aborted_ ? "aborted" : report_.passed() ? "passed" : "failed";
    report_.phase = "done";
    report_.finished_at = nowRfc3339();
    report_.events = std::move(events);
    report_.resolver_flushes = std::move(summary);
    finished_ = true;
  };
  auto record = [&](const char* key, const ClientAnswers& answers) {
    std::lock_guard<std::mutex> lock(mutex_);
    report_.answers[key] = answers;
  };

  // 1. Baseline, and what it must agree with before anything is changed.
  setPhase("baseline");
  baseline_ = observe();
  record("baseline", baseline_.clients);
  {
    std::lock_guard<std::mutex> lock(mutex_);
    report_.answers["fixed"] = baseline_.fixed;
  }
  auto routed = control.routing();
  std::string diff = routed ? firstDifference(baseline_.clients, *routed) : routed.error();
  expect("baseline answers match the control plane's routing", routed && diff.empty(),
         diff.empty() ? std::to_string(plan_.clients.size()) + " client regions queried at " + plan_.dns.toString()
                      : diff);
  bool serves = contains(baseline_.clients, replica);
  expect(replica + " serves global traffic before the drill", serves,
         serves ? "" : replica + " answers no client region: the drill would prove nothing");
  if (!routed || !diff.empty() || !serves || aborted_) return finish();

  // 2 and 3. Apply, then watch the answers move (or, throttled, stay).
  auto applied_at = Clock::now();
  auto applied = control.apply();
  {
    std::lock_guard<std::mutex> lock(mutex_);
    report_.timings["applyMs"] = msSince(applied_at);
  }
  if (!applied) {
    expect(std::string("scenario ") + scenarioName(plan_.scenario) + " applied", false, applied.error());
    return finish();
  }
  setPhase("applied");
  Observation during;
  if (plan_.scenario == DrillScenario::Throttle) {
    std::string moved;
    pollUntil(plan_.hold, [&](const Observation& o) {
      if (moved.empty()) moved = firstDifference(o.clients, baseline_.clients);
      return false;  // watch for the whole hold time
    }, during, true);
    double watched = msSince(applied_at);
    {
      std::lock_guard<std::mutex> lock(mutex_);
      report_.timings["heldMs"] = watched;
    }
    bool full = !aborted_;
    expect("throttled " + replica + " keeps its traffic", moved.empty() && full,
           !moved.empty() ? moved : full ? "answers unchanged for " + ms(watched) : "aborted");
  } else {
    auto expected = control.routing();
    if (!expected) {
      expect("traffic leaves " + replica, false, expected.error());
    } else {
      double polled = pollUntil(plan_.timeout, [&](const Observation& o) { return o.clients == *expected; }, during,
                                true);
      double left = polled < 0 ? -1 : msSince(applied_at);
      {
        std::lock_guard<std::mutex> lock(mutex_);
        report_.timings["leftMs"] = left;
      }
      bool gone = !contains(*expected, replica);
      std::string detail = !gone     ? "the control plane still routes to " + replica
                           : polled >= 0 ? "answers moved " + ms(left) + " after the change"
                           : aborted_ ? "aborted"
                                      : "not within " + std::to_string(plan_.timeout.count()) + " ms: " +
                                            firstDifference(during.clients, *expected);
      expect("traffic leaves " + replica, gone && polled >= 0, detail);
    }
  }
  record("during", during.clients);
  if (plan_.sticky && !aborted_) checkSticky();

  // 5. Revert and watch the baseline come back.
  setPhase("reverting");
  auto reverted_at = Clock::now();
  auto reverted = control.revert();
  if (!reverted) {
    expect("reverted", false, reverted.error());
    return finish();
  }
  Observation after;
  // Not abortable: an aborted drill still confirms its revert (bounded by the timeout).
  double polled = pollUntil(plan_.timeout, [&](const Observation& o) { return o.clients == baseline_.clients; },
                            after, false);
  double back = polled < 0 ? -1 : msSince(reverted_at);
  {
    std::lock_guard<std::mutex> lock(mutex_);
    report_.timings["backMs"] = back;
  }
  record("after", after.clients);
  expect("traffic returns after the revert", polled >= 0,
         polled >= 0 ? "baseline answers back " + ms(back) + " after the revert"
                 : "not within " + std::to_string(plan_.timeout.count()) + " ms: " +
                       firstDifference(after.clients, baseline_.clients));

  // 4. Checked at every poll above.
  expect("regional and data names never moved", fixed_moved_.empty(),
         fixed_moved_.empty() ? std::to_string(plan_.fixed.size()) + " names checked at every poll" : fixed_moved_);
  finish();
}

}  // namespace switchyard::control
