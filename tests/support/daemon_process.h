// Runs the real `switchyard` binary for integration tests: writes its config
// into a fresh temp dir, picks a free random loopback address and port, starts
// it, waits (bounded) until it answers, and stops it by PID.
#pragma once

#include <sys/types.h>

#include <functional>
#include <string>
#include <vector>

#include "common/ip_address.h"

namespace switchyard::test {

// A random 127.a.b.c (a,b,c >= 1) and port in 20000..59999 on which both UDP
// and TCP binds succeed right now. v6 = true picks a port on ::1 instead.
SocketAddress freeLoopback(bool v6 = false);
// A port free on both the given v4 address and ::1 (for configs that listen on both).
uint16_t freePortOn(const IpAddress& v4);

std::string makeTempDir();
void writeFile(const std::string& path, const std::string& text);

struct RunResult {
  int exit_code;
  std::string output;  // stdout + stderr
};
// Runs the daemon with `args` to completion (bounded by `timeout_s`).
RunResult runDaemon(const std::string& args, int timeout_s = 20);
// Starts args[0] (a full path) with `args`, stdout and stderr to `log_path`;
// it gets SIGKILL if the test process dies. Returns its PID.
pid_t spawnLogged(std::vector<std::string> args, const std::string& log_path, bool append = false);
// Runs switchyardctl with `args` to completion.
RunResult runCtl(const std::string& args, int timeout_s = 20);
// Runs a shell command line to completion (the caller bounds it, e.g. with timeout(1)).
RunResult runShell(const std::string& command);
// Path of the switchyardctl binary under test.
std::string ctlBinary();

class DaemonProcess {
 public:
  // Writes `config` (with "@DNS@" replaced by the listen list, and "@ADMIN@" by
  // a free loopback IP:PORT; then admin.token holds a fresh token) and starts.
  // `before_start` (optional) runs after dir(), v4() and admin() are chosen
  // and before the daemon starts, e.g. to write a certificate for admin().
  explicit DaemonProcess(const std::string& config, const std::string& extra_args = "",
                         const std::function<void(const DaemonProcess&)>& before_start = {});
  ~DaemonProcess();

  bool running() const;
  const SocketAddress& v4() const { return v4_; }
  const SocketAddress& v6() const { return v6_; }
  const std::string& dir() const { return dir_; }
  const SocketAddress& admin() const { return admin_; }
  std::string tokenFile() const { return dir_ + "/admin.token"; }
  std::string token() const;  // the admin bearer token written for "@ADMIN@"
  std::string adminUrl() const { return "http://" + admin_.toString(); }
  std::string log() const;
  void signal(int signum) const;
  // Writes `text` as the config file, placeholders replaced as at start, for a
  // reload (SIGHUP or POST /v1/reload) to read.
  void rewriteConfig(std::string text) const;
  pid_t pid() const { return pid_; }  // -1 once reaped
  // SIGTERM and wait (bounded); returns the exit status or -1.
  int stop();

 private:
  std::string dir_;
  SocketAddress v4_;
  SocketAddress v6_;
  SocketAddress admin_;
  mutable pid_t pid_ = -1;  // -1 once reaped
  mutable int status_ = -1;
};

}  // namespace switchyard::test
