#include "control/metrics_scrape.h"

#include "control/query_metrics.h"

namespace switchyard::control {

std::string MetricsScrape::text() const {
  metrics::Exposition out(size_hint + size_hint / 16);
  out.add(*queryMetrics(workers));
  routing.write(out);
  out.add(*control);
  return out.take();
}

}  // namespace switchyard::control
