#include "dns/client/dns_client.h"

#include "dns/socket_util.h"

#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>

namespace switchyard::dnsclient {

namespace {

bool waitFd(int fd, short events, std::chrono::steady_clock::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
  if (left.count() <= 0) return false;
  pollfd p{fd, events, 0};
  return poll(&p, 1, static_cast<int>(left.count())) == 1;
}

}  // namespace

std::vector<uint8_t> buildQuery(const std::string& name, uint16_t type, const QueryOptions& o) {
  ldns_rdf* owner = ldns_dname_new_frm_str(name.c_str());
  ldns_pkt* p = ldns_pkt_query_new(owner, static_cast<ldns_rr_type>(type), LDNS_RR_CLASS_IN,
                                   o.rd ? LDNS_RD : 0);
  ldns_pkt_set_id(p, 0x1234);
  if (o.edns) {
    ldns_pkt_set_edns_udp_size(p, o.udp_size);
    if (o.ecs) {
      const IpPrefix& e = *o.ecs;
      std::vector<uint8_t> data{0, static_cast<uint8_t>(e.address.isV4() ? 1 : 2),
                                static_cast<uint8_t>(e.length), 0};
      data.insert(data.end(), e.address.bytes.begin(), e.address.bytes.begin() + (e.length + 7) / 8);
      ldns_edns_option_list* list = ldns_edns_option_list_new();
      ldns_edns_option_list_push(list, ldns_edns_new_from_data(LDNS_EDNS_CLIENT_SUBNET, data.size(), data.data()));
      ldns_pkt_set_edns_option_list(p, list);
    }
  }
  uint8_t* wire = nullptr;
  size_t size = 0;
  ldns_pkt2wire(&wire, p, &size);
  std::vector<uint8_t> out(wire, wire + size);
  free(wire);
  ldns_pkt_free(p);
  return out;
}

std::vector<uint8_t> exchange(const SocketAddress& server, const std::vector<uint8_t>& q, bool tcp,
                              int timeout_ms) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  socklen_t len = 0;
  sockaddr_storage ss = dns::toSockaddr(server, len);
  int fd = socket(ss.ss_family, (tcp ? SOCK_STREAM : SOCK_DGRAM) | SOCK_NONBLOCK, 0);
  std::vector<uint8_t> reply;
  if (fd < 0) return reply;
  if (!tcp) {
    sendto(fd, q.data(), q.size(), 0, reinterpret_cast<sockaddr*>(&ss), len);
    if (waitFd(fd, POLLIN, deadline)) {
      reply.resize(65535);
      ssize_t n = recv(fd, reply.data(), reply.size(), 0);
      reply.resize(n > 0 ? static_cast<size_t>(n) : 0);
    }
  } else if (connect(fd, reinterpret_cast<sockaddr*>(&ss), len) == 0 || errno == EINPROGRESS) {
    std::vector<uint8_t> framed{static_cast<uint8_t>(q.size() >> 8), static_cast<uint8_t>(q.size())};
    framed.insert(framed.end(), q.begin(), q.end());
    size_t sent = 0;
    while (sent < framed.size() && waitFd(fd, POLLOUT, deadline)) {
      ssize_t n = send(fd, framed.data() + sent, framed.size() - sent, MSG_NOSIGNAL);
      if (n <= 0) break;
      sent += static_cast<size_t>(n);
    }
    std::vector<uint8_t> in;
    uint8_t buf[4096];
    while (waitFd(fd, POLLIN, deadline)) {
      ssize_t n = recv(fd, buf, sizeof buf, 0);
      if (n <= 0) break;
      in.insert(in.end(), buf, buf + n);
      if (in.size() >= 2 && in.size() >= 2u + (in[0] << 8 | in[1])) {
        reply.assign(in.begin() + 2, in.begin() + 2 + (in[0] << 8 | in[1]));
        break;
      }
    }
  }
  close(fd);
  return reply;
}

Pkt parse(const std::vector<uint8_t>& wire) {
  if (wire.empty()) return nullptr;
  ldns_pkt* p = nullptr;
  if (ldns_wire2pkt(&p, wire.data(), wire.size()) != LDNS_STATUS_OK) return nullptr;
  return Pkt(p);
}

Pkt query(const SocketAddress& server, const std::string& name, uint16_t type, const QueryOptions& o) {
  return parse(exchange(server, buildQuery(name, type, o), o.tcp, o.timeout_ms));
}

std::vector<std::string> section(ldns_rr_list* list) {
  std::vector<std::string> out;
  for (size_t i = 0; list && i < ldns_rr_list_rr_count(list); ++i) {
    ldns_rr* rr = ldns_rr_list_rr(list, i);
    char* type = ldns_rr_type2str(ldns_rr_get_type(rr));
    std::string s = type;
    free(type);
    for (size_t j = 0; j < ldns_rr_rd_count(rr); ++j) {
      char* rd = ldns_rdf2str(ldns_rr_rdf(rr, j));
      s += std::string(" ") + rd;
      free(rd);
    }
    out.push_back(s);
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<std::string> answers(const ldns_pkt* p) { return section(ldns_pkt_answer(p)); }

std::optional<std::pair<int, int>> ecsOf(ldns_pkt* p) {
  ldns_edns_option_list* list = ldns_pkt_edns_get_option_list(p);
  for (size_t i = 0; list && i < ldns_edns_option_list_get_count(list); ++i) {
    ldns_edns_option* o = ldns_edns_option_list_get_option(list, i);
    if (ldns_edns_get_code(o) == LDNS_EDNS_CLIENT_SUBNET && ldns_edns_get_size(o) >= 4) {
      const uint8_t* d = ldns_edns_get_data(o);
      return std::make_pair(int{d[2]}, int{d[3]});
    }
  }
  return std::nullopt;
}

}  // namespace switchyard::dnsclient
