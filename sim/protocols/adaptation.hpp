#pragma once
// Adaptation to drift, as Cartel measures it against isolated learning: for every drift event at a data
// site, the simulated time from the event until the site's accuracy on its current data first comes
// within `tolerance` (2 points) of the lower of two levels: its last figure before the event, and the
// level it settles at afterwards (its mean from 200 to 300 s after the event). The second matters when
// the new distribution is harder than the old: no learner gets back to the old level there.
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
  /// One entry per event: site, drift time, accuracy before, settled level (null if the run ended
  /// first), adaptation time (null if never back); the mean over the events that came back; and that
  /// mean again for each margin of kMargins (how the figure moves with the definition's one choice).
  json report(const Platform& platform) const;

  static constexpr double kMargins[] = {0.01, 0.02, 0.05, 0.1};

private:
  static constexpr double kSettleFrom = 200, kSettleTo = 300;
  struct Event {
    int site;
    double at_s;
    std::optional<double> before;
    std::vector<std::pair<double, double>> after; ///< (time, accuracy) up to kSettleTo after the event
  };
  static std::optional<double> settled(const Event& e);
  static std::optional<double> adaptation(const Event& e, double margin);
  json mean_over_events(double margin) const;
  std::vector<Event> events_;
  double tolerance_;
};

} // namespace geosim
