#pragma once
// Running a scenario: one child process per strategy (SimGrid allows one engine per process), results
// per strategy, then a comparison across them.
#include "sim/scenario.hpp"

#include <string>
#include <vector>

namespace geosim {

struct RunOptions {
  std::string out_dir;                   ///< results/<scenario>/ unless given
  bool quiet = false;                    ///< no progress line, no per-strategy report
  int jobs = 1;                          ///< strategies simulated at once
  std::vector<std::string> simgrid_args; ///< --cfg=... / --log=... passed through
};

/// Runs every strategy of the scenario and writes results. Returns the process exit status.
int run_scenario(const Scenario& scenario, const RunOptions& options);

/// Default output folder: results/<scenario name>.
std::string default_out_dir(const Scenario& scenario);

} // namespace geosim
