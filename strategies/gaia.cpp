// gaia: Approximate Synchronous Parallel across data centers (Hsieh et al., NSDI'17). Each data center
// runs a parameter server of its own over a full replica of the model; its workers push and pull there
// as in param_server. Between data centers the servers act as mirrors:
//  - significance filter: a server adds its local workers' change of each key to an accumulator and, at
//    the end of each local clock t, sends a key's accumulated change to the other data centers only when
//    |accumulated / current value| exceeds the threshold (1% / sqrt(t) by default, as the paper decays
//    it); when the (index, value) list would be at least as large as the shard's dense table, the dense
//    table of every accumulated change goes instead;
//  - selective barrier: when a server has significant updates to send while its earlier ones to that
//    data center are still being sent (it sees its own unfinished sends), it first sends their keys
//    alone (a key list or a bitmap, whichever is smaller); receivers hold reads of those keys until the
//    values arrive;
//  - mirror clock: every mirror message carries its clock; a data center more than `mirror_bound`
//    clocks ahead of the slowest one holds its workers' pulls.
// Sparse messages carry a 4-byte index beside each value, dense ones values alone. Local updates apply
// to the data center's own replica at once (its parameter server). A replica is judged (on the test
// sets the scenario's evaluation names, as the data center's own model) once it has its own clock c and
// every other data center's mirror messages up to c; the run's figure at clock c is the worst replica's,
// so the target is met when every replica meets it.
#include "sim/context.hpp"
#include "sim/protocols/param_server.hpp"
#include "sim/strategy.hpp"
#include "sim/wire.hpp"

#include <fmt/format.h>

#include <cmath>
#include <limits>
#include <map>
#include <set>
#include <tuple>

namespace sg4 = simgrid::s4u;

namespace geosim {
namespace {

using wire::kHeaderBytes;                         // sender and clock
constexpr double kIndexBytes = wire::kFieldBytes; // beside each value of a sparse update

/// A mirror message: one clock's significant updates from one shard of one data center to one shard of
/// another (possibly none: it still tells the receiver that the clock is over).
struct MirrorUpdate {
  int from_dc;
  std::size_t from_shard;
  long long clock;
  std::vector<std::int64_t> keys; ///< dense: every key the sender shard and the receiver shard share
  Eigen::VectorXd values;
  int value_bytes;
  bool dense = false;
  double wire_bytes() const {
    return kHeaderBytes + static_cast<double>(keys.size()) * ((dense ? 0 : kIndexBytes) + value_bytes);
  }
};

/// The keys of a mirror update that is on its way: a key list, or a bitmap over the sender shard's keys.
struct Barrier {
  int from_dc;
  std::size_t from_shard;
  long long clock;
  std::vector<std::int64_t> keys;
  double shard_keys; ///< how many keys the sending shard owns (the bitmap's length in bits)
  double wire_bytes() const {
    return kHeaderBytes + std::min(kIndexBytes * static_cast<double>(keys.size()), std::ceil(shard_keys / 8));
  }
};

enum class BarrierMode { automatic, always, never };

struct GaiaConfig {
  PsConfig ps;
  double threshold = 0.01;
  /// threshold / sqrt(clock), as the paper decays it (v / sqrt(t)); "none" keeps it constant.
  bool decay = true;
  int mirror_bound = 2;
  BarrierMode barrier = BarrierMode::automatic;
};

/// Which messages of one sender shard have arrived: clocks complete in order, whatever order they came.
struct ClockSequence {
  long long done = 0;
  std::set<long long> ahead;
  void arrived(long long clock) {
    ahead.insert(clock);
    while (!ahead.empty() && *ahead.begin() == done + 1) {
      ahead.erase(ahead.begin());
      ++done;
    }
  }
};

using MessageId = std::tuple<int, std::size_t, long long>; // sender data center, sender shard, clock

struct GaiaStats {
  double updates_considered = 0, updates_sent = 0, barriers = 0, dense_tables = 0;
  long long barrier_delayed_pulls = 0, reads_past_barrier = 0;
  long long max_mirror_lead = 0;
};

class Gaia;

/// One data center: its parameter-server job and the mirror state of its shards.
struct DataCenter : ShardHooks {
  Gaia* gaia = nullptr;
  int index = 0, site = 0;
  std::unique_ptr<PsJob> job;
  Eigen::VectorXd accum;                        ///< local changes not yet sent, per key
  std::vector<char> is_dirty;                   ///< accum != 0
  std::vector<std::vector<std::int64_t>> dirty; ///< per shard: keys with a change to consider
  std::vector<int> barred;                      ///< per key: barriers announced, values not arrived
  std::vector<std::map<std::pair<int, std::size_t>, ClockSequence>> mirrors; ///< per shard, per sender
  std::vector<std::map<MessageId, std::vector<std::int64_t>>> announced;     ///< per shard: barriers waiting
  std::vector<std::set<MessageId>> applied;                                  ///< per shard
  std::vector<std::vector<std::vector<sg4::CommPtr>>> sending; ///< per shard, per data center: mirror sends
  std::set<std::pair<std::size_t, std::size_t>> held;          ///< (shard, worker) pulls held by a barrier
  long long replica_clock = -1;                                ///< last clock this replica stands for

  long long mirror_clock(std::size_t k) const;
  void on_push(std::size_t k, const std::vector<std::int64_t>& keys, const Eigen::VectorXd& delta) override;
  void on_clock(std::size_t k, long long clock) override;
  bool may_serve(std::size_t k, std::size_t w, const std::vector<std::int64_t>& keys, long long min_clock) override;
  void on_reply(std::size_t k, std::size_t w, const std::vector<std::int64_t>& keys) override;
  void on_message(std::size_t k, const Envelope& env) override;

  /// The keys of a shard whose accumulated change passed the filter this clock, and those changes.
  struct Significant {
    std::vector<std::int64_t> keys;
    std::vector<double> changes;
    bool dense = false; ///< keys is the whole shard
  };
  Significant filter(std::size_t k, long long clock);
  void mirror(std::size_t k, long long clock, const Significant& sig, DataCenter& other);
  bool backlog(std::size_t k, int dc);
  void apply(std::size_t k, const MirrorUpdate& u);
  void announce(std::size_t k, const Barrier& b);
};

class Gaia : public Strategy {
public:
  Gaia(Field& p, const Scenario& sc) {
    require_learning_setup(p, sc, "gaia");
    config_.ps = parse_ps_config(p);
    config_.threshold = p.number_or("threshold", config_.threshold, 0, std::numeric_limits<double>::infinity());
    config_.decay = p.choice_or("threshold_decay", "sqrt", {"none", "sqrt"}) == "sqrt";
    config_.mirror_bound = static_cast<int>(p.integer_or("mirror_bound", config_.mirror_bound, 0, 1000));
    std::string b = p.choice_or("barrier", "auto", {"auto", "always", "never"});
    config_.barrier = b == "always" ? BarrierMode::always : b == "never" ? BarrierMode::never : BarrierMode::automatic;
    data_sites_ = sc.workload->partition.sites;
    for (int s : data_sites_)
      if (sc.platform.sites[s].kind != "dc")
        input_error(p.file(), "workload.partition.sites",
                    "data sites that are data centers (gaia mirrors parameter servers between data centers)",
                    "site " + sc.platform.sites[s].name + " of kind " + sc.platform.sites[s].kind);
  }

  void deploy(RunContext& ctx) override {
    ctx_ = &ctx;
    auto all = workers_of_sites(ctx, data_sites_);
    dcs_.resize(data_sites_.size());
    for (std::size_t d = 0; d < dcs_.size(); ++d) {
      std::vector<PsWorker> mine;
      for (auto& w : all)
        if (w.site == data_sites_[d])
          mine.push_back(std::move(w));
      setup(d, std::move(mine));
    }
    for (auto& dc : dcs_)
      for (std::size_t k = 0; k < dc.mirrors.size(); ++k)
        for (const auto& other : dcs_)
          for (std::size_t j = 0; other.index != dc.index && j < other.job->shard_map().shards; ++j)
            dc.mirrors[k][{other.index, j}] = {};
    record_config();
    for (auto& dc : dcs_)
      dc.job->deploy();
  }

  const GaiaConfig& config() const { return config_; }
  std::vector<DataCenter>& dcs() { return dcs_; }
  RunContext& ctx() { return *ctx_; }
  GaiaStats& stats() { return stats_; }

  /// Evaluates a data center's replica once it holds its own clock c and all mirror messages up to c.
  void advance_replica(DataCenter& dc) {
    long long c = std::numeric_limits<long long>::max();
    for (std::size_t k = 0; k < dc.job->shard_map().shards; ++k)
      c = std::min({c, dc.job->shard_clock(k), dc.mirror_clock(k)});
    if (c <= dc.replica_clock || stopped_)
      return;
    std::vector<long long> judged; // the clocks this replica now stands for that the observer judges
    for (long long t = dc.replica_clock + 1; t <= c; ++t)
      if (ctx_->evaluation.due(t))
        judged.push_back(t);
    dc.replica_clock = c;
    if (judged.empty())
      return;
    for (const auto& other : dcs_) // the observer's view: each data center's users' local factors
      other.job->fill_local(dc.job->model());
    Metrics m = judge_site(*ctx_, dc.job->model(), dc.site, c).toward_run;
    if (config_.ps.record_parameters)
      last_parameters_[ctx_->platform.site_name(dc.site)] = dc.job->model().parameters();
    for (long long t : judged)
      if (!stopped_)
        report(t, m);
  }

private:
  void setup(std::size_t d, std::vector<PsWorker> workers) {
    DataCenter& dc = dcs_[d];
    dc.gaia = this;
    dc.index = static_cast<int>(d);
    dc.site = data_sites_[d];
    auto servers = server_hosts(ctx_->platform, dc.site);
    std::size_t n = servers.size();
    dc.job = std::make_unique<PsJob>(*ctx_, config_.ps, std::move(servers), std::move(workers));
    dc.job->extend(fmt::format("gaia-{}", ctx_->platform.site_name(dc.site)), &dc,
                   [this, &dc](long long) { advance_replica(dc); });
    auto size = static_cast<Eigen::Index>(dc.job->model().size());
    dc.accum = Eigen::VectorXd::Zero(size);
    dc.is_dirty.assign(static_cast<std::size_t>(size), 0);
    dc.barred.assign(static_cast<std::size_t>(size), 0);
    dc.dirty.resize(n);
    dc.mirrors.resize(n);
    dc.announced.resize(n);
    dc.applied.resize(n);
    dc.sending.assign(n, std::vector<std::vector<sg4::CommPtr>>(data_sites_.size()));
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
      dc.job->stop();
  }

  void record_config() {
    auto& r = ctx_->recorder;
    r.detail("sync", consistency_name(config_.ps.sync));
    r.detail("threshold", config_.threshold);
    r.detail("threshold_decay", config_.decay ? "sqrt" : "none");
    r.detail("mirror_bound", config_.mirror_bound);
    r.detail("barrier", config_.barrier == BarrierMode::always  ? "always"
                        : config_.barrier == BarrierMode::never ? "never"
                                                                : "auto");
    r.detail("data_centers", dcs_.size());
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
    SignificanceCounter all;
    for (const auto& dc : dcs_)
      all.merge(dc.job->significance());
    r.detail("significance", all.to_json());
  }

  GaiaConfig config_;
  std::vector<int> data_sites_;
  std::vector<DataCenter> dcs_;
  RunContext* ctx_ = nullptr;
  GaiaStats stats_;
  std::map<long long, std::pair<std::size_t, Metrics>> at_clock_;
  std::map<std::string, Eigen::VectorXd> last_parameters_;
  bool stopped_ = false;
};

long long DataCenter::mirror_clock(std::size_t k) const {
  long long c = std::numeric_limits<long long>::max();
  for (const auto& [sender, seq] : mirrors[k])
    c = std::min(c, seq.done);
  return c;
}

void DataCenter::on_push(std::size_t k, const std::vector<std::int64_t>& keys, const Eigen::VectorXd& delta) {
  for (std::size_t i = 0; i < keys.size(); ++i) {
    std::int64_t key = keys[i];
    accum[key] += delta[static_cast<Eigen::Index>(i)];
    if (!is_dirty[key]) {
      is_dirty[key] = 1;
      dirty[k].push_back(key);
    }
  }
  charge_flops(static_cast<double>(keys.size()));
}

// The end of a local clock on shard k: filter the shard's accumulated changes and mirror the significant
// ones to every other data center.
void DataCenter::on_clock(std::size_t k, long long clock) {
  Significant sig = filter(k, clock);
  for (auto& other : gaia->dcs())
    if (other.index != index)
      mirror(k, clock, sig, other);
}

DataCenter::Significant DataCenter::filter(std::size_t k, long long clock) {
  const GaiaConfig& cfg = gaia->config();
  double threshold = cfg.decay ? cfg.threshold / std::sqrt(static_cast<double>(clock)) : cfg.threshold;
  const Eigen::VectorXd& values = job->model().parameters();
  Significant sig;
  std::vector<std::int64_t> keep;
  for (std::int64_t key : dirty[k]) {
    double a = accum[key];
    if (std::abs(a) > threshold * std::abs(values[key])) {
      sig.keys.push_back(key);
      sig.changes.push_back(a);
      accum[key] = 0;
      is_dirty[key] = 0;
    } else {
      keep.push_back(key);
    }
  }
  charge_flops(2.0 * static_cast<double>(dirty[k].size())); // a division and a comparison per key
  gaia->stats().updates_considered += static_cast<double>(dirty[k].size());
  gaia->stats().updates_sent += static_cast<double>(sig.keys.size());
  dirty[k] = std::move(keep);
  // The list costs an index beside each value; once it is no smaller than the dense table, send the table
  // (every key's accumulated change, significant or not) and start every accumulator afresh.
  double vb = job->model().value_bytes;
  const auto& all = job->shard_keys(k);
  if (!sig.keys.empty() &&
      static_cast<double>(sig.keys.size()) * (kIndexBytes + vb) >= static_cast<double>(all.size()) * vb) {
    std::vector<double> changes(all.size());
    for (std::size_t i = 0; i < sig.keys.size(); ++i)
      accum[sig.keys[i]] = sig.changes[i];
    for (std::size_t i = 0; i < all.size(); ++i) {
      changes[i] = accum[all[i]];
      accum[all[i]] = 0;
      is_dirty[all[i]] = 0;
    }
    dirty[k].clear();
    gaia->stats().dense_tables++;
    return {all, std::move(changes), true};
  }
  return sig;
}

/// Whether this shard's earlier mirror messages to data center `dc` are still being sent.
bool DataCenter::backlog(std::size_t k, int dc) {
  auto& comms = sending[k][static_cast<std::size_t>(dc)];
  comms.erase(std::remove_if(comms.begin(), comms.end(), [](const sg4::CommPtr& c) { return c->test(); }), comms.end());
  return !comms.empty();
}

void DataCenter::mirror(std::size_t k, long long clock, const Significant& sig, DataCenter& other) {
  const GaiaConfig& cfg = gaia->config();
  RunContext& ctx = gaia->ctx();
  const ShardMap& map = other.job->shard_map();
  std::vector<MirrorUpdate> out(map.shards);
  for (std::size_t j = 0; j < map.shards; ++j)
    out[j] = {index, k, clock, {}, {}, job->model().value_bytes, sig.dense};
  std::vector<std::vector<double>> vals(map.shards);
  for (std::size_t i = 0; i < sig.keys.size(); ++i) {
    auto j = map.shard_of(sig.keys[i]);
    out[j].keys.push_back(sig.keys[i]);
    vals[j].push_back(sig.changes[i]);
  }
  // Updates arrive faster than the WAN carries them when the previous ones are still being sent.
  bool behind = backlog(k, other.index);
  for (std::size_t j = 0; j < map.shards; ++j) {
    MirrorUpdate& u = out[j];
    u.values = Eigen::Map<Eigen::VectorXd>(vals[j].data(), static_cast<Eigen::Index>(vals[j].size()));
    Endpoint to = other.job->shard_endpoint(j);
    bool barrier =
        !u.keys.empty() && (cfg.barrier == BarrierMode::always || (cfg.barrier == BarrierMode::automatic && behind));
    if (barrier) {
      Barrier b{index, k, clock, u.keys, static_cast<double>(job->shard_keys(k).size())};
      ctx.transport.post(to, "barrier", std::move(b), "control"); // overtakes the bulk updates
      gaia->stats().barriers++;
    }
    sending[k][static_cast<std::size_t>(other.index)].push_back(ctx.transport.isend(to, "mirror", std::move(u)));
  }
}

bool DataCenter::may_serve(std::size_t k, std::size_t w, const std::vector<std::int64_t>& keys, long long min_clock) {
  if (mirror_clock(k) < min_clock - gaia->config().mirror_bound)
    return false;
  GaiaStats& st = gaia->stats();
  for (std::int64_t key : keys)
    if (barred[key] > 0) {
      if (held.insert({k, w}).second)
        st.barrier_delayed_pulls++;
      return false;
    }
  held.erase({k, w});
  // The pull goes out now: how far ahead of the other data centers (as far as their messages say)?
  st.max_mirror_lead = std::max(st.max_mirror_lead, min_clock - mirror_clock(k));
  return true;
}

// Checks, from the reply's side, what may_serve promised: no read of a key whose barrier has arrived
// before its values.
void DataCenter::on_reply(std::size_t, std::size_t, const std::vector<std::int64_t>& keys) {
  bool past_barrier = false;
  for (std::int64_t key : keys)
    past_barrier |= barred[key] > 0;
  gaia->stats().reads_past_barrier += past_barrier;
}

void DataCenter::on_message(std::size_t k, const Envelope& env) {
  if (env.kind == "mirror")
    apply(k, env.as<MirrorUpdate>());
  else if (env.kind == "barrier")
    announce(k, env.as<Barrier>());
  gaia->advance_replica(*this);
}

void DataCenter::apply(std::size_t k, const MirrorUpdate& u) {
  Eigen::VectorXd& values = job->model().parameters();
  for (std::size_t i = 0; i < u.keys.size(); ++i)
    values[u.keys[i]] += u.values[static_cast<Eigen::Index>(i)];
  charge_flops(static_cast<double>(u.keys.size()));
  MessageId id{u.from_dc, u.from_shard, u.clock};
  auto it = announced[k].find(id);
  if (it != announced[k].end()) {
    for (std::int64_t key : it->second)
      barred[key]--;
    announced[k].erase(it);
  } else if (!u.keys.empty()) {
    applied[k].insert(id); // in case its barrier is still on the way
  }
  mirrors[k][{u.from_dc, u.from_shard}].arrived(u.clock);
}

void DataCenter::announce(std::size_t k, const Barrier& b) {
  MessageId id{b.from_dc, b.from_shard, b.clock};
  if (applied[k].erase(id))
    return; // the values overtook their barrier
  for (std::int64_t key : b.keys)
    barred[key]++;
  announced[k][id] = b.keys;
}

const StrategyRegistration reg{
    {"gaia",
     "Gaia (ASP): a parameter server per DC; significance filter, selective barrier and mirror clock between DCs",
     [](Field& p, const Scenario& sc) { return std::make_shared<Gaia>(p, sc); }}};

} // namespace
} // namespace geosim
