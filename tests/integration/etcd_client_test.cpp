// The fleet's etcd client against a real etcd (Debian's etcd-server): KV,
// leases, watch, and moving to another member when one is down.
#include <catch2/catch.hpp>

#include <uv.h>

#include <chrono>
#include <optional>

#include "fleet/etcd_client.h"
#include "tests/support/etcd_process.h"

using namespace switchyard;
using namespace switchyard::fleet;

namespace {

// One libuv loop with the clients on it; run() turns it until `done` or the
// bound passes.
struct Loop {
  uv_loop_t loop;
  uv_timer_t tick;
  std::optional<HttpClient> http;
  Loop() {
    uv_loop_init(&loop);
    uv_timer_init(&loop, &tick);
    uv_timer_start(&tick, [](uv_timer_t*) {}, 10, 10);  // run() never blocks for long
    http.emplace(&loop);
  }
  ~Loop() {
    http->close();
    uv_close(reinterpret_cast<uv_handle_t*>(&tick), nullptr);
    uv_run(&loop, UV_RUN_DEFAULT);
    uv_loop_close(&loop);
  }
  template <typename Done>
  bool run(Done done, int ms = 10000) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
    while (!done() && std::chrono::steady_clock::now() < deadline) uv_run(&loop, UV_RUN_ONCE);
    return done();
  }
};

template <typename T>
T await(Loop& l, std::function<void(std::function<void(Result<T>)>)> start) {
  std::optional<Result<T>> out;
  start([&](Result<T> r) { out = std::move(r); });
  REQUIRE(l.run([&] { return out.has_value(); }));
  INFO((*out ? std::string("ok") : out->error()));
  REQUIRE(static_cast<bool>(*out));
  return **out;
}

}  // namespace

TEST_CASE("etcd client: put, prefix reads and deletes with revisions, keys and values as bytes") {
  test::EtcdCluster etcd(1);
  REQUIRE(etcd.ready());
  Loop l;
  EtcdClient c(*l.http, etcd.endpoints());
  std::string binary("v\0\xff\x01", 4);
  int64_t r1 = await<int64_t>(l, [&](auto done) { c.put("/sy/a/1", "one", 0, done); });
  int64_t r2 = await<int64_t>(l, [&](auto done) { c.put("/sy/a/2", binary, 0, done); });
  await<int64_t>(l, [&](auto done) { c.put("/sy/b", "other prefix", 0, done); });
  CHECK(r2 == r1 + 1);
  auto range = await<RangeResult>(l, [&](auto done) { c.getPrefix("/sy/a/", done); });
  REQUIRE(range.kvs.size() == 2);
  CHECK(range.kvs[0].key == "/sy/a/1");
  CHECK(range.kvs[0].value == "one");
  CHECK(range.kvs[1].value == binary);
  CHECK(range.kvs[1].mod_revision == r2);
  CHECK(range.revision >= r2);
  int64_t r3 = await<int64_t>(l, [&](auto done) { c.remove("/sy/a/1", done); });
  CHECK(r3 > r2);
  CHECK(await<RangeResult>(l, [&](auto done) { c.getPrefix("/sy/a/", done); }).kvs.size() == 1);
  CHECK(prefixEnd("/sy/a/") == "/sy/a0");
}

TEST_CASE("etcd client: a transaction applies all of its operations at one revision, or none when a guard fails") {
  test::EtcdCluster etcd(1);
  REQUIRE(etcd.ready());
  Loop l;
  EtcdClient c(*l.http, etcd.endpoints());
  int64_t r1 = await<int64_t>(l, [&](auto done) { c.put("/sy/c/a", "1", 0, done); });
  await<int64_t>(l, [&](auto done) { c.put("/sy/r/a/x", "false", 0, done); });
  await<int64_t>(l, [&](auto done) { c.put("/sy/r/a/y", "false", 0, done); });
  await<int64_t>(l, [&](auto done) { c.put("/sy/r/ab/x", "false", 0, done); });
  // Guards: /sy/c/a as last written, /sy/c/b absent.
  std::vector<TxnCompare> guards{{"/sy/c/a", r1}, {"/sy/c/b", 0}};
  std::vector<TxnOp> ops{{TxnOp::Kind::Put, "/sy/c/a", "2"},
                         {TxnOp::Kind::Put, "/sy/c/b", "3"},
                         {TxnOp::Kind::Delete, "/sy/r/a/", "", true}};
  auto ok = await<TxnResult>(l, [&](auto done) { c.txn(guards, ops, done); });
  CHECK(ok.succeeded);
  auto after = await<RangeResult>(l, [&](auto done) { c.getPrefix("/sy/", done); });
  REQUIRE(after.kvs.size() == 3);  // c/a, c/b, r/ab/x: the prefix delete took r/a/ only
  CHECK(after.kvs[0].value == "2");
  CHECK(after.kvs[0].mod_revision == ok.revision);
  CHECK(after.kvs[1].mod_revision == ok.revision);  // one revision for the whole transaction
  CHECK(after.kvs[2].key == "/sy/r/ab/x");
  // The same guards again: /sy/c/a moved on, so nothing is written.
  auto stale = await<TxnResult>(l, [&](auto done) { c.txn(guards, {{TxnOp::Kind::Put, "/sy/c/c", "4"}}, done); });
  CHECK_FALSE(stale.succeeded);
  CHECK(await<RangeResult>(l, [&](auto done) { c.getPrefix("/sy/c/", done); }).kvs.size() == 2);
}

TEST_CASE("etcd client: a key on a lease lives while the lease is kept alive and goes when it expires") {
  test::EtcdCluster etcd(1);
  REQUIRE(etcd.ready());
  Loop l;
  EtcdClient c(*l.http, etcd.endpoints());
  int64_t lease = await<int64_t>(l, [&](auto done) { c.grantLease(2, done); });
  CHECK(lease != 0);
  await<int64_t>(l, [&](auto done) { c.put("/sy/node/n1", "alive", lease, done); });
  // Kept alive past its TTL.
  for (int i = 0; i < 4; ++i) {
    CHECK(await<int64_t>(l, [&](auto done) { c.keepAlive(lease, done); }) > 0);
    l.run([] { return false; }, 700);
  }
  auto kept = await<RangeResult>(l, [&](auto done) { c.getPrefix("/sy/node/", done); });
  REQUIRE(kept.kvs.size() == 1);
  CHECK(kept.kvs[0].lease == lease);
  // Left alone, it expires (bounded wait: TTL 2 s, etcd checks every 500 ms).
  bool gone = false;
  for (int i = 0; i < 40 && !gone; ++i) {
    l.run([] { return false; }, 250);
    gone = await<RangeResult>(l, [&](auto done) { c.getPrefix("/sy/node/", done); }).kvs.empty();
  }
  CHECK(gone);
  std::optional<Result<int64_t>> expired;
  c.keepAlive(lease, [&](Result<int64_t> r) { expired = std::move(r); });
  REQUIRE(l.run([&] { return expired.has_value(); }));
  CHECK_FALSE(static_cast<bool>(*expired));
}

TEST_CASE("etcd client: a watch streams puts and deletes in order from a revision, and ends when etcd goes") {
  test::EtcdCluster etcd(1);
  REQUIRE(etcd.ready());
  Loop l;
  EtcdClient c(*l.http, etcd.endpoints());
  int64_t before = await<int64_t>(l, [&](auto done) { c.put("/sy/w/old", "x", 0, done); });
  std::vector<WatchEvent> seen;
  int64_t last_revision = 0;
  std::optional<std::string> ended;
  int64_t resume = 0;
  c.watch(
      "/sy/w/", before + 1,
      [&](int64_t revision, std::vector<WatchEvent> events) {
        last_revision = revision;
        for (auto& e : events) seen.push_back(std::move(e));
      },
      [&](std::string why, int64_t from) {
        ended = why;
        resume = from;
      });
  await<int64_t>(l, [&](auto done) { c.put("/sy/w/a", "1", 0, done); });
  await<int64_t>(l, [&](auto done) { c.put("/sy/other", "not watched", 0, done); });
  await<int64_t>(l, [&](auto done) { c.put("/sy/w/b", "2", 0, done); });
  int64_t deleted = await<int64_t>(l, [&](auto done) { c.remove("/sy/w/a", done); });
  REQUIRE(l.run([&] { return seen.size() >= 3; }));
  REQUIRE(seen.size() == 3);
  CHECK(seen[0].type == WatchEvent::Type::Put);
  CHECK(seen[0].kv.key == "/sy/w/a");
  CHECK(seen[0].kv.value == "1");
  CHECK(seen[1].kv.key == "/sy/w/b");
  CHECK(seen[2].type == WatchEvent::Type::Delete);
  CHECK(seen[2].kv.key == "/sy/w/a");
  CHECK(last_revision == deleted);
  CHECK_FALSE(ended);

  etcd.kill(0);
  REQUIRE(l.run([&] { return ended.has_value(); }));
  CHECK(resume == deleted + 1);
}

// libcurl refuses to start or stop a transfer from inside its own callbacks;
// a watch's events arrive in one. A node that deleted its vote for a pair
// the watch had just removed never heard back, and with one write in flight
// at a time it sent no verdict again: its new registries were never decided.
TEST_CASE("etcd client: a watch handler can make calls and cancel its own watch") {
  test::EtcdCluster etcd(1);
  REQUIRE(etcd.ready());
  Loop l;
  EtcdClient c(*l.http, etcd.endpoints());
  int64_t before = await<int64_t>(l, [&](auto done) { c.put("/sy/h/seed", "x", 0, done); });
  std::optional<Result<int64_t>> written;
  int handled = 0;
  bool ended = false;
  uint64_t id = 0;
  id = c.watch(
      "/sy/h/", before + 1,
      [&](int64_t, std::vector<WatchEvent> events) {
        handled += static_cast<int>(events.size());
        c.put("/sy/elsewhere", "from a watch handler", 0, [&](Result<int64_t> r) { written = std::move(r); });
        c.cancelWatch(id);
      },
      [&](std::string, int64_t) { ended = true; });
  await<int64_t>(l, [&](auto done) { c.put("/sy/h/a", "1", 0, done); });
  REQUIRE(l.run([&] { return written.has_value(); }, 3000));
  CHECK(static_cast<bool>(*written));
  // Cancelled from inside: nothing more arrives, and it does not "end".
  await<int64_t>(l, [&](auto done) { c.put("/sy/h/b", "2", 0, done); });
  l.run([] { return false; }, 300);
  CHECK(handled == 1);
  CHECK_FALSE(ended);
  CHECK(l.http->inFlight() == 0);
}

TEST_CASE("etcd client: calls move to another member when one is down") {
  test::EtcdCluster etcd(3);
  REQUIRE(etcd.ready());
  Loop l;
  // The first endpoint listed is dead from the start.
  etcd.kill(0);
  EtcdClient c(*l.http, etcd.endpoints());
  int64_t revision = await<int64_t>(l, [&](auto done) { c.put("/sy/x", "y", 0, done); });
  CHECK(revision > 0);
  CHECK(c.endpoint() != etcd.endpoints()[0]);
  auto range = await<RangeResult>(l, [&](auto done) { c.getPrefix("/sy/", done); });
  REQUIRE(range.kvs.size() == 1);
  CHECK(range.kvs[0].value == "y");
}
