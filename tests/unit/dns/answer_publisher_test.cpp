#include <catch2/catch.hpp>

#include "dns/answer_publisher.h"

using namespace switchyard::dns;

namespace {
std::shared_ptr<const AnswerSet> set(uint64_t generation) {
  auto s = std::make_shared<AnswerSet>();
  s->generation = generation;
  return s;
}
}  // namespace

TEST_CASE("readers take the newest set when woken and old sets live until every reader moved on") {
  AnswerPublisher pub;
  int wakes_a = 0, wakes_b = 0;
  pub.publish(set(1));
  auto& a = pub.addReader([&] { ++wakes_a; });
  auto& b = pub.addReader([&] { ++wakes_b; });
  CHECK(a.current()->generation == 1);

  pub.publish(set(2));
  pub.publish(set(3));
  CHECK(wakes_a == 2);
  CHECK(wakes_b == 2);
  CHECK(pub.retainedCount() == 3);  // both readers still use generation 1
  CHECK_FALSE(pub.allAcked(3));

  CHECK(a.refresh());
  CHECK(a.current()->generation == 3);  // coalesced: straight to the newest
  CHECK_FALSE(a.refresh());
  pub.reclaim();
  CHECK(pub.retainedCount() == 3);  // b still holds generation 1
  b.refresh();
  pub.reclaim();
  CHECK(pub.retainedCount() == 1);
  CHECK(pub.allAcked(3));
  CHECK(pub.latest()->generation == 3);
}
