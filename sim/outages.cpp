#include "sim/outages.hpp"

namespace geosim {
namespace {
/// "wan-a-b_UP" -> "wan-a-b": both directions of a split-duplex link go down together.
std::string base_name(const std::string& link) {
  for (const std::string suffix : {"_UP", "_DOWN"})
    if (link.size() > suffix.size() && link.compare(link.size() - suffix.size(), suffix.size(), suffix) == 0)
      return link.substr(0, link.size() - suffix.size());
  return link;
}
} // namespace

RouteOutages::RouteOutages(const PlatformSpec& spec) {
  for (const auto& [name, link] : spec.wan_links())
    if (!link->trace.down_s.empty())
      outages_[name] = link->trace.down_s;
}

double RouteOutages::up_again(const std::vector<std::string>& route, double now) const {
  // Links of one route may be down in overlapping or back-to-back intervals: move on until none is.
  for (bool moved = true; moved;) {
    moved = false;
    for (const auto& l : route)
      if (auto it = outages_.find(base_name(l)); it != outages_.end())
        for (const auto& [from, to] : it->second)
          if (from <= now && now < to) {
            now = to;
            moved = true;
          }
  }
  return now;
}

} // namespace geosim
