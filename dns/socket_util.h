// Socket set-up for DNS workers: SO_REUSEPORT sockets so each worker has its
// own UDP socket and TCP listener on the same address (libuv 1.44 has no
// UV_UDP_REUSEPORT, so the sockets are made here and handed to libuv).
// Thread safety: plain functions.
#pragma once

#include <sys/socket.h>

#include "common/ip_address.h"
#include "common/result.h"

namespace switchyard::dns {

// Returns a bound, non-blocking socket (SOCK_DGRAM or SOCK_STREAM; a stream
// socket is also listening). IPv6 sockets are v6-only. A UDP socket on a
// wildcard address (0.0.0.0, ::) reports each datagram's destination
// (IP_PKTINFO / IPV6_RECVPKTINFO) so its answer can leave from it.
Result<int> bindSocket(const SocketAddress& address, int type);

// Whether `fd` is bound to a wildcard address.
bool boundToWildcard(int fd);

// The port a bound socket actually has (for port 0).
uint16_t boundPort(int fd);

IpAddress toIpAddress(const sockaddr* sa);
sockaddr_storage toSockaddr(const SocketAddress& address, socklen_t& length);

}  // namespace switchyard::dns
