// Notifier: sends DNS NOTIFY (RFC 1996) for the zone to every `announce.notify`
// target after a routing change, and retransmits until each target answers.
//
// Per target: a new serial replaces whatever was pending (only the newest
// version matters); retransmissions after 1, 2, 4 and 8 s, then it gives up
// and logs it. Answers are matched by source and message id.
// Thread safety: owned by the control thread; uses the control loop.
#pragma once

#include <uv.h>

#include <cstdint>
#include <memory>
#include <random>
#include <vector>

#include "policy/topology.h"

namespace switchyard::control {

class Notifier {
 public:
  explicit Notifier(uv_loop_t* loop);
  ~Notifier();
  // Starts (or restarts) notifying every target of `topology` about `serial`.
  void notify(const policy::Topology& topology, uint32_t serial);
  void close();

  static constexpr int kMaxAttempts = 5;

 private:
  struct Target;
  void send(Target& t);
  uv_udp_t* socketFor(bool v4);
  static void onRead(uv_udp_t* h, ssize_t nread, const uv_buf_t* buf, const sockaddr* addr, unsigned flags);

  uv_loop_t* loop_;
  std::unique_ptr<uv_udp_t> v4_, v6_;
  std::vector<std::unique_ptr<Target>> targets_;
  std::mt19937 rng_{std::random_device{}()};
  char rx_[512];
  bool closed_ = false;
};

}  // namespace switchyard::control
