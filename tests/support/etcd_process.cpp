#include "tests/support/etcd_process.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <thread>

#include "tests/support/daemon_process.h"

namespace switchyard::test {

EtcdCluster::EtcdCluster(int members) {
  dir_ = makeTempDir();
  std::vector<std::string> peers;
  std::string initial;
  for (int i = 0; i < members; ++i) {
    SocketAddress client = freeLoopback();
    SocketAddress peer = freeLoopback();
    endpoints_.push_back("http://" + client.toString());
    peers.push_back("http://" + peer.toString());
    initial += (i ? "," : "") + std::string("m") + std::to_string(i) + "=" + peers.back();
  }
  for (int i = 0; i < members; ++i) {
    std::string name = "m" + std::to_string(i);
    std::vector<std::string> args{"/usr/bin/etcd",
                                  "--name", name,
                                  "--data-dir", dir_ + "/" + name,
                                  "--listen-client-urls", endpoints_[static_cast<size_t>(i)],
                                  "--advertise-client-urls", endpoints_[static_cast<size_t>(i)],
                                  "--listen-peer-urls", peers[static_cast<size_t>(i)],
                                  "--initial-advertise-peer-urls", peers[static_cast<size_t>(i)],
                                  "--initial-cluster", initial,
                                  "--initial-cluster-state", "new",
                                  "--initial-cluster-token", "switchyard-test",
                                  // Loopback: short heartbeats make elections (and tests) quick.
                                  "--heartbeat-interval", "50", "--election-timeout", "500"};
    args_.push_back(args);
    pids_.push_back(-1);
    restart(static_cast<size_t>(i));
  }
  // Ready when every member serves a linearizable read (needs a leader).
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  size_t up = 0;
  while (up < endpoints_.size() && std::chrono::steady_clock::now() < deadline) {
    auto r = runShell("curl -s -m 2 -X POST -d '{\"key\":\"AA==\"}' " + endpoints_[up] + "/v3/kv/range");
    if (r.output.find("\"header\"") != std::string::npos) ++up;
    else std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ready_ = up == endpoints_.size();
}

void EtcdCluster::restart(size_t member) {
  if (pids_[member] > 0) return;
  std::string log_path = dir_ + "/m" + std::to_string(member) + ".log";
  pid_t pid = spawnLogged(args_[member], log_path, /*append=*/true);
  pids_[member] = pid;
}

EtcdCluster::~EtcdCluster() {
  for (size_t i = 0; i < pids_.size(); ++i) kill(i);
  std::string rm = "rm -rf " + dir_;
  [[maybe_unused]] int rc = std::system(rm.c_str());
}

void EtcdCluster::kill(size_t member) {
  pid_t& pid = pids_[member];
  if (pid <= 0) return;
  ::kill(pid, SIGKILL);
  waitpid(pid, nullptr, 0);
  pid = -1;
}

std::string EtcdCluster::log(size_t member) const {
  std::ifstream in(dir_ + "/m" + std::to_string(member) + ".log");
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace switchyard::test
