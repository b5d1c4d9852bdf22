// A real etcd cluster (Debian's etcd-server) for fleet tests: `members`
// processes on free random loopback addresses, each with its own data
// directory, started together and stopped by PID (SIGKILL) when the object
// goes away or kill(i) is called.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

namespace switchyard::test {

class EtcdCluster {
 public:
  // Waits (bounded, 30 s) until every member answers; ready() says whether they did.
  explicit EtcdCluster(int members = 1);
  ~EtcdCluster();
  EtcdCluster(const EtcdCluster&) = delete;
  EtcdCluster& operator=(const EtcdCluster&) = delete;

  bool ready() const { return ready_; }
  // "http://127.a.b.c:PORT" of each member's client listener.
  const std::vector<std::string>& endpoints() const { return endpoints_; }
  void kill(size_t member);
  // Starts a killed member again on its data directory (it rejoins).
  void restart(size_t member);
  std::string log(size_t member) const;

 private:
  std::string dir_;
  std::vector<std::string> endpoints_;
  std::vector<pid_t> pids_;
  std::vector<std::vector<std::string>> args_;  // each member's command line
  bool ready_ = false;
};

}  // namespace switchyard::test
