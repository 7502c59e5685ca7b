#pragma once
// Evaluation: when the observer judges a strategy's models, and what judging costs the host. Judging is
// the simulator's own measurement, not part of any strategy: it takes no simulated time and moves no
// bytes, but on a large test set it is a real share of a run's host time, so a scenario may thin it
// out ("evaluation": {"every": K}) and the run reports what it cost (host.json, apart from the results).
#include "sim/learning/model.hpp"

#include <optional>

namespace geosim {

struct EvaluationSpec {
  long long every = 1; ///< judge iteration 0, every `every`-th iteration and the last one
};

class Evaluation {
public:
  /// `last`: the run's max_iterations, if it has one, which is always judged.
  Evaluation(EvaluationSpec spec, std::optional<long long> last) : spec_(spec), last_(last) {}

  /// Whether iteration (round, clock) `k` is judged. Targets and the convergence rule are checked at
  /// these iterations only, so a time to target is resolved to `every` iterations.
  bool due(long long k) const { return k % spec_.every == 0 || (last_ && k >= *last_); }
  /// The model's metrics on a test set, timed.
  Metrics judge(const Model& model, const Dataset& test);

  long long every() const { return spec_.every; }
  long long passes() const { return passes_; }          ///< test sets judged
  double host_seconds() const { return host_seconds_; } ///< host time spent judging

private:
  EvaluationSpec spec_;
  std::optional<long long> last_;
  long long passes_ = 0;
  double host_seconds_ = 0;
};

} // namespace geosim
