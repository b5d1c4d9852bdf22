#include <catch2/catch.hpp>

#include <atomic>
#include <stdexcept>
#include <thread>
#include <vector>

#include "control/scrape_cache.h"

using switchyard::control::ScrapeCache;

TEST_CASE("scrapes within max_age share one render, and concurrent ones share the one in flight") {
  ScrapeCache cache(std::chrono::seconds(10));
  std::atomic<int> renders{0};
  auto render = [&] {
    ++renders;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    return std::string("text ") + std::to_string(renders.load());
  };
  std::vector<std::thread> scrapers;
  std::atomic<int> same{0};
  for (int i = 0; i < 8; ++i)
    scrapers.emplace_back([&] { same += cache.get(render) == "text 1"; });
  for (auto& t : scrapers) t.join();
  CHECK(renders == 1);
  CHECK(same == 8);
  CHECK(cache.get(render) == "text 1");  // still fresh
  cache.invalidate();
  CHECK(cache.get(render) == "text 2");
}

TEST_CASE("a render that throws or returns nothing is not cached and does not wedge the next scrape") {
  ScrapeCache cache(std::chrono::seconds(10));
  CHECK(cache.get([]() -> std::string { throw std::runtime_error("the loop is stopping"); }).empty());
  CHECK(cache.get([] { return std::string(); }).empty());
  CHECK(cache.get([] { return std::string("ok"); }) == "ok");
  CHECK(cache.renders() == 1);
}

TEST_CASE("a render that began before invalidate() is served but not cached") {
  ScrapeCache cache(std::chrono::seconds(10));
  std::string first = cache.get([&] {
    cache.invalidate();  // a reload while this render runs
    return std::string("old config");
  });
  CHECK(first == "old config");
  CHECK(cache.get([] { return std::string("new config"); }) == "new config");
}
