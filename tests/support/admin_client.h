// The admin API as the tests call it: a real HTTP client with the daemon's
// bearer token, and switchyardctl's --server/--token-file arguments.
#pragma once

#include <httplib.h>

#include <nlohmann/json.hpp>
#include <string>
#include <utility>

#include "tests/support/daemon_process.h"

namespace switchyard::test {

struct AdminClient {
  httplib::Client client;
  httplib::Headers auth;
  explicit AdminClient(const DaemonProcess& d)
      : client(d.admin().address.toString(), d.admin().port), auth{{"Authorization", "Bearer " + d.token()}} {
    client.set_read_timeout(15);
  }
  // {HTTP status, parsed body}; {0, null} when the server did not answer.
  std::pair<int, nlohmann::json> get(const std::string& path) {
    auto r = client.Get(path, auth);
    return {r ? r->status : 0, r ? nlohmann::json::parse(r->body, nullptr, false) : nlohmann::json()};
  }
  std::pair<int, nlohmann::json> send(const std::string& method, const std::string& path, const std::string& body) {
    auto r = method == "PATCH"    ? client.Patch(path, auth, body, "application/json")
             : method == "PUT"    ? client.Put(path, auth, body, "application/json")
             : method == "DELETE" ? client.Delete(path, auth, body, "application/json")
                                  : client.Post(path, auth, body, "application/json");
    return {r ? r->status : 0, r ? nlohmann::json::parse(r->body, nullptr, false) : nlohmann::json()};
  }
};

// switchyardctl arguments that reach `d`.
inline std::string ctlArgs(const DaemonProcess& d, const std::string& args) {
  return "--server " + d.adminUrl() + " --token-file " + d.tokenFile() + " " + args;
}

}  // namespace switchyard::test
