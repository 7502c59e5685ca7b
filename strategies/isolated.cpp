// isolated: every data site trains its own model on its own data and never talks to another site.
// Each site's model is judged as the scenario's evaluation says (sim/evaluation.hpp); the global figure
// is the mean of the sites' figures, weighted by their test-set sizes, taken when the last site finishes
// each iteration. With `period_s`, a site learns once per period from its stream (StreamParams), as an
// edge box does; after a drift, the time it takes to regain its recorded accuracy is reported
// (sim/protocols/adaptation.hpp). A site that crashes keeps its model on its disk at the end of every
// iteration and, once booted, goes on from the last one it saved.
#include "sim/actors.hpp"
#include "sim/context.hpp"
#include "sim/protocols/adaptation.hpp"
#include "sim/protocols/training.hpp"
#include "sim/strategy.hpp"

namespace sg4 = simgrid::s4u;

namespace geosim {
namespace {

class Isolated : public Strategy {
public:
  Isolated(Field& p, const Scenario& sc) {
    require_learning_setup(p, sc, "isolated");
    training_ = parse_training(p);
    stream_ = parse_stream(p);
    sites_ = sc.workload->partition.sites;
  }

  /// Each site learns alone from what its disk holds (docs/faults.md).
  bool survives_site_failures() const override { return true; }

  void deploy(RunContext& ctx) override {
    means_ = SiteMeans(sites_);
    adaptation_.emplace(ctx.workload->spec().drift);
    saved_.clear();
    for (int s : sites_) {
      sg4::Host* host = ctx.platform.workers[s][0];
      create_actor("learner", host, ctx.platform.can_fail(host),
                   [this, &ctx, s, disk = &saved_[s]] { learn(ctx, s, *disk); });
    }
  }

private:
  /// What a site that crashes keeps on its disk: its model, its batch order and its last iteration.
  struct Checkpoint {
    Eigen::VectorXd parameters;
    Rng rng;
    long long iteration;
  };

  /// A site's learner; `disk` is what its host keeps across crashes.
  void learn(RunContext& ctx, int site, std::optional<Checkpoint>& disk) {
    auto model = ctx.workload->make_model(static_cast<std::uint64_t>(ctx.scenario.seed));
    Rng rng = site_rng(ctx.scenario.seed, site);
    long long done = 0;
    bool crashes = ctx.platform.can_fail(sg4::this_actor::get_host());
    if (disk) { // booted after a crash
      model->parameters() = disk->parameters;
      rng = disk->rng;
      done = disk->iteration;
    } else {
      evaluate(ctx, *model, site, 0);
      if (crashes) // iteration 0 is judged once, whenever the first crash comes
        disk = Checkpoint{model->parameters(), rng, 0};
    }
    // A site that was down catches up on the periods it missed, one after the other (sleep_until a time
    // past returns at once), on the data of the moment, as a box that buffered its stream on disk would.
    for (long long k = done + 1; !ctx.recorder.should_stop(k - 1); ++k) {
      sg4::this_actor::sleep_until(static_cast<double>(k - 1) * stream_.period_s);
      const SiteData& data = ctx.workload->site(site, sg4::Engine::get_clock());
      if (stream_.period_s > 0)
        train_stream(*model, data.train, stream_.batches_per_period, training_.batch, training_.lr, rng);
      else
        train_epochs(*model, data.train, training_.local_epochs, training_.batch, training_.lr, rng);
      evaluate(ctx, *model, site, k);
      if (crashes)
        disk = Checkpoint{model->parameters(), rng, k};
    }
  }

  void evaluate(RunContext& ctx, const Model& model, int site, long long k) {
    if (!ctx.evaluation.due(k))
      return;
    SiteJudgement j = judge_site(ctx, model, site, k);
    // Adaptation to a drift is the site's accuracy on its own data, whatever the run is judged on.
    double own = j.recorded.accuracy;
    if (ctx.evaluation.test() == TestSets::global && !ctx.workload->spec().drift.empty())
      own = ctx.evaluation.judge(model, ctx.workload->site(site, sg4::Engine::get_clock()).test).accuracy;
    adaptation_->observe(site, sg4::Engine::get_clock(), own);
    if (auto mean = means_.add(k, site, j.toward_run, j.weight)) {
      ctx.recorder.set_iterations(k);
      ctx.recorder.sample("global", k, mean->loss, mean->accuracy);
      if (!ctx.workload->spec().drift.empty())
        ctx.recorder.detail("adaptation", adaptation_->report(ctx.platform));
    }
  }

  TrainingParams training_;
  StreamParams stream_;
  std::vector<int> sites_;
  std::optional<AdaptationTracker> adaptation_;
  SiteMeans means_;
  std::map<int, std::optional<Checkpoint>> saved_; ///< by site, for the sites that crash: what its disk keeps
};

const StrategyRegistration reg{{"isolated", "every site trains its own model on its own data; no WAN traffic",
                                [](Field& p, const Scenario& sc) { return std::make_shared<Isolated>(p, sc); }}};

} // namespace
} // namespace geosim
