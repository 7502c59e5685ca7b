#pragma once
// A scenario: platform, workload, one or more strategies, stop condition, seed and network model.
// Parsing validates everything (including each strategy's parameters) before any simulation starts,
// so bad input is reported before results are touched.
#include "sim/evaluation.hpp"
#include "sim/faults.hpp"
#include "sim/input.hpp"
#include "sim/learning/workload.hpp"
#include "sim/platform.hpp"
#include "sim/prices.hpp"
#include "sim/provenance.hpp"

#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace geosim {

class Strategy;

struct NetworkSpec {
  std::string model = "LV08"; ///< CM02, LV08 or ns-3
  /// SimGrid caps a flow at TCP-gamma / (2 x latency); a 1 GiB window keeps WAN links at their nominal
  /// bandwidth unless a scenario deliberately asks for a smaller window.
  double tcp_window_bytes = 1073741824.0;
  /// Sweeps: every WAN link set to this bandwidth, and/or every WAN bandwidth multiplied by this factor.
  std::optional<double> wan_bandwidth_mbps;
  double wan_bandwidth_scale = 1;
  std::optional<FaultsSpec> faults; ///< laid over the platform's WAN links (sim/faults.*)
};

struct StopSpec {
  std::optional<double> target_loss;
  std::optional<double> target_accuracy;
  std::optional<double> max_sim_time_s;
  std::optional<long long> max_iterations;
  /// Convergence as Gaia's evaluation defines it: the global loss changed by less than `converged_change`
  /// (relative) over the last `converged_clocks` iterations. Counts as reaching the target.
  std::optional<long long> converged_clocks;
  double converged_change = 0.02;
  bool bounded() const { return max_sim_time_s || max_iterations; }
};

struct StrategyEntry {
  std::string name;  ///< registered strategy name
  std::string label; ///< unique within the scenario; results go to <out>/<label>/
  std::shared_ptr<Strategy> strategy;
  double passes_per_iteration = 1; ///< its local_epochs, if it has one (for the work estimate)
};

struct Scenario {
  std::string file;
  std::string name;
  std::string description;
  std::string platform_file;
  PlatformSpec platform;
  long long seed = 1;
  NetworkSpec network;
  StopSpec stop;
  EvaluationSpec evaluation;
  std::optional<WorkloadSpec> workload; ///< absent for strategies that do no learning
  std::vector<StrategyEntry> strategies;
  std::string reference; ///< label that comparison ratios are taken against
  SovereigntySpec sovereignty;
  std::optional<PriceList> prices; ///< what the platform costs (scenario "prices": a price-list file)
  /// The workload is a 1/scale_model copy of a larger job; the platform's host speeds and link bandwidths
  /// are divided by it (latencies kept), so that simulated times stand for the full-size job.
  double scale_model = 1;
};

/// The TCP send and receive buffers of every ns-3 socket (1 GiB, the largest window TCP's window
/// scaling allows): SimGrid 3.32 closes a receiver's socket too early when a message outgrows them, and
/// ns-3 3.37 itself crashes with buffers of a few MiB, so under ns-3 no window limit is modelled and a
/// message may be at most this large (docs/network-models.md).
inline constexpr double kNs3BufferBytes = 1073741824;

/// Applies "--set a.b.0.c=value" overrides to a raw scenario document. The value is parsed as JSON when
/// it is valid JSON, otherwise taken as a string.
void apply_override(json& doc, const std::string& assignment, const std::string& file);

/// `only`: keep only the strategies with these labels (geosim run --only; an unknown label is an input
/// error), before the checks that concern each strategy (crashes it must survive, memory it needs).
Scenario parse_scenario(const json& doc, const std::string& file, const std::vector<std::string>& only = {});
Scenario load_scenario(const std::string& file, const std::vector<std::string>& overrides = {},
                       std::optional<long long> seed = std::nullopt, const std::vector<std::string>& only = {});

} // namespace geosim
