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
struct MirrorShard::MirrorUpdate {
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
struct MirrorShard::Barrier {
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
    : ctx_(&ctx), config_(&config), stats_(&stats), index_(index), site_(site), data_centers_(data_centers),
      job_(std::move(job)), mirrors_(job_->shard_map().shards) {}

void DataCenter::extend(const std::string& name, std::function<void()> on_complete, std::function<void()> on_mirror) {
  auto make = [this, on_mirror](std::size_t k) {
    const PsJob& job = *job_;
    MirrorShard::Place place{index_, k, &job.shard_map(), &job.shard_keys(k), job.shard_slots(k), job.value_bytes()};
    auto shard = std::make_unique<MirrorShard>(*ctx_, *config_, *stats_, place, peers_, data_centers_, on_mirror);
    mirrors_[k] = shard.get();
    return std::unique_ptr<ShardHooks>(std::move(shard));
  };
  job_->extend(name, make, [on_complete](long long) { on_complete(); });
}

MirrorPeer DataCenter::as_peer() const {
  MirrorPeer p{index_, job_->shard_map(), {}};
  for (std::size_t j = 0; j < p.map.shards; ++j)
    p.shards.push_back(job_->shard_endpoint(j));
  return p;
}

MirrorShard::MirrorShard(RunContext& ctx, const MirrorConfig& config, MirrorStats& stats, Place place,
                         const std::vector<MirrorPeer>& peers, std::size_t data_centers,
                         std::function<void()> on_mirror)
    : ctx_(&ctx), config_(&config), stats_(&stats), place_(place), peers_(&peers), on_mirror_(std::move(on_mirror)),
      accum(Eigen::VectorXd::Zero(static_cast<Eigen::Index>(place.slots))), is_dirty(place.slots, 0),
      barred(place.slots, 0), sending(data_centers) {
  for (const auto& other : peers)
    for (std::size_t j = 0; j < other.map.shards; ++j)
      mirrors[{other.index, j}] = {};
}

long long MirrorShard::mirror_clock() const {
  long long c = std::numeric_limits<long long>::max();
  for (const auto& [sender, seq] : mirrors)
    c = std::min(c, seq.done);
  return c;
}

void MirrorShard::on_push(const std::vector<std::int64_t>& keys, const Eigen::VectorXd& delta) {
  for (std::size_t i = 0; i < keys.size(); ++i) {
    std::size_t at = slot(keys[i]);
    accum[static_cast<Eigen::Index>(at)] += delta[static_cast<Eigen::Index>(i)];
    if (!is_dirty[at]) {
      is_dirty[at] = 1;
      dirty.push_back(keys[i]);
    }
  }
  charge_flops(static_cast<double>(keys.size()));
}

// The end of a local clock on the shard: filter its accumulated changes and mirror the significant ones
// to every other data center.
void MirrorShard::on_clock(long long clock, const ShardValues& values) {
  Significant sig = filter(clock, values);
  for (const auto& other : *peers_)
    mirror(clock, sig, other);
}

MirrorShard::Significant MirrorShard::filter(long long clock, const ShardValues& values) {
  const MirrorConfig& cfg = *config_;
  double threshold = cfg.decay ? cfg.threshold / std::sqrt(static_cast<double>(clock)) : cfg.threshold;
  Significant sig;
  std::vector<std::int64_t> keep;
  for (std::int64_t key : dirty) {
    std::size_t at = slot(key);
    double a = accum[static_cast<Eigen::Index>(at)];
    if (std::abs(a) > threshold * std::abs(values[key])) {
      sig.keys.push_back(key);
      sig.changes.push_back(a);
      accum[static_cast<Eigen::Index>(at)] = 0;
      is_dirty[at] = 0;
    } else {
      keep.push_back(key);
    }
  }
  charge_flops(2.0 * static_cast<double>(dirty.size())); // a division and a comparison per key
  stats_->updates_considered += static_cast<double>(dirty.size());
  stats_->updates_sent += static_cast<double>(sig.keys.size());
  dirty = std::move(keep);
  // The list costs an index beside each value; once it is no smaller than the dense table, send the table
  // (every key's accumulated change, significant or not) and start every accumulator afresh.
  double vb = place_.value_bytes;
  const auto& all = *place_.keys;
  if (!sig.keys.empty() &&
      static_cast<double>(sig.keys.size()) * (kIndexBytes + vb) >= static_cast<double>(all.size()) * vb) {
    std::vector<double> changes(all.size());
    for (std::size_t i = 0; i < sig.keys.size(); ++i)
      accum[static_cast<Eigen::Index>(slot(sig.keys[i]))] = sig.changes[i];
    for (std::size_t i = 0; i < all.size(); ++i) {
      std::size_t at = slot(all[i]);
      changes[i] = accum[static_cast<Eigen::Index>(at)];
      accum[static_cast<Eigen::Index>(at)] = 0;
      is_dirty[at] = 0;
    }
    dirty.clear();
    stats_->dense_tables++;
    return {all, std::move(changes), true};
  }
  return sig;
}

/// Whether this shard's earlier mirror messages to data center `dc` are still being sent.
bool MirrorShard::backlog(int dc) {
  auto& comms = sending[static_cast<std::size_t>(dc)];
  comms.erase(std::remove_if(comms.begin(), comms.end(), [](const sg4::CommPtr& c) { return c->test(); }), comms.end());
  return !comms.empty();
}

void MirrorShard::mirror(long long clock, const Significant& sig, const MirrorPeer& other) {
  const MirrorConfig& cfg = *config_;
  const ShardMap& map = other.map;
  std::vector<MirrorUpdate> out(map.shards);
  for (std::size_t j = 0; j < map.shards; ++j)
    out[j] = {place_.dc, place_.shard, clock, {}, {}, place_.value_bytes, sig.dense};
  std::vector<std::vector<double>> vals(map.shards);
  for (std::size_t i = 0; i < sig.keys.size(); ++i) {
    auto j = map.shard_of(sig.keys[i]);
    out[j].keys.push_back(sig.keys[i]);
    vals[j].push_back(sig.changes[i]);
  }
  // Updates arrive faster than the WAN carries them when the previous ones are still being sent.
  bool behind = backlog(other.index);
  for (std::size_t j = 0; j < map.shards; ++j) {
    MirrorUpdate& u = out[j];
    u.values = Eigen::Map<Eigen::VectorXd>(vals[j].data(), static_cast<Eigen::Index>(vals[j].size()));
    const Endpoint& to = other.shards[j];
    bool barrier =
        !u.keys.empty() && (cfg.barrier == BarrierMode::always || (cfg.barrier == BarrierMode::automatic && behind));
    if (barrier) {
      Barrier b{place_.dc, place_.shard, clock, u.keys, static_cast<double>(place_.keys->size())};
      ctx_->transport.post(to, "barrier", std::move(b), "control"); // overtakes the bulk updates
      stats_->barriers++;
    }
    sending[static_cast<std::size_t>(other.index)].push_back(ctx_->transport.isend(to, "mirror", std::move(u)));
  }
}

bool MirrorShard::may_serve(std::size_t w, const std::vector<std::int64_t>& keys, long long min_clock) {
  if (mirror_clock() < min_clock - config_->mirror_bound)
    return false;
  MirrorStats& st = *stats_;
  for (std::int64_t key : keys)
    if (barred[slot(key)] > 0) {
      if (held.insert(w).second)
        st.barrier_delayed_pulls++;
      return false;
    }
  held.erase(w);
  // The pull goes out now: how far ahead of the other data centers (as far as their messages say)?
  st.max_mirror_lead = std::max(st.max_mirror_lead, min_clock - mirror_clock());
  return true;
}

// Checks, from the reply's side, what may_serve promised: no read of a key whose barrier has arrived
// before its values.
void MirrorShard::on_reply(std::size_t, const std::vector<std::int64_t>& keys) {
  bool past_barrier = false;
  for (std::int64_t key : keys)
    past_barrier |= barred[slot(key)] > 0;
  stats_->reads_past_barrier += past_barrier;
}

void MirrorShard::on_message(const Envelope& env, ShardValues& values) {
  if (env.kind == "mirror")
    apply(env.as<MirrorUpdate>(), values);
  else if (env.kind == "barrier")
    announce(env.as<Barrier>());
  if (on_mirror_)
    on_mirror_();
}

void MirrorShard::apply(const MirrorUpdate& u, ShardValues& values) {
  for (std::size_t i = 0; i < u.keys.size(); ++i)
    values[u.keys[i]] += u.values[static_cast<Eigen::Index>(i)];
  charge_flops(static_cast<double>(u.keys.size()));
  MessageId id{u.from_dc, u.from_shard, u.clock};
  auto it = announced.find(id);
  if (it != announced.end()) {
    for (std::int64_t key : it->second)
      barred[slot(key)]--;
    announced.erase(it);
  } else if (!u.keys.empty()) {
    applied.insert(id); // in case its barrier is still on the way
  }
  mirrors[{u.from_dc, u.from_shard}].arrived(u.clock);
}

void MirrorShard::announce(const Barrier& b) {
  MessageId id{b.from_dc, b.from_shard, b.clock};
  if (applied.erase(id))
    return; // the values overtook their barrier
  for (std::int64_t key : b.keys)
    barred[slot(key)]++;
  announced[id] = b.keys;
}

} // namespace geosim
