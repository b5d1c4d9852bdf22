// StateStore: what survives a restart, in the state directory.
//
//   - health.json: the last known health of every pair, so a restart can
//     answer from it at once instead of waiting for a probe round, and the
//     pairs lagging behind their canary ("lagging", so a restart does not put
//     a stale replica back into global routing for max_staleness). A cache of
//     observations: an unreadable file is reported and ignored (the probes
//     rebuild it).
//   - overrides.json: operator decisions (globalEndpointRouting set through the
//     API). These must never vanish silently: an unreadable file stops the
//     start-up unless the operator says --reset-state. Only a file that does
//     not exist (ENOENT) is "no decisions"; one that exists and cannot be
//     read (permissions, EIO, a directory) is an error like a corrupt one.
//   - catalog.json: registries and replicas made through the API
//     (control/catalog.h); an unreadable file stops the start like
//     overrides.json does. catalog.journal: the changes since it was last
//     written whole (catalog.h, journal), appended and fsync'd per change.
//   - serial.json: a floor above every SOA serial handed out, reserved ahead
//     (control_plane.h), so a restart never lowers the serial (secondaries
//     and NOTIFY listeners ignore a serial that went back).
// Files are replaced atomically: write a temp file, fsync, rename, fsync dir.
// Thread safety: load() on the control thread at start-up; write() may run on
// a libuv work thread (it touches only the file system).
#pragma once

#include <map>
#include <set>
#include <string>

#include "common/result.h"
#include "control/overrides.h"
#include "policy/routing_policy.h"

namespace switchyard::control {

class StateStore {
 public:
  explicit StateStore(std::string dir) : dir_(std::move(dir)) {}
  bool enabled() const { return !dir_.empty(); }
  std::string healthPath() const { return dir_ + "/health.json"; }
  std::string overridesPath() const { return dir_ + "/overrides.json"; }
  std::string serialPath() const { return dir_ + "/serial.json"; }
  std::string catalogPath() const { return dir_ + "/catalog.json"; }
  std::string journalPath() const { return dir_ + "/catalog.journal"; }

  // A missing file is an empty state; a corrupt one is an error naming the file.
  Result<HealthStates> loadHealth() const;
  // The pairs health.json says were lagging (an older file has none).
  Result<PairSet> loadLagging() const;
  static std::string encodeHealth(const HealthStates& states, const PairSet& lagging = {});
  Result<Overrides> loadOverrides() const;
  static std::string encodeOverrides(const Overrides& overrides);
  // catalog.json's text ("" when there is none). Like overrides, the
  // catalog must never vanish silently: an unreadable file is an error.
  Result<std::string> loadCatalogText() const;
  // catalog.journal's text ("" when there is none); unreadable: an error.
  Result<std::string> loadJournalText() const;
  // Appends `bytes` to the journal and fsyncs it (the directory too when
  // the file is new). On failure the file is cut back to where it was, so
  // no half line stays in front of a later append. For a work thread.
  Result<bool> appendJournal(const std::string& bytes) const;
  // Empties the journal (fsync'd): catalog.json now holds all of it.
  Result<bool> clearJournal() const;
  // 0 when there is none.
  Result<uint32_t> loadSerialFloor() const;
  static std::string encodeSerial(uint32_t floor);
  static Result<bool> writeAtomically(const std::string& path, const std::string& content);

 private:
  std::string dir_;
};

}  // namespace switchyard::control
