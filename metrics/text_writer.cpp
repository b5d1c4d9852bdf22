#include "metrics/text_writer.h"

#include <cmath>
#include <cstdio>

namespace switchyard::metrics {

namespace {
std::string number(double v) {
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  if (std::isnan(v)) return "NaN";
  char buf[64];
  if (v == std::floor(v) && std::fabs(v) < 1e15) std::snprintf(buf, sizeof buf, "%.0f", v);
  else std::snprintf(buf, sizeof buf, "%.9g", v);
  return buf;
}

std::string labelText(const Labels& labels) {
  if (labels.empty()) return "";
  std::string out = "{";
  for (size_t i = 0; i < labels.size(); ++i)
    out += (i ? "," : "") + labels[i].first + "=\"" + TextWriter::escape(labels[i].second) + "\"";
  return out + "}";
}
}  // namespace

std::string TextWriter::escape(const std::string& value) {
  std::string out;
  for (char c : value) {
    if (c == '\\') out += "\\\\";
    else if (c == '"') out += "\\\"";
    else if (c == '\n') out += "\\n";
    else out += c;
  }
  return out;
}

void TextWriter::family(const std::string& name, const std::string& help, const std::string& type) {
  out_ += "# HELP " + name + " " + help + "\n# TYPE " + name + " " + type + "\n";
}

void TextWriter::sample(const std::string& name, const Labels& labels, double value) {
  out_ += name + labelText(labels) + " " + number(value) + "\n";
}

void TextWriter::histogram(const std::string& name, const Labels& labels, const Histogram::Snapshot& s) {
  for (size_t i = 0; i <= s.bounds.size(); ++i) {
    Labels l = labels;
    l.emplace_back("le", i < s.bounds.size() ? number(s.bounds[i]) : "+Inf");
    sample(name + "_bucket", l, static_cast<double>(s.cumulative[i]));
  }
  sample(name + "_sum", labels, s.sum);
  sample(name + "_count", labels, static_cast<double>(s.count));
}

}  // namespace switchyard::metrics
