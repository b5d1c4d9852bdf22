// Exposition: one /metrics page in the Prometheus text format (0.0.4),
// written by prometheus-cpp's TextSerializer. We write no exposition of our
// own: this only decides what is serialized when.
//
// Families come whole (any prometheus::Collectable: a Registry, a
// PerThreadCounters) or in parts (FamilyParts, below): a family derived at
// scrape time from routing state has one series per (registry, replica) pair,
// 500,000 at 100,000 registries x 5, and each prometheus::ClientMetric costs
// ~300 bytes with its labels; in parts of kPartSize a scrape holds one part,
// not 150 MB per family. The text format allows one HELP/TYPE per family and
// the serializer writes them for every family it is given, so each later
// part's header lines are dropped.
//
// Thread safety: a local builder (one scrape, one thread).
#pragma once

#include <string>
#include <utility>
#include <vector>

#include <prometheus/collectable.h>
#include <prometheus/metric_family.h>
#include <prometheus/text_serializer.h>

namespace switchyard::metrics {

class Exposition {
 public:
  // `reserve`: the expected size (the previous page's), so a 150 MB page is
  // not built by doubling (which peaks at twice its size).
  explicit Exposition(size_t reserve = 0) { out_.reserve(reserve); }
  void add(const prometheus::Collectable& source) { add(source.Collect()); }
  void add(const std::vector<prometheus::MetricFamily>& families);
  // One part of a family; `first`: it starts the family (writes its header).
  void addPart(const prometheus::MetricFamily& part, bool first);
  std::string take() { return std::move(out_); }
  size_t size() const { return out_.size(); }

 private:
  prometheus::TextSerializer serializer_;
  std::string out_;
};

// FamilyParts: builds one family sample by sample, handing the Exposition a
// part every kPartSize samples. Every family is written, with its header,
// even when it has no samples (the page then lists every family it has).
class FamilyParts {
 public:
  static constexpr size_t kPartSize = 4096;
  using Labels = std::initializer_list<std::pair<const char*, std::string_view>>;

  FamilyParts(Exposition& out, std::string name, std::string help, prometheus::MetricType type);
  // A family left unfinished (an exception while it was built) is not
  // written further: the destructor never throws.
  ~FamilyParts() = default;
  FamilyParts(const FamilyParts&) = delete;
  FamilyParts& operator=(const FamilyParts&) = delete;

  // A gauge or counter sample, by the family's type.
  void sample(Labels labels, double value);
  // Writes what is left (and the header of an empty family). REQUIRES: once, last.
  void finish() { flush(); }

 private:
  void flush();

  Exposition& out_;
  prometheus::MetricFamily part_;
  bool first_ = true;
};

// Histogram bounds start, start*factor, ... (count of them), as the
// control-plane histograms use.
std::vector<double> exponentialBounds(double start, double factor, int count);

}  // namespace switchyard::metrics
