#include "sim/protocols/adaptation.hpp"

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

std::optional<double> AdaptationTracker::settled(const Event& e) {
  double sum = 0;
  int n = 0;
  for (const auto& [t, a] : e.after)
    if (t >= e.at_s + kSettleFrom) {
      sum += a;
      ++n;
    }
  return n > 0 ? std::optional<double>(sum / n) : std::nullopt;
}

std::optional<double> AdaptationTracker::adaptation(const Event& e, double margin) {
  if (!e.before)
    return std::nullopt;
  std::optional<double> level = settled(e);
  double target = (level ? std::min(*e.before, *level) : *e.before) - margin;
  for (const auto& [t, a] : e.after)
    if (a >= target)
      return t - e.at_s;
  return std::nullopt;
}

json AdaptationTracker::mean_over_events(double margin) const {
  double sum = 0;
  int back = 0;
  for (const auto& e : events_)
    if (auto a = adaptation(e, margin)) {
      sum += *a;
      ++back;
    }
  return {{"margin", margin}, {"recovered", back}, {"mean_adaptation_s", back > 0 ? json(sum / back) : json(nullptr)}};
}

json AdaptationTracker::report(const Platform& platform) const {
  json events = json::array();
  for (const auto& e : events_) {
    json j = {{"site", platform.site_name(e.site)}, {"drift_at_s", e.at_s}};
    std::optional<double> level = settled(e), a = adaptation(e, tolerance_);
    j["accuracy_before"] = e.before ? json(*e.before) : json(nullptr);
    j["accuracy_settled"] = level ? json(*level) : json(nullptr);
    j["adaptation_s"] = a ? json(*a) : json(nullptr);
    events.push_back(j);
  }
  json mean = mean_over_events(tolerance_);
  json by_margin = json::array();
  for (double m : kMargins)
    by_margin.push_back(mean_over_events(m));
  return {{"events", events},
          {"margin", tolerance_},
          {"recovered", mean["recovered"]},
          {"mean_adaptation_s", mean["mean_adaptation_s"]},
          {"by_margin", by_margin}};
}

} // namespace geosim
