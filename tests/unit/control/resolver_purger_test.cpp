// ResolverPurger's queueing rules with the flush replaced by a recorder the
// test can hold: what is coalesced, what is flushed again, what a reload
// stops, where retries end. The protocols themselves are tested against real
// resolvers (integration/resolver_purge_test.cpp).
#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "control/resolver_purger.h"

using namespace switchyard;
using control::FlushOutcome;
using control::PurgeReport;
using control::ResolverPurger;
using namespace std::chrono_literals;

namespace {

struct Call {
  std::string resolver, name, key;
  bool subtree = false;
};

// Records each attempt; while held, an attempt blocks until released, so
// the test can queue changes behind a flush in flight.
class FakeResolvers {
 public:
  ResolverPurger::Flush flush() {
    return [this](const policy::CachingResolver& r, const std::string& name, bool subtree, std::chrono::milliseconds) {
      std::unique_lock<std::mutex> lock(mutex_);
      calls_.push_back({r.name, name, r.api_key, subtree});
      changed_.notify_all();
      changed_.wait(lock, [&] { return !held_; });
      bool fail = failing_.count(r.name) > 0;
      return fail ? FlushOutcome{false, "connect", "refused by the test"} : FlushOutcome{true, "", ""};
    };
  }
  void hold() {
    std::lock_guard<std::mutex> lock(mutex_);
    held_ = true;
  }
  void release() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      held_ = false;
    }
    changed_.notify_all();
  }
  void fail(const std::string& resolver) {
    std::lock_guard<std::mutex> lock(mutex_);
    failing_.insert(resolver);
  }
  // Waits (bounded) until `n` attempts were made; returns them all.
  std::vector<Call> waitFor(size_t n, std::chrono::milliseconds within = 3s) {
    std::unique_lock<std::mutex> lock(mutex_);
    changed_.wait_for(lock, within, [&] { return calls_.size() >= n; });
    return calls_;
  }
  std::vector<Call> calls() {
    std::lock_guard<std::mutex> lock(mutex_);
    return calls_;
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<Call> calls_;
  std::set<std::string> failing_;
  bool held_ = false;
};

policy::CachingResolver resolver(const std::string& name, const std::string& key = "k1") {
  policy::CachingResolver r;
  r.name = name;
  r.type = policy::CachingResolver::Type::PdnsRecursor;
  r.url = "http://192.0.2.1:8082";
  r.api_key = key;
  return r;
}

class Reports {
 public:
  std::function<void(const PurgeReport&)> sink() {
    return [this](const PurgeReport& r) {
      {
        std::lock_guard<std::mutex> lock(mutex_);
        reports_.push_back(r);
      }
      changed_.notify_all();
    };
  }
  std::vector<PurgeReport> all() {
    std::lock_guard<std::mutex> lock(mutex_);
    return reports_;
  }
  // Waits (bounded) until `n` reports came; returns them all.
  std::vector<PurgeReport> waitFor(size_t n, std::chrono::milliseconds within = 3s) {
    std::unique_lock<std::mutex> lock(mutex_);
    changed_.wait_for(lock, within, [&] { return reports_.size() >= n; });
    return reports_;
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<PurgeReport> reports_;
};

auto now() { return ResolverPurger::Clock::now(); }

}  // namespace

TEST_CASE("a name waiting is flushed once however often it changes, says how many changes it covers, and a change during its flush is flushed again") {
  FakeResolvers fake;
  Reports reports;
  ResolverPurger purger(reports.sink(), fake.flush());
  purger.setResolvers("example.net", {resolver("r1")});

  fake.hold();
  purger.purge("a.example.net", now());
  REQUIRE(fake.waitFor(1).size() == 1);  // a's flush is in flight, held
  // Changed again while that flush runs: its answer moved after the flush
  // began, so it must be flushed once more. Three more changes to b and two
  // to a while they wait coalesce into one flush each.
  purger.purge("a.example.net", now());
  purger.purge("b.example.net", now());
  purger.purge("b.example.net", now());
  purger.purge("a.example.net", now());
  purger.purge("b.example.net", now());
  CHECK(purger.status()[0].pending == 2);
  fake.release();

  fake.waitFor(3);
  reports.waitFor(3);
  std::this_thread::sleep_for(100ms);  // nothing more is coming
  auto calls = fake.calls();
  REQUIRE(calls.size() == 3);
  CHECK(calls[0].name == "a.example.net");
  CHECK(calls[1].name == "a.example.net");
  CHECK(calls[2].name == "b.example.net");
  for (const auto& c : calls) CHECK_FALSE(c.subtree);
  // Each report says how many changes its flush covers: a's first flush
  // one, a's second the two made while it waited, b's the three.
  auto all = reports.all();
  REQUIRE(all.size() == 3);
  CHECK(all[0].decisions == 1);
  CHECK(all[1].decisions == 2);
  CHECK(all[2].decisions == 3);
  auto status = purger.status();
  CHECK(status[0].flushed == 3);
  CHECK(status[0].pending == 0);
  CHECK(status[0].up);
}

TEST_CASE("a coalesced name's latency counts from its first change, not its last") {
  FakeResolvers fake;
  Reports reports;
  ResolverPurger purger(reports.sink(), fake.flush());
  purger.setResolvers("example.net", {resolver("r1")});
  fake.hold();
  purger.purge("x.example.net", now());
  REQUIRE(fake.waitFor(1).size() == 1);
  auto first = now();
  purger.purge("a.example.net", first);
  std::this_thread::sleep_for(150ms);
  purger.purge("a.example.net", now());
  fake.release();
  auto all = reports.waitFor(2);
  REQUIRE(all.size() == 2);
  CHECK(all[1].name == "a.example.net");
  CHECK(all[1].ok);
  CHECK(all[1].seconds >= 0.150);
  CHECK(all[1].decisions == 2);
}

TEST_CASE("past kMaxPending waiting names the set becomes one flush of the zone's subtree, which absorbs later changes") {
  FakeResolvers fake;
  Reports reports;
  ResolverPurger purger(reports.sink(), fake.flush());
  purger.setResolvers("example.net", {resolver("r1")});
  fake.hold();
  purger.purge("first.example.net", now());
  REQUIRE(fake.waitFor(1).size() == 1);
  for (size_t i = 0; i < ResolverPurger::kMaxPending; ++i) purger.purge("r" + std::to_string(i) + ".example.net", now());
  CHECK(purger.status()[0].pending == ResolverPurger::kMaxPending);
  purger.purge("one-more.example.net", now());
  CHECK(purger.status()[0].pending == 1);
  purger.purge("r5.example.net", now());  // covered by the waiting zone flush
  CHECK(purger.status()[0].pending == 1);
  fake.release();
  fake.waitFor(2);
  std::this_thread::sleep_for(100ms);
  auto calls = fake.calls();
  REQUIRE(calls.size() == 2);
  CHECK(calls[1].name == "example.net");
  CHECK(calls[1].subtree);
  // The zone flush stands for every change it absorbed: the kMaxPending
  // waiting ones, the one that overflowed the set and r5's second.
  auto all = reports.waitFor(2);
  REQUIRE(all.size() == 2);
  CHECK(all[1].decisions == ResolverPurger::kMaxPending + 2);
}

TEST_CASE("a failing resolver is tried kMaxAttempts times with backoff, then given up, and the others carry on") {
  FakeResolvers fake;
  Reports reports;
  ResolverPurger purger(reports.sink(), fake.flush());
  purger.setResolvers("example.net", {resolver("bad"), resolver("good")});
  fake.fail("bad");
  auto started = now();
  purger.purge("a.example.net", started);

  // good: one attempt at once, not waiting on bad's backoff.
  auto calls = fake.waitFor(2);
  CHECK(std::count_if(calls.begin(), calls.end(), [](const Call& c) { return c.resolver == "good"; }) == 1);

  calls = fake.waitFor(1 + ResolverPurger::kMaxAttempts);
  auto elapsed = now() - started;
  reports.waitFor(1 + ResolverPurger::kMaxAttempts);
  std::this_thread::sleep_for(300ms);  // and no fifth attempt
  calls = fake.calls();
  CHECK(std::count_if(calls.begin(), calls.end(), [](const Call& c) { return c.resolver == "bad"; }) ==
        ResolverPurger::kMaxAttempts);
  CHECK(elapsed >= 700ms);  // 100 + 200 + 400 ms between the four

  std::vector<PurgeReport> bad;
  for (const auto& r : reports.all())
    if (r.resolver == "bad") bad.push_back(r);
  REQUIRE(bad.size() == 4);
  for (int i = 0; i < 4; ++i) {
    CHECK(bad[i].attempt == i + 1);
    CHECK_FALSE(bad[i].ok);
    CHECK(bad[i].reason == "connect");
    CHECK(bad[i].final == (i == 3));
  }
  for (const auto& s : purger.status()) {
    if (s.resolver.name == "bad") {
      CHECK_FALSE(s.up);
      CHECK(s.errors == 4);
      CHECK(s.given_up == 1);
    } else {
      CHECK(s.up);
      CHECK(s.flushed == 1);
    }
  }
}

TEST_CASE("a resolver removed by a reload stops without being waited for, and a changed one takes its new key") {
  FakeResolvers fake;
  Reports reports;
  ResolverPurger purger(reports.sink(), fake.flush());
  purger.setResolvers("example.net", {resolver("stays", "old-key"), resolver("goes")});
  fake.fail("goes");
  fake.hold();
  purger.purge("a.example.net", now());
  REQUIRE(fake.waitFor(2).size() == 2);  // both inside a flush, held

  // The reload must not wait for "goes" to finish its attempt: the attempt
  // is held for a second, so a join would show.
  std::thread later([&] {
    std::this_thread::sleep_for(1s);
    fake.release();
  });
  auto reload = now();
  purger.setResolvers("example.net", {resolver("stays", "new-key")});
  auto took = now() - reload;
  later.join();
  CHECK(took < 500ms);
  REQUIRE(purger.size() == 1);
  // Its failed attempt is not retried: a retired sender stops.
  reports.waitFor(2);
  std::this_thread::sleep_for(500ms);  // past its first backoff
  auto calls = fake.calls();
  CHECK(std::count_if(calls.begin(), calls.end(), [](const Call& c) { return c.resolver == "goes"; }) == 1);

  purger.purge("b.example.net", now());
  calls = fake.waitFor(3);
  REQUIRE(calls.size() == 3);
  CHECK(calls[2].resolver == "stays");
  CHECK(calls[2].key == "new-key");
  REQUIRE(purger.status().size() == 1);
  CHECK(purger.status()[0].resolver.name == "stays");
}

TEST_CASE("stop ends a sender in backoff at once") {
  FakeResolvers fake;
  Reports reports;
  ResolverPurger purger(reports.sink(), fake.flush());
  purger.setResolvers("example.net", {resolver("bad")});
  fake.fail("bad");
  purger.purge("a.example.net", now());
  fake.waitFor(3);  // in its 400 ms backoff before the last attempt
  auto t = now();
  purger.stop();
  CHECK(now() - t < 250ms);
  CHECK(fake.calls().size() <= 4);
}
