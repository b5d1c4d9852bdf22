#include <catch2/catch.hpp>

#include "metrics/histogram.h"
#include "metrics/text_writer.h"

using namespace switchyard::metrics;

TEST_CASE("families, labels and escaping follow the text exposition format") {
  TextWriter w;
  w.family("switchyard_x_total", "Things.", "counter");
  w.sample("switchyard_x_total", {{"registry", "a\"b\\c\nd"}, {"cause", "health"}}, 3);
  w.sample("switchyard_x_total", {}, 0.25);
  CHECK(w.text() ==
        "# HELP switchyard_x_total Things.\n# TYPE switchyard_x_total counter\n"
        "switchyard_x_total{registry=\"a\\\"b\\\\c\\nd\",cause=\"health\"} 3\n"
        "switchyard_x_total 0.25\n");
}

TEST_CASE("histograms are cumulative with a +Inf bucket, a sum and a count") {
  Histogram h({0.001, 0.01, 0.1});
  for (double v : {0.0005, 0.005, 0.005, 0.5}) h.observe(v);
  auto s = h.snapshot();
  CHECK(s.cumulative == std::vector<uint64_t>{1, 3, 3, 4});
  CHECK(s.count == 4);
  CHECK(s.sum == Approx(0.5105));
  TextWriter w;
  w.histogram("switchyard_purge_seconds", {}, s);
  CHECK(w.text() ==
        "switchyard_purge_seconds_bucket{le=\"0.001\"} 1\n"
        "switchyard_purge_seconds_bucket{le=\"0.01\"} 3\n"
        "switchyard_purge_seconds_bucket{le=\"0.1\"} 3\n"
        "switchyard_purge_seconds_bucket{le=\"+Inf\"} 4\n"
        "switchyard_purge_seconds_sum 0.5105\n"
        "switchyard_purge_seconds_count 4\n");
  CHECK(Histogram::exponential(1, 2, 4) == std::vector<double>{1, 2, 4, 8});
}
