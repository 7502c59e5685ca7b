#pragma once
// Evaluation: when the observer judges a strategy's models, and what judging costs the host. Judging is
// the simulator's own measurement, not part of any strategy: it takes no simulated time and moves no
// bytes, but on a large test set it is a real share of a run's host time, so a scenario may thin it
// out ("evaluation": {"every": K}) and the run reports what it cost (host.json, apart from the results).
//
// What a model is judged on is one policy per scenario ("evaluation": {"test": ...}), applied alike to
// every strategy so that two strategies of one scenario are always compared like for like:
//   global  each model on the global test set (the data sites' test sets together, or a data set's own
//           test images);
//   sites   each data site's model on that site's current test set, as the site's users would meet it:
//           a strategy with one model for everyone is judged on every data site's test set;
//   both    the per-site figures of `sites` recorded under the sites' names, and the global test set's
//           figure as the run's.
// The run's figure is the weighted mean over the sites (test-set sizes) of their figures, or the one
// model's figure on the global test set; Gaia takes its worst replica instead of the mean.
#include "sim/learning/model.hpp"

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace geosim {

enum class TestSets { global, sites, both };
const char* test_sets_name(TestSets t);

struct EvaluationSpec {
  long long every = 1; ///< judge iteration 0, every `every`-th iteration and the last one
  TestSets test = TestSets::global;
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
  TestSets test() const { return spec_.test; }
  long long passes() const { return passes_; }          ///< test sets judged
  double host_seconds() const { return host_seconds_; } ///< host time spent judging

private:
  EvaluationSpec spec_;
  std::optional<long long> last_;
  long long passes_ = 0;
  double host_seconds_ = 0;
};

struct RunContext;

/// The run's figure from per-site figures (isolated learning and Cartel, whose sites finish an
/// iteration at different times, and one model judged site by site): the figures of one iteration,
/// averaged with weights (test-set sizes) once every site has reported it. The sum runs in the order of
/// `sites`, whatever order the figures came in, so a site that finishes later (after a crash, say)
/// leaves the mean's last digit as it was.
class SiteMeans {
public:
  explicit SiteMeans(const std::vector<int>& sites = {});
  /// Adds `site`'s figure for `iteration`; returns the weighted mean when it was the last one missing.
  std::optional<Metrics> add(long long iteration, int site, const Metrics& m, double weight);

private:
  struct Figure {
    Metrics m;
    double weight;
  };
  std::map<int, std::size_t> slot_;                              ///< site -> its place in the sum
  std::map<long long, std::vector<std::optional<Figure>>> open_; ///< iterations not every site reported
};

/// The scenario's policy applied to a model that every data site uses (FedAvg's global model, the
/// parameter server's): records each data site's figure under `sites` and `both`, and returns the run's
/// figure at iteration k, which the caller records as "global".
Metrics judge_shared(RunContext& ctx, const Model& model, long long k);

/// A site's figures under the scenario's policy: the one recorded under its name, and the one that goes
/// into the run's figure with its weight.
struct SiteJudgement {
  Metrics recorded;
  Metrics toward_run;
  double weight;
};
/// The scenario's policy applied to site `site`'s own model (isolated learning, Cartel, a Gaia replica)
/// at iteration k; records the site's figure. `own`: the model's figure on the site's current test set
/// when the caller already has it (Cartel's drift detection computes it), so it is not computed twice.
SiteJudgement judge_site(RunContext& ctx, const Model& model, int site, long long k,
                         std::optional<Metrics> own = std::nullopt);

} // namespace geosim
