#pragma once
// Gaia's mirrors between data centers (Approximate Synchronous Parallel, Hsieh et al., NSDI'17), as
// hooks on each data center's parameter server (sim/protocols/param_server.hpp). Each data center runs a
// parameter server of its own over a full replica of the model; its servers act as mirrors of the
// other data centers' servers:
//  - significance filter: a server adds its local workers' change of each key to an accumulator and, at
//    the end of each local clock t, sends a key's accumulated change to the other data centers only when
//    |accumulated / current value| exceeds the threshold (v / sqrt(t) when it decays, as the paper's
//    does); when the (index, value) list would be at least as large as the shard's dense table, the dense
//    table of every accumulated change goes instead;
//  - selective barrier: when a server has significant updates to send while its earlier ones to that
//    data center are still being sent (it sees its own unfinished sends), it first sends their keys
//    alone (a key list or a bitmap, whichever is smaller); receivers hold reads of those keys until the
//    values arrive;
//  - mirror clock: every mirror message carries its clock; a data center more than `mirror_bound`
//    clocks ahead of the slowest one holds its workers' pulls.
// Crashes (when some host of some data center can crash): a shard keeps, with its parameter server's
// checkpoint, its mirror state (accumulators, barriers, which clocks it has from each sender) and a log
// of the mirror messages it sent that their receiver may not hold yet; each mirror message then also
// says up to which clock its sender holds the receiver's messages (8 bytes), which lets the receiver
// trim its log. A shard that boots goes back to its checkpoint and tells every other data center's
// shards which of their clocks it holds ("restarted"); they send it the rest again. A message that
// arrives twice is applied once.
// carry_on: a data center that a pull of a shard has waited on (at the bound or by a barrier) for
// timeout_s is left out of that shard's mirror clock, its barriers lifted, until its messages are
// back within the bound; its updates apply when they come.
// Sparse messages carry a 4-byte index beside each value, dense ones values alone. Local updates apply
// to the data center's own replica at once (its parameter server). A data center knows of the others
// only their servers' addresses and key maps (fixed at deployment) and what their messages say.
#include "sim/context.hpp"
#include "sim/protocols/param_server.hpp"

#include <simgrid/s4u.hpp>

#include <deque>
#include <functional>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <tuple>
#include <vector>

namespace geosim {

enum class BarrierMode { automatic, always, never };

struct MirrorConfig {
  double threshold = 0.01;
  bool decay = true; ///< threshold / sqrt(clock), as the paper decays it (v / sqrt(t)); false: constant
  int mirror_bound = 2;
  BarrierMode barrier = BarrierMode::automatic;
  bool crashes = false; ///< some host of some data center can crash (set at deployment): mirrors keep logs
  /// A data center that a pull has waited on for timeout_s (it is down, cut off or too slow) is left out
  /// of the pulled shard's mirror clock until it is back within the bound. Without, the others wait for
  /// it.
  bool carry_on = false;
  double timeout_s = 0;
};

/// What the mirrors did, over every data center (the observer's tally; no data center reads it).
struct MirrorStats {
  double updates_considered = 0, updates_sent = 0, barriers = 0, dense_tables = 0;
  long long barrier_delayed_pulls = 0, reads_past_barrier = 0;
  long long max_mirror_lead = 0;
  long long mirrors_resent = 0, mirrors_duplicate = 0; ///< crashes: sent again after a restart; dropped
  double mirror_bytes_resent = 0;
  long long left_behind = 0, rejoined = 0; ///< carry_on: other data centers' shards left out, and back
};

/// Which messages of one sender shard have arrived: clocks complete in order, whatever order they came.
struct ClockSequence {
  long long done = 0;
  std::set<long long> ahead;
  bool has(long long clock) const { return clock <= done || ahead.count(clock) > 0; }
  void arrived(long long clock) {
    ahead.insert(clock);
    while (!ahead.empty() && *ahead.begin() == done + 1) {
      ahead.erase(ahead.begin());
      ++done;
    }
  }
};

using MessageId = std::tuple<int, std::size_t, long long>; // sender data center, sender shard, clock

/// Another data center as a mirror sees it: where its servers are and which keys each holds, fixed at
/// deployment.
struct MirrorPeer {
  int index;
  ShardMap map;
  std::vector<Endpoint> shards;
};

/// Gaia's hooks on one shard of one data center's parameter server: the shard's mirror state, owned by
/// the shard's server actor (it learns of other shards, at home or abroad, from messages only).
class MirrorShard : public ShardHooks {
public:
  struct Place {
    int dc;                                ///< the data center's index
    std::size_t shard;                     ///< the shard's index in it
    const ShardMap* map;                   ///< its job's key map
    const std::vector<std::int64_t>* keys; ///< the shared keys this shard holds
    std::size_t slots;                     ///< the size of the shard's tables (ShardValues::slots)
    int value_bytes;
  };
  MirrorShard(RunContext& ctx, const MirrorConfig& config, MirrorStats& stats, Place place,
              const std::vector<MirrorPeer>& peers, std::size_t data_centers, std::function<void()> on_mirror);
  /// The clock up to which this shard has every other data center's mirror messages.
  long long mirror_clock() const;

  void on_push(const std::vector<std::int64_t>& keys, const Eigen::VectorXd& delta) override;
  void on_clock(long long clock, const ShardValues& values) override;
  bool may_serve(std::size_t w, const std::vector<std::int64_t>& keys, long long min_clock) override;
  void on_reply(std::size_t w, const std::vector<std::int64_t>& keys) override;
  void on_message(const Envelope& env, ShardValues& values) override;
  void checkpoint() override { disk_ = st_; }
  void recover() override;
  double wake_at() const override;
  void on_stop() override { stopped_ = true; }

private:
  struct MirrorUpdate;
  struct Barrier;
  struct Restarted;
  using ShardId = std::pair<int, std::size_t>; ///< a data center's index and one of its shards'
  using Announced = std::map<MessageId, std::vector<std::int64_t>>; ///< barriers by message: their keys
  /// What the shard's server holds in memory for the mirrors, and writes to its disk with its checkpoint.
  struct State {
    Eigen::VectorXd accum;                                    ///< local changes not yet sent, per slot
    std::vector<char> is_dirty;                               ///< accum != 0
    std::vector<std::int64_t> dirty;                          ///< keys with a change to consider
    std::vector<int> barred;                                  ///< per slot: barriers announced, values not arrived
    std::map<ShardId, ClockSequence> mirrors;                 ///< per sender data center and shard
    Announced announced;                                      ///< barriers waiting for their values
    std::set<MessageId> applied;                              ///< values waiting for their barrier
    /// crashes: per receiver shard, what was sent to it that it has not said it holds, in clock order
    std::map<ShardId, std::deque<std::shared_ptr<const MirrorUpdate>>> sent;
  };
  /// The keys of the shard whose accumulated change passed the filter this clock, and those changes.
  struct Significant {
    std::vector<std::int64_t> keys;
    std::vector<double> changes;
    bool dense = false; ///< keys is the whole shard
  };
  Significant filter(long long clock, const ShardValues& values);
  void mirror(long long clock, const Significant& sig, const MirrorPeer& other);
  bool backlog(int dc);
  void take(const MirrorUpdate& u, ShardValues& values);
  void apply(const MirrorUpdate& u, ShardValues& values);
  void announce(const Barrier& b);
  void resend(const Restarted& r);
  void leave_behind(std::size_t w, long long min_clock, const std::vector<std::int64_t>& keys);
  void lift_barriers(const ShardId& sender);
  Announced::iterator release(Announced::iterator barrier);
  void heard_from(int dc, std::size_t shard);
  const MirrorPeer& peer(int dc) const;
  std::size_t slot(std::int64_t key) const { return place_.map->slot(key); }

  RunContext* ctx_;
  const MirrorConfig* config_;
  MirrorStats* stats_; ///< the observer's
  Place place_;
  const std::vector<MirrorPeer>* peers_;
  std::function<void()> on_mirror_; ///< the observer's
  State st_;
  std::optional<State> disk_;                              ///< crashes: st_ at the last checkpoint
  std::vector<std::vector<simgrid::s4u::CommPtr>> sending; ///< per data center: mirror sends
  std::set<std::size_t> held;                              ///< workers whose pulls a barrier holds
  // carry_on
  /// per waiting pull (its worker) and sender that holds it back: since when
  std::map<std::pair<std::size_t, ShardId>, double> holding_since;
  std::set<ShardId> behind; ///< senders left out of the mirror clock
  long long clock_ = 0;     ///< the shard's own complete clock
  bool stopped_ = false; ///< the job has stopped (kept through a crash, as its server's stop is)
};

/// One data center: its parameter-server job and, once it deploys, the mirrors of its shards.
class DataCenter {
public:
  DataCenter(RunContext& ctx, const MirrorConfig& config, MirrorStats& stats, int index, int site,
             std::unique_ptr<PsJob> job, std::size_t data_centers);
  /// Names the job and gives it its mirrors: `on_complete` runs when the job completes a clock,
  /// `on_mirror` after each mirror or barrier message is taken in (both for the observer, in a shard's
  /// actor).
  void extend(const std::string& name, std::function<void()> on_complete, std::function<void()> on_mirror);
  /// How the other data centers see this one (after extend).
  MirrorPeer as_peer() const;
  /// The other data centers, before the job deploys.
  void connect(std::vector<MirrorPeer> peers) { peers_ = std::move(peers); }

  int index() const { return index_; }
  int site() const { return site_; }
  PsJob& job() { return *job_; }
  const PsJob& job() const { return *job_; }
  /// For the observer: the clock up to which shard k has every other data center's mirror messages.
  long long mirror_clock(std::size_t k) const { return mirrors_.at(k)->mirror_clock(); }

private:
  RunContext* ctx_;
  const MirrorConfig* config_;
  MirrorStats* stats_;
  int index_, site_;
  std::size_t data_centers_;
  std::unique_ptr<PsJob> job_;
  std::vector<MirrorPeer> peers_;
  std::vector<const MirrorShard*> mirrors_; ///< per shard (owned by the shard's server actor's state)
};

} // namespace geosim
