#pragma once
// When a message's route is up. A WAN link that is down (a platform trace's down_s, or the scenario's
// network.faults) carries almost nothing (sim/link_trace.*): the flows under way on it stall and resume.
// A message handed over while a link of its route is down waits for the route to come back before it
// starts crossing, as a TCP sender's segments do (sim/transport.hpp); it could not start then anyway, as
// SimGrid would cap it at the dipped bandwidth for good.
#include "sim/platform.hpp"

#include <map>
#include <string>
#include <utility>
#include <vector>

namespace geosim {

class RouteOutages {
public:
  explicit RouteOutages(const PlatformSpec& spec);
  bool empty() const { return outages_.empty(); }
  /// The first time from `now` at which every link of the route (SimGrid names, with `_UP`/`_DOWN`)
  /// is up; `now` when it is.
  double up_again(const std::vector<std::string>& route, double now) const;

private:
  std::map<std::string, std::vector<std::pair<double, double>>> outages_; ///< by directed link, [from, to)
};

} // namespace geosim
