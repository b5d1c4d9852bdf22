#include "health/freshness_tracker.h"

#include <algorithm>
#include <map>

namespace switchyard::health {

const char* freshnessName(FreshnessState state) {
  switch (state) {
    case FreshnessState::Unknown: return "unknown";
    case FreshnessState::Fresh: return "fresh";
    case FreshnessState::Behind: return "behind";
    case FreshnessState::Lagging: return "lagging";
  }
  return "?";
}

namespace {

// "sha256:3f5c0a1b2c3d…": enough to tell digests apart in a log line.
std::string shortValue(const std::string& value) {
  return value.size() > 19 ? value.substr(0, 19) + "..." : value;
}

}  // namespace

FreshnessTracker::FreshnessTracker(policy::Freshness config, std::vector<std::string> replicas, size_t home)
    : config_(std::move(config)),
      replicas_(std::move(replicas)),
      home_(home),
      cells_(replicas_.size(), std::vector<Cell>(config_.canaries.size())),
      status_(replicas_.size()),
      references_(config_.canaries.size()) {
  for (auto& s : status_) s.served.assign(config_.canaries.size(), "");
}

std::string FreshnessTracker::reference(const std::vector<std::vector<DigestObservation>>& round,
                                        size_t canary) const {
  if (config_.reference == policy::FreshnessReference::Home) return round[home_][canary].value();
  std::map<std::string, size_t> votes;
  for (const auto& row : round)
    if (row[canary].observed()) ++votes[row[canary].value()];
  for (const auto& [value, count] : votes)
    if (2 * count > replicas_.size()) return value;
  return "";
}

void FreshnessTracker::record(const std::vector<std::vector<DigestObservation>>& round, int64_t now_ms) {
  now_ms_ = now_ms;
  for (size_t c = 0; c < config_.canaries.size(); ++c) {
    references_[c] = reference(round, c);
    for (size_t r = 0; r < replicas_.size(); ++r) {
      const DigestObservation& o = round[r][c];
      if (!o.observed()) continue;
      Cell& cell = cells_[r][c];
      cell.served = o.value();
      if (references_[c].empty()) continue;  // rule 1: no verdict without a reference
      cell.compared = true;
      if (cell.served == references_[c]) cell.behind_since.reset();
      else if (!cell.behind_since) cell.behind_since = now_ms;
    }
  }
  for (size_t r = 0; r < replicas_.size(); ++r) summarize(r, now_ms, &round[r]);
}

void FreshnessTracker::summarize(size_t r, int64_t now_ms, const std::vector<DigestObservation>* row) {
  FreshnessStatus& s = status_[r];
  s = FreshnessStatus{};
  bool compared = false;
  std::optional<int64_t> oldest;
  size_t worst = 0;
  for (size_t c = 0; c < cells_[r].size(); ++c) {
    const Cell& cell = cells_[r][c];
    s.served.push_back(cell.served);
    compared = compared || cell.compared;
    if (cell.behind_since && (!oldest || *cell.behind_since < *oldest)) {
      oldest = cell.behind_since;
      worst = c;
    }
  }
  if (oldest) {
    int64_t behind_ms = std::max<int64_t>(0, now_ms - *oldest);
    s.seconds_behind = static_cast<double>(behind_ms) / 1000.0;
    s.state = behind_ms >= config_.max_staleness.count() ? FreshnessState::Lagging : FreshnessState::Behind;
    std::string ref = references_[worst].empty() ? "(no reference this round)" : shortValue(references_[worst]);
    const std::string& served = cells_[r][worst].served;
    s.detail = config_.canaries[worst].text() + " serves " + (served.empty() ? "(not read yet)" : shortValue(served)) +
               ", reference " +
               ref + (config_.reference == policy::FreshnessReference::Home ? " (home " + replicas_[home_] + ")"
                                                                            : " (majority)");
  } else {
    s.state = compared ? FreshnessState::Fresh : FreshnessState::Unknown;
  }
  if (s.detail.empty() && row)
    for (size_t c = 0; c < row->size(); ++c)
      if (!(*row)[c].observed()) {
        s.detail = config_.canaries[c].text() + ": " + (*row)[c].detail;
        break;
      }
}

void FreshnessTracker::assumeLagging(size_t r, int64_t now_ms, std::string detail) {
  for (Cell& cell : cells_[r]) {
    cell.compared = true;
    cell.behind_since = now_ms - config_.max_staleness.count();
  }
  now_ms_ = std::max(now_ms_, now_ms);
  summarize(r, now_ms_, nullptr);
  status_[r].detail = std::move(detail);
}

void FreshnessTracker::inherit(const FreshnessTracker& older) {
  for (size_t r = 0; r < replicas_.size(); ++r) {
    auto ro = std::find(older.replicas_.begin(), older.replicas_.end(), replicas_[r]);
    if (ro == older.replicas_.end()) continue;
    size_t old_r = static_cast<size_t>(ro - older.replicas_.begin());
    for (size_t c = 0; c < config_.canaries.size(); ++c) {
      auto co = std::find(older.config_.canaries.begin(), older.config_.canaries.end(), config_.canaries[c]);
      if (co == older.config_.canaries.end()) continue;
      size_t old_c = static_cast<size_t>(co - older.config_.canaries.begin());
      cells_[r][c] = older.cells_[old_r][old_c];
      references_[c] = older.references_[old_c];
    }
  }
  // The inherited states stand until the next round re-judges them (home or
  // the reference rule may have changed with the reload).
  now_ms_ = older.now_ms_;
  for (size_t r = 0; r < replicas_.size(); ++r) summarize(r, now_ms_, nullptr);
}

}  // namespace switchyard::health
