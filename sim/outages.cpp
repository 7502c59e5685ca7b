#include "sim/outages.hpp"

namespace geosim {

RouteOutages::RouteOutages(const PlatformSpec& spec) {
  // Under both directions' SimGrid names, as routes name them: a split-duplex link goes down whole.
  for (const auto& [name, link] : spec.wan_links())
    if (!link->trace.down_s.empty())
      for (const char* direction : {"_UP", "_DOWN"})
        outages_[name + direction] = link->trace.down_s;
}

double RouteOutages::up_again(const std::vector<std::string>& route, double now) const {
  // Links of one route may be down in overlapping or back-to-back intervals: move on until none is.
  for (bool moved = true; moved;) {
    moved = false;
    for (const auto& l : route)
      if (auto it = outages_.find(l); it != outages_.end())
        for (const auto& [from, to] : it->second)
          if (from <= now && now < to) {
            now = to;
            moved = true;
          }
  }
  return now;
}

} // namespace geosim
