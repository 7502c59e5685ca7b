// isolated: every data site trains its own model on its own data and never talks to another site.
// Each site is judged on its own local test set; the global figure is the mean of the sites' figures,
// weighted by their test-set sizes, taken when the last site finishes each iteration. With `period_s`,
// a site learns once per period from its stream (StreamParams), as an edge box does; after a drift, the
// time it takes to regain its accuracy is reported (sim/adaptation.hpp).
#include "sim/adaptation.hpp"
#include "sim/context.hpp"
#include "sim/strategy.hpp"
#include "sim/training.hpp"

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

  void deploy(RunContext& ctx) override {
    means_ = SiteMeans(sites_.size());
    adaptation_.emplace(ctx.workload->spec().drift);
    for (int s : sites_)
      sg4::Actor::create("learner", ctx.platform.workers[s][0], [this, &ctx, s] { learn(ctx, s); });
  }

private:
  void learn(RunContext& ctx, int site) {
    auto model = ctx.workload->make_model(static_cast<std::uint64_t>(ctx.scenario.seed));
    Rng rng = site_rng(ctx.scenario.seed, site);
    evaluate(ctx, *model, site, 0);
    for (long long k = 1; !ctx.recorder.should_stop(k - 1); ++k) {
      sg4::this_actor::sleep_until(static_cast<double>(k - 1) * stream_.period_s);
      const SiteData& data = ctx.workload->site(site, sg4::Engine::get_clock());
      if (stream_.period_s > 0)
        train_stream(*model, data.train, stream_.batches_per_period, training_.batch, training_.lr, rng);
      else
        train_epochs(*model, data.train, training_.local_epochs, training_.batch, training_.lr, rng);
      evaluate(ctx, *model, site, k);
    }
  }

  void evaluate(RunContext& ctx, const Model& model, int site, long long k) {
    if (!ctx.evaluation.due(k))
      return;
    const Dataset& test = ctx.workload->site(site, sg4::Engine::get_clock()).test;
    Metrics m = ctx.evaluation.judge(model, test);
    ctx.recorder.sample(ctx.platform.site_name(site), k, m.loss, m.accuracy);
    adaptation_->observe(site, sg4::Engine::get_clock(), m.accuracy);
    if (auto mean = means_.add(k, m, static_cast<double>(test.size()))) {
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
};

const StrategyRegistration reg{{"isolated", "every site trains its own model on its own data; no WAN traffic",
                                [](Field& p, const Scenario& sc) { return std::make_shared<Isolated>(p, sc); }}};

} // namespace
} // namespace geosim
