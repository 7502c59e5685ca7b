#include "sim/adaptation.hpp"

namespace geosim {

AdaptationTracker::AdaptationTracker(const std::vector<DriftEvent>& drift, double tolerance) : tolerance_(tolerance) {
  for (const auto& e : drift)
    events_.push_back({e.site, e.at_s, std::nullopt, std::nullopt});
}

void AdaptationTracker::observe(int site, double now, double accuracy) {
  for (auto& e : events_) {
    if (e.site != site)
      continue;
    if (now < e.at_s)
      e.before = accuracy;
    else if (!e.back_at_s && e.before && accuracy >= *e.before - tolerance_)
      e.back_at_s = now;
  }
}

json AdaptationTracker::report(const Platform& platform) const {
  json events = json::array();
  double sum = 0;
  int back = 0;
  for (const auto& e : events_) {
    json j = {{"site", platform.site_name(e.site)}, {"drift_at_s", e.at_s}};
    j["accuracy_before"] = e.before ? json(*e.before) : json(nullptr);
    j["adaptation_s"] = e.back_at_s ? json(*e.back_at_s - e.at_s) : json(nullptr);
    if (e.back_at_s) {
      sum += *e.back_at_s - e.at_s;
      ++back;
    }
    events.push_back(j);
  }
  return {{"events", events}, {"recovered", back}, {"mean_adaptation_s", back > 0 ? json(sum / back) : json(nullptr)}};
}

} // namespace geosim
