// DrillManager: the failover drills of this daemon (POST /v1/drills and
// friends). It turns a request into a DrillPlan, runs each Drill on its own
// thread, applies and reverts the drill's change on the control thread, and
// keeps the reports of the last finished drills.
//
// What a drill changes is NOT persisted: an exclusion made by a drill does not
// go to overrides.json, and faults never do. So a daemon that dies mid-drill
// comes back without the drill's change: a drill always reverts, even then.
// On an orderly stop, stopAll() undoes every applied change at once.
// Thread safety: every method on the control thread, except that drill
//   threads call into it only through post() (DrillControl).
// Invariants:
//   1. At most one running drill per registry.
//   2. Entry::applied is true exactly while the drill's change is in the Router.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <thread>

#include "control/admin_server.h"
#include "control/drill.h"
#include "control/event_log.h"
#include "control/router.h"

namespace switchyard::control {

class DrillManager {
 public:
  using Post = std::function<bool(std::function<void()>)>;
  using Emit = std::function<void(const std::string& type, nlohmann::json fields)>;
  // `default_dns`: where drills query when the request names no server.
  DrillManager(Router& router, EventLog& events, Post post, Emit emit,
               std::function<std::optional<SocketAddress>()> default_dns);
  ~DrillManager();

  ApiResponse start(const std::string& body);  // POST /v1/drills
  ApiResponse list() const;                    // GET /v1/drills
  ApiResponse get(const std::string& id) const;
  ApiResponse abort(const std::string& id);  // POST /v1/drills/{id}/abort
  // Running drills' reports (the status page).
  nlohmann::json running() const;

  // The daemon is stopping: abort every drill and undo what they applied.
  void stopAll();
  // After the control loop ended: wait for the drill threads.
  void joinAll();

 private:
  struct Entry {
    std::shared_ptr<Drill> drill;
    std::thread thread;
    std::string registry;  // by name: indices do not survive a reload
    bool applied = false;
    bool done = false;
  };
  class Control;
  // Fills `out`, or returns why not (400 bad request, 404 unknown, 409 cannot prove).
  std::optional<ApiResponse> plan(const nlohmann::json& request, DrillPlan& out) const;
  // plan()'s parts: the request's fields (400), whether this replica can be
  // drilled now (404, 409: eligibility), and what the drill will ask DNS
  // (names, expected records, client subnets).
  std::optional<ApiResponse> parseRequest(const nlohmann::json& request, DrillPlan& p) const;
  std::optional<ApiResponse> checkDrillable(const DrillPlan& p) const;
  void describeTargets(DrillPlan& p) const;
  Result<bool> apply(uint64_t id);
  Result<bool> revert(uint64_t id);
  Result<ClientAnswers> routing(uint64_t id) const;
  void finished(uint64_t id);
  Entry* find(const std::string& id) const;

  Router& router_;
  EventLog& events_;
  Post post_;
  Emit emit_;
  std::function<std::optional<SocketAddress>()> default_dns_;
  std::map<uint64_t, std::unique_ptr<Entry>> drills_;
  uint64_t next_id_ = 1;
};

}  // namespace switchyard::control
