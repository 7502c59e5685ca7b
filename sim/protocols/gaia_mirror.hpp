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
// Sparse messages carry a 4-byte index beside each value, dense ones values alone. Local updates apply
// to the data center's own replica at once (its parameter server). A data center knows of the others
// only their servers' addresses and key maps (fixed at deployment) and what their messages say.
#include "sim/context.hpp"
#include "sim/protocols/param_server.hpp"

#include <simgrid/s4u.hpp>

#include <functional>
#include <map>
#include <memory>
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
};

/// What the mirrors did, over every data center (the observer's tally; no data center reads it).
struct MirrorStats {
  double updates_considered = 0, updates_sent = 0, barriers = 0, dense_tables = 0;
  long long barrier_delayed_pulls = 0, reads_past_barrier = 0;
  long long max_mirror_lead = 0;
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

/// Another data center as a mirror sees it: where its servers are and which keys each holds.
struct MirrorPeer {
  int index;
  const PsJob* job;
};

/// One data center: its parameter-server job and the mirror state of its shards. Each shard's actor
/// touches only the state of its own shard (its keys, its rows of the per-shard tables).
class DataCenter : public ShardHooks {
public:
  DataCenter(RunContext& ctx, const MirrorConfig& config, MirrorStats& stats, int index, int site,
             std::unique_ptr<PsJob> job, std::size_t data_centers);
  /// The other data centers, once all are made; `on_mirror` runs (in a shard's actor) after each mirror
  /// or barrier message is taken in, for the observer.
  void connect(std::vector<MirrorPeer> peers, std::function<void(DataCenter&)> on_mirror);

  int index() const { return index_; }
  int site() const { return site_; }
  PsJob& job() { return *job_; }
  const PsJob& job() const { return *job_; }
  /// The clock up to which shard k has every other data center's mirror messages.
  long long mirror_clock(std::size_t k) const;

  void on_push(std::size_t k, const std::vector<std::int64_t>& keys, const Eigen::VectorXd& delta) override;
  void on_clock(std::size_t k, long long clock) override;
  bool may_serve(std::size_t k, std::size_t w, const std::vector<std::int64_t>& keys, long long min_clock) override;
  void on_reply(std::size_t k, std::size_t w, const std::vector<std::int64_t>& keys) override;
  void on_message(std::size_t k, const Envelope& env) override;

private:
  struct MirrorUpdate;
  struct Barrier;
  using MessageId = std::tuple<int, std::size_t, long long>; // sender data center, sender shard, clock
  /// The keys of a shard whose accumulated change passed the filter this clock, and those changes.
  struct Significant {
    std::vector<std::int64_t> keys;
    std::vector<double> changes;
    bool dense = false; ///< keys is the whole shard
  };
  Significant filter(std::size_t k, long long clock);
  void mirror(std::size_t k, long long clock, const Significant& sig, const MirrorPeer& other);
  bool backlog(std::size_t k, int dc);
  void apply(std::size_t k, const MirrorUpdate& u);
  void announce(std::size_t k, const Barrier& b);

  RunContext* ctx_;
  const MirrorConfig* config_;
  MirrorStats* stats_;
  int index_, site_;
  std::unique_ptr<PsJob> job_;
  std::vector<MirrorPeer> peers_;
  std::function<void(DataCenter&)> on_mirror_;
  Eigen::VectorXd accum;                        ///< local changes not yet sent, per key
  std::vector<char> is_dirty;                   ///< accum != 0
  std::vector<std::vector<std::int64_t>> dirty; ///< per shard: keys with a change to consider
  std::vector<int> barred;                      ///< per key: barriers announced, values not arrived
  std::vector<std::map<std::pair<int, std::size_t>, ClockSequence>> mirrors; ///< per shard, per sender
  std::vector<std::map<MessageId, std::vector<std::int64_t>>> announced;     ///< per shard: barriers waiting
  std::vector<std::set<MessageId>> applied;                                  ///< per shard
  std::vector<std::vector<std::vector<simgrid::s4u::CommPtr>>> sending;      ///< per shard, per data center
  std::set<std::pair<std::size_t, std::size_t>> held; ///< (shard, worker) pulls held by a barrier
};

} // namespace geosim
