#pragma once
// geosim probe: a simulated iperf. For every pair of sites it measures, one pair at a time so no flows
// compete, the round-trip time of a tiny ping-pong and the throughput of a bulk transfer between the
// sites' first workers, under the chosen network model.
#include "sim/scenario.hpp"

#include <string>
#include <vector>

namespace geosim {

struct ProbeResult {
  std::vector<std::string> sites;
  std::vector<std::vector<double>> rtt_s;         ///< [a][b], 0 on the diagonal
  std::vector<std::vector<double>> bandwidth_Bps; ///< [a][b], 0 on the diagonal
  NetworkSpec network;                            ///< as SimGrid applied it (after --cfg flags)
};

/// Runs the probe simulation in this process (it creates the one SimGrid engine this process may have).
ProbeResult probe_platform(const PlatformSpec& platform, const NetworkSpec& network,
                           const std::vector<std::string>& simgrid_args, double bulk_bytes);

std::string format_probe(const ProbeResult& r);
json probe_json(const ProbeResult& r, const PlatformSpec& platform, double bulk_bytes);

} // namespace geosim
