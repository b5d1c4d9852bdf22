#include <catch2/catch.hpp>

#include <uv.h>

#include <string>
#include <thread>

#include "common/task_queue.h"

using switchyard::TaskQueue;

TEST_CASE("task queue: work someone waits on runs before, and between, background tasks") {
  uv_loop_t loop;
  uv_loop_init(&loop);
  TaskQueue q;
  q.init(&loop);
  std::string order;
  // A backlog of background work, the first of which sees an urgent task arrive.
  for (int i = 0; i < 5; ++i)
    REQUIRE(q.postBackground([&, i] {
      order += static_cast<char>('0' + i);
      if (i == 0) q.post([&] { order += 'U'; });
    }));
  REQUIRE(q.post([&] { order += 'A'; }));
  REQUIRE(q.post([&] { order += 'B'; }));
  q.postBackground([&] { q.close(); });
  uv_run(&loop, UV_RUN_DEFAULT);  // ends once close() has closed the handle
  // Urgent first (in order), then background in order with the late urgent one
  // right after the task that posted it.
  CHECK(order == "AB0U1234");
  CHECK_FALSE(q.post([] {}));
  CHECK_FALSE(q.postBackground([] {}));
  uv_loop_close(&loop);
}

TEST_CASE("task queue: tasks posted from other threads all run, each lane in order") {
  uv_loop_t loop;
  uv_loop_init(&loop);
  TaskQueue q;
  q.init(&loop);
  std::vector<int> urgent, background;
  std::thread producer([&] {
    for (int i = 0; i < 1000; ++i) {
      q.post([&, i] { urgent.push_back(i); });
      q.postBackground([&, i] { background.push_back(i); });
    }
    q.postBackground([&] { q.close(); });
  });
  // The loop stays alive through the async handle until close().
  uv_run(&loop, UV_RUN_DEFAULT);
  producer.join();
  REQUIRE(urgent.size() == 1000);
  REQUIRE(background.size() == 1000);
  for (int i = 0; i < 1000; ++i) {
    CHECK(urgent[static_cast<size_t>(i)] == i);
    CHECK(background[static_cast<size_t>(i)] == i);
  }
  uv_loop_close(&loop);
}
