// UdpBatch on real loopback sockets: a burst larger than one batch is answered
// in full, each answer to its own sender and query id; junk and oversized
// datagrams are dropped and counted. UdpThread: serves, goes offline while
// idle (publishing never waits for it) and stops promptly.
#include <catch2/catch.hpp>

#include <netinet/in.h>
#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <map>
#include <thread>

#include "dns/socket_util.h"
#include "dns/udp_batch.h"
#include "dns/udp_thread.h"
#include "dns/wire.h"
#include "tests/support/daemon_process.h"
#include "tests/support/test_zone.h"

using namespace switchyard;
using namespace switchyard::dns;

namespace {

int clientSocket() {
  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  int size = 4 << 20;
  setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
  return fd;
}

void sendTo(int fd, const SocketAddress& to, const std::vector<uint8_t>& bytes) {
  socklen_t len = 0;
  sockaddr_storage ss = toSockaddr(to, len);
  REQUIRE(sendto(fd, bytes.data(), bytes.size(), 0, reinterpret_cast<sockaddr*>(&ss), len) ==
          static_cast<ssize_t>(bytes.size()));
}

// Every datagram waiting on `fd` (bounded by a short poll timeout).
std::vector<std::vector<uint8_t>> receiveAll(int fd) {
  std::vector<std::vector<uint8_t>> out;
  for (int i = 0; i < 10'000; ++i) {
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, 200) != 1) break;
    std::vector<uint8_t> buf(65535);
    ssize_t n = recv(fd, buf.data(), buf.size(), 0);
    if (n <= 0) break;
    buf.resize(static_cast<size_t>(n));
    out.push_back(std::move(buf));
  }
  return out;
}

}  // namespace

TEST_CASE("UdpBatch answers a burst of queries from two clients, each to its sender, and drops junk") {
  test::Zone zone;
  SocketAddress at = test::freeLoopback();
  auto server = bindSocket(at, SOCK_DGRAM);
  REQUIRE(server);
  auto batch = std::make_unique<UdpBatch>(*server);
  timeval timeout{0, 100'000};  // receive() blocks: bound it
  setsockopt(*server, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  fcntl(*server, F_SETFL, fcntl(*server, F_GETFL) & ~O_NONBLOCK);
  WorkerStats stats;
  Query scratch;

  int a = clientSocket(), b = clientSocket();
  constexpr int kPerClient = 300;  // many batches
  for (int i = 0; i < kPerClient; ++i) {
    auto q = test::buildQuery("myregistry.cr.example.test", 1);
    writeU16(q.data(), static_cast<uint16_t>(i));
    sendTo(a, at, q);
    writeU16(q.data(), static_cast<uint16_t>(10'000 + i));
    sendTo(b, at, q);
  }
  sendTo(a, at, {0x12, 0x34, 0x01});                     // a runt: no answer possible
  sendTo(a, at, std::vector<uint8_t>(UdpBatch::kRxSlot + 100, 0));  // larger than a slot

  int batches = 0;
  for (int calls = 0; calls < 1000; ++calls) {
    unsigned got = batch->receive();
    if (got == 0) break;  // the receive timeout: the socket is empty
    CHECK(got <= UdpBatch::kSize);
    batch->answer(got, zone.set.get(), scratch, stats);
    ++batches;
  }
  CHECK(batches >= 2 * kPerClient / static_cast<int>(UdpBatch::kSize));

  auto answers_a = receiveAll(a), answers_b = receiveAll(b);
  REQUIRE(answers_a.size() == kPerClient);
  REQUIRE(answers_b.size() == kPerClient);
  std::map<uint16_t, int> ids;
  for (const auto& r : answers_a) ids[readU16(r.data())]++;
  for (const auto& r : answers_b) ids[readU16(r.data())]++;
  CHECK(ids.size() == 2 * kPerClient);
  CHECK(ids.begin()->first == 0);
  CHECK(ids.rbegin()->first == 10'000 + kPerClient - 1);
  auto one = test::parse(answers_b.front());
  REQUIRE(one);
  // The same answer respond() gives for the clients' source address.
  auto direct = zone.ask("myregistry.cr.example.test", 1, {}, "127.0.0.1");
  REQUIRE(direct);
  CHECK(test::answers(one.get()) == test::answers(direct.get()));
  CHECK(!test::answers(one.get()).empty());
  CHECK(stats.dropped.load() == 2);
  CHECK(stats.send_errors.load() == 0);
  close(a);
  close(b);
  batch.reset();
  close(*server);
}

TEST_CASE("UdpThread answers, publishing does not wait for it while idle, and it stops") {
  test::Zone zone;
  SocketAddress at = test::freeLoopback();
  auto server = bindSocket(at, SOCK_DGRAM);
  REQUIRE(server);
  AnswerPublisher publisher;
  publisher.publish(zone.set);
  auto thread = std::make_unique<UdpThread>(publisher, *server);
  thread->start();

  int client = clientSocket();
  auto q = test::buildQuery("myregistry.cr.example.test", 1);
  sendTo(client, at, q);
  auto got = receiveAll(client);
  REQUIRE(got.size() == 1);
  CHECK(readU16(got[0].data()) == readU16(q.data()));

  // Idle now (asleep in recvmmsg, offline): a new generation counts as
  // acknowledged at once, and the old one is freed without waiting for it.
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  auto copy = std::make_shared<AnswerSet>(*zone.set);
  copy->generation = zone.set->generation + 1;
  std::shared_ptr<const AnswerSet> next = copy;
  std::weak_ptr<const AnswerSet> old = zone.set;
  publisher.publish(next);
  zone.set.reset();
  CHECK(publisher.waitAcked(next->generation, std::chrono::milliseconds(0)).has_value());
  CHECK(old.expired());
  CHECK(publisher.retainedCount() == 1);

  // And it answers from the new set when the next query comes.
  sendTo(client, at, q);
  CHECK(receiveAll(client).size() == 1);

  thread->stop();  // shutdown() wakes it; its 500 ms receive timeout bounds it anyway
  thread.reset();
  publisher.removeReaders();
  close(client);
}
