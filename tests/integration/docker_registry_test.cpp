// Debian's docker-registry (the CNCF distribution registry) as real replicas:
// the daemon probes their /v2/, and a frozen (SIGSTOP) or killed replica moves
// the global name. Also checks /healthz and /readyz on the admin listener.
#include <catch2/catch.hpp>

#include <httplib.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <functional>
#include <thread>

#include "tests/support/daemon_process.h"
#include "tests/support/dns_client.h"

using namespace switchyard;
using namespace switchyard::test;
using Strings = std::vector<std::string>;

namespace {

const char* kRegistryBin = "/usr/bin/docker-registry";

// One `docker-registry serve` on a loopback address; killed by PID at the end.
class RegistryProcess {
 public:
  explicit RegistryProcess(const SocketAddress& a) : address_(a) {
    dir_ = makeTempDir();
    writeFile(dir_ + "/config.yml", "version: 0.1\nlog: { level: error }\nstorage:\n  filesystem:\n    rootdirectory: " +
                                        dir_ + "/data\nhttp:\n  addr: " + a.toString() + "\n");
    pid_ = fork();
    if (pid_ == 0) {
      prctl(PR_SET_PDEATHSIG, SIGKILL);
      std::string cfg = dir_ + "/config.yml";
      execl(kRegistryBin, kRegistryBin, "serve", cfg.c_str(), static_cast<char*>(nullptr));
      _exit(127);
    }
  }
  ~RegistryProcess() {
    kill(pid_, SIGCONT);
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
    [[maybe_unused]] int rc = std::system(("rm -rf " + dir_).c_str());
  }
  bool waitServing() const {
    httplib::Client c(address_.address.toString(), address_.port);
    c.set_connection_timeout(0, 200'000);
    for (int i = 0; i < 100; ++i) {  // 10 s bound
      if (auto r = c.Get("/v2/")) return r->status == 200;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return false;
  }
  void signal(int s) const { kill(pid_, s); }
  const SocketAddress& address() const { return address_; }

 private:
  SocketAddress address_;
  std::string dir_;
  pid_t pid_ = -1;
};

double waitFor(const std::function<Strings()>& f, const Strings& want, std::chrono::milliseconds limit) {
  auto start = std::chrono::steady_clock::now();
  while (std::chrono::steady_clock::now() - start < limit) {
    if (f() == want) return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return -1;
}

}  // namespace

TEST_CASE("docker-registry replicas: a frozen or killed replica fails over and back") {
  if (access(kRegistryBin, X_OK) != 0) FAIL("docker-registry is not installed (make test installs it)");
  // Both replicas on one port (the probe port is per registry), two addresses.
  SocketAddress first = freeLoopback();
  SocketAddress second = freeLoopback();
  second.port = first.port;
  for (int i = 0; i < 50 && !(second.address != first.address); ++i) second = freeLoopback(), second.port = first.port;
  RegistryProcess east(first), west(second);
  REQUIRE(east.waitServing());
  REQUIRE(west.waitServing());
  SocketAddress admin = freeLoopback();

  std::string config = R"(zone: cr.example.test
nameservers: [{ name: ns1.cr.example.test, addresses: [127.0.0.1] }]
listen: { dns: @DNS@, admin: ")" + admin.toString() + R"(" }
regions:
  eastus: { location: [37.37, -79.82] }
  westus: { location: [37.78, -122.42] }
clients: { default_region: eastus }
health: { port: )" + std::to_string(first.port) + R"(, interval: 100ms, timeout: 90ms, fall: 2, rise: 2 }
registries:
  - name: myregistry
    home: eastus
    replicas:
      - { region: eastus, addresses: [)" + first.address.toString() + R"(] }
      - { region: westus, addresses: [)" + second.address.toString() + R"(] }
)";
  DaemonProcess d(config);
  REQUIRE(d.running());
  INFO(d.log());
  auto answer = [&] {
    auto p = query(d.v4(), "myregistry.cr.example.test", LDNS_RR_TYPE_A);
    return p ? answers(p.get()) : Strings{};
  };
  Strings east_ip{"A " + first.address.toString()}, west_ip{"A " + second.address.toString()};
  REQUIRE(waitFor(answer, east_ip, std::chrono::seconds(5)) >= 0);

  httplib::Client api(admin.address.toString(), admin.port);
  auto ready = api.Get("/readyz");
  REQUIRE(ready);
  CHECK(ready->status == 200);
  CHECK(api.Get("/healthz")->status == 200);

  east.signal(SIGSTOP);  // accepts connections (kernel backlog), never answers: timeouts
  CHECK(waitFor(answer, west_ip, std::chrono::seconds(5)) >= 0);
  CHECK_THAT(d.log(), Catch::Contains("timeout,timeout"));
  east.signal(SIGCONT);
  CHECK(waitFor(answer, east_ip, std::chrono::seconds(5)) >= 0);

  east.signal(SIGKILL);
  CHECK(waitFor(answer, west_ip, std::chrono::seconds(5)) >= 0);
  CHECK(d.stop() == 0);
}
