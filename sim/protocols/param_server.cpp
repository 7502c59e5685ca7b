#include "sim/protocols/param_server.hpp"
#include "sim/actors.hpp"
#include "sim/inbox.hpp"
#include "sim/wire.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <deque>
#include <limits>
#include <numeric>
#include <tuple>

namespace sg4 = simgrid::s4u;

namespace geosim {
namespace {

using wire::kHeaderBytes;                       // worker id and clock in front of every PS message
constexpr double kKeyBytes = wire::kFieldBytes; // a key as a worker names it in its first pull

struct PullRequest {
  std::size_t worker;
  long long min_clock;
  std::vector<std::int64_t> keys; ///< only in a worker's first pull (key caching)
  double wire_bytes() const { return kHeaderBytes + kKeyBytes * static_cast<double>(keys.size()); }
};

/// A pull's reply: values in the order of the worker's cached key list, and the shard's clock.
struct KeyedValues {
  std::size_t from; ///< the shard
  long long clock;  ///< the shard's complete clock
  Eigen::VectorXd values;
  int value_bytes;
  double wire_bytes() const { return kHeaderBytes + static_cast<double>(values.size()) * value_bytes; }
};

/// A worker's change of the keys it caches at a shard, in their order, in its clock-th clock; the pull
/// its next clock needs may ride on it (the header holds the worker id, the clock and the pull flag).
struct Push {
  std::size_t from;
  long long clock; ///< how many clocks the worker has pushed with this one
  bool pull;
  Eigen::VectorXd values;
  int value_bytes;
  double wire_bytes() const { return kHeaderBytes + static_cast<double>(values.size()) * value_bytes; }
};

/// A shard's server is back from a crash, at its last checkpoint.
struct ShardRestarted {
  std::size_t shard;
  double wire_bytes() const { return kHeaderBytes; }
};

/// A worker's first pull names the keys it uses at a shard (`slots`: their positions in `keys`).
PullRequest naming_keys(std::size_t w, const std::vector<std::int64_t>& keys, const std::vector<std::size_t>& slots) {
  PullRequest req{w, 0, {}};
  for (std::size_t i : slots)
    req.keys.push_back(keys[i]);
  return req;
}

/// The keys a worker's data touch, split into shared ones (through the servers) and local ones.
std::pair<std::vector<std::int64_t>, std::vector<std::int64_t>> keys_used(const Model& model, const Dataset& data) {
  auto local = static_cast<std::int64_t>(model.local_size());
  std::vector<std::int64_t> all;
  if (model.gradient(data.subset({0})).dense) {
    all.resize(model.size());
    std::iota(all.begin(), all.end(), 0);
  } else {
    all = model.gradient(data).index;
  }
  auto split = std::lower_bound(all.begin(), all.end(), local);
  return {{split, all.end()}, {all.begin(), split}};
}

/// A pushed update's values in the order of `keys` (which holds every key the update touches).
Eigen::VectorXd by_keys(const Update& u, const std::vector<std::int64_t>& keys) {
  Eigen::VectorXd out(static_cast<Eigen::Index>(keys.size()));
  for (std::size_t j = 0; j < keys.size(); ++j)
    out[static_cast<Eigen::Index>(j)] = u.dense ? u.values[keys[j]] : 0.0;
  if (!u.dense)
    for (std::size_t i = 0, j = 0; i < u.index.size(); ++i) {
      while (keys[j] < u.index[i])
        ++j;
      out[static_cast<Eigen::Index>(j)] = u.values[static_cast<Eigen::Index>(i)];
    }
  return out;
}

} // namespace

PsConfig parse_ps_config(Field& p) {
  PsConfig c;
  std::string sync = p.choice_or("sync", "bsp", {"bsp", "ssp", "async"});
  c.sync = sync == "bsp" ? Consistency::bsp : sync == "ssp" ? Consistency::ssp : Consistency::async;
  if (c.sync == Consistency::ssp)
    c.staleness = static_cast<int>(p.integer_or("staleness", 2, 0, 1000));
  c.training = parse_training(p, {0.01, 0, 1});
  std::string optimizer = p.choice_or("optimizer", "add", {"add", "adagrad", "adarevision"});
  c.optimizer = optimizer == "adagrad"       ? ServerOptimizer::adagrad
                : optimizer == "adarevision" ? ServerOptimizer::adarevision
                                             : ServerOptimizer::add;
  bool gradient = c.optimizer != ServerOptimizer::add;
  for (const char* key : {"batches_per_clock", "batch", "local_epochs"})
    if (auto f = p.maybe(key); f && gradient)
      f->fail(fmt::format("no {} with optimizer \"{}\" (a clock is one pass over the data)", key, optimizer));
  c.batches_per_clock = gradient ? 0 : static_cast<int>(p.integer_or("batches_per_clock", 0, 0, 1000000));
  if (auto f = p.maybe("momentum"); f && c.batches_per_clock == 0)
    f->fail("no momentum unless batches_per_clock > 0 (momentum applies to a clock of minibatches)");
  c.momentum = p.number_or("momentum", 0, 0, 1);
  c.record_parameters = p.boolean_or("record_parameters", false);
  c.period_s = p.number_or("period_s", 0, 0);
  auto timeout = parse_carry_on(p, "on_worker_failure", "worker_timeout_s", "every worker");
  c.carry_on = timeout.has_value();
  c.worker_timeout_s = timeout.value_or(0);
  return c;
}

std::optional<double> parse_carry_on(Field& p, const char* mode, const char* timeout, const char* waits_for) {
  if (p.choice_or(mode, "wait", {"wait", "carry_on"}) == "carry_on")
    return p.at(timeout).number(0, std::numeric_limits<double>::infinity(), true);
  if (auto f = p.maybe(timeout))
    f->fail(fmt::format("no {} unless {} is \"carry_on\" (the job waits for {})", timeout, mode, waits_for));
  return std::nullopt;
}

const char* consistency_name(Consistency c) {
  return c == Consistency::bsp ? "bsp" : c == Consistency::ssp ? "ssp" : "async";
}

std::vector<std::vector<std::size_t>> ShardMap::slots(const std::vector<std::int64_t>& keys) const {
  std::vector<std::vector<std::size_t>> out(shards);
  for (std::size_t i = 0; i < keys.size(); ++i)
    out[shard_of(keys[i])].push_back(i);
  return out;
}

std::vector<Dataset> split_data(const Dataset& d, std::size_t parts) {
  std::vector<std::vector<int>> rows(parts);
  for (std::size_t i = 0; i < d.size(); ++i) {
    // Ratings go by a hash of the user, so a user's factors are trained by one worker.
    std::uint64_t key =
        d.is_ratings() ? static_cast<std::uint64_t>(d.ratings[i].user) * 0x9e3779b97f4a7c15ULL >> 32 : i;
    rows[key % parts].push_back(static_cast<int>(i));
  }
  std::vector<Dataset> out;
  for (const auto& r : rows)
    out.push_back(d.subset(r));
  return out;
}

std::vector<PsWorker> workers_of_sites(const RunContext& ctx, const std::vector<int>& sites) {
  std::vector<PsWorker> out;
  for (int s : sites) {
    const auto& hosts = ctx.platform.workers[s];
    auto parts = split_data(ctx.workload->site(s, 0).train, hosts.size());
    for (std::size_t j = 0; j < hosts.size(); ++j)
      out.push_back({hosts[j], s, std::move(parts[j]), static_cast<int>(out.size())});
  }
  return out;
}

std::vector<sg4::Host*> server_hosts(const Platform& platform, int site) {
  return platform.servers[site].empty() ? platform.workers[site] : platform.servers[site];
}

std::size_t ShardMap::slots(std::size_t k, std::size_t parameters) const {
  auto size = static_cast<std::int64_t>(parameters);
  std::size_t n = 0;
  for (auto first = static_cast<std::int64_t>(k) * kBlock; first < size;
       first += kBlock * static_cast<std::int64_t>(shards))
    n = slot(std::min(first + kBlock, size) - 1) + 1;
  return n;
}

ShardValues::ShardValues(const ShardMap& map, std::size_t shard, const Eigen::VectorXd& initial)
    : map_(map), values_(static_cast<Eigen::Index>(map.slots(shard, static_cast<std::size_t>(initial.size())))) {
  for (Eigen::Index key = 0; key < initial.size(); ++key)
    if (map_.shard_of(key) == shard)
      (*this)[key] = initial[key];
}

/// What a shard's server writes to its disk when its host can crash: its state at its last complete clock.
struct ShardCheckpoint {
  ShardValues values;
  ServerStep step;
  std::vector<long long> pushes;
  long long clock;
};

/// Shard k's server actor's state.
struct PsJob::Shard {
  Shard(std::size_t k, ShardValues v, ServerStep st) : index(k), values(std::move(v)), step(std::move(st)) {}
  std::size_t index;
  ShardValues values;                          ///< the keys it holds
  ServerStep step;                             ///< its optimizer's state, per slot
  std::vector<std::int64_t> key_slots;         ///< the slots of its shared keys
  std::vector<long long> pushes;               ///< clocks pushed, per worker
  std::vector<std::vector<std::int64_t>> keys; ///< cached keys per worker (global indexes)
  std::vector<PullRequest> pending;            ///< pulls waiting for the complete clock
  long long clock = 0;                         ///< complete clocks: every worker has pushed that many
  bool stopped = false;                        ///< this shard has learnt the stop
  std::unique_ptr<ShardHooks> hooks;
  bool started = false;                ///< its actor ran before (a restart is a recovery)
  std::optional<ShardCheckpoint> disk; ///< with keys and stopped, what survives a crash
  std::vector<char> behind;            ///< carry_on: the workers it goes on without
  double open_since = -1;              ///< carry_on: when a push of a later clock first came
};

/// Worker w's actor's state.
struct PsJob::Worker {
  explicit Worker(std::size_t w) : index(w) {}
  std::size_t index;
  std::unique_ptr<Model> model;                ///< its copy of the parameters
  std::vector<std::int64_t> keys;              ///< shared keys its data touch, ascending
  std::vector<std::vector<std::size_t>> slots; ///< per shard: positions in keys
  std::vector<std::int64_t> local_keys;        ///< local parameters it trains
  bool started = false;                        ///< its actor ran before (a restart is a recovery)
  /// What it writes to its disk when some host of the job can crash: its state at the start of its
  /// last clock, and per shard the pushes not yet in that shard's checkpoint (a reply's clock says which
  /// are).
  struct Checkpoint {
    long long clock, fresh;
    Eigen::VectorXd parameters;
    Rng rng;
    MinibatchSgd::Position sgd;
    Eigen::VectorXd adagrad;
  };
  struct Logged {
    long long clock;
    Eigen::VectorXd values;
  };
  std::optional<Checkpoint> disk;
  std::vector<std::deque<Logged>> unconfirmed;
};

PsJob::PsJob(RunContext& ctx, PsConfig config, std::vector<sg4::Host*> servers, std::vector<PsWorker> workers,
             std::function<void(std::size_t)> before_training)
    : ctx_(ctx), config_(config), server_hosts_(std::move(servers)), workers_(std::move(workers)),
      before_training_(std::move(before_training)), map_{server_hosts_.size()}, shard_keys_(server_hosts_.size()),
      global_(ctx.workload->make_model(static_cast<std::uint64_t>(ctx.scenario.seed))) {
  value_bytes_ = global_->value_bytes;
  auto size = static_cast<Eigen::Index>(global_->size());
  for (auto key = static_cast<std::int64_t>(global_->local_size()); key < size; ++key)
    shard_keys_[map_.shard_of(key)].push_back(key);
  for (std::size_t k = 0; k < server_hosts_.size(); ++k) {
    ShardValues values(map_, k, global_->parameters());
    ServerStep step(config_.optimizer, config_.training.lr, values.slots());
    shards_.push_back(std::make_unique<Shard>(k, std::move(values), std::move(step)));
    Shard& s = *shards_.back();
    for (auto key : shard_keys_[k])
      s.key_slots.push_back(static_cast<std::int64_t>(s.values.slot(key)));
    s.pushes.assign(workers_.size(), 0);
    s.keys.resize(workers_.size());
    s.behind.assign(workers_.size(), 0);
  }
  for (std::size_t w = 0; w < workers_.size(); ++w) {
    worker_state_.push_back(std::make_unique<Worker>(w));
    worker_state_.back()->unconfirmed.resize(shards_.size());
  }
  for (auto* h : server_hosts_)
    crashes_ = crashes_ || ctx.platform.can_fail(h);
  for (const auto& w : workers_)
    crashes_ = crashes_ || ctx.platform.can_fail(w.host);
  std::vector<int> sites;
  for (const auto& w : workers_) {
    auto at = std::find(sites.begin(), sites.end(), w.site);
    origin_.push_back(static_cast<std::size_t>(at - sites.begin()));
    if (at == sites.end()) {
      sites.push_back(w.site);
      tallies_.emplace_back(global_->size(), server_hosts_.size());
    }
  }
}

PsJob::~PsJob() = default;

void PsJob::extend(std::string name, ShardHooksFactory hooks, std::function<void(long long)> on_complete) {
  name_ = std::move(name);
  hooks_ = std::move(hooks);
  on_complete_ = std::move(on_complete);
}

Endpoint PsJob::shard_endpoint(std::size_t k) const {
  return {fmt::format("{}-shard-{}", name_, k), server_hosts_.at(k)};
}

std::string PsJob::worker_mailbox(std::size_t w) const { return fmt::format("{}-worker-{}", name_, w); }

void PsJob::deploy() {
  for (auto& s : shards_) {
    if (hooks_)
      s->hooks = hooks_(s->index);
    // Servers live as long as some worker does, and come back with their host.
    sg4::Host* host = server_hosts_[s->index];
    create_daemon(fmt::format("{}-server-{}", name_, s->index), host, ctx_.platform.can_fail(host),
                  [this, me = s.get()] { serve(*me); });
  }
  for (auto& w : worker_state_) {
    sg4::Host* host = workers_[w->index].host;
    create_actor(fmt::format("{}-worker-{}", name_, w->index), host, ctx_.platform.can_fail(host),
                 [this, me = w.get()] { work(*me); });
  }
}

long long PsJob::min_clock(long long next) const {
  return config_.sync == Consistency::bsp ? next : config_.sync == Consistency::ssp ? next - config_.staleness : 0;
}

void PsJob::work(Worker& me) {
  std::size_t w = me.index;
  bool recovering = me.started; // its host crashed: it boots with what its disk holds
  me.started = true;
  if (before_training_ && !recovering)
    before_training_(w);
  me.model = ctx_.workload->make_model(static_cast<std::uint64_t>(ctx_.scenario.seed));
  Model& model = *me.model;
  const Dataset& data = workers_[w].data;
  if (data.size() == 0)
    return;
  if (!recovering) {
    std::tie(me.keys, me.local_keys) = keys_used(model, data);
    me.slots = map_.slots(me.keys);
  }
  Rng rng = site_rng(ctx_.scenario.seed, workers_[w].id >= 0 ? workers_[w].id : static_cast<int>(w));
  const TrainingParams& t = config_.training;
  MinibatchSgd sgd(data, t.batch, t.lr, config_.momentum, rng);
  Eigen::VectorXd adagrad = Eigen::VectorXd::Zero(static_cast<Eigen::Index>(model.local_size()));
  Inbox inbox(ctx_.transport, worker_mailbox(w)); // replies to its pulls, "stop" and "restarted"
  long long first = 0;
  long long fresh = -1; // the complete clock the cached values are known to include
  if (me.disk) {
    // Back at the start of the clock it was in, with the values it had then; the pushes a shard may not
    // hold go again (a shard ignores those it has).
    const Worker::Checkpoint& d = *me.disk;
    first = d.clock;
    fresh = d.fresh;
    model.parameters() = d.parameters;
    rng = d.rng;
    adagrad = d.adagrad;
    sgd.restore(d.sgd);
    for (std::size_t k = 0; k < shards_.size(); ++k)
      resend(me, k, false);
  } else {
    request_keys(me);
    if (!receive_values(me, inbox, 0, fresh))
      return;
  }
  for (long long c = first; !stop_waiting(me, inbox); ++c) {
    if (crashes_)
      me.disk = Worker::Checkpoint{c, fresh, model.parameters(), rng, sgd.position(), adagrad};
    sg4::this_actor::sleep_until(static_cast<double>(c) * config_.period_s);
    // The pull of the next clock rides on this clock's push (as servers push fresh values in Bosen or
    // IterStore): one WAN round trip per clock, not two. SSP pulls only when the cache gets too old.
    long long next = c + 1;
    bool need = config_.sync != Consistency::ssp || fresh < min_clock(next);
    push(me, train_clock(me, sgd, adagrad, rng), next, need);
    if (need && !receive_values(me, inbox, min_clock(next), fresh))
      return;
    if (fresh > next) // the job went on without it (carry_on): it rejoins at the job's clock
      c = fresh - 1;
  }
}

/// One clock of a worker's training; returns what it pushes, in the order of its keys.
Eigen::VectorXd PsJob::train_clock(Worker& me, MinibatchSgd& sgd, Eigen::VectorXd& adagrad, Rng& rng) {
  const TrainingParams& t = config_.training;
  const Dataset& data = workers_[me.index].data;
  Model& model = *me.model;
  Eigen::VectorXd pushed;
  if (config_.optimizer != ServerOptimizer::add) {
    double flops = 0;
    Update g = model.local_pass(data, t.lr, adagrad, flops);
    charge_flops(flops);
    pushed = by_keys(g, me.keys);
  } else {
    Eigen::VectorXd before = model.parameters();
    if (config_.batches_per_clock > 0)
      sgd.take(model, config_.batches_per_clock);
    else
      train_epochs(model, data, t.local_epochs, t.batch, t.lr, rng);
    pushed.resize(static_cast<Eigen::Index>(me.keys.size()));
    for (std::size_t j = 0; j < me.keys.size(); ++j)
      pushed[static_cast<Eigen::Index>(j)] = model.parameters()[me.keys[j]] - before[me.keys[j]];
  }
  return pushed;
}

void PsJob::request_keys(const Worker& me) {
  for (std::size_t k = 0; k < shards_.size(); ++k)
    if (!me.slots[k].empty())
      ctx_.transport.post(shard_endpoint(k), "pull", naming_keys(me.index, me.keys, me.slots[k]));
}

/// Shard k may have lost what the worker sent it (a crash at either end): the pushes it may not hold go
/// again, the last carrying the pull the worker waits on, if it waits on k (its first pull, if nothing
/// was pushed since).
void PsJob::resend(Worker& me, std::size_t k, bool waiting) {
  const auto& log = me.unconfirmed[k];
  if (log.empty() && waiting) {
    PullRequest pull = naming_keys(me.index, me.keys, me.slots[k]);
    recovery_.bytes_resent += pull.wire_bytes();
    ctx_.transport.post(shard_endpoint(k), "pull", std::move(pull));
  }
  for (std::size_t i = 0; i < log.size(); ++i) {
    Push push{me.index, log[i].clock, waiting && i + 1 == log.size(), log[i].values, value_bytes_};
    recovery_.bytes_resent += push.wire_bytes();
    ctx_.transport.post(shard_endpoint(k), "push", std::move(push));
  }
}

/// Waits for a reply from every shard the worker pulled from, each at min_clock or later, and takes
/// their values; false when a shard answered "stop". A shard that restarted meanwhile is sent what it
/// may have lost; a reply that is not for this pull (one sent before a crash) is dropped.
bool PsJob::receive_values(Worker& me, Inbox& inbox, long long min_clock, long long& fresh) {
  std::size_t asked = 0;
  for (const auto& slots : me.slots)
    asked += !slots.empty();
  std::vector<char> replied(shards_.size(), 0);
  bool go = true;
  fresh = std::numeric_limits<long long>::max();
  for (std::size_t n = 0; n < asked;) {
    auto env = inbox.take_any({"values", "stop", "restarted"});
    if (env->kind == "restarted") {
      std::size_t k = env->as<ShardRestarted>().shard;
      resend(me, k, !replied[k] && !me.slots[k].empty());
      continue;
    }
    if (env->kind == "stop") {
      go = false;
      ++n;
      continue;
    }
    const auto& r = env->as<KeyedValues>();
    if (replied[r.from] || r.clock < min_clock)
      continue;
    replied[r.from] = 1;
    ++n;
    fresh = std::min(fresh, r.clock);
    auto& log = me.unconfirmed[r.from]; // pushes of clocks up to the reply's are in the shard's checkpoint
    while (!log.empty() && log.front().clock <= r.clock)
      log.pop_front();
    const auto& slots = me.slots[r.from];
    for (std::size_t j = 0; j < slots.size(); ++j)
      me.model->parameters()[me.keys[slots[j]]] = r.values[static_cast<Eigen::Index>(j)];
  }
  return go;
}

void PsJob::push(Worker& me, const Eigen::VectorXd& by_key, long long clock, bool pull) {
  for (std::size_t k = 0; k < shards_.size(); ++k) {
    const auto& slots = me.slots[k];
    Eigen::VectorXd delta(static_cast<Eigen::Index>(slots.size()));
    for (std::size_t j = 0; j < slots.size(); ++j)
      delta[static_cast<Eigen::Index>(j)] = by_key[static_cast<Eigen::Index>(slots[j])];
    // Writes never block the worker (SSPtable): under BSP it waits for the reply to the pull that rides
    // on this push instead, and under SSP it computes on while its updates cross the network. Every shard
    // hears every clock, even with no keys to change: it is how a shard knows a clock is complete.
    if (crashes_)
      me.unconfirmed[k].push_back({clock, delta});
    ctx_.transport.post(shard_endpoint(k), "push", Push{me.index, clock, pull, std::move(delta), value_bytes_});
  }
}

void PsJob::serve(Shard& s) {
  std::size_t k = s.index;
  auto reply = [&](const PullRequest& req) {
    Endpoint to{worker_mailbox(req.worker), workers_[req.worker].host};
    if (s.stopped) {
      ctx_.transport.post(to, "stop", Opaque{kHeaderBytes});
      return;
    }
    const auto& keys = s.keys[req.worker];
    if (s.hooks)
      s.hooks->on_reply(req.worker, keys);
    Eigen::VectorXd v(static_cast<Eigen::Index>(keys.size()));
    for (std::size_t i = 0; i < keys.size(); ++i)
      v[static_cast<Eigen::Index>(i)] = s.values[keys[i]];
    ctx_.transport.post(to, "values", KeyedValues{k, s.clock, std::move(v), value_bytes_});
  };
  auto flush = [&] {
    std::vector<PullRequest> waiting;
    for (auto& req : s.pending)
      if (s.stopped || ready(s, req.worker, req.min_clock))
        reply(req);
      else
        waiting.push_back(std::move(req));
    s.pending = std::move(waiting);
  };
  bool recovering = s.started; // its host crashed: back at its last checkpoint
  s.started = true;
  if (recovering)
    recover(s);
  else if (crashes_)
    checkpoint(s);
  if (k == 0 && !recovering)
    clock_done(0); // the initial model
  while (true) {
    auto env = next_message(s);
    if (!env) { // a timeout: a worker it waited on was silent too long (carry_on), or its hooks' own
      flush();
      continue;
    }
    if (env->kind == "push") {
      const auto& p = env->as<Push>();
      const auto& keys = s.keys[p.from];
      heard_from(s, p.from);
      if (p.clock > s.pushes[p.from]) { // not one it holds already (sent again after a crash)
        Eigen::VectorXd change = apply_push(s, keys, p.values);
        for (std::size_t i = 0; i < keys.size(); ++i)
          tallies_[origin_[p.from]].add(k, keys[i], change[static_cast<Eigen::Index>(i)]);
        if (s.hooks)
          s.hooks->on_push(keys, change);
        s.pushes[p.from] = p.clock;
      }
      if (p.pull && !keys.empty())
        s.pending.push_back({p.from, min_clock(p.clock), {}});
      if (p.clock > s.clock && s.open_since < 0)
        s.open_since = sg4::Engine::get_clock();
      complete_clocks(s);
    } else if (env->kind == "pull") {
      PullRequest req = env->as<PullRequest>();
      heard_from(s, req.worker);
      if (!req.keys.empty())
        s.keys[req.worker] = std::move(req.keys);
      s.pending.push_back(std::move(req));
    } else if (env->kind == "stop") {
      stop_workers(s);
    } else if (s.hooks) {
      s.hooks->on_message(*env, s.values);
    }
    flush();
  }
}

void PsJob::checkpoint(Shard& s) {
  s.disk = ShardCheckpoint{s.values, s.step, s.pushes, s.clock};
  if (s.hooks)
    s.hooks->checkpoint();
}

/// A shard's server boots: it goes back to its last checkpoint (the pushes it took since are lost, and
/// so are the pulls that waited) and tells every worker, which sends again what the shard may miss.
void PsJob::recover(Shard& s) {
  const ShardCheckpoint& d = *s.disk;
  s.values = d.values;
  s.step = d.step;
  s.pushes = d.pushes;
  s.clock = d.clock;
  s.pending.clear();
  s.open_since = -1; // the clock it had open is lost with the pushes
  if (s.hooks)
    s.hooks->recover();
  for (std::size_t w = 0; w < workers_.size(); ++w)
    ctx_.transport.post({worker_mailbox(w), workers_[w].host}, "restarted", ShardRestarted{s.index}, "control");
}

/// The shard's clock moves to the clock every worker it waits for has pushed (carry_on: those it left
/// behind aside): the clock's significance is counted, its hooks told, its checkpoint written, the
/// observer told.
void PsJob::complete_clocks(Shard& s) {
  long long complete = std::numeric_limits<long long>::max();
  for (std::size_t w = 0; w < s.pushes.size(); ++w)
    if (!s.behind[w])
      complete = std::min(complete, s.pushes[w]);
  if (complete == std::numeric_limits<long long>::max() || complete <= s.clock)
    return;
  s.clock = complete;
  if (config_.carry_on) // the next clock is open if some push of it is in already
    s.open_since = *std::max_element(s.pushes.begin(), s.pushes.end()) > s.clock ? sg4::Engine::get_clock() : -1;
  count_clock(s);
  if (s.hooks)
    s.hooks->on_clock(complete, s.values);
  if (crashes_)
    checkpoint(s);
  clock_done(s.index);
}

/// The shard's next message. With carry_on, once a push of its next clock is in, it waits
/// worker_timeout_s for the others; then it leaves behind the workers whose push has not come, completes
/// the clock without them and returns null. It also returns null when its hooks' timeout comes first.
EnvelopePtr PsJob::next_message(Shard& s) {
  const std::string& mailbox = shard_endpoint(s.index).mailbox;
  bool open = config_.carry_on && s.open_since >= 0;
  double due = open ? s.open_since + config_.worker_timeout_s : std::numeric_limits<double>::infinity();
  double hooks_due = s.hooks ? s.hooks->wake_at() : std::numeric_limits<double>::infinity();
  if (std::isinf(due) && std::isinf(hooks_due))
    return ctx_.transport.recv(mailbox);
  if (auto env = ctx_.transport.recv_until(mailbox, std::min(due, hooks_due)))
    return env;
  if (!open || sg4::Engine::get_clock() < due)
    return nullptr;
  for (std::size_t w = 0; w < s.pushes.size(); ++w)
    if (!s.behind[w] && s.pushes[w] == s.clock) {
      s.behind[w] = 1;
      recovery_.left_behind++;
    }
  complete_clocks(s);
  return nullptr;
}

/// A message from worker w: a worker left behind rejoins at the shard's clock (what it pushes for
/// clocks the job went past is dropped; the reply to its pull tells it where the job is).
void PsJob::heard_from(Shard& s, std::size_t w) {
  if (!config_.carry_on || !s.behind[w])
    return;
  s.behind[w] = 0;
  s.pushes[w] = std::max(s.pushes[w], s.clock);
  recovery_.rejoined++;
}

/// Applies a push to the shard's values; returns the change each key took.
Eigen::VectorXd PsJob::apply_push(Shard& s, const std::vector<std::int64_t>& keys, const Eigen::VectorXd& pushed) {
  Eigen::VectorXd change(pushed.size());
  for (std::size_t i = 0; i < keys.size(); ++i) {
    auto at = static_cast<Eigen::Index>(i);
    change[at] = s.step.change(static_cast<std::int64_t>(s.values.slot(keys[i])), pushed[at]);
    s.values[keys[i]] += change[at];
  }
  charge_flops(s.step.flops_per_value() * static_cast<double>(keys.size()));
  return change;
}

/// A shard's clock is complete: count how significant each data center's change of each key was.
void PsJob::count_clock(Shard& s) {
  s.step.clock_complete(s.key_slots);
  for (auto& t : tallies_) {
    std::vector<double> now;
    for (auto key : t.changed(s.index))
      now.push_back(s.values[key]);
    t.close(s.index, now, static_cast<double>(shard_keys_[s.index].size()));
  }
}

RecoveryTally& RecoveryTally::operator+=(const RecoveryTally& o) {
  left_behind += o.left_behind;
  rejoined += o.rejoined;
  bytes_resent += o.bytes_resent;
  return *this;
}

void RecoveryTally::record(Recorder& r, bool can_crash) const {
  if (left_behind > 0)
    r.detail("workers_left_behind", left_behind);
  if (rejoined > 0)
    r.detail("workers_rejoined", rejoined);
  if (can_crash)
    r.detail("bytes_resent", bytes_resent);
}

SignificanceCounter PsJob::significance() const {
  SignificanceCounter all;
  for (const auto& t : tallies_)
    all.merge(t.counter());
  return all;
}

long long PsJob::shard_clock(std::size_t k) const { return shards_.at(k)->clock; }

std::size_t PsJob::shard_slots(std::size_t k) const { return shards_.at(k)->values.slots(); }

Model& PsJob::gather() {
  for (const auto& s : shards_)
    for (auto key : shard_keys_[s->index])
      global_->parameters()[key] = s->values[key];
  return *global_;
}

void PsJob::fill_local(Model& m) const {
  for (const auto& w : worker_state_)
    for (auto key : w->local_keys)
      m.parameters()[key] = w->model->parameters()[key];
}

bool PsJob::ready(Shard& s, std::size_t worker, long long min_clock) {
  return min_clock <= s.clock && (!s.hooks || s.hooks->may_serve(worker, s.keys[worker], min_clock));
}

void PsJob::clock_done(std::size_t shard) {
  long long complete = std::numeric_limits<long long>::max();
  for (const auto& s : shards_)
    complete = std::min(complete, s->clock);
  if (complete <= evaluated_ || stop_sent_)
    return;
  evaluated_ = complete;
  if (on_complete_) {
    on_complete_(complete);
    return;
  }
  recovery_.record(ctx_.recorder, crashes_);
  ctx_.recorder.set_iterations(complete);
  ctx_.recorder.detail("significance", significance().to_json());
  if (ctx_.evaluation.due(complete)) {
    Metrics m = judge(complete);
    ctx_.recorder.sample("global", complete, m.loss, m.accuracy);
  }
  if (!ctx_.recorder.should_stop(complete))
    return;
  if (config_.record_parameters) {
    Model& all = gather(); // the last clock may not have been judged
    fill_local(all);
    ctx_.recorder.detail("final_parameters", std::vector<double>(all.parameters().begin(), all.parameters().end()));
  }
  stop(shard);
}

Metrics PsJob::judge(long long clock) {
  Model& all = gather();
  fill_local(all);
  return judge_shared(ctx_, all, clock);
}

void PsJob::stop(std::size_t except) {
  if (stop_sent_)
    return;
  stop_sent_ = true;
  std::vector<Endpoint> others;
  for (std::size_t k = 0; k < shards_.size(); ++k)
    if (k != except)
      others.push_back(shard_endpoint(k));
  post_all(ctx_.transport, others, "stop", Opaque{kHeaderBytes}, "control");
  if (except < shards_.size())
    stop_workers(*shards_[except]);
}

/// A shard learns the stop (in its own actor): its waiting pulls get "stop" in the flush that follows,
/// and every other worker it serves gets one now, so that a worker that does not pull every clock (SSP)
/// stops too. A worker that pulls later is answered "stop" as well.
void PsJob::stop_workers(Shard& s) {
  if (s.stopped)
    return;
  s.stopped = true;
  if (s.hooks)
    s.hooks->on_stop();
  std::vector<char> waiting(workers_.size(), 0);
  for (const auto& req : s.pending)
    waiting[req.worker] = 1;
  for (std::size_t w = 0; w < workers_.size(); ++w)
    if (!waiting[w] && !s.keys[w].empty())
      ctx_.transport.post({worker_mailbox(w), workers_[w].host}, "stop", Opaque{kHeaderBytes}, "control");
}

/// Before each clock: whether a shard's "stop" has reached the worker. Between clocks no reply is due:
/// what waits in its mailbox is a stop, a shard's restart (it is sent what it may have lost), or, after
/// a crash, a reply to a pull made before it.
bool PsJob::stop_waiting(Worker& me, Inbox& inbox) {
  while (inbox.has_mail()) {
    auto env = inbox.take_any({"values", "stop", "restarted"});
    if (env->kind == "stop")
      return true;
    if (env->kind == "restarted")
      resend(me, env->as<ShardRestarted>().shard, false);
    else if (!crashes_)
      throw std::logic_error(fmt::format("{}: a reply between clocks", worker_mailbox(me.index)));
  }
  return false;
}

} // namespace geosim
