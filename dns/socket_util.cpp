#include "dns/socket_util.h"

#include <netinet/in.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace switchyard::dns {

sockaddr_storage toSockaddr(const SocketAddress& a, socklen_t& length) {
  sockaddr_storage ss{};
  if (a.address.isV4()) {
    auto* s = reinterpret_cast<sockaddr_in*>(&ss);
    s->sin_family = AF_INET;
    s->sin_port = htons(a.port);
    std::memcpy(&s->sin_addr, a.address.bytes.data(), 4);
    length = sizeof(sockaddr_in);
  } else {
    auto* s = reinterpret_cast<sockaddr_in6*>(&ss);
    s->sin6_family = AF_INET6;
    s->sin6_port = htons(a.port);
    std::memcpy(&s->sin6_addr, a.address.bytes.data(), 16);
    length = sizeof(sockaddr_in6);
  }
  return ss;
}

IpAddress toIpAddress(const sockaddr* sa) {
  IpAddress ip;
  if (sa->sa_family == AF_INET) {
    std::memcpy(ip.bytes.data(), &reinterpret_cast<const sockaddr_in*>(sa)->sin_addr, 4);
  } else {
    ip.family = IpAddress::Family::V6;
    std::memcpy(ip.bytes.data(), &reinterpret_cast<const sockaddr_in6*>(sa)->sin6_addr, 16);
  }
  return ip;
}

bool boundToWildcard(int fd) {
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len) != 0) return false;
  return toIpAddress(reinterpret_cast<const sockaddr*>(&ss)).isUnspecified();
}

uint16_t boundPort(int fd) {
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len) != 0) return 0;
  return ss.ss_family == AF_INET ? ntohs(reinterpret_cast<sockaddr_in*>(&ss)->sin_port)
                                 : ntohs(reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port);
}

Result<int> bindSocket(const SocketAddress& address, int type) {
  int family = address.address.isV4() ? AF_INET : AF_INET6;
  int fd = socket(family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  auto failed = [&](const char* what) {
    std::string msg = std::string(what) + " " + (type == SOCK_DGRAM ? "udp " : "tcp ") +
                      address.toString() + ": " + std::strerror(errno);
    if (fd >= 0) close(fd);
    return makeError(msg);
  };
  if (fd < 0) return failed("socket");
  int one = 1;
  if (setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0) return failed("SO_REUSEPORT");
  if (type == SOCK_STREAM) setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (family == AF_INET6) setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
  if (type == SOCK_DGRAM) {
    int size = 4 << 20;  // absorb bursts while a worker is busy
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
    // A wildcard socket must answer from the address each query was sent
    // to, which only the query's packet info says (udp_batch.h).
    if (address.address.isUnspecified()) {
      bool ok = family == AF_INET ? setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &one, sizeof one) == 0
                                  : setsockopt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &one, sizeof one) == 0;
      if (!ok) return failed(family == AF_INET ? "IP_PKTINFO" : "IPV6_RECVPKTINFO");
    }
  }
  socklen_t len = 0;
  sockaddr_storage ss = toSockaddr(address, len);
  if (bind(fd, reinterpret_cast<sockaddr*>(&ss), len) != 0) return failed("bind");
  if (type == SOCK_STREAM && listen(fd, 1024) != 0) return failed("listen");
  return fd;
}

}  // namespace switchyard::dns
