#include "dns/worker_stats.h"

#include "dns/wire.h"

namespace switchyard::dns {

const char* WorkerStats::endpointLabel(int i) {
  static const char* kNames[kEndpoints] = {"global", "regional", "data", "apex", "other"};
  return kNames[i];
}

const char* WorkerStats::rcodeLabel(int i) {
  static const char* kNames[kRcodes] = {"NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED", "BADVERS"};
  return kNames[i];
}

void WorkerStats::count(const ResponseInfo& info, Transport transport) {
  int e = 4;
  if (info.in_zone) {
    switch (info.kind) {
      case NameKind::Global: e = 0; break;
      case NameKind::Regional: e = 1; break;
      case NameKind::Data: e = 2; break;
      case NameKind::Apex: e = 3; break;
      default: e = 4;
    }
  }
  int r = info.rcode == rcode::BadVers ? 6 : info.rcode <= rcode::Refused ? info.rcode : 2;
  bump(queries[e][r]);
  if (info.truncated) bump(truncated);
  if (transport == Transport::Tcp) bump(tcp);
}

}  // namespace switchyard::dns
