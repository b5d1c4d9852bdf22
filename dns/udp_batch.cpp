#include "dns/udp_batch.h"

#include <cerrno>
#include <cstring>

#include "dns/responder.h"
#include "dns/socket_util.h"

namespace switchyard::dns {

UdpBatch::UdpBatch(int fd) : fd_(fd) {
  std::memset(rx_, 0, sizeof rx_);
  std::memset(tx_, 0, sizeof tx_);
  for (unsigned i = 0; i < kSize; ++i) {
    rx_iov_[i] = {rx_buf_[i], kRxSlot};
    rx_[i].msg_hdr.msg_iov = &rx_iov_[i];
    rx_[i].msg_hdr.msg_iovlen = 1;
    rx_[i].msg_hdr.msg_name = &peer_[i];
    tx_iov_[i] = {tx_buf_[i], 0};
    tx_[i].msg_hdr.msg_iov = &tx_iov_[i];
    tx_[i].msg_hdr.msg_iovlen = 1;
  }
}

UdpBatch::Status UdpBatch::flush(WorkerStats& stats) {
  while (sent_ < count_) {
    int n = sendmmsg(fd_, &tx_[sent_], count_ - sent_, MSG_DONTWAIT);
    if (n > 0) {
      sent_ += static_cast<unsigned>(n);
    } else if (errno == EINTR) {
      continue;
    } else if (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS) {
      return Status::Blocked;
    } else {
      // This one datagram cannot be sent (e.g. an ICMP error reported late,
      // an unreachable peer): skip it, keep the rest.
      WorkerStats::bump(stats.send_errors);
      ++sent_;
    }
  }
  return Status::Drained;
}

UdpBatch::Status UdpBatch::serve(AnswerPublisher::Reader& reader, Query& scratch, WorkerStats& stats) {
  if (flush(stats) == Status::Blocked) return Status::Blocked;
  for (unsigned round = 0; round < kRounds; ++round) {
    for (unsigned i = 0; i < kSize; ++i) rx_[i].msg_hdr.msg_namelen = sizeof peer_[i];
    int got = recvmmsg(fd_, rx_, kSize, MSG_DONTWAIT, nullptr);
    if (got <= 0) break;  // EAGAIN: the socket is empty (other errors: next wake-up)
    reader.refresh();
    const AnswerSet* set = reader.current();
    count_ = sent_ = 0;
    for (unsigned i = 0; i < static_cast<unsigned>(got); ++i) {
      const msghdr& in = rx_[i].msg_hdr;
      if ((in.msg_flags & MSG_TRUNC) || set == nullptr) {
        WorkerStats::bump(stats.dropped);
        continue;
      }
      IpAddress source = toIpAddress(reinterpret_cast<const sockaddr*>(&peer_[i]));
      ResponseInfo info;
      size_t n = respond(*set, rx_buf_[i], rx_[i].msg_len, source, Transport::Udp, scratch, tx_buf_[count_], kTxSlot,
                         &info);
      if (n == 0) {
        WorkerStats::bump(stats.dropped);
        continue;
      }
      stats.count(info, Transport::Udp);
      tx_iov_[count_].iov_len = n;
      tx_[count_].msg_hdr.msg_name = &peer_[i];
      tx_[count_].msg_hdr.msg_namelen = in.msg_namelen;
      ++count_;
    }
    if (flush(stats) == Status::Blocked) return Status::Blocked;
    if (static_cast<unsigned>(got) < kSize) break;  // the socket had less than a batch: it is empty
  }
  return Status::Drained;
}

}  // namespace switchyard::dns
