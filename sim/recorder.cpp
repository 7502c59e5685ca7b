#include "sim/recorder.hpp"

#include "sim/results.hpp"
#include "version.hpp"

#include <fmt/format.h>
#include <simgrid/s4u.hpp>

#include <algorithm>
#include <cmath>
#include <filesystem>

namespace geosim {

Recorder::Recorder(const Scenario& scenario, const StrategyEntry& entry, const Transport& transport,
                   const ComputeLedger& compute)
    : scenario_(scenario), entry_(entry), transport_(transport), compute_(compute) {}

bool Recorder::target_met(double loss, double accuracy) const {
  const StopSpec& s = scenario_.stop;
  if (!s.target_loss && !s.target_accuracy)
    return false;
  return (!s.target_loss || loss <= *s.target_loss) && (!s.target_accuracy || accuracy >= *s.target_accuracy);
}

void Recorder::sample(const std::string& site, long long iteration, double loss, double accuracy) {
  double now = simgrid::s4u::Engine::get_clock();
  const auto& c = transport_.counters();
  samples_.push_back({now, site, iteration, loss, accuracy, c.wan_bytes, c.lan_bytes, compute_.core_seconds()});
  if (site != "global")
    return;
  last_global_ = samples_.back();
  if (!time_to_target_ && (target_met(loss, accuracy) || converged(iteration, loss))) {
    time_to_target_ = now;
    compute_to_target_ = compute_.core_seconds();
  }
}

bool Recorder::converged(long long iteration, double loss) {
  const StopSpec& s = scenario_.stop;
  if (!s.converged_clocks || iteration < 0)
    return false;
  auto at = static_cast<std::size_t>(iteration);
  global_loss_.resize(std::max(global_loss_.size(), at + 1), std::nan(""));
  global_loss_[at] = loss;
  auto window = static_cast<std::size_t>(*s.converged_clocks);
  if (at < window || std::isnan(global_loss_[at - window]))
    return false;
  double before = global_loss_[at - window];
  return std::abs(before - loss) < s.converged_change * std::abs(before);
}

bool Recorder::should_stop(long long iteration) const {
  const StopSpec& s = scenario_.stop;
  if (time_to_target_)
    return true;
  if (s.max_iterations && iteration >= *s.max_iterations)
    return true;
  return s.max_sim_time_s && simgrid::s4u::Engine::get_clock() >= *s.max_sim_time_s;
}

double Recorder::progress(double now) const {
  const StopSpec& s = scenario_.stop;
  double share = 0;
  if (s.max_sim_time_s)
    share = std::max(share, now / *s.max_sim_time_s);
  if (s.max_iterations)
    share = std::max(share, static_cast<double>(iterations_) / static_cast<double>(*s.max_iterations));
  return std::min(share, 1.0);
}

static json opt_num(const std::optional<double>& v) { return v ? json(*v) : json(nullptr); }

/// A figure per byte class (sim/provenance.hpp), by the class's name: {"raw", "model", "control"}.
template <class T> static json by_class(const std::array<T, kByteClasses>& per_class) {
  json out = json::object();
  for (int k = 0; k < kByteClasses; ++k)
    out[byte_class_name(static_cast<ByteClass>(k))] = per_class[static_cast<std::size_t>(k)];
  return out;
}

/// Input files are recorded by their absolute path, so the same run from another folder records the same.
static std::string absolute_path(const std::string& file) {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::path p = fs::weakly_canonical(fs::absolute(file), ec);
  return ec ? fs::absolute(file).lexically_normal().string() : p.string();
}

json Recorder::summary(double sim_time, const NetworkSpec& applied, bool time_limit_hit) const {
  const auto& c = transport_.counters();
  const auto& sites = scenario_.platform.sites;
  json pairs = json::object();
  for (const auto& [ab, bytes] : c.by_site_pair)
    if (bytes > 0)
      pairs[sites[ab.first].name + "->" + sites[ab.second].name] = bytes;
  const StopSpec& s = scenario_.stop;
  json out = {
      {"geosim_version", kVersion},
      {"scenario", scenario_.name},
      {"scenario_file", absolute_path(scenario_.file)},
      {"platform", scenario_.platform.name},
      {"platform_file", absolute_path(scenario_.platform_file)},
      {"strategy", entry_.name},
      {"label", entry_.label},
      {"seed", scenario_.seed},
      {"network_model", applied.model},
      {"tcp_window_bytes", applied.tcp_window_bytes},
      {"scale_model", scenario_.scale_model},
      {"wan_bandwidth_mbps", opt_num(scenario_.network.wan_bandwidth_mbps)},
      {"wan_bandwidth_scale", scenario_.network.wan_bandwidth_scale},
      {"faults", faults_summary()},
      {"stop",
       {{"target_loss", opt_num(s.target_loss)},
        {"target_accuracy", opt_num(s.target_accuracy)},
        {"max_sim_time_s", opt_num(s.max_sim_time_s)},
        {"max_iterations", s.max_iterations ? json(*s.max_iterations) : json(nullptr)},
        {"converged_clocks", s.converged_clocks ? json(*s.converged_clocks) : json(nullptr)},
        {"converged_change", s.converged_clocks ? json(s.converged_change) : json(nullptr)},
        {"time_limit_hit", time_limit_hit}}},
      {"evaluation", {{"every", scenario_.evaluation.every}, {"test", test_sets_name(scenario_.evaluation.test)}}},
      {"reached_target", time_to_target_.has_value()},
      {"time_to_target_s", opt_num(time_to_target_)},
      {"sim_time_s", sim_time},
      {"iterations", iterations_},
      {"final",
       {{"loss", last_global_ ? json(last_global_->loss) : json(nullptr)},
        {"accuracy", last_global_ ? json(last_global_->accuracy) : json(nullptr)}}},
      {"bytes",
       {{"wan", c.wan_bytes},
        {"lan", c.lan_bytes},
        {"host_local", c.host_local_bytes},
        {"messages", c.messages},
        {"by_site_pair", pairs},
        {"by_class", by_class(c.by_class)},                             // network bytes
        {"by_class_jurisdictions", by_class(c.by_class_jurisdictions)}, // inter-site, "J1->J2"
        {"by_link", c.by_link}}},
      {"compute", compute_summary(sim_time)},
      {"sovereignty", transport_.sovereignty_report()},
      {"cost", scenario_.prices ? run_cost(*scenario_.prices, scenario_.platform, c.by_site_pair,
                                           time_to_target_.value_or(sim_time), scenario_.scale_model)
                                : json(nullptr)},
      {"details", details_},
  };
  return out;
}

json Recorder::compute_summary(double sim_time) const {
  json c = compute_.summary();
  c["core_s_to_target"] = opt_num(compute_to_target_);
  // Goodput: core-seconds computed per second of the run (what faults and waiting take away).
  c["core_s_per_s"] = sim_time > 0 ? json(c["core_s"].get<double>() / sim_time) : json(nullptr);
  return c;
}

json Recorder::faults_summary() const {
  const auto& f = scenario_.network.faults;
  if (!f && !scenario_.platform.has_link_traces())
    return nullptr;
  json out = {{"seed", f ? json(f->seed) : json(nullptr)}, {"outages_by_link", faults_report(scenario_.platform)}};
  if (scenario_.platform.has_site_failures()) {
    out["failures_by_site"] = site_failures_report(scenario_.platform);
    if (json hosts = host_failures_report(scenario_.platform); !hosts.empty())
      out["failures_by_host"] = hosts;
    out["lost_messages"] = transport_.counters().lost_messages;
  }
  out["iterations_affected"] = iterations_affected(out);
  return out;
}

/// How many global iterations (clocks, rounds; as judged) span, from the sample before, some of an
/// outage or a crash. Bandwidth noise affects every iteration and is not counted.
long long Recorder::iterations_affected(const json& faults) const {
  std::vector<std::pair<double, double>> down;
  for (const char* kind : {"outages_by_link", "failures_by_site", "failures_by_host"})
    if (faults.contains(kind))
      for (const auto& [name, report] : faults[kind].items())
        for (const auto& interval : report["intervals"])
          down.emplace_back(interval[0].get<double>(), interval[1].get<double>());
  long long affected = 0;
  const Sample* before = nullptr;
  for (const auto& s : samples_) {
    if (s.site != "global")
      continue;
    if (before && std::any_of(down.begin(), down.end(),
                              [&](const auto& d) { return d.first < s.sim_time && d.second > before->sim_time; }))
      affected++;
    before = &s;
  }
  return affected;
}

std::string Recorder::convergence_csv() const {
  std::string out = "sim_time,strategy,site,iteration,loss,accuracy,wan_bytes,lan_bytes,compute_core_s\n";
  for (const auto& s : samples_)
    out += fmt::format("{},{},{},{},{},{},{},{},{}\n", fmt_num(s.sim_time), entry_.label, s.site, s.iteration,
                       fmt_num(s.loss), fmt_num(s.accuracy), fmt_num(s.wan_bytes), fmt_num(s.lan_bytes),
                       fmt_num(s.compute_core_s));
  return out;
}

std::string Recorder::significance_csv() const {
  if (!details_.contains("significance"))
    return "";
  const json& sig = details_["significance"];
  std::string out = "strategy,threshold,insignificant_share,parameter_clocks\n";
  for (std::size_t t = 0; t < sig["thresholds"].size(); ++t)
    out += fmt::format("{},{},{},{}\n", entry_.label, fmt_num(sig["thresholds"][t].get<double>()),
                       fmt_num(sig["insignificant_share"][t].get<double>()),
                       fmt_num(sig["parameter_clocks"].get<double>()));
  return out;
}

} // namespace geosim
