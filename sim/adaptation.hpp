#pragma once
// Adaptation to drift, as Cartel measures it against isolated learning: for every drift event at a data
// site, the simulated time from the event until the site's accuracy on its current data is back within
// `tolerance` (2 points by default) of its last figure before the event.
#include "sim/input.hpp"
#include "sim/learning/workload.hpp"

#include <optional>
#include <vector>

namespace geosim {

class AdaptationTracker {
public:
  explicit AdaptationTracker(const std::vector<DriftEvent>& drift, double tolerance = 0.02);
  /// The site's accuracy on its current test set at simulated time `now` (samples in time order).
  void observe(int site, double now, double accuracy);
  /// One entry per event: site, drift time, accuracy before, adaptation time (null while not back);
  /// and the mean adaptation time over the events that recovered.
  json report(const Platform& platform) const;

private:
  struct Event {
    int site;
    double at_s;
    std::optional<double> before;
    std::optional<double> back_at_s;
  };
  std::vector<Event> events_;
  double tolerance_;
};

} // namespace geosim
