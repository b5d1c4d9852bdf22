// UdpBatch: one UDP socket's receive and send batches, so a UDP thread answers
// up to kSize queries with two system calls (recvmmsg, sendmmsg) instead of two
// per query, and never allocates: every buffer is here, made once.
//
// The socket is blocking and belongs to one thread (UdpThread), as in gdnsd:
// receive() sleeps in recvmmsg until a query arrives (no epoll_wait per
// wake-up), and send() waits for room in the send buffer, so no answer is
// dropped or copied when the kernel's buffer is full.
// On a wildcard socket (0.0.0.0, ::) each answer leaves from the address its
// query was sent to: the kernel reports it (IP_PKTINFO / IPV6_PKTINFO) and
// the answer carries it back, else a host with several addresses answers
// from whichever the route prefers and the client (dig, any resolver that
// checks the source) drops the reply.
// Thread safety: owned by one thread.
// Invariants:
//   1. count() answers are in tx[0, count); tx[i] points at tx_buf[i] and at
//      the peer address of the query it answers (and, on a wildcard socket,
//      at tx_ctl[i], the query's destination as the source to use).
#pragma once

#include <sys/socket.h>

#include <cstddef>
#include <cstdint>

#include "dns/answer_set.h"
#include "dns/query_parser.h"
#include "dns/rate_limiter.h"
#include "dns/worker_stats.h"

namespace switchyard::dns {

class UdpBatch {
 public:
  static constexpr unsigned kSize = 32;
  static constexpr size_t kRxSlot = 4096;    // a larger datagram is no DNS query: dropped
  static constexpr size_t kTxSlot = 1232;    // our largest UDP answer (kOurUdpPayload)

  explicit UdpBatch(int fd);
  UdpBatch(const UdpBatch&) = delete;
  UdpBatch& operator=(const UdpBatch&) = delete;

  // Waits for at least one datagram, then takes what the socket holds (up to
  // kSize). Returns how many; 0 on a receive timeout, a signal or shutdown.
  unsigned receive();
  // Answers the `received` queries from `set` (null: drops them) and sends
  // the answers, waiting for send-buffer room; a datagram the kernel refuses
  // outright (e.g. unreachable peer) is counted in send_errors and skipped.
  // With a limiter and the set's rate_limit on, answers past a client's
  // budget are dropped or slip out truncated (rate_limiter.h).
  void answer(unsigned received, const AnswerSet* set, Query& scratch, WorkerStats& stats,
              RateLimiter* limiter = nullptr);
  int fd() const { return fd_; }

 private:
  void send(unsigned count, WorkerStats& stats);
  // Writes into tx_ctl_[slot] the packet info that sends from the address
  // datagram `i` arrived at; returns its length (0: none found).
  size_t replySource(unsigned i, unsigned slot);

  static constexpr size_t kCtlSize = 64;  // >= CMSG_SPACE(sizeof(in6_pktinfo))

  int fd_;
  bool pktinfo_;  // a wildcard socket: answers carry their source address
  uint32_t limited_ = 0;  // rate-limited answers so far: every slip-th one slips
  mmsghdr rx_[kSize];
  iovec rx_iov_[kSize];
  sockaddr_storage peer_[kSize];
  mmsghdr tx_[kSize];
  iovec tx_iov_[kSize];
  alignas(64) uint8_t rx_buf_[kSize][kRxSlot];
  alignas(64) uint8_t tx_buf_[kSize][kTxSlot];
  alignas(cmsghdr) uint8_t rx_ctl_[kSize][kCtlSize];
  alignas(cmsghdr) uint8_t tx_ctl_[kSize][kCtlSize];
};

}  // namespace switchyard::dns
