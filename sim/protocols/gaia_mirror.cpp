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
constexpr double kClockBytes = 8;                 // a clock number

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
  long long holds = -1; ///< crashes: the sender holds the receiver's messages up to this clock
  double wire_bytes() const {
    return kHeaderBytes + (holds >= 0 ? kClockBytes : 0) +
           static_cast<double>(keys.size()) * ((dense ? 0 : kIndexBytes) + value_bytes);
  }
};

/// A shard that booted, to a shard of another data center, and that shard's answer: which of the other's
/// clocks it holds.
struct MirrorShard::Restarted {
  int dc;
  std::size_t shard;
  ClockSequence holds;
  bool answer = false;
  double wire_bytes() const { return kHeaderBytes + kClockBytes * static_cast<double>(holds.ahead.size()); }
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
      sending(data_centers) {
  st_.accum = Eigen::VectorXd::Zero(static_cast<Eigen::Index>(place.slots));
  st_.is_dirty.assign(place.slots, 0);
  st_.barred.assign(place.slots, 0);
  for (const auto& other : peers)
    for (std::size_t j = 0; j < other.map.shards; ++j)
      st_.mirrors[{other.index, j}] = {};
}

long long MirrorShard::mirror_clock() const {
  long long c = std::numeric_limits<long long>::max();
  for (const auto& [sender, seq] : st_.mirrors)
    if (!behind.count(sender))
      c = std::min(c, seq.done);
  return c;
}

void MirrorShard::on_push(const std::vector<std::int64_t>& keys, const Eigen::VectorXd& delta) {
  for (std::size_t i = 0; i < keys.size(); ++i) {
    std::size_t at = slot(keys[i]);
    st_.accum[static_cast<Eigen::Index>(at)] += delta[static_cast<Eigen::Index>(i)];
    if (!st_.is_dirty[at]) {
      st_.is_dirty[at] = 1;
      st_.dirty.push_back(keys[i]);
    }
  }
  charge_flops(static_cast<double>(keys.size()));
}

// The end of a local clock on the shard: filter its accumulated changes and mirror the significant ones
// to every other data center.
void MirrorShard::on_clock(long long clock, const ShardValues& values) {
  clock_ = clock;
  Significant sig = filter(clock, values);
  for (const auto& other : *peers_)
    mirror(clock, sig, other);
}

MirrorShard::Significant MirrorShard::filter(long long clock, const ShardValues& values) {
  const MirrorConfig& cfg = *config_;
  double threshold = cfg.decay ? cfg.threshold / std::sqrt(static_cast<double>(clock)) : cfg.threshold;
  Significant sig;
  std::vector<std::int64_t> keep;
  for (std::int64_t key : st_.dirty) {
    std::size_t at = slot(key);
    double a = st_.accum[static_cast<Eigen::Index>(at)];
    if (std::abs(a) > threshold * std::abs(values[key])) {
      sig.keys.push_back(key);
      sig.changes.push_back(a);
      st_.accum[static_cast<Eigen::Index>(at)] = 0;
      st_.is_dirty[at] = 0;
    } else {
      keep.push_back(key);
    }
  }
  charge_flops(2.0 * static_cast<double>(st_.dirty.size())); // a division and a comparison per key
  stats_->updates_considered += static_cast<double>(st_.dirty.size());
  stats_->updates_sent += static_cast<double>(sig.keys.size());
  st_.dirty = std::move(keep);
  // The list costs an index beside each value; once it is no smaller than the dense table, send the table
  // (every key's accumulated change, significant or not) and start every accumulator afresh.
  double vb = place_.value_bytes;
  const auto& all = *place_.keys;
  if (!sig.keys.empty() &&
      static_cast<double>(sig.keys.size()) * (kIndexBytes + vb) >= static_cast<double>(all.size()) * vb) {
    std::vector<double> changes(all.size());
    for (std::size_t i = 0; i < sig.keys.size(); ++i)
      st_.accum[static_cast<Eigen::Index>(slot(sig.keys[i]))] = sig.changes[i];
    for (std::size_t i = 0; i < all.size(); ++i) {
      std::size_t at = slot(all[i]);
      changes[i] = st_.accum[static_cast<Eigen::Index>(at)];
      st_.accum[static_cast<Eigen::Index>(at)] = 0;
      st_.is_dirty[at] = 0;
    }
    st_.dirty.clear();
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
    if (cfg.crashes) { // the receiver may lose it: keep it until the receiver says it holds it
      u.holds = st_.mirrors[{other.index, j}].done;
      st_.sent[{other.index, j}].push_back(std::make_shared<const MirrorUpdate>(u));
    }
    sending[static_cast<std::size_t>(other.index)].push_back(ctx_->transport.isend(to, "mirror", std::move(u)));
  }
}

bool MirrorShard::may_serve(std::size_t w, const std::vector<std::int64_t>& keys, long long min_clock) {
  if (config_->carry_on)
    leave_behind(w, min_clock, keys);
  if (mirror_clock() < min_clock - config_->mirror_bound)
    return false;
  MirrorStats& st = *stats_;
  for (std::int64_t key : keys)
    if (st_.barred[slot(key)] > 0) {
      if (held.insert(w).second)
        st.barrier_delayed_pulls++;
      return false;
    }
  held.erase(w);
  holding_since.erase(holding_since.lower_bound({w, {}}), holding_since.lower_bound({w + 1, {}}));
  // The pull goes out now: how far ahead of the other data centers (as far as their messages say)?
  st.max_mirror_lead = std::max(st.max_mirror_lead, min_clock - mirror_clock());
  return true;
}

// Checks, from the reply's side, what may_serve promised: no read of a key whose barrier has arrived
// before its values.
void MirrorShard::on_reply(std::size_t, const std::vector<std::int64_t>& keys) {
  bool past_barrier = false;
  for (std::int64_t key : keys)
    past_barrier |= st_.barred[slot(key)] > 0;
  stats_->reads_past_barrier += past_barrier;
}

void MirrorShard::on_message(const Envelope& env, ShardValues& values) {
  if (env.kind == "mirror")
    take(env.as<MirrorUpdate>(), values);
  else if (env.kind == "barrier")
    announce(env.as<Barrier>());
  else if (env.kind == "restarted")
    resend(env.as<Restarted>());
  if (on_mirror_)
    on_mirror_();
}

/// A mirror message: trims the log of what was sent to its sender, and applies it unless it came before
/// (sent again after a crash).
void MirrorShard::take(const MirrorUpdate& u, ShardValues& values) {
  if (u.holds >= 0) {
    auto& log = st_.sent[{u.from_dc, u.from_shard}];
    while (!log.empty() && log.front()->clock <= u.holds)
      log.pop_front();
  }
  if (st_.mirrors[{u.from_dc, u.from_shard}].has(u.clock))
    stats_->mirrors_duplicate++;
  else
    apply(u, values);
  heard_from(u.from_dc, u.from_shard);
}

void MirrorShard::apply(const MirrorUpdate& u, ShardValues& values) {
  for (std::size_t i = 0; i < u.keys.size(); ++i)
    values[u.keys[i]] += u.values[static_cast<Eigen::Index>(i)];
  charge_flops(static_cast<double>(u.keys.size()));
  MessageId id{u.from_dc, u.from_shard, u.clock};
  auto it = st_.announced.find(id);
  if (it != st_.announced.end()) {
    release(it);
  } else if (!u.keys.empty()) {
    st_.applied.insert(id); // in case its barrier is still on the way
  }
  st_.mirrors[{u.from_dc, u.from_shard}].arrived(u.clock);
}

void MirrorShard::announce(const Barrier& b) {
  heard_from(b.from_dc, b.from_shard);
  MessageId id{b.from_dc, b.from_shard, b.clock};
  if (st_.applied.erase(id) || st_.mirrors[{b.from_dc, b.from_shard}].has(b.clock))
    return; // the values overtook their barrier
  if (behind.count({b.from_dc, b.from_shard}))
    return; // carry_on: nobody waits for a sender left behind
  for (std::int64_t key : b.keys)
    st_.barred[slot(key)]++;
  st_.announced[id] = b.keys;
}

/// The shard's server booted at its checkpoint: what it sent since is lost (its log holds it), and so
/// is what it took in since; every other data center's shards learn which of their clocks it holds.
void MirrorShard::recover() {
  st_ = *disk_;
  for (auto& comms : sending)
    comms.clear();
  held.clear();
  holding_since.clear(); // the pulls that waited are lost
  for (const auto& other : *peers_)
    for (std::size_t j = 0; j < other.map.shards; ++j)
      ctx_->transport.post(other.shards[j], "restarted",
                           Restarted{place_.dc, place_.shard, st_.mirrors[{other.index, j}]}, "control");
}

/// Another data center's shard booted, or answers this one's notice: send it again what it does not hold
/// of what this shard sent it. A shard that booted lost what it was sending: it learns from the answer
/// what to send again.
void MirrorShard::resend(const Restarted& r) {
  heard_from(r.dc, r.shard);
  const Endpoint& to = peer(r.dc).shards[r.shard];
  if (stopped_) // the stop may have been lost in the crash (either side's): the other learns it now
    ctx_->transport.post(to, "stop", Opaque{kHeaderBytes}, "control");
  if (!r.answer)
    ctx_->transport.post(to, "restarted", Restarted{place_.dc, place_.shard, st_.mirrors[{r.dc, r.shard}], true},
                         "control");
  for (const auto& u : st_.sent[{r.dc, r.shard}])
    if (!r.holds.has(u->clock)) {
      sending[static_cast<std::size_t>(r.dc)].push_back(ctx_->transport.isend(to, "mirror", *u));
      stats_->mirrors_resent++;
      stats_->mirror_bytes_resent += u->wire_bytes();
    }
}

double MirrorShard::wake_at() const {
  double now = sg4::Engine::get_clock(), next = std::numeric_limits<double>::infinity();
  for (const auto& [pull, since] : holding_since)
    if (since + config_->timeout_s > now)
      next = std::min(next, since + config_->timeout_s);
  return next;
}

/// carry_on: a sender that has held worker w's pull back (at the mirror bound, or by a barrier on its
/// keys whose values have not come) for timeout_s is left out of the mirror clock, and its barriers
/// lifted: it is down, cut off, or too slow. The shard wakes when the next one would time out (wake_at).
void MirrorShard::leave_behind(std::size_t w, long long min_clock, const std::vector<std::int64_t>& keys) {
  std::set<ShardId> holding;
  for (const auto& [sender, seq] : st_.mirrors)
    if (seq.done < min_clock - config_->mirror_bound)
      holding.insert(sender);
  for (const auto& [id, barred_keys] : st_.announced)
    if (std::any_of(barred_keys.begin(), barred_keys.end(),
                    [&](std::int64_t k) { return std::binary_search(keys.begin(), keys.end(), k); }))
      holding.insert({std::get<0>(id), std::get<1>(id)});
  double now = sg4::Engine::get_clock();
  for (const ShardId& sender : holding) {
    if (behind.count(sender) ||
        holding_since.emplace(std::make_pair(w, sender), now).first->second + config_->timeout_s > now)
      continue;
    behind.insert(sender);
    for (auto it = holding_since.begin(); it != holding_since.end();)
      it = it->first.second == sender ? holding_since.erase(it) : std::next(it);
    stats_->left_behind++;
    lift_barriers(sender);
  }
}

/// The barriers a sender announced stop holding reads; its values apply when they come.
void MirrorShard::lift_barriers(const ShardId& sender) {
  for (auto it = st_.announced.begin(); it != st_.announced.end();)
    it =
        std::get<0>(it->first) == sender.first && std::get<1>(it->first) == sender.second ? release(it) : std::next(it);
}

/// A barrier stops holding reads of its keys; returns the next one.
MirrorShard::Announced::iterator MirrorShard::release(Announced::iterator barrier) {
  for (std::int64_t key : barrier->second)
    st_.barred[slot(key)]--;
  return st_.announced.erase(barrier);
}

/// A message from another data center's shard. One left behind counts again once it is back within the
/// bound of this shard's clock (until then its updates are applied when they come, and nobody waits).
void MirrorShard::heard_from(int dc, std::size_t shard) {
  ShardId sender{dc, shard};
  if (behind.count(sender) && st_.mirrors[sender].done >= clock_ - config_->mirror_bound) {
    behind.erase(sender);
    stats_->rejoined++;
  }
}

const MirrorPeer& MirrorShard::peer(int dc) const {
  for (const auto& p : *peers_)
    if (p.index == dc)
      return p;
  throw std::logic_error("gaia: no data center " + std::to_string(dc));
}

} // namespace geosim
