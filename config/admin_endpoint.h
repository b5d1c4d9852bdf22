// How a client finds a daemon's admin API from the daemon's own config file,
// the way `unbound-control -c` and `knotc -c` do: listen.admin, admin.token_file
// and admin.tls, with relative paths resolved against the file's directory
// (the loader's rule).
//
// Only the top-level `listen:` and `admin:` blocks are parsed: a client must
// not spend the seconds a full parse of a 100,000-registry file takes. (If
// the file is not in block style, the whole file is parsed instead.)
// Thread safety: a pure function.
#pragma once

#include <string>

#include "common/ip_address.h"
#include "common/result.h"

namespace switchyard::config {

struct AdminEndpoint {
  SocketAddress address;   // a wildcard listen address is given as loopback
  bool tls = false;        // admin.tls is set: the API speaks only HTTPS
  std::string tls_cert;    // admin.tls.cert_file (absolute), when tls
  std::string token_file;  // admin.token_file (absolute), or empty
  std::string url() const;  // http(s)://HOST:PORT
};

// Errors name the file (and line:column where one is wrong), e.g. a file
// with no listen.admin: the daemon serves no admin API then.
Result<AdminEndpoint> readAdminEndpoint(const std::string& config_path);

}  // namespace switchyard::config
