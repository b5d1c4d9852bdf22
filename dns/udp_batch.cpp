#include "dns/udp_batch.h"

#include <netinet/in.h>

#include <cerrno>
#include <cstring>

#include "dns/responder.h"
#include "dns/socket_util.h"

namespace switchyard::dns {

UdpBatch::UdpBatch(int fd) : fd_(fd), pktinfo_(boundToWildcard(fd)) {
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

unsigned UdpBatch::receive() {
  for (unsigned i = 0; i < kSize; ++i) {
    rx_[i].msg_hdr.msg_namelen = sizeof peer_[i];
    if (pktinfo_) {
      rx_[i].msg_hdr.msg_control = rx_ctl_[i];
      rx_[i].msg_hdr.msg_controllen = kCtlSize;
    }
  }
  // MSG_WAITFORONE: block for the first datagram only, then take what is there.
  int got = recvmmsg(fd_, rx_, kSize, MSG_WAITFORONE, nullptr);
  return got > 0 ? static_cast<unsigned>(got) : 0;
}

void UdpBatch::answer(unsigned received, const AnswerSet* set, Query& scratch, WorkerStats& stats,
                      RateLimiter* limiter) {
  const policy::RateLimit* rrl =
      limiter && set && set->zone->rate_limit.enabled() ? &set->zone->rate_limit : nullptr;
  uint32_t now_s = rrl ? RateLimiter::nowSeconds() : 0;  // one clock read per batch
  unsigned count = 0;
  for (unsigned i = 0; i < received; ++i) {
    const msghdr& in = rx_[i].msg_hdr;
    if ((in.msg_flags & MSG_TRUNC) || set == nullptr) {
      WorkerStats::bump(stats.dropped);
      continue;
    }
    IpAddress source = toIpAddress(reinterpret_cast<const sockaddr*>(&peer_[i]));
    ResponseInfo info;
    size_t n = respond(*set, rx_buf_[i], rx_[i].msg_len, source, Transport::Udp, scratch, tx_buf_[count], kTxSlot,
                       &info);
    if (n == 0) {
      WorkerStats::bump(stats.dropped);
      continue;
    }
    stats.count(info, Transport::Udp);
    if (rrl && !limiter->allow(*rrl, source, rateClassOf(info.rcode, info.in_zone), scratch.qname_hash, now_s)) {
      if (rrl->slip == 0 || ++limited_ % rrl->slip != 0) {
        WorkerStats::bump(stats.rate_limited_dropped);
        continue;
      }
      n = truncateResponse(scratch, info, tx_buf_[count], kTxSlot);
      WorkerStats::bump(stats.rate_limited_slipped);
    }
    tx_iov_[count].iov_len = n;
    tx_[count].msg_hdr.msg_name = &peer_[i];
    tx_[count].msg_hdr.msg_namelen = in.msg_namelen;
    if (pktinfo_) {
      size_t ctl = replySource(i, count);
      tx_[count].msg_hdr.msg_control = ctl ? tx_ctl_[count] : nullptr;
      tx_[count].msg_hdr.msg_controllen = ctl;
    }
    ++count;
  }
  send(count, stats);
}

size_t UdpBatch::replySource(unsigned i, unsigned slot) {
  msghdr& in = rx_[i].msg_hdr;
  msghdr out{};
  out.msg_control = tx_ctl_[slot];
  out.msg_controllen = kCtlSize;
  cmsghdr* o = CMSG_FIRSTHDR(&out);
  for (cmsghdr* c = CMSG_FIRSTHDR(&in); c != nullptr; c = CMSG_NXTHDR(&in, c)) {
    if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO) {
      in_pktinfo got;
      std::memcpy(&got, CMSG_DATA(c), sizeof got);
      in_pktinfo send{};
      // The local address the kernel says the datagram reached (for a
      // unicast query its destination; for a broadcast one the interface's
      // own address, a valid source); ifindex 0: the route picks the interface.
      send.ipi_spec_dst = got.ipi_spec_dst;
      o->cmsg_level = IPPROTO_IP;
      o->cmsg_type = IP_PKTINFO;
      o->cmsg_len = CMSG_LEN(sizeof send);
      std::memcpy(CMSG_DATA(o), &send, sizeof send);
      return CMSG_SPACE(sizeof send);
    }
    if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_PKTINFO) {
      // Address and arrival interface as received: a link-local destination
      // needs its interface to be a valid source.
      o->cmsg_level = IPPROTO_IPV6;
      o->cmsg_type = IPV6_PKTINFO;
      o->cmsg_len = CMSG_LEN(sizeof(in6_pktinfo));
      std::memcpy(CMSG_DATA(o), CMSG_DATA(c), sizeof(in6_pktinfo));
      return CMSG_SPACE(sizeof(in6_pktinfo));
    }
  }
  return 0;
}

void UdpBatch::send(unsigned count, WorkerStats& stats) {
  constexpr int kMaxRetries = 1000;  // then the datagram counts as an error: never spin forever
  unsigned sent = 0;
  int retries = 0;
  while (sent < count) {
    int n = sendmmsg(fd_, &tx_[sent], count - sent, 0);
    if (n > 0) {
      sent += static_cast<unsigned>(n);
      retries = 0;
    } else if ((errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS) &&
               ++retries < kMaxRetries) {
      // A send timeout or a momentarily full device queue: try the same
      // datagram again rather than lose an answer.
      continue;
    } else {
      retries = 0;
      // This one datagram cannot be sent (e.g. an ICMP error reported late,
      // an unreachable peer): skip it, keep the rest.
      WorkerStats::bump(stats.send_errors);
      ++sent;
    }
  }
}

}  // namespace switchyard::dns
