#include "sim/adaptation.hpp"

namespace geosim {

AdaptationTracker::AdaptationTracker(const std::vector<DriftEvent>& drift, double tolerance) : tolerance_(tolerance) {
  for (const auto& e : drift)
    events_.push_back({e.site, e.at_s, std::nullopt, {}});
}

void AdaptationTracker::observe(int site, double now, double accuracy) {
  for (auto& e : events_) {
    if (e.site != site)
      continue;
    if (now < e.at_s)
      e.before = accuracy;
    else if (now <= e.at_s + kSettleTo)
      e.after.emplace_back(now, accuracy);
  }
}

json AdaptationTracker::report(const Platform& platform) const {
  json events = json::array();
  double sum = 0;
  int back = 0;
  for (const auto& e : events_) {
    double settled_sum = 0;
    int settled_n = 0;
    for (const auto& [t, a] : e.after)
      if (t >= e.at_s + kSettleFrom) {
        settled_sum += a;
        ++settled_n;
      }
    std::optional<double> settled;
    if (settled_n > 0)
      settled = settled_sum / settled_n;
    std::optional<double> adaptation;
    if (e.before) {
      double target = (settled ? std::min(*e.before, *settled) : *e.before) - tolerance_;
      for (const auto& [t, a] : e.after)
        if (a >= target) {
          adaptation = t - e.at_s;
          break;
        }
    }
    json j = {{"site", platform.site_name(e.site)}, {"drift_at_s", e.at_s}};
    j["accuracy_before"] = e.before ? json(*e.before) : json(nullptr);
    j["accuracy_settled"] = settled ? json(*settled) : json(nullptr);
    j["adaptation_s"] = adaptation ? json(*adaptation) : json(nullptr);
    if (adaptation) {
      sum += *adaptation;
      ++back;
    }
    events.push_back(j);
  }
  return {{"events", events}, {"recovered", back}, {"mean_adaptation_s", back > 0 ? json(sum / back) : json(nullptr)}};
}

} // namespace geosim
