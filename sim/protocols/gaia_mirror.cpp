#include "sim/protocols/gaia_mirror.hpp"
#include "sim/wire.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

namespace sg4 = simgrid::s4u;

namespace geosim {
namespace {

using wire::kHeaderBytes;                         // sender and clock
constexpr double kIndexBytes = wire::kFieldBytes; // beside each value of a sparse update

} // namespace

/// A mirror message: one clock's significant updates from one shard of one data center to one shard of
/// another (possibly none: it still tells the receiver that the clock is over).
struct DataCenter::MirrorUpdate {
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
struct DataCenter::Barrier {
  int from_dc;
  std::size_t from_shard;
  long long clock;
  std::vector<std::int64_t> keys;
  double shard_keys; ///< how many keys the sending shard owns (the bitmap's length in bits)
  double wire_bytes() const {
    return kHeaderBytes + std::min(kIndexBytes * static_cast<double>(keys.size()), std::ceil(shard_keys / 8));
  }
};

DataCenter::DataCenter(RunContext& ctx, const MirrorConfig& config, MirrorStats& stats, int index, int site,
                       std::unique_ptr<PsJob> job, std::size_t data_centers)
    : ctx_(&ctx), config_(&config), stats_(&stats), index_(index), site_(site), job_(std::move(job)) {
  std::size_t n = job_->shard_map().shards;
  auto size = static_cast<Eigen::Index>(job_->model().size());
  accum = Eigen::VectorXd::Zero(size);
  is_dirty.assign(static_cast<std::size_t>(size), 0);
  barred.assign(static_cast<std::size_t>(size), 0);
  dirty.resize(n);
  mirrors.resize(n);
  announced.resize(n);
  applied.resize(n);
  sending.assign(n, std::vector<std::vector<sg4::CommPtr>>(data_centers));
}

void DataCenter::connect(std::vector<MirrorPeer> peers, std::function<void(DataCenter&)> on_mirror) {
  peers_ = std::move(peers);
  on_mirror_ = std::move(on_mirror);
  for (std::size_t k = 0; k < mirrors.size(); ++k)
    for (const auto& other : peers_)
      for (std::size_t j = 0; j < other.job->shard_map().shards; ++j)
        mirrors[k][{other.index, j}] = {};
}

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
  for (const auto& other : peers_)
    mirror(k, clock, sig, other);
}

DataCenter::Significant DataCenter::filter(std::size_t k, long long clock) {
  const MirrorConfig& cfg = *config_;
  double threshold = cfg.decay ? cfg.threshold / std::sqrt(static_cast<double>(clock)) : cfg.threshold;
  const Eigen::VectorXd& values = job_->model().parameters();
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
  stats_->updates_considered += static_cast<double>(dirty[k].size());
  stats_->updates_sent += static_cast<double>(sig.keys.size());
  dirty[k] = std::move(keep);
  // The list costs an index beside each value; once it is no smaller than the dense table, send the table
  // (every key's accumulated change, significant or not) and start every accumulator afresh.
  double vb = job_->model().value_bytes;
  const auto& all = job_->shard_keys(k);
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
    stats_->dense_tables++;
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

void DataCenter::mirror(std::size_t k, long long clock, const Significant& sig, const MirrorPeer& other) {
  const MirrorConfig& cfg = *config_;
  RunContext& ctx = *ctx_;
  const ShardMap& map = other.job->shard_map();
  std::vector<MirrorUpdate> out(map.shards);
  for (std::size_t j = 0; j < map.shards; ++j)
    out[j] = {index_, k, clock, {}, {}, job_->model().value_bytes, sig.dense};
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
      Barrier b{index_, k, clock, u.keys, static_cast<double>(job_->shard_keys(k).size())};
      ctx.transport.post(to, "barrier", std::move(b), "control"); // overtakes the bulk updates
      stats_->barriers++;
    }
    sending[k][static_cast<std::size_t>(other.index)].push_back(ctx.transport.isend(to, "mirror", std::move(u)));
  }
}

bool DataCenter::may_serve(std::size_t k, std::size_t w, const std::vector<std::int64_t>& keys, long long min_clock) {
  if (mirror_clock(k) < min_clock - config_->mirror_bound)
    return false;
  MirrorStats& st = *stats_;
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
  stats_->reads_past_barrier += past_barrier;
}

void DataCenter::on_message(std::size_t k, const Envelope& env) {
  if (env.kind == "mirror")
    apply(k, env.as<MirrorUpdate>());
  else if (env.kind == "barrier")
    announce(k, env.as<Barrier>());
  if (on_mirror_)
    on_mirror_(*this);
}

void DataCenter::apply(std::size_t k, const MirrorUpdate& u) {
  Eigen::VectorXd& values = job_->model().parameters();
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

} // namespace geosim
