// Histogram: fixed bucket bounds, lock-free observation from any thread,
// rendered as Prometheus `_bucket{le}`, `_sum` and `_count`.
// Thread safety: observe() from any thread; snapshot() from any thread (the
// counts of one snapshot may be a few observations apart; each is monotonic).
#pragma once

#include <atomic>
#include <memory>
#include <vector>

namespace switchyard::metrics {

class Histogram {
 public:
  // REQUIRES: bounds strictly increasing.
  explicit Histogram(std::vector<double> bounds);
  void observe(double value);

  struct Snapshot {
    std::vector<double> bounds;
    std::vector<uint64_t> cumulative;  // per bound, then +Inf last
    double sum = 0;
    uint64_t count = 0;
  };
  Snapshot snapshot() const;

  static std::vector<double> exponential(double start, double factor, int count);

 private:
  std::vector<double> bounds_;
  std::unique_ptr<std::atomic<uint64_t>[]> counts_;  // bounds_.size() + 1 (the +Inf bucket)
  std::atomic<uint64_t> sum_micro_{0};  // sum in millionths: atomics on double need CAS loops
};

}  // namespace switchyard::metrics
