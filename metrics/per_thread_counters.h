// PerThreadCounters: exports counters that each serving thread keeps in its
// own block (plain atomics it alone writes: dns/worker_stats.h) as
// prometheus-cpp families, summed over the blocks at scrape time.
//
// Why not prometheus::Counter on the query path: Counter::Increment is a
// compare-exchange loop on a shared atomic double (contended across workers)
// and Histogram::Observe takes a mutex; a worker's own uint64 costs one
// uncontended load + store. The sums are exact: each block's counter is
// monotonic and read once per scrape.
//
// Thread safety: declare series before the first Collect(); Collect() from any
// thread, concurrently with the owners' writes (relaxed loads).
// Invariants:
//   1. Every block outlives this object (the daemon collects on the control
//      thread, which owns the DNS server and its workers' blocks).
//   2. Series of one family are declared together, under one name/help/type.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include <prometheus/client_metric.h>
#include <prometheus/collectable.h>
#include <prometheus/metric_family.h>

namespace switchyard::metrics {

template <typename Block>
class PerThreadCounters final : public prometheus::Collectable {
 public:
  using Read = std::function<uint64_t(const Block&)>;
  using Labels = std::vector<std::pair<std::string, std::string>>;

  explicit PerThreadCounters(std::vector<const Block*> blocks) : blocks_(std::move(blocks)) {}

  // Starts a family (type counter); its series follow.
  void family(std::string name, std::string help) {
    families_.push_back({std::move(name), std::move(help), {}});
  }
  // REQUIRES: family() was called.
  void series(const Labels& labels, Read read) {
    prometheus::ClientMetric m;
    for (const auto& [k, v] : labels) m.label.push_back({k, v});
    families_.back().series.push_back({std::move(m), std::move(read)});
  }

  std::vector<prometheus::MetricFamily> Collect() const override {
    std::vector<prometheus::MetricFamily> out;
    out.reserve(families_.size());
    for (const auto& f : families_) {
      prometheus::MetricFamily mf{f.name, f.help, prometheus::MetricType::Counter, {}};
      mf.metric.reserve(f.series.size());
      for (const auto& s : f.series) {
        uint64_t sum = 0;
        for (const Block* b : blocks_) sum += s.read(*b);
        mf.metric.push_back(s.metric);
        mf.metric.back().counter.value = static_cast<double>(sum);
      }
      out.push_back(std::move(mf));
    }
    return out;
  }

 private:
  struct Series {
    prometheus::ClientMetric metric;  // labels only; the value is summed per scrape
    Read read;
  };
  struct Family {
    std::string name, help;
    std::vector<Series> series;
  };
  std::vector<const Block*> blocks_;
  std::vector<Family> families_;
};

}  // namespace switchyard::metrics
