#pragma once
// Local training inside an actor: the model math is really done, and its counted flops are charged to
// the actor's host so that simulated compute time = flops / host speed.
#include "sim/input.hpp"
#include "sim/learning/generators.hpp"
#include "sim/learning/model.hpp"

#include <string>
#include <vector>

namespace geosim {

/// The random stream of one site's learner (batch order): distinct per site, fixed by the scenario seed.
inline Rng site_rng(long long seed, int site) {
  return Rng(static_cast<std::uint64_t>(seed) * 7919 + static_cast<std::uint64_t>(site));
}

/// Charges `flops` to the calling actor's host, spread over all its cores, and books them in the run's
/// compute ledger (sim/compute.hpp).
void charge_flops(double flops);

/// E epochs of minibatch SGD over `data` (batch 0 = the whole set, one step per epoch), shuffled with
/// `rng`; charges the gradient and update flops. Returns the number of steps taken.
long long train_epochs(Model& model, const Dataset& data, int epochs, int batch, double lr, Rng& rng);

/// Minibatch SGD with momentum that goes through `data` in a shuffled order, reshuffled each time it has
/// been gone through (as Caffe's data layer does): `take(n)` steps n minibatches and charges their flops.
class MinibatchSgd {
public:
  MinibatchSgd(const Dataset& data, int batch, double lr, double momentum, Rng& rng)
      : data_(data), batch_(batch), lr_(lr), momentum_(momentum), rng_(rng) {}
  void take(Model& model, int batches);

  /// Where it is in its pass over the data, and its momentum: what a checkpoint keeps.
  struct Position {
    std::vector<int> order;
    std::size_t at = 0;
    Eigen::VectorXd velocity; ///< the last step (momentum > 0)
  };
  const Position& position() const { return pos_; }
  void restore(Position p) { pos_ = std::move(p); }

private:
  const Dataset& data_;
  int batch_;
  double lr_, momentum_;
  Rng& rng_;
  Position pos_;
};

/// Online learning on a stream: `batches` minibatches of `batch` samples drawn at random from `data` (the
/// site's current data), one SGD step each; charges their flops.
void train_stream(Model& model, const Dataset& data, int batches, int batch, double lr, Rng& rng);

/// The local parameters (Model::local_size: an MF job's user factors) that training on `data` touches,
/// ascending; none for a model without local parameters.
std::vector<std::int64_t> local_keys_of(const Model& model, const Dataset& data);

struct Scenario;

/// Hyper-parameters of local SGD shared by the learning strategies.
struct TrainingParams {
  double lr = 0.01;
  int batch = 10; ///< 0: full batch
  int local_epochs = 1;
};
TrainingParams parse_training(Field& params, TrainingParams defaults = {});

/// Pacing of an edge site's learner: with `period_s` > 0 it learns once per period from the stream,
/// `batches_per_period` minibatches (as Cartel's models are updated one batch at a time); with 0 it
/// trains local_epochs over its data back to back.
struct StreamParams {
  double period_s = 0;
  int batches_per_period = 1;
};
StreamParams parse_stream(Field& params, StreamParams defaults = {});

/// Learning strategies need a workload and a bound on the run; this checks both, naming the strategy.
void require_learning_setup(const Field& params, const Scenario& scenario, const std::string& strategy);

/// A model's parameters as a message: the whole model, dense, at its wire precision.
struct ModelMessage {
  Eigen::VectorXd params;
  double samples = 0; ///< the sender's training-set size (FedAvg's n_k); travels in the round's header
  int value_bytes = 4;
  int epochs = 0; ///< server to client: local epochs this round (0: a straggler that will drop out)
  long long round = 0; ///< the round it belongs to (in the header, with samples)
  double wire_bytes() const { return static_cast<double>(params.size()) * value_bytes; }
};

} // namespace geosim
