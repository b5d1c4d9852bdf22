#include "health/prober.h"

namespace switchyard::health {

Prober::Prober(uv_loop_t* loop, Callback callback, ProberOptions options)
    : options_(options), plain_(loop, callback), curl_(loop, callback) {}

uint64_t Prober::start(const ProbeTarget& target) {
  uint64_t id = next_id_++;
  if (options_.plain && PlainProber::handles(target)) plain_.start(id, target);
  else curl_.start(id, target);
  return id;
}

void Prober::cancel(uint64_t id) {
  // An id lives in exactly one of them; cancelling an unknown id is a no-op.
  plain_.cancel(id);
  curl_.cancel(id);
}

void Prober::close() {
  plain_.close();
  curl_.close();
}

}  // namespace switchyard::health
