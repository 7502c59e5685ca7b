// gaia: Approximate Synchronous Parallel across data centers (Hsieh et al., NSDI'17). Every data center
// runs a parameter server of its own over a full replica of the model, and its servers mirror the
// significant updates to the other data centers' (significance filter, selective barrier, mirror
// clock: sim/protocols/gaia_mirror.hpp). This file reads the strategy's parameters, deploys one
// parameter server and its mirrors per data center, and observes: a replica is judged (on the test sets
// the scenario's evaluation names, as the data center's own model) once it has its own clock c and every
// other data center's mirror messages up to c; the run's figure at clock c is the worst replica's, so
// the target is met when every replica meets it.
#include "sim/context.hpp"
#include "sim/protocols/gaia_mirror.hpp"
#include "sim/protocols/param_server.hpp"
#include "sim/strategy.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>

namespace geosim {
namespace {

struct GaiaConfig {
  PsConfig ps;
  MirrorConfig mirror;
};

class Gaia : public Strategy {
public:
  Gaia(Field& p, const Scenario& sc) {
    require_learning_setup(p, sc, "gaia");
    config_.ps = parse_ps_config(p);
    MirrorConfig& m = config_.mirror;
    m.threshold = p.number_or("threshold", m.threshold, 0, std::numeric_limits<double>::infinity());
    m.decay = p.choice_or("threshold_decay", "sqrt", {"none", "sqrt"}) == "sqrt";
    m.mirror_bound = static_cast<int>(p.integer_or("mirror_bound", m.mirror_bound, 0, 1000));
    std::string b = p.choice_or("barrier", "auto", {"auto", "always", "never"});
    m.barrier = b == "always" ? BarrierMode::always : b == "never" ? BarrierMode::never : BarrierMode::automatic;
    auto timeout = parse_carry_on(p, "on_data_center_failure", "data_center_timeout_s", "every data center");
    m.carry_on = timeout.has_value();
    m.timeout_s = timeout.value_or(0);
    data_sites_ = sc.workload->partition.sites;
    for (int s : data_sites_)
      if (sc.platform.sites[s].kind != "dc")
        input_error(p.file(), "workload.partition.sites",
                    "data sites that are data centers (gaia mirrors parameter servers between data centers)",
                    "site " + sc.platform.sites[s].name + " of kind " + sc.platform.sites[s].kind);
  }

  // Not under async: its data centers run ahead of what the WAN carries without bound, so a data center
  // that boots would be owed an unbounded log of mirror messages.
  bool survives_site_failures() const override { return config_.ps.sync != Consistency::async; }

  void deploy(RunContext& ctx) override {
    ctx_ = &ctx;
    auto all = workers_of_sites(ctx, data_sites_);
    dcs_.clear();
    for (std::size_t d = 0; d < data_sites_.size(); ++d) {
      std::vector<PsWorker> mine;
      for (auto& w : all)
        if (w.site == data_sites_[d])
          mine.push_back(std::move(w));
      dcs_.push_back(make_data_center(static_cast<int>(d), std::move(mine)));
    }
    for (auto& dc : dcs_) {
      std::vector<MirrorPeer> peers;
      for (const auto& other : dcs_)
        if (other->index() != dc->index())
          peers.push_back(other->as_peer());
      dc->connect(std::move(peers));
    }
    replica_clock_.assign(dcs_.size(), -1);
    // A data center that can crash loses what the others sent it: then every mirror keeps a log.
    config_.mirror.crashes =
        std::any_of(dcs_.begin(), dcs_.end(), [](const auto& dc) { return dc->job().can_crash(); });
    record_config();
    for (auto& dc : dcs_)
      dc->job().deploy();
  }

private:
  std::unique_ptr<DataCenter> make_data_center(int d, std::vector<PsWorker> workers) {
    int site = data_sites_[static_cast<std::size_t>(d)];
    auto job = std::make_unique<PsJob>(*ctx_, config_.ps, server_hosts(ctx_->platform, site), std::move(workers));
    auto dc = std::make_unique<DataCenter>(*ctx_, config_.mirror, stats_, d, site, std::move(job), data_sites_.size());
    auto observe = [this, at = dc.get()] { advance_replica(*at); };
    dc->extend(fmt::format("gaia-{}", ctx_->platform.site_name(site)), observe, observe);
    return dc;
  }

  /// The observer judges a data center's replica once it holds its own clock c and all mirror messages
  /// up to c.
  void advance_replica(DataCenter& dc) {
    long long c = std::numeric_limits<long long>::max();
    for (std::size_t k = 0; k < dc.job().shard_map().shards; ++k)
      c = std::min({c, dc.job().shard_clock(k), dc.mirror_clock(k)});
    long long& replica = replica_clock_[static_cast<std::size_t>(dc.index())];
    if (c <= replica || stopped_)
      return;
    std::vector<long long> judged; // the clocks this replica now stands for that the observer judges
    for (long long t = replica + 1; t <= c; ++t)
      if (ctx_->evaluation.due(t))
        judged.push_back(t);
    replica = c;
    if (judged.empty())
      return;
    Model& model = dc.job().gather();
    for (const auto& other : dcs_) // the observer's view: each data center's users' local factors
      other->job().fill_local(model);
    Metrics m = judge_site(*ctx_, model, dc.site(), c).toward_run;
    if (config_.ps.record_parameters)
      last_parameters_[ctx_->platform.site_name(dc.site())] = model.parameters();
    for (long long t : judged)
      if (!stopped_)
        report(t, m);
  }

  /// Clock t of data center replicas: once every replica has reached it, the run's figure is the worst.
  void report(long long t, const Metrics& m) {
    auto& [count, worst] = at_clock_[t];
    worst = count == 0 ? m : Metrics{std::fmax(worst.loss, m.loss), std::fmin(worst.accuracy, m.accuracy)};
    if (++count < dcs_.size())
      return;
    ctx_->recorder.set_iterations(t);
    ctx_->recorder.sample("global", t, worst.loss, worst.accuracy);
    at_clock_.erase(t);
    record_stats();
    if (!ctx_->recorder.should_stop(t))
      return;
    stopped_ = true;
    if (config_.ps.record_parameters) {
      json by_site = json::object();
      for (const auto& [site, v] : last_parameters_)
        by_site[site] = std::vector<double>(v.begin(), v.end());
      ctx_->recorder.detail("final_parameters", by_site);
    }
    for (auto& dc : dcs_)
      dc->job().stop();
  }

  void record_config() {
    auto& r = ctx_->recorder;
    r.detail("sync", consistency_name(config_.ps.sync));
    const MirrorConfig& m = config_.mirror;
    r.detail("threshold", m.threshold);
    r.detail("threshold_decay", m.decay ? "sqrt" : "none");
    r.detail("mirror_bound", m.mirror_bound);
    r.detail("barrier", m.barrier == BarrierMode::always  ? "always"
                        : m.barrier == BarrierMode::never ? "never"
                                                          : "auto");
    r.detail("data_centers", dcs_.size());
    r.detail("on_data_center_failure", m.carry_on ? "carry_on" : "wait");
  }

  void record_stats() {
    auto& r = ctx_->recorder;
    r.detail("updates_considered", stats_.updates_considered);
    r.detail("updates_sent", stats_.updates_sent);
    r.detail("significant_share",
             stats_.updates_considered > 0 ? stats_.updates_sent / stats_.updates_considered : 0.0);
    r.detail("barriers", stats_.barriers);
    r.detail("barrier_delayed_pulls", stats_.barrier_delayed_pulls);
    r.detail("reads_past_barrier", stats_.reads_past_barrier);
    r.detail("max_mirror_lead", stats_.max_mirror_lead);
    r.detail("dense_tables", stats_.dense_tables);
    RecoveryTally recovery; // the data centers' pushes sent again and their mirror messages
    for (const auto& dc : dcs_)
      recovery += dc->job().recovery();
    recovery.bytes_resent += stats_.mirror_bytes_resent;
    recovery.record(r, config_.mirror.crashes);
    if (config_.mirror.carry_on) {
      r.detail("data_centers_left_behind", stats_.left_behind);
      r.detail("data_centers_rejoined", stats_.rejoined);
    }
    if (config_.mirror.crashes) {
      r.detail("mirrors_resent", stats_.mirrors_resent);
      r.detail("mirrors_duplicate", stats_.mirrors_duplicate);
    }
    SignificanceCounter all;
    for (const auto& dc : dcs_)
      all.merge(dc->job().significance());
    r.detail("significance", all.to_json());
  }

  GaiaConfig config_;
  std::vector<int> data_sites_;
  std::vector<std::unique_ptr<DataCenter>> dcs_;
  std::vector<long long> replica_clock_; ///< per data center: the last clock its replica stands for
  RunContext* ctx_ = nullptr;
  MirrorStats stats_;
  std::map<long long, std::pair<std::size_t, Metrics>> at_clock_;
  std::map<std::string, Eigen::VectorXd> last_parameters_;
  bool stopped_ = false;
};

const StrategyRegistration reg{
    {"gaia",
     "Gaia (ASP): a parameter server per DC; significance filter, selective barrier and mirror clock between DCs",
     [](Field& p, const Scenario& sc) { return std::make_shared<Gaia>(p, sc); }}};

} // namespace
} // namespace geosim
