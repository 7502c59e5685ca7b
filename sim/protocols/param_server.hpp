#pragma once
// The parameter server (Li et al., OSDI'14) as reusable actors. The model's flat parameter vector is dealt
// to the server hosts in blocks of keys (ShardMap). Each clock, a worker trains on its data and pushes
// to the servers that hold them what it did to the keys it uses, and pulls fresh values when its
// consistency model says its cached copy is too old. What a clock is and what a push carries:
//   optimizer "add" (default): local_epochs passes over the data in minibatches of `batch` (0: one full
//         batch), or `batches_per_clock` minibatches with momentum (GeePS's clock: one minibatch); the
//         push is the change of the keys, which the servers add;
//   optimizer "adagrad" or "adarevision": one pass in which the worker steps its local parameters
//         (Model::local_size) and sums the gradient of the shared ones; the push is that gradient, and
//         the servers step with it as IterStore's do (sim/protocols/server_step.hpp; IterStore's MF runs
//         AdaRevision). Local parameters never cross the network.
// Consistency:
//   BSP   pull every clock, served once every worker's pushes of all earlier clocks are applied;
//   SSP   (bounded staleness s) a worker at clock c must see every update of clocks < c - s; it pulls only
//         when its cached copy is older than that, and the pull waits for the slowest worker;
//   async pull every clock, served at once.
// Key caching: a worker's first pull names its keys (4 bytes each); from then on pushes and replies carry
// values only, in that key order. A pull rides on the push that ends a clock, so a clock costs one
// round trip to each server.
// Stopping: the observer decides in the server actor whose clock completed (or in Gaia's), and the job
// learns it by messages only: every other shard gets "stop" on a control connection; a shard that
// knows answers each of its workers "stop" (the reply to a waiting pull, or a message of its own to a
// worker that is training), and a worker looks at its mailbox before each clock.
// Crashes (when some host of the job can crash): servers checkpoint at every complete clock and workers
// at the start of every clock, workers log the pushes no server checkpoint holds yet; a server that boots
// rolls back and says "restarted", and the workers send it those pushes again; a worker that boots goes
// back to its clock's start. The job waits for the crashed host, or (carry_on) a server goes on without
// a worker whose push is worker_timeout_s later than the clock's first, and takes it back when it is
// heard again (docs/faults.md).
// Used by the param_server and centralized strategies, and by Gaia inside each data center (through
// ShardHooks).
#include "sim/context.hpp"
#include "sim/protocols/server_step.hpp"
#include "sim/protocols/significance.hpp"
#include "sim/protocols/training.hpp"

#include <simgrid/s4u.hpp>

#include <functional>
#include <limits>
#include <optional>
#include <string>
#include <vector>

namespace geosim {

class Inbox;

enum class Consistency { bsp, ssp, async };

struct PsConfig {
  Consistency sync = Consistency::bsp;
  int staleness = 0;       ///< SSP's bound s
  TrainingParams training; ///< a clock is local_epochs passes over the worker's data
  ServerOptimizer optimizer = ServerOptimizer::add;
  int batches_per_clock = 0;      ///< > 0: a clock is this many minibatches of training.batch
  double momentum = 0;            ///< with batches_per_clock
  bool record_parameters = false; ///< put the final parameter vector in summary.json (for checks)
  double period_s = 0;            ///< a worker starts clock c no earlier than c x period_s (0: back to back)
  /// A worker a server has not heard from for worker_timeout_s while its clock waits on it is left
  /// behind: the clock completes without it, and it rejoins at the job's clock when it is heard again.
  /// Without, the job waits for every worker.
  bool carry_on = false;
  double worker_timeout_s = 0;
};
/// Reads `mode` ("wait" or "carry_on") and, with carry_on only, `timeout` (seconds): the timeout when the
/// job is to carry on without what fails, none when it waits (`waits_for` says for what, in the error).
std::optional<double> parse_carry_on(Field& p, const char* mode, const char* timeout, const char* waits_for);
/// Reads sync, staleness, lr, batch, local_epochs, optimizer, batches_per_clock, momentum, period_s,
/// on_worker_failure, worker_timeout_s and record_parameters.
PsConfig parse_ps_config(Field& p);
const char* consistency_name(Consistency c);

/// What a job's actors did to live with crashes and silent workers (the observer's count).
struct RecoveryTally {
  long long left_behind = 0, rejoined = 0; ///< carry_on: workers a shard went on without, and back
  double bytes_resent = 0;                 ///< pushes (and the pulls they carry) sent again to a restarted shard
  RecoveryTally& operator+=(const RecoveryTally& o);
  /// Writes details.workers_left_behind and workers_rejoined (when some were) and, when some host can
  /// crash, details.bytes_resent.
  void record(Recorder& r, bool can_crash) const;
};

/// Which server holds a key: blocks of kBlock consecutive keys dealt round-robin over the servers, so
/// that every server gets a share of every part of the model (an MF model's item rows, which every
/// worker updates, would otherwise all land on the last server of a contiguous split).
struct ShardMap {
  static constexpr std::int64_t kBlock = 64;
  std::size_t shards;
  std::size_t shard_of(std::int64_t key) const { return static_cast<std::size_t>(key / kBlock) % shards; }
  /// Where a key sits in its shard's own tables: its shard's blocks laid end to end.
  std::size_t slot(std::int64_t key) const {
    auto round = kBlock * static_cast<std::int64_t>(shards);
    return static_cast<std::size_t>(key / round * kBlock + key % kBlock);
  }
  /// How many slots shard k's tables need for a model of `parameters` keys.
  std::size_t slots(std::size_t k, std::size_t parameters) const;
  /// For each shard, the positions in `keys` of the keys it holds (in the order of `keys`).
  std::vector<std::vector<std::size_t>> slots(const std::vector<std::int64_t>& keys) const;
};

/// The values one shard holds, addressed by key (local parameters, which no shard holds, have slots that
/// are never read). A shard's server actor owns them; the observer reads them to judge the model.
class ShardValues {
public:
  ShardValues(const ShardMap& map, std::size_t shard, const Eigen::VectorXd& initial);
  double& operator[](std::int64_t key) { return values_[static_cast<Eigen::Index>(map_.slot(key))]; }
  double operator[](std::int64_t key) const { return values_[static_cast<Eigen::Index>(map_.slot(key))]; }
  std::size_t slots() const { return static_cast<std::size_t>(values_.size()); }
  std::size_t slot(std::int64_t key) const { return map_.slot(key); }

private:
  ShardMap map_;
  Eigen::VectorXd values_;
};

/// One training process: where it runs and the data it trains on.
struct PsWorker {
  simgrid::s4u::Host* host;
  int site;
  Dataset data;
  int id = -1; ///< which random stream it draws its minibatches from (default: its place in the job)
};

/// The data sites' training sets cut among their worker hosts (each site's data over its own workers);
/// a worker's id is its place in the list.
std::vector<PsWorker> workers_of_sites(const RunContext& ctx, const std::vector<int>& sites);
/// Splits a data set in `parts`: by sample for classification, by user for ratings (a user stays whole).
std::vector<Dataset> split_data(const Dataset& d, std::size_t parts);
/// A site's server hosts, or its workers when it has no dedicated servers (servers colocated).
std::vector<simgrid::s4u::Host*> server_hosts(const Platform& platform, int site);

/// What a system built on the parameter server adds to one of its shards (Gaia's mirrors). Each shard
/// has its own, owned by the shard's server actor, and every call runs in that actor.
class ShardHooks {
public:
  virtual ~ShardHooks() = default;
  /// A local worker's change of `keys` was just added to the shard's values.
  virtual void on_push(const std::vector<std::int64_t>& keys, const Eigen::VectorXd& delta) = 0;
  /// Every local worker has now pushed `clock` clocks to this shard.
  virtual void on_clock(long long clock, const ShardValues& values) = 0;
  /// Whether worker w's pull of `keys`, which the shard's own clock allows (min_clock reached), may be
  /// answered now.
  virtual bool may_serve(std::size_t w, const std::vector<std::int64_t>& keys, long long min_clock) = 0;
  /// Worker w's pull of `keys` is being answered.
  virtual void on_reply(std::size_t w, const std::vector<std::int64_t>& keys) = 0;
  /// A message of a kind the parameter server does not know arrived in the shard's mailbox.
  virtual void on_message(const Envelope& env, ShardValues& values) = 0;
  /// The shard writes its checkpoint (some host of the job can crash): the hooks write theirs with it.
  virtual void checkpoint() {}
  /// The shard's server booted and went back to its checkpoint: the hooks go back to theirs.
  virtual void recover() {}
  /// The shard learnt the job's stop.
  virtual void on_stop() {}
  /// When the hooks want the shard's waiting pulls looked at again even if no message comes (a
  /// timeout); infinity for never.
  virtual double wake_at() const { return std::numeric_limits<double>::infinity(); }
};
/// Makes shard k's hooks, when the job deploys its actors.
using ShardHooksFactory = std::function<std::unique_ptr<ShardHooks>(std::size_t k)>;

/// One parameter-server job: servers, workers, and the global evaluation after every complete clock.
/// Each server and worker actor owns its state (Shard, Worker below) and reaches the others only by
/// messages; the job keeps the configuration, which no actor writes, and the observer's part: the
/// evaluation copy of the model, Figure 5's tallies and the stop decision, which no protocol step reads.
class PsJob {
public:
  /// `before_training(w)` runs in worker w's actor before its first clock (e.g. to receive its data).
  PsJob(RunContext& ctx, PsConfig config, std::vector<simgrid::s4u::Host*> servers, std::vector<PsWorker> workers,
        std::function<void(std::size_t)> before_training = {});
  ~PsJob();
  /// Names the job's actors and mailboxes (several jobs run side by side in Gaia) and gives each shard
  /// hooks. Without `on_complete` the job evaluates its own model after every complete clock and stops
  /// at the scenario's target; with it, it reports the clock and leaves both to the caller.
  void extend(std::string name, ShardHooksFactory hooks, std::function<void(long long)> on_complete);
  void deploy();
  /// The observer's stop: sends "stop" to every shard but `except`, the shard whose actor calls it, if
  /// any (which stops at once). A shard tells its workers when the message reaches it.
  void stop(std::size_t except = static_cast<std::size_t>(-1));
  const ShardMap& shard_map() const { return map_; }
  Endpoint shard_endpoint(std::size_t k) const;
  /// The shared keys shard k holds, ascending (local parameters belong to no shard).
  const std::vector<std::int64_t>& shard_keys(std::size_t k) const { return shard_keys_.at(k); }
  /// The size of shard k's tables (ShardValues::slots).
  std::size_t shard_slots(std::size_t k) const;
  int value_bytes() const { return value_bytes_; }
  /// Whether some host of the job can crash (its actors then keep checkpoints and logs).
  bool can_crash() const { return crashes_; }
  /// For the observer: what the job's actors did to live with crashes and silent workers.
  const RecoveryTally& recovery() const { return recovery_; }
  /// For the observer, which reads what no protocol message carries:
  /// complete clocks of shard k (every local worker has pushed that many),
  long long shard_clock(std::size_t k) const;
  /// the servers' values gathered into one model (the evaluation copy, whose other entries keep what
  /// was last put there),
  Model& gather();
  /// the workers' local parameters (which never leave them) copied into `m`,
  void fill_local(Model& m) const;
  /// and Figure 5's count over this job's servers: how significant each data center's change of each key
  /// was, clock by clock.
  SignificanceCounter significance() const;

private:
  struct Shard;
  struct Worker;
  void serve(Shard& s);
  bool ready(Shard& s, std::size_t worker, long long min_clock);
  void stop_workers(Shard& s);
  bool stop_waiting(Worker& me, Inbox& inbox);
  void work(Worker& me);
  void clock_done(std::size_t shard);
  Metrics judge(long long clock);
  void request_keys(const Worker& me);
  bool receive_values(Worker& me, Inbox& inbox, long long min_clock, long long& fresh);
  void resend(Worker& me, std::size_t k, bool waiting);
  long long min_clock(long long next) const;
  void checkpoint(Shard& s);
  void recover(Shard& s);
  EnvelopePtr next_message(Shard& s);
  void heard_from(Shard& s, std::size_t w);
  void complete_clocks(Shard& s);
  Eigen::VectorXd train_clock(Worker& me, MinibatchSgd& sgd, Eigen::VectorXd& adagrad, Rng& rng);
  void push(Worker& me, const Eigen::VectorXd& by_key, long long clock, bool pull);
  Eigen::VectorXd apply_push(Shard& s, const std::vector<std::int64_t>& keys, const Eigen::VectorXd& pushed);
  void count_clock(Shard& s);
  std::string worker_mailbox(std::size_t w) const;

  // Configuration, fixed once the job deploys.
  RunContext& ctx_;
  PsConfig config_;
  int value_bytes_;      ///< bytes per parameter value on the wire
  bool crashes_ = false; ///< some host of the job can crash: actors keep checkpoints and logs
  std::string name_ = "ps";
  ShardHooksFactory hooks_;
  std::function<void(long long)> on_complete_;
  std::vector<simgrid::s4u::Host*> server_hosts_;
  std::vector<PsWorker> workers_;
  std::function<void(std::size_t)> before_training_;
  ShardMap map_;
  std::vector<std::vector<std::int64_t>> shard_keys_; ///< per shard: the shared keys it holds
  // The actors' own state: shard k's is used by its server actor only, worker w's by its actor only.
  std::vector<std::unique_ptr<Shard>> shards_;
  std::vector<std::unique_ptr<Worker>> worker_state_; ///< outlive the worker actors (fill_local)
  // The observer's.
  std::unique_ptr<Model> global_;    ///< the evaluation copy of the model (gather, fill_local)
  std::vector<std::size_t> origin_;  ///< per worker: its data center's tally
  std::vector<OriginTally> tallies_; ///< per data center of the workers
  long long evaluated_ = -1;
  bool stop_sent_ = false; ///< the stop is decided
  RecoveryTally recovery_;
};

} // namespace geosim
