#include "metrics/exposition.h"

#include <cstdio>
#include <cstdlib>

namespace switchyard::metrics {

void Exposition::add(const std::vector<prometheus::MetricFamily>& families) {
  out_ += serializer_.Serialize(families);
}

void Exposition::addPart(const prometheus::MetricFamily& part, bool first) {
  std::string text = serializer_.Serialize({part});
  if (!first) {
    // The serializer's header is "# HELP name ...\n# TYPE name type\n"; our
    // help texts hold no newline, so the header ends at the TYPE line's end.
    auto type = text.find("# TYPE ");
    auto end = type == std::string::npos ? std::string::npos : text.find('\n', type);
    if (end != std::string::npos) text.erase(0, end + 1);
  }
  out_ += text;
}

FamilyParts::FamilyParts(Exposition& out, std::string name, std::string help, prometheus::MetricType type)
    : out_(out) {
  part_.name = std::move(name);
  part_.help = std::move(help);
  part_.type = type;
  part_.metric.reserve(kPartSize);
}

void FamilyParts::sample(Labels labels, double value) {
  auto& m = part_.metric.emplace_back();
  m.label.reserve(labels.size());
  for (const auto& [k, v] : labels) m.label.push_back({k, std::string(v)});
  if (part_.type == prometheus::MetricType::Counter) m.counter.value = value;
  else m.gauge.value = value;
  if (part_.metric.size() >= kPartSize) flush();
}

void FamilyParts::flush() {
  if (part_.metric.empty() && !first_) return;
  out_.addPart(part_, first_);
  first_ = false;
  part_.metric.clear();
}

std::vector<double> exponentialBounds(double start, double factor, int count) {
  std::vector<double> b;
  for (int i = 0; i < count; ++i, start *= factor) {
    // Nine significant digits, so the products' rounding does not pile up.
    // (The serializer prints 16 digits: 8e-05 reads 8.000000000000001e-05,
    // as no double prints shorter there; the hand-written text said 8e-05.)
    char text[32];
    std::snprintf(text, sizeof text, "%.9g", start);
    b.push_back(std::strtod(text, nullptr));
  }
  return b;
}

}  // namespace switchyard::metrics
