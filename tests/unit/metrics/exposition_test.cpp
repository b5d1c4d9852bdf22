// The /metrics plumbing around prometheus-cpp: a family written in parts is
// still one family (one HELP/TYPE), every family appears even when empty, and
// per-thread counters add up to exactly what every block counted.
#include <catch2/catch.hpp>

#include <atomic>
#include <sstream>
#include <thread>

#include "metrics/exposition.h"
#include "metrics/per_thread_counters.h"

using namespace switchyard::metrics;

namespace {

int countLines(const std::string& text, const std::string& prefix) {
  std::istringstream in(text);
  int n = 0;
  for (std::string line; std::getline(in, line);) n += line.rfind(prefix, 0) == 0;
  return n;
}

}  // namespace

TEST_CASE("a family written in parts is one family with every sample, in order") {
  Exposition out;
  const size_t n = FamilyParts::kPartSize * 3 + 17;
  {
    FamilyParts f(out, "t_up", "Up or not.", prometheus::MetricType::Gauge);
    for (size_t i = 0; i < n; ++i) f.sample({{"registry", "reg" + std::to_string(i)}, {"replica", "eastus"}}, i % 2);
    f.finish();
  }
  std::string text = out.take();
  CHECK(countLines(text, "# HELP t_up ") == 1);
  CHECK(countLines(text, "# TYPE t_up gauge") == 1);
  CHECK(countLines(text, "t_up{") == static_cast<int>(n));
  // Labels keep the order given; the last sample is the last line.
  CHECK(text.find("t_up{registry=\"reg0\",replica=\"eastus\"} 0\n") != std::string::npos);
  std::string last = "t_up{registry=\"reg" + std::to_string(n - 1) + "\",replica=\"eastus\"} 0\n";
  REQUIRE(text.size() >= last.size());
  CHECK(text.compare(text.size() - last.size(), last.size(), last) == 0);
}

TEST_CASE("an empty family still has its header, and counters are typed counter") {
  Exposition out;
  FamilyParts(out, "t_empty", "Nothing yet.", prometheus::MetricType::Gauge).finish();
  {
    FamilyParts f(out, "t_total", "Counted.", prometheus::MetricType::Counter);
    f.sample({}, 42);
    f.finish();
  }
  { FamilyParts unfinished(out, "t_never", "Left unfinished.", prometheus::MetricType::Gauge); }
  CHECK(out.take() == "# HELP t_empty Nothing yet.\n# TYPE t_empty gauge\n"
                      "# HELP t_total Counted.\n# TYPE t_total counter\nt_total 42\n");
}

TEST_CASE("label values are escaped by the serializer") {
  Exposition out;
  {
    FamilyParts f(out, "t_esc", "Escapes.", prometheus::MetricType::Gauge);
    f.sample({{"v", "a\"b\\c\nd"}}, 1);
    f.finish();
  }
  CHECK_THAT(out.take(), Catch::Contains(R"(t_esc{v="a\"b\\c\nd"} 1)"));
}

TEST_CASE("per-thread counters sum every block exactly while their threads count") {
  struct Block {
    std::atomic<uint64_t> a{0};
    std::atomic<uint64_t> b[2] = {};
  };
  Block blocks[4];
  PerThreadCounters<Block> c({&blocks[0], &blocks[1], &blocks[2], &blocks[3]});
  c.family("t_a_total", "A.");
  c.series({}, [](const Block& b) { return b.a.load(std::memory_order_relaxed); });
  c.family("t_b_total", "B.");
  for (int i = 0; i < 2; ++i)
    c.series({{"kind", std::to_string(i)}}, [i](const Block& b) { return b.b[i].load(std::memory_order_relaxed); });

  const uint64_t per_thread = 200000;
  std::vector<std::thread> threads;
  for (auto& block : blocks)
    threads.emplace_back([&block, per_thread] {
      for (uint64_t i = 0; i < per_thread; ++i) {
        block.a.store(block.a.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
        auto& b = block.b[i % 2];
        b.store(b.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
      }
    });
  // Scrapes meanwhile never go backwards.
  double last = 0;
  for (int i = 0; i < 50; ++i) {
    double now = c.Collect()[0].metric[0].counter.value;
    CHECK(now >= last);
    last = now;
  }
  for (auto& t : threads) t.join();
  auto families = c.Collect();
  REQUIRE(families.size() == 2);
  CHECK(families[0].name == "t_a_total");
  CHECK(families[0].type == prometheus::MetricType::Counter);
  CHECK(families[0].metric[0].counter.value == 4 * per_thread);
  REQUIRE(families[1].metric.size() == 2);
  CHECK(families[1].metric[0].label[0].name == "kind");
  CHECK(families[1].metric[0].counter.value + families[1].metric[1].counter.value == 4 * per_thread);
  Exposition out;
  out.add(c);
  CHECK_THAT(out.take(), Catch::Contains("t_a_total 800000\n"));
}
