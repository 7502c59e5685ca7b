#include "sim/evaluation.hpp"
#include "sim/context.hpp"

#include <simgrid/s4u.hpp>

#include <chrono>

namespace geosim {

const char* test_sets_name(TestSets t) {
  return t == TestSets::global ? "global" : t == TestSets::sites ? "sites" : "both";
}

Metrics Evaluation::judge(const Model& model, const Dataset& test) {
  auto start = std::chrono::steady_clock::now();
  Metrics m = model.evaluate(test);
  host_seconds_ += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  ++passes_;
  return m;
}

SiteMeans::SiteMeans(const std::vector<int>& sites) {
  for (int s : sites)
    slot_.emplace(s, slot_.size());
}

std::optional<Metrics> SiteMeans::add(long long iteration, int site, const Metrics& m, double weight) {
  auto& figures = open_[iteration];
  figures.resize(slot_.size());
  figures.at(slot_.at(site)) = Figure{m, weight};
  for (const auto& f : figures)
    if (!f)
      return std::nullopt;
  double total = 0, loss = 0, accuracy = 0;
  for (const auto& f : figures) {
    total += f->weight;
    loss += f->weight * f->m.loss;
    accuracy += f->weight * f->m.accuracy;
  }
  open_.erase(iteration);
  return Metrics{loss / total, accuracy / total};
}

namespace {

/// A data site's current test set (it changes with drift).
const Dataset& own_test(RunContext& ctx, int site) {
  return ctx.workload->site(site, simgrid::s4u::Engine::get_clock()).test;
}

} // namespace

Metrics judge_shared(RunContext& ctx, const Model& model, long long k) {
  TestSets policy = ctx.evaluation.test();
  if (policy == TestSets::global)
    return ctx.evaluation.judge(model, ctx.workload->global_test());
  const auto& sites = ctx.scenario.workload->partition.sites;
  SiteMeans means(sites);
  std::optional<Metrics> mean;
  for (int s : sites) {
    const Dataset& test = own_test(ctx, s);
    Metrics m = ctx.evaluation.judge(model, test);
    ctx.recorder.sample(ctx.platform.site_name(s), k, m.loss, m.accuracy);
    mean = means.add(k, s, m, static_cast<double>(test.size()));
  }
  if (policy == TestSets::both)
    return ctx.evaluation.judge(model, ctx.workload->global_test());
  return *mean;
}

SiteJudgement judge_site(RunContext& ctx, const Model& model, int site, long long k, std::optional<Metrics> own) {
  TestSets policy = ctx.evaluation.test();
  const Dataset& global = ctx.workload->global_test();
  const Dataset& test = policy == TestSets::global ? global : own_test(ctx, site);
  Metrics recorded = policy != TestSets::global && own ? *own : ctx.evaluation.judge(model, test);
  ctx.recorder.sample(ctx.platform.site_name(site), k, recorded.loss, recorded.accuracy);
  if (policy != TestSets::both)
    return {recorded, recorded, static_cast<double>(test.size())};
  return {recorded, ctx.evaluation.judge(model, global), static_cast<double>(global.size())};
}

} // namespace geosim
