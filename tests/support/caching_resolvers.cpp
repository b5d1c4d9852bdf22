#include "tests/support/caching_resolvers.h"

#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <chrono>
#include <fstream>
#include <sstream>
#include <thread>

#include "tests/support/daemon_process.h"
#include "tests/support/dns_client.h"

namespace switchyard::test {

namespace {

std::string readAll(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace

CachingResolvers::~CachingResolvers() {
  for (pid_t p : pids_) kill(p, SIGTERM);
  for (pid_t p : pids_) {
    for (int i = 0; i < 50 && waitpid(p, nullptr, WNOHANG) == 0; ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    kill(p, SIGKILL);
    waitpid(p, nullptr, 0);
  }
}

CachingResolvers::Pdns CachingResolvers::pdns(bool ecs) {
  Planned p{Planned::PdnsR, "pdns" + std::to_string(planned_.size()), freeLoopback(), {}, "", ecs, false};
  p.web = SocketAddress{p.dns.address, freePortOn(p.dns.address)};
  std::string dir = dir_ + "/" + p.name;
  mkdir(dir.c_str(), 0755);
  writeFile(dir + "/api.key", "key-" + p.name + "-0123456789\n");
  planned_.push_back(p);
  return {p.dns, p.web, dir + "/api.key"};
}

CachingResolvers::Unbound CachingResolvers::unbound(bool tls, bool subnetcache) {
  Planned p{Planned::UnboundR, "unbound" + std::to_string(planned_.size()), freeLoopback(), {}, "", tls, subnetcache};
  std::string dir = dir_ + "/" + p.name;
  mkdir(dir.c_str(), 0755);
  Unbound u{p.dns, dir + "/control.sock", "", "", ""};
  if (tls) {
    // The keys unbound-control-setup makes, as an operator would.
    runShell("unbound-control-setup -d " + dir + " > " + dir + "/setup.log 2>&1");
    p.web = SocketAddress{p.dns.address, freePortOn(p.dns.address)};
    u.control = p.dns.address.toString() + "@" + std::to_string(p.web.port);
    u.server_cert = dir + "/unbound_server.pem";
    u.client_cert = dir + "/unbound_control.pem";
    u.client_key = dir + "/unbound_control.key";
  }
  p.control = u.control;
  planned_.push_back(p);
  return u;
}

CachingResolvers::Knot CachingResolvers::knot() {
  Planned p{Planned::KnotR, "knot" + std::to_string(planned_.size()), freeLoopback(), {}, "", false, false};
  std::string dir = dir_ + "/" + p.name;
  mkdir(dir.c_str(), 0755);
  p.control = dir + "/control.sock";
  planned_.push_back(p);
  return {p.dns, p.control};
}

void CachingResolvers::start(const std::string& zone, const SocketAddress& daemon) {
  zone_ = zone;
  for (const auto& p : planned_) {
    std::string dir = dir_ + "/" + p.name;
    std::string ip = p.dns.address.toString(), port = std::to_string(p.dns.port);
    std::vector<std::string> args;
    if (p.kind == Planned::PdnsR) {
      std::string key = readAll(dir + "/api.key");
      key.pop_back();
      std::string conf = "local-address=" + ip + "\nlocal-port=" + port + "\nquery-local-address=" + ip +
                         "\nallow-from=127.0.0.0/8\ndont-query=\nforward-zones=" + zone + "=" + daemon.toString() +
                         "\nhint-file=no\nsecurity-poll-suffix=\ndnssec=off\nsocket-dir=" + dir +
                         "\ndaemon=no\nwrite-pid=no\nthreads=1\nwebserver=yes\nwebserver-address=" + ip +
                         "\nwebserver-port=" + std::to_string(p.web.port) +
                         "\nwebserver-allow-from=127.0.0.0/8\napi-key=" + key + "\n";
      if (p.flag)  // ECS: the recursor adds the client's /24, and caches per scope
        conf += "edns-subnet-allow-list=" + zone + "\necs-add-for=127.0.0.0/8\necs-ipv4-bits=24\n";
      writeFile(dir + "/recursor.conf", conf);
      args = {"/usr/sbin/pdns_recursor", "--config-dir=" + dir};
    } else if (p.kind == Planned::UnboundR) {
      std::string control = p.flag ? "  control-interface: " + ip + "\n  control-port: " + std::to_string(p.web.port) +
                                         "\n  control-use-cert: yes\n  server-key-file: " + dir +
                                         "/unbound_server.key\n  server-cert-file: " + dir +
                                         "/unbound_server.pem\n  control-key-file: " + dir +
                                         "/unbound_control.key\n  control-cert-file: " + dir + "/unbound_control.pem\n"
                                   : "  control-interface: " + p.control + "\n  control-use-cert: no\n";
      writeFile(dir + "/unbound.conf",
                "server:\n  interface: " + ip + "\n  port: " + port + "\n  outgoing-interface: " + ip +
                    "\n  do-daemonize: no\n  username: \"\"\n  chroot: \"\"\n  directory: \"" + dir +
                    "\"\n  pidfile: \"" + dir + "/unbound.pid\"\n  use-syslog: no\n  logfile: \"\"\n  verbosity: 1\n"
                    "  access-control: 127.0.0.0/8 allow\n  do-not-query-localhost: no\n" +
                    (p.subnetcache ? "  module-config: \"subnetcache iterator\"\n  client-subnet-zone: \"" + zone +
                                         "\"\n  client-subnet-always-forward: yes\n"
                                   : std::string("  module-config: \"iterator\"\n")) +
                    "  local-zone: \"test.\" nodefault\nremote-control:\n  control-enable: yes\n" + control +
                    "stub-zone:\n  name: \"" + zone + "\"\n  stub-addr: " + daemon.address.toString() + "@" +
                    std::to_string(daemon.port) + "\n");
      args = {"/usr/sbin/unbound", "-d", "-c", dir + "/unbound.conf"};
    } else {
      writeFile(dir + "/kresd.conf",
                "net.listen('" + ip + "', " + port + ", { kind = 'dns' })\nnet.listen('" + p.control +
                    "', nil, { kind = 'control' })\nmodules = { 'policy' }\npolicy.add(policy.suffix(policy.STUB({'" +
                    daemon.address.toString() + "@" + std::to_string(daemon.port) + "'}), {todname('" + zone +
                    "')}))\ncache.size = 10 * MB\n");
      args = {"/usr/sbin/kresd", "-n", "-c", dir + "/kresd.conf", dir};
    }
    pids_.push_back(spawnLogged(args, dir + "/log"));
  }
}

std::string CachingResolvers::waitReady() const {
  const std::string& zone = zone_;
  // Ready when each answers a name of the zone through the daemon.
  for (const auto& p : planned_) {
    bool ready = false;
    for (int i = 0; i < 100 && !ready; ++i) {
      auto reply = dnsclient::query(p.dns, "ns1." + zone, 1, {.rd = true, .timeout_ms = 300});
      ready = reply && ldns_pkt_get_rcode(reply.get()) != LDNS_RCODE_REFUSED && !answers(reply.get()).empty();
      if (!ready) std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    if (!ready) return p.name + " did not answer within 10 s; its log:\n" + readAll(dir_ + "/" + p.name + "/log");
  }
  return "";
}

}  // namespace switchyard::test
