#pragma once
// How many of a parameter server's updates are significant, as Gaia counts them (Hsieh et al., NSDI'17,
// Figure 5; kevinhsieh/non_iid_dml's `calc_update_dist`): for each threshold, every parameter has an
// accumulator to which each clock's change of the parameter is added; the change is significant when
// |accumulated| > threshold x |value| (or the value is 0), and the accumulator then starts again from 0.
// A parameter that did not change in a clock counts as insignificant, so the denominator is
// parameters x clocks.
#include <Eigen/Dense>
#include <nlohmann/json.hpp>

#include <cstdint>
#include <vector>

namespace geosim {

class SignificanceCounter {
public:
  /// Figure 5's thresholds: 10, 5, 1, 0.5, 0.1, 0.05 and 0.01 %.
  static const std::vector<double>& thresholds();

  explicit SignificanceCounter(std::size_t parameters = 0);
  /// One clock of one table (a shard of the parameters): the keys that changed, their changes, and their
  /// values after the clock (all three in the same order); `parameters` is how many parameters the table
  /// holds.
  void clock(const std::vector<std::int64_t>& keys, const std::vector<double>& changes,
             const std::vector<double>& values, double parameters);
  /// Per threshold: the share of parameter-clocks whose update was insignificant (1 with no clock yet).
  std::vector<double> insignificant_share() const;
  double parameter_clocks() const { return parameter_clocks_; }
  /// Adds another counter's counts (several data centers' servers).
  void merge(const SignificanceCounter& other);
  /// {"thresholds": [...], "insignificant_share": [...], "parameter_clocks": n} for summary.json.
  nlohmann::json to_json() const;

private:
  std::vector<Eigen::VectorXd> accum_; ///< per threshold, per parameter
  std::vector<double> significant_;    ///< per threshold
  double parameter_clocks_ = 0;
};

/// One data center's updates to a sharded table, clock by clock: each shard's clock closes on its own
/// (when every worker has pushed it), and only then are the changes it gathered counted. Gaia counts per
/// data center: a data center's own updates, not the sum of every data center's.
class OriginTally {
public:
  OriginTally(std::size_t parameters, std::size_t shards);
  void add(std::size_t shard, std::int64_t key, double change);
  /// The keys changed in the shard's open clock, in the order close() wants their values.
  const std::vector<std::int64_t>& changed(std::size_t shard) const { return changed_[shard]; }
  /// Closes the shard's clock: `values` are the changed keys' values now, in the order of changed().
  void close(std::size_t shard, const std::vector<double>& values, double shard_parameters);
  const SignificanceCounter& counter() const { return counter_; }

private:
  Eigen::VectorXd open_;                           ///< per key: change in its shard's open clock
  std::vector<std::vector<std::int64_t>> changed_; ///< per shard: keys changed in its open clock
  SignificanceCounter counter_;
};

} // namespace geosim
