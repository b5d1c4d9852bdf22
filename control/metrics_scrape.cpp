#include "control/metrics_scrape.h"


namespace switchyard::control {

std::string MetricsScrape::text() const {
  metrics::Exposition out(size_hint + size_hint / 16);
  out.add(dns);
  routing.write(out);
  ControlMetrics::writeEvents(events, out);
  out.add(*control);
  return out.take();
}

}  // namespace switchyard::control
