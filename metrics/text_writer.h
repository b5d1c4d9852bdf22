// TextWriter: the Prometheus text exposition format (version 0.0.4).
// Each family is written once with HELP and TYPE, then its samples; label
// values are escaped (backslash, double quote, newline).
// Thread safety: a local builder.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "metrics/histogram.h"

namespace switchyard::metrics {

using Labels = std::vector<std::pair<std::string, std::string>>;

class TextWriter {
 public:
  // type: counter | gauge | histogram
  void family(const std::string& name, const std::string& help, const std::string& type);
  void sample(const std::string& name, const Labels& labels, double value);
  void histogram(const std::string& name, const Labels& labels, const Histogram::Snapshot& s);
  const std::string& text() const { return out_; }

  static std::string escape(const std::string& value);

 private:
  std::string out_;
};

}  // namespace switchyard::metrics
