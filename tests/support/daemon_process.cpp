#include "tests/support/daemon_process.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <fstream>
#include <random>
#include <sstream>
#include <stdexcept>
#include <thread>
#include <vector>

#include "dns/socket_util.h"
#include "tests/support/dns_client.h"

#ifndef SWITCHYARD_BIN
#error "SWITCHYARD_BIN must name the daemon binary"
#endif

namespace switchyard::test {

namespace {

std::mt19937& rng() {
  static std::mt19937 r{std::random_device{}()};
  return r;
}

bool canBind(const SocketAddress& a, int type) {
  int fd = socket(a.address.isV4() ? AF_INET : AF_INET6, type, 0);
  if (fd < 0) return false;
  socklen_t len = 0;
  sockaddr_storage ss = dns::toSockaddr(a, len);
  bool ok = bind(fd, reinterpret_cast<sockaddr*>(&ss), len) == 0;
  close(fd);
  return ok;
}

bool free(const SocketAddress& a) { return canBind(a, SOCK_DGRAM) && canBind(a, SOCK_STREAM); }

}  // namespace

// Ports below the kernel's ephemeral range (32768-60999): a port from that
// range can be free when checked and taken a moment later by any process's
// outgoing connection or unbound UDP client socket.
uint16_t randomPort() { return static_cast<uint16_t>(20000 + rng()() % (32768 - 20000)); }

SocketAddress freeLoopback(bool v6) {
  for (int attempt = 0; attempt < 200; ++attempt) {
    SocketAddress a;
    a.port = randomPort();
    if (v6) a.address = IpAddress::parse("::1").value();
    else a.address = IpAddress::v4(127, static_cast<uint8_t>(1 + rng()() % 254),
                                   static_cast<uint8_t>(1 + rng()() % 254), static_cast<uint8_t>(1 + rng()() % 254));
    if (free(a)) return a;
  }
  throw std::runtime_error("no free loopback address found in 200 tries");
}

uint16_t freePortOn(const IpAddress& v4) {
  for (int attempt = 0; attempt < 200; ++attempt) {
    auto port = randomPort();
    if (free({v4, port}) && free({IpAddress::parse("::1").value(), port})) return port;
  }
  throw std::runtime_error("no free port found in 200 tries");
}

std::string makeTempDir() {
  char tmpl[] = "/tmp/switchyard-test-XXXXXX";
  if (!mkdtemp(tmpl)) throw std::runtime_error("mkdtemp failed");
  return tmpl;
}

void writeFile(const std::string& path, const std::string& text) {
  std::ofstream out(path);
  out << text;
}

namespace {
RunResult runCommand(const std::string& cmd) {
  FILE* f = popen(cmd.c_str(), "r");
  std::string out;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, f)) > 0) out.append(buf, n);
  int status = pclose(f);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}
}  // namespace

RunResult runDaemon(const std::string& args, int timeout_s) {
  return runCommand("timeout " + std::to_string(timeout_s) + " " SWITCHYARD_BIN " " + args + " 2>&1");
}

RunResult runShell(const std::string& command) { return runCommand(command); }

std::string ctlBinary() { return SWITCHYARDCTL_BIN; }

RunResult runCtl(const std::string& args, int timeout_s) {
  return runCommand("timeout " + std::to_string(timeout_s) + " " SWITCHYARDCTL_BIN " " + args + " 2>&1");
}

pid_t spawnLogged(std::vector<std::string> args, const std::string& log_path, bool append) {
  pid_t pid = fork();
  if (pid == 0) {
    // Exec the program itself (no wrapper that would re-deliver signals), and
    // let it die with the test process so nothing outlives a crashed test.
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    int fd = open(log_path.c_str(), O_WRONLY | O_CREAT | (append ? O_APPEND : O_TRUNC), 0644);
    dup2(fd, 1);
    dup2(fd, 2);
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    execv(argv[0], argv.data());
    _exit(127);
  }
  return pid;
}

void DaemonProcess::rewriteConfig(std::string text) const {
  std::string listen = "[\"" + v4_.toString() + "\", \"" + v6_.toString() + "\"]";
  for (size_t i; (i = text.find("@DNS@")) != std::string::npos;) text.replace(i, 5, listen);
  for (size_t i; (i = text.find("@ADMIN@")) != std::string::npos;) text.replace(i, 7, admin_.toString());
  writeFile(dir_ + "/switchyard.yaml", text);
}

DaemonProcess::DaemonProcess(const std::string& config, const std::string& extra_args,
                             const std::function<void(const DaemonProcess&)>& before_start) {
  dir_ = makeTempDir();
  v4_ = freeLoopback(false);
  v4_.port = freePortOn(v4_.address);
  v6_ = {IpAddress::parse("::1").value(), v4_.port};
  if (config.find("@ADMIN@") != std::string::npos) {
    admin_ = freeLoopback(false);
    std::string token;
    for (int i = 0; i < 32; ++i) token += "0123456789abcdef"[rng()() % 16];
    writeFile(dir_ + "/admin.token", token + "\n");
  }
  rewriteConfig(config);
  if (before_start) before_start(*this);

  std::string config_path = dir_ + "/switchyard.yaml";
  std::vector<std::string> args{SWITCHYARD_BIN, "--config", config_path, "--threads", "2"};
  std::istringstream extra(extra_args);
  for (std::string a; extra >> a;) args.push_back(a);
  std::string log_path = dir_ + "/daemon.log";
  pid_ = spawnLogged(args, log_path);
  // Ready when the apex SOA answers (bounded: 150 x (200 ms + 100 ms)). A
  // query sent before the socket is bound is lost without an error (an
  // unconnected UDP socket sees no ICMP), so each try waits only 200 ms.
  std::string zone = "cr.example.test";
  for (int i = 0; i < 150 && running(); ++i) {
    auto p = query(v4_, zone, LDNS_RR_TYPE_SOA, {.timeout_ms = 200});
    if (p) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

DaemonProcess::~DaemonProcess() {
  stop();
  std::string rm = "rm -rf " + dir_;
  [[maybe_unused]] int rc = std::system(rm.c_str());
}

bool DaemonProcess::running() const {
  if (pid_ <= 0) return false;
  int status = 0;
  if (waitpid(pid_, &status, WNOHANG) != pid_) return true;
  pid_ = -1;
  status_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return false;
}

std::string DaemonProcess::log() const {
  std::ifstream in(dir_ + "/daemon.log");
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string DaemonProcess::token() const {
  std::ifstream in(tokenFile());
  std::string t;
  in >> t;
  return t;
}

void DaemonProcess::signal(int signum) const {
  if (pid_ > 0) kill(pid_, signum);
}

int DaemonProcess::stop() {
  if (pid_ <= 0) return status_;
  kill(pid_, SIGTERM);
  int status = 0;
  for (int i = 0; i < 100; ++i) {  // 10 s bound
    pid_t r = waitpid(pid_, &status, WNOHANG);
    if (r == pid_) {
      pid_ = -1;
      status_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      return status_;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  kill(pid_, SIGKILL);
  waitpid(pid_, &status, 0);
  pid_ = -1;
  status_ = -1;
  return status_;
}

}  // namespace switchyard::test
