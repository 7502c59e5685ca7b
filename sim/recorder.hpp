#pragma once
// Recorder: convergence samples against simulated time, iterations and cumulative bytes, the stop
// condition, and the summary of one strategy's run.
#include "sim/compute.hpp"
#include "sim/input.hpp"
#include "sim/scenario.hpp"
#include "sim/transport.hpp"

#include <optional>
#include <string>
#include <vector>

namespace geosim {

struct Sample {
  double sim_time;
  std::string site; ///< a site name, or "global"
  long long iteration;
  double loss;
  double accuracy;
  double wan_bytes;
  double lan_bytes;
  double compute_core_s; ///< core-seconds charged so far (sim/compute.hpp)
};

class Recorder {
public:
  Recorder(const Scenario& scenario, const StrategyEntry& entry, const Transport& transport,
           const ComputeLedger& compute);

  /// Records a convergence sample at the current simulated time. Global samples drive the stop condition.
  void sample(const std::string& site, long long iteration, double loss, double accuracy);
  /// True once a target is met, the simulated-time budget is spent or the iteration budget is reached.
  bool should_stop(long long iteration) const;
  bool reached_target() const { return time_to_target_.has_value(); }
  /// Strategy-specific figures reported under "details" in summary.json.
  void detail(const std::string& key, json value) { details_[key] = std::move(value); }
  /// A list under "details" (empty when first asked for) that a strategy extends as it runs: recording
  /// its new entries costs what they cost, where detail() would copy the whole list at every report.
  json& detail_list(const std::string& key) {
    json& list = details_[key];
    if (!list.is_array())
      list = json::array();
    return list;
  }
  /// Counts the iterations (rounds, clocks) the strategy completed.
  void set_iterations(long long n) { iterations_ = n; }
  long long iterations() const { return iterations_; }
  /// Share of the stop condition's budget used so far (for the progress line), in [0, 1].
  double progress(double now) const;

  /// The run's summary.json. `applied` is the network as SimGrid applied it (the user's --cfg flags may
  /// override the scenario's); `time_limit_hit` whether the engine stopped the run at max_sim_time_s.
  json summary(double sim_time, const NetworkSpec& applied, bool time_limit_hit) const;
  std::string convergence_csv() const;
  /// The significance profile in details (parameter-server runs) as a tidy CSV; empty without one.
  std::string significance_csv() const;

private:
  json compute_summary(double sim_time) const;
  json faults_summary() const;
  long long iterations_affected(const json& faults) const;
  bool target_met(double loss, double accuracy) const;
  bool converged(long long iteration, double loss);

  const Scenario& scenario_;
  const StrategyEntry& entry_;
  const Transport& transport_;
  const ComputeLedger& compute_;
  std::vector<Sample> samples_;
  std::optional<double> time_to_target_;
  std::optional<double> compute_to_target_; ///< core-seconds charged when the target was met
  std::optional<Sample> last_global_;
  std::vector<double> global_loss_; ///< by iteration, for the convergence rule
  long long iterations_ = 0;
  json details_ = json::object();
};

} // namespace geosim
