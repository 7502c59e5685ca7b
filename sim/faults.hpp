#pragma once
// Faults a scenario lays over its platform's WAN: each link's bandwidth as a stationary component with
// noise, rare downtime excursions (up and down times drawn from MTBF and MTTR), links that move
// together (a correlated group draws from one stream, as about 10% of path pairs did in "Bandwidth in
// the Cloud"), sites cut off from the WAN for given intervals (inline, or an availability trace
// of edge devices in a text file), and sites that crash (every host off: the platform's host state
// profiles, sim/platform.cpp). Everything is drawn from the seed
// when the scenario is read and becomes the links' traces (sim/link_trace.*), so a rerun with the same
// seed meets the same faults.
#include "sim/input.hpp"
#include "sim/platform.hpp"

#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace geosim {

struct FaultsSpec {
  long long seed = 1;
  double horizon_s = 0; ///< generated events end here (the link is nominal after)
  struct Noise {
    double every_s = 60, sd = 0.1, min_share = 0.1;
  };
  std::optional<Noise> bandwidth;
  /// Up and down times drawn from exponentials of these means (a link's outages, a site's or a host's
  /// crashes).
  struct Outages {
    double mtbf_s = 0, mttr_s = 0;
  };
  std::optional<Outages> outages;
  std::vector<std::vector<std::string>> correlated; ///< groups of link names
  std::map<int, std::vector<std::pair<double, double>>> sites_down_s; ///< inline and from sites_down_file
  /// Sites that crash: every host off (its actors die) in these intervals; inline and from sites_fail_file.
  std::map<int, std::vector<std::pair<double, double>>> sites_fail_s;
  /// Single hosts that crash (the rest of their site stays up), by host name; inline and from
  /// hosts_fail_file.
  std::map<std::string, std::vector<std::pair<double, double>>> hosts_fail_s;
  /// Crashes drawn per site until the horizon (each site its own stream, keyed by its name).
  struct SiteFailures {
    Outages rates;
    std::vector<int> sites;
  };
  std::optional<SiteFailures> site_failures;
  /// The same per host (each host its own stream, keyed by its name).
  struct HostFailures {
    Outages rates;
    std::vector<std::string> hosts;
  };
  std::optional<HostFailures> host_failures;
};

/// Reads a scenario's network.faults; `default_seed` is the scenario's seed.
FaultsSpec parse_faults(Field f, const PlatformSpec& p, long long default_seed);

/// Draws the faults and writes them into the platform's link traces and its sites' failure intervals. A
/// link with a trace of its own in the platform file is refused: the two would disagree on what it does.
void apply_faults(PlatformSpec& p, const FaultsSpec& faults, const std::string& file);

/// Per link with outages: how many, how long in all, and when; for summary.json.
json faults_report(const PlatformSpec& p);
/// The same per site that crashes.
json site_failures_report(const PlatformSpec& p);
/// The same per host that crashes alone (its site's crashes included).
json host_failures_report(const PlatformSpec& p);

} // namespace geosim
