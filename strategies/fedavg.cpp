// fedavg: federated averaging (McMahan et al., AISTATS 2017). Each round the server sends the global
// model to m = max(C * K, 1) clients picked at random; each trains E local epochs with batch B and
// sends its model back; the server averages them weighted by the clients' sample counts.
// Stragglers (optional): a share of the picked clients, drawn each round, either runs fewer epochs or
// drops out (trains, never reports; the server averages the others, as FedProx's FedAvg baseline does).
// Round deadline (optional, `deadline_s`): the server averages the replies that arrived within the
// deadline of the round's start and drops the clients that missed it (a client cut off from the WAN, or
// too slow); a reply that arrives in a later round is discarded. Rounds go on while the server itself is
// cut off, each with no reply: the model waits.
// Local parameters (Model::local_size: an MF job's user factors) stay on the client that trains them,
// across rounds, and never cross the network: the server sends and averages the shared ones only, and
// the observer reads the clients' local ones to judge the model.
#include "sim/actors.hpp"
#include "sim/context.hpp"
#include "sim/protocols/training.hpp"
#include "sim/strategy.hpp"
#include "sim/wire.hpp"

#include <fmt/format.h>

#include <functional>
#include <limits>
#include <optional>

namespace sg4 = simgrid::s4u;

namespace geosim {
namespace {

constexpr double kStopBytes = wire::kRoundBytes; // a round number meaning "no more rounds"

class FedAvg : public Strategy {
public:
  FedAvg(Field& p, const Scenario& sc) {
    require_learning_setup(p, sc, "fedavg");
    training_ = parse_training(p);
    fraction_ = p.number_or("fraction", 0.1, 0, 1, true);
    server_site_ = service_site(p, "server_site", sc.platform);
    clients_ = sc.workload->partition.sites;
    if (auto st = p.maybe("stragglers")) {
      straggler_share_ = st->number_or("share", 0, 0, 1);
      straggler_mode_ = st->choice_or("mode", "drop", {"drop", "fewer_epochs"});
      if (straggler_mode_ == "fewer_epochs")
        straggler_epochs_ = static_cast<int>(st->integer_or("epochs", 1, 1, training_.local_epochs));
      st->finish();
    }
    if (auto d = p.maybe("deadline_s"))
      deadline_s_ = d->number(0, std::numeric_limits<double>::infinity(), true);
    if (sc.platform.sites[server_site_].can_crash())
      input_error(p.file(), p.path() + ".server_site",
                  "a site that does not crash (the server holds the only copy of the global model, so FedAvg does "
                  "not survive its crash)",
                  sc.platform.sites[server_site_].name);
  }

  /// A crashed client misses its round (the deadline drops it) and serves again once it has booted: it
  /// keeps nothing between rounds. Without a deadline a round would wait for it forever.
  bool survives_site_failures() const override { return deadline_s_.has_value(); }

  void deploy(RunContext& ctx) override {
    sg4::Host* server_host = ctx.platform.servers[server_site_].empty() ? ctx.platform.workers[server_site_][0]
                                                                        : ctx.platform.servers[server_site_][0];
    Endpoint server{"fedavg-server", server_host};
    std::vector<Endpoint> clients;
    for (int s : clients_)
      clients.push_back({fmt::format("fedavg-client-{}", ctx.platform.site_name(s)), ctx.platform.workers[s][0]});
    disks_.clear();
    auto shape = ctx.workload->make_model(static_cast<std::uint64_t>(ctx.scenario.seed));
    for (std::size_t k = 0; k < clients.size(); ++k) {
      bool crashes = ctx.platform.can_fail(clients[k].host);
      ClientDisk& disk = disks_[clients_[k]];
      if (shape->local_size() > 0)
        disk.local_keys = local_keys_of(*shape, ctx.workload->site(clients_[k], 0).train);
      create_actor("client", clients[k].host, crashes,
                   [this, &ctx, server, me = clients[k], site = clients_[k], crashes, disk = &disk] {
                     // A client whose device crashes boots again with it, and does not hold the run open:
                     // the stop it would get while off is lost.
                     if (crashes)
                       sg4::Actor::self()->daemonize();
                     client(ctx, me, server, site, *disk);
                   });
    }
    sg4::Actor::create("server", server_host, [this, &ctx, server, clients] { this->server(ctx, server, clients); });
  }

private:
  /// What a client keeps between rounds: its local parameters, written after each round it trains.
  struct ClientDisk {
    std::vector<std::int64_t> local_keys; ///< the local parameters its data train, ascending
    Eigen::VectorXd local;                ///< their values (all local parameters), empty before its first round
  };

  /// The shared parameters, which cross the network (all of them for most models).
  static Eigen::Ref<Eigen::VectorXd> shared(Model& m) {
    auto local = static_cast<Eigen::Index>(m.local_size());
    return m.parameters().tail(m.parameters().size() - local);
  }

  void client(RunContext& ctx, const Endpoint& me, const Endpoint& server, int site, ClientDisk& disk) {
    auto model = ctx.workload->make_model(static_cast<std::uint64_t>(ctx.scenario.seed));
    auto local = static_cast<Eigen::Index>(model->local_size());
    if (disk.local.size() > 0) // booted after a crash
      model->parameters().head(local) = disk.local;
    Rng rng = site_rng(ctx.scenario.seed, site);
    while (true) {
      auto env = ctx.transport.recv(me.mailbox);
      if (env->kind == "stop")
        return;
      const auto& msg = env->as<ModelMessage>();
      shared(*model) = msg.params;
      const Dataset& data = ctx.workload->site(site, sg4::Engine::get_clock()).train;
      train_epochs(*model, data, std::max(msg.epochs, 1), training_.batch, training_.lr, rng);
      if (local > 0)
        disk.local = model->parameters().head(local);
      if (msg.epochs > 0) // a dropped straggler trains but never gets its model back to the server
        ctx.transport.send(
            server, "update",
            ModelMessage{shared(*model), static_cast<double>(data.size()), model->value_bytes, 0, msg.round});
    }
  }

  void server(RunContext& ctx, const Endpoint& me, const std::vector<Endpoint>& clients) {
    auto model = ctx.workload->make_model(static_cast<std::uint64_t>(ctx.scenario.seed));
    std::size_t m = std::max<std::size_t>(1, static_cast<std::size_t>(fraction_ * static_cast<double>(clients.size())));
    Rng rng(static_cast<std::uint64_t>(ctx.scenario.seed));
    std::vector<std::size_t> order(clients.size());
    std::iota(order.begin(), order.end(), 0);
    record(ctx, *model, 0);
    Eigen::Ref<Eigen::VectorXd> global = shared(*model);
    for (long long round = 1; !ctx.recorder.should_stop(round - 1); ++round) {
      std::shuffle(order.begin(), order.end(), rng);
      // The first `late` of the m picked clients straggle this round.
      std::size_t late = static_cast<std::size_t>(std::lround(straggler_share_ * static_cast<double>(m)));
      int late_epochs = straggler_mode_ == "drop" ? 0 : straggler_epochs_;
      std::vector<const Endpoint*> picked;
      for (std::size_t k = 0; k < m; ++k)
        picked.push_back(&clients[order[k]]);
      auto message = [&](std::size_t k) {
        return ModelMessage{global, 0, model->value_bytes, k < late ? late_epochs : training_.local_epochs, round};
      };
      std::size_t reporting = late_epochs == 0 ? m - late : m;
      // Averaged in client order below, so that rounding is identical run after run.
      std::map<std::string, ModelMessage> replies =
          deadline_s_ ? exchange_by_deadline(ctx, me, picked, message, m - reporting, round)
                      : exchange(ctx, me, picked, message, reporting);
      if (!replies.empty()) { // when every picked client dropped, the global model stays as it was
        Eigen::VectorXd sum = Eigen::VectorXd::Zero(global.size());
        double total = 0;
        for (const auto& [name, r] : replies) {
          sum += r.samples * r.params;
          total += r.samples;
        }
        global = sum / std::max(total, 1.0);
        auto n = static_cast<double>(global.size());
        charge_flops(static_cast<double>(replies.size()) * n * 2 + n);
      }
      ctx.recorder.set_iterations(round);
      record(ctx, *model, round);
    }
    if (deadline_s_)
      ctx.recorder.detail("dropped_by_round", dropped_);
    std::vector<sg4::CommPtr> stops;
    for (const auto& c : clients)
      if (deadline_s_) // a client cut off now gets its stop when it is back; the server need not wait
        ctx.transport.post(c, "stop", Opaque{kStopBytes});
      else
        stops.push_back(ctx.transport.isend(c, "stop", Opaque{kStopBytes}));
    sg4::Comm::wait_all(stops);
  }

  using MessageFor = std::function<ModelMessage(std::size_t)>;

  /// Sends the round's model to the picked clients and waits for `reporting` replies.
  static std::map<std::string, ModelMessage> exchange(RunContext& ctx, const Endpoint& me,
                                                      const std::vector<const Endpoint*>& picked,
                                                      const MessageFor& message, std::size_t reporting) {
    std::vector<sg4::CommPtr> sends;
    for (std::size_t k = 0; k < picked.size(); ++k)
      sends.push_back(ctx.transport.isend(*picked[k], "model", message(k)));
    sg4::Comm::wait_all(sends);
    std::map<std::string, ModelMessage> replies;
    for (std::size_t k = 0; k < reporting; ++k) {
      auto env = ctx.transport.recv(me.mailbox);
      replies.emplace(env->from->get_name(), env->as<ModelMessage>());
    }
    return replies;
  }

  /// The same with a deadline: the models go out without waiting for them to arrive, and the replies of
  /// this round that arrive by the deadline are kept; the clients expected to reply (all picked but the
  /// first `silent`, stragglers that drop out by design) that missed it are recorded.
  std::map<std::string, ModelMessage> exchange_by_deadline(RunContext& ctx, const Endpoint& me,
                                                           const std::vector<const Endpoint*>& picked,
                                                           const MessageFor& message, std::size_t silent,
                                                           long long round) {
    double due = sg4::Engine::get_clock() + *deadline_s_;
    for (std::size_t k = 0; k < picked.size(); ++k)
      ctx.transport.post(*picked[k], "model", message(k));
    std::map<std::string, ModelMessage> replies;
    while (replies.size() < picked.size() - silent) {
      auto env = ctx.transport.recv_until(me.mailbox, due);
      if (!env)
        break;
      if (env->as<ModelMessage>().round == round) // an earlier round's reply comes too late to count
        replies.emplace(env->from->get_name(), env->as<ModelMessage>());
    }
    json missed = json::array();
    for (std::size_t k = silent; k < picked.size(); ++k)
      if (!replies.count(picked[k]->host->get_name()))
        missed.push_back(picked[k]->host->get_name());
    if (!missed.empty())
      dropped_.push_back({{"round", round}, {"at_s", sg4::Engine::get_clock()}, {"clients", missed}});
    return replies;
  }

  /// The observer judges the global model with each client's local parameters, read from its disk.
  void record(RunContext& ctx, Model& model, long long round) {
    if (!ctx.evaluation.due(round))
      return;
    for (const auto& [site, disk] : disks_)
      if (disk.local.size() > 0)
        for (auto key : disk.local_keys)
          model.parameters()[key] = disk.local[key];
    Metrics g = judge_shared(ctx, model, round);
    ctx.recorder.sample("global", round, g.loss, g.accuracy);
  }

  TrainingParams training_;
  double fraction_ = 0.1;
  double straggler_share_ = 0;
  std::string straggler_mode_ = "drop";
  int straggler_epochs_ = 1;
  int server_site_ = 0;
  std::vector<int> clients_;
  std::optional<double> deadline_s_;
  json dropped_ = json::array();    ///< rounds in which picked clients missed the deadline
  std::map<int, ClientDisk> disks_; ///< by client site: each client's own
};

const StrategyRegistration reg{{"fedavg",
                                "federated averaging: fraction C of clients per round, E local epochs, batch B",
                                [](Field& p, const Scenario& sc) { return std::make_shared<FedAvg>(p, sc); }}};

} // namespace
} // namespace geosim
