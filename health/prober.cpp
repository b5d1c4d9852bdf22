#include "health/prober.h"

namespace switchyard::health {

Prober::Prober(uv_loop_t* loop, Callback callback, ProberOptions options)
    : options_(options), plain_(loop, callback), curl_(loop, callback), content_(loop, callback) {}

uint64_t Prober::start(const ProbeTarget& target, bool write) {
  uint64_t id = next_id_++;
  if (target.spec.check == policy::HealthCheck::Content && target.spec.canary) content_.start(id, target, write);
  else if (options_.plain && PlainProber::handles(target)) plain_.start(id, target);
  else curl_.start(id, target);
  return id;
}

void Prober::cancel(uint64_t id) {
  // An id lives in exactly one of them; cancelling an unknown id is a no-op.
  plain_.cancel(id);
  curl_.cancel(id);
  content_.cancel(id);
}

void Prober::close() {
  plain_.close();
  curl_.close();
  content_.close();
}

}  // namespace switchyard::health
