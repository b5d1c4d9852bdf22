// UdpBatch: one UDP socket's receive and send batches, so a worker answers up
// to kSize queries with two system calls (recvmmsg, sendmmsg) instead of two
// per query, and never allocates: every buffer is here, made once.
//
// serve() reads what the socket holds (up to kRounds batches, then yields to
// the loop), answers every query into the matching send slot, and sends the
// batch. When the socket's send buffer is full, the unsent tail stays in
// tx[sent, count) and serve()/flush() report "blocked": the worker then waits
// for the socket to be writable and reads nothing meanwhile, so the tail's
// buffers and peer addresses stay valid and no answer is lost or copied.
// Thread safety: owned by one worker thread.
// Invariants:
//   1. 0 <= sent <= count <= kSize; tx[i] for i < count points at tx_buf[i]
//      and at the peer address of the query it answers.
//   2. Nothing is received while sent < count.
#pragma once

#include <sys/socket.h>

#include <cstddef>
#include <cstdint>

#include "dns/answer_publisher.h"
#include "dns/answer_set.h"
#include "dns/query_parser.h"
#include "dns/worker_stats.h"

namespace switchyard::dns {

class UdpBatch {
 public:
  static constexpr unsigned kSize = 32;
  static constexpr unsigned kRounds = 8;     // batches per wake-up before yielding to the loop
  static constexpr size_t kRxSlot = 4096;    // a larger datagram is no DNS query: dropped
  static constexpr size_t kTxSlot = 1232;    // our largest UDP answer (kOurUdpPayload)

  explicit UdpBatch(int fd);
  UdpBatch(const UdpBatch&) = delete;
  UdpBatch& operator=(const UdpBatch&) = delete;

  enum class Status { Drained, Blocked };
  // Reads, answers and sends until the socket is empty (or kRounds batches).
  // Picks up a newly published AnswerSet before every batch (one atomic
  // load), so a busy worker switches within a batch, not a whole wake-up.
  Status serve(AnswerPublisher::Reader& reader, Query& scratch, WorkerStats& stats);
  // Sends the unsent tail; Drained once nothing is left.
  Status flush(WorkerStats& stats);
  int fd() const { return fd_; }

 private:
  int fd_;
  unsigned count_ = 0;
  unsigned sent_ = 0;
  mmsghdr rx_[kSize];
  iovec rx_iov_[kSize];
  sockaddr_storage peer_[kSize];
  mmsghdr tx_[kSize];
  iovec tx_iov_[kSize];
  alignas(64) uint8_t rx_buf_[kSize][kRxSlot];
  alignas(64) uint8_t tx_buf_[kSize][kTxSlot];
};

}  // namespace switchyard::dns
