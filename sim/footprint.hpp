#pragma once
// How much memory a run will hold, estimated from the scenario before anything is generated, so that a
// run that cannot fit is refused at validation (naming what it needs) instead of dying of bad_alloc
// after a minute. The estimate counts the big terms only and errs high: the data set (features as
// doubles, pooled and dealt to sites), one model (and its optimizer state) per host and a few per site,
// and SimGrid's objects per host.
#include "sim/scenario.hpp"

namespace geosim {

struct Footprint {
  double data_bytes = 0;
  double model_bytes = 0;
  double platform_bytes = 0;
  double total() const { return data_bytes + model_bytes + platform_bytes; }
};

Footprint estimate_footprint(const Scenario& sc);

/// An upper bound on the host time a run's training may take, in seconds (0 when the run has no
/// iteration bound or no workload): for the busiest strategy, its passes over all training samples per
/// iteration times max_iterations, at the stand-in model's own flops per sample, at 2 Gflop/s (a little
/// under the 2.5 Gflop/s the MF workload's pass reaches on the 2-core CI machine).
double estimate_host_seconds(const Scenario& sc);

/// "" or a one-line warning for a run that may take more than an hour of host time.
std::string work_warning(const Scenario& sc);

/// The machine's physical memory, in bytes.
double physical_memory_bytes();

/// Refuses (InputError naming the file) a scenario whose footprint exceeds the machine's memory.
void check_footprint(const Scenario& sc);

} // namespace geosim
