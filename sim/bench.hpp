#pragma once
// geosim bench: host throughput of the model math (not a test: timings vary with the machine).

namespace geosim {

/// Prints each model's gradient step in GFLOP/s beside Eigen's own dense matrix product.
int run_bench(double seconds_per_case);

} // namespace geosim
