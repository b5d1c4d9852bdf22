// Announcements of a routing change: the SOA serial goes up, DNS NOTIFY reaches
// the configured target (and is retransmitted until it answers), and the
// event is POSTed to a webhook (and retried when the receiver fails).
#include <catch2/catch.hpp>

#include <httplib.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <fstream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

#include "tests/support/daemon_process.h"
#include "tests/support/dns_client.h"
#include "tests/support/test_topology.h"

using namespace switchyard;
using namespace switchyard::test;

namespace {

struct UdpListener {
  int fd = -1;
  SocketAddress address;
  UdpListener() {
    address = freeLoopback();
    fd = socket(AF_INET, SOCK_DGRAM, 0);
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_port = htons(address.port);
    std::memcpy(&sa.sin_addr, address.address.bytes.data(), 4);
    REQUIRE(bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0);
  }
  ~UdpListener() { close(fd); }
  // Next datagram within `ms`, with its sender.
  std::vector<uint8_t> receive(int ms, sockaddr_in* from) {
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, ms) != 1) return {};
    std::vector<uint8_t> buf(4096);
    socklen_t len = sizeof(sockaddr_in);
    ssize_t n = recvfrom(fd, buf.data(), buf.size(), 0, reinterpret_cast<sockaddr*>(from), &len);
    buf.resize(n > 0 ? static_cast<size_t>(n) : 0);
    return buf;
  }
};

uint32_t soaSerial(const DaemonProcess& d) {
  auto p = query(d.v4(), "cr.example.test", LDNS_RR_TYPE_SOA);
  REQUIRE(p);
  return ldns_rdf2native_int32(ldns_rr_rdf(ldns_rr_list_rr(ldns_pkt_answer(p.get()), 0), 2));
}

}  // namespace

TEST_CASE("a routing change bumps the serial, sends NOTIFY until answered, and POSTs the event to webhooks") {
  UdpListener secondary;
  SocketAddress hook = freeLoopback();
  httplib::Server receiver;
  std::mutex m;
  std::vector<std::string> bodies;
  std::atomic<int> posts{0};
  receiver.Post("/events", [&](const httplib::Request& req, httplib::Response& res) {
    if (++posts == 1) {
      res.status = 500;  // the first delivery fails: the sender must retry
      return;
    }
    std::lock_guard<std::mutex> lock(m);
    bodies.push_back(req.body);
    res.status = 204;
  });
  REQUIRE(receiver.bind_to_port(hook.address.toString(), hook.port));
  std::thread server([&] { receiver.listen_after_bind(); });

  std::string config = adminConfig() + "announce:\n  notify: [\"" + secondary.address.toString() +
            "\"]\n  webhooks: [{ url: \"http://" + hook.toString() + "/events\" }]\n";
  DaemonProcess d(config);
  REQUIRE(d.running());
  INFO(d.log());
  uint32_t before = soaSerial(d);

  httplib::Client api(d.admin().address.toString(), d.admin().port);
  auto r = api.Patch("/v1/registries/myregistry/replications/eastus", {{"Authorization", "Bearer " + d.token()}},
                     R"({"globalEndpointRouting": false})", "application/json");
  REQUIRE(r);
  REQUIRE(r->status == 200);
  uint32_t after = soaSerial(d);
  CHECK(after > before);

  // NOTIFY arrives; we stay silent once, so it comes again with the same id.
  sockaddr_in from{};
  auto first = parse(secondary.receive(3000, &from));
  REQUIRE(first);
  CHECK(ldns_pkt_get_opcode(first.get()) == LDNS_PACKET_NOTIFY);
  CHECK(ldns_pkt_aa(first.get()));
  char* qname = ldns_rdf2str(ldns_rr_owner(ldns_rr_list_rr(ldns_pkt_question(first.get()), 0)));
  CHECK(std::string(qname) == "cr.example.test.");
  free(qname);
  CHECK(ldns_rr_get_type(ldns_rr_list_rr(ldns_pkt_question(first.get()), 0)) == LDNS_RR_TYPE_SOA);
  CHECK(ldns_rdf2native_int32(ldns_rr_rdf(ldns_rr_list_rr(ldns_pkt_answer(first.get()), 0), 2)) == after);
  auto again_raw = secondary.receive(3000, &from);
  auto again = parse(again_raw);
  REQUIRE(again);
  CHECK(ldns_pkt_id(again.get()) == ldns_pkt_id(first.get()));

  // Answer it: the retransmissions stop.
  std::vector<uint8_t> ack(again_raw.begin(), again_raw.begin() + 12);
  ack[2] = static_cast<uint8_t>(ack[2] | 0x80);
  for (int i = 4; i < 12; ++i) ack[i] = 0;
  sendto(secondary.fd, ack.data(), ack.size(), 0, reinterpret_cast<sockaddr*>(&from), sizeof from);
  CHECK(secondary.receive(2500, &from).empty());
  bool acked = false;
  for (int i = 0; i < 20 && !acked; ++i) {
    acked = d.log().find("event=notify_acked") != std::string::npos;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  CHECK(acked);

  // The webhook got the exclusion event despite the first 500.
  bool got = false;
  for (int i = 0; i < 100 && !got; ++i) {  // 10 s bound
    {
      std::lock_guard<std::mutex> lock(m);
      for (const auto& b : bodies) got = got || nlohmann::json::parse(b)["type"] == "exclusion";
    }
    if (!got) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  CHECK(got);
  CHECK(posts.load() >= 2);
  receiver.stop();
  server.join();
}
