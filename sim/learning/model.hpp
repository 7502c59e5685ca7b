#pragma once
// Models: real Eigen math whose duration is simulated. Every operation reports its exact flop count,
// which strategies charge to simulated hosts (time = flops / host speed).
//
// Parameters live in one flat vector, so averaging (FedAvg), sharding (parameter servers) and
// per-parameter significance filters (Gaia) work the same on every model.
//
// Flop counting convention (the tests hold each model to an independent count): a multiply-add is 2
// flops; any other arithmetic operation, comparison, exp, log or sqrt is 1.
#include "sim/learning/dataset.hpp"

#include <Eigen/Dense>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace geosim {

/// A change to a model's parameters: dense (every parameter) or sparse (index + value pairs).
struct Update {
  bool dense = true;
  Eigen::VectorXd values;
  std::vector<std::int64_t> index; ///< sparse only, ascending
  int value_bytes = 4;             ///< on the wire: float32 by default

  std::size_t entries() const { return static_cast<std::size_t>(values.size()); }
  /// Serialized size: values only when dense; a 4-byte index beside every value when sparse.
  double wire_bytes() const { return static_cast<double>(entries()) * (value_bytes + (dense ? 0 : 4)); }
};

/// The parameters tied to a subset of classes (rows of the softmax layer), as collaborative learning
/// transfers them.
struct ModelSlice {
  std::vector<int> classes;
  Eigen::VectorXd values; ///< for each class in order: its weight row then its bias
  int value_bytes = 4;
  double wire_bytes() const {
    return static_cast<double>(values.size()) * value_bytes + 4.0 * static_cast<double>(classes.size());
  }
};

struct Metrics {
  double loss = 0;     ///< mean cross-entropy (classification) or RMSE (ratings)
  double accuracy = 0; ///< NaN for rating models
};

class Model {
public:
  virtual ~Model() = default;
  virtual std::string kind() const = 0;
  virtual std::unique_ptr<Model> clone() const = 0;

  Eigen::VectorXd& parameters() { return params_; }
  const Eigen::VectorXd& parameters() const { return params_; }
  std::size_t size() const { return static_cast<std::size_t>(params_.size()); }
  /// Bytes of the whole model on the wire (a dense update of every parameter).
  double wire_bytes() const { return static_cast<double>(size()) * value_bytes; }

  /// The gradient of objective() on the batch: dense, or sparse when the model's updates are sparse.
  virtual Update gradient(const Dataset& batch) const = 0;
  /// The training objective on a batch (the function gradient() differentiates), regularizer included.
  virtual double objective(const Dataset& batch) const = 0;
  virtual Metrics evaluate(const Dataset& data) const = 0;
  /// Class scores (classes x samples) before the softmax; classification models only.
  virtual Eigen::MatrixXd logits(const Dataset& data) const;

  virtual double gradient_flops(const Dataset& batch) const = 0;
  /// The flops charged for a training step on `batch`: the stand-in's own count, or, when the model
  /// stands for a larger network (train_flops_per_sample > 0), that network's count per sample.
  double training_flops(const Dataset& batch) const {
    return train_flops_per_sample > 0 ? train_flops_per_sample * static_cast<double>(batch.size())
                                      : gradient_flops(batch);
  }
  double train_flops_per_sample = 0;
  virtual double evaluate_flops(const Dataset& data) const = 0;
  /// params += scale * update
  void apply(const Update& u, double scale);
  double apply_flops(const Update& u) const { return 2.0 * static_cast<double>(u.entries()); }

  /// Parameters [0, local_size()) stay on the worker that trains them and never cross the network (an
  /// IterStore MF job's user factors); the rest are shared through parameter servers. 0 for most models.
  virtual std::size_t local_size() const { return 0; }
  /// One clock of a worker under a server-side optimizer: a pass over `data` that steps the local
  /// parameters in place (AdaGrad, squared-gradient sums in `adagrad`, sized like the parameters) and
  /// returns the gradient of the shared parameters summed over the pass, at the values the pass began
  /// with (sparse when the model's updates are). Adds its flops to `flops`. The default has no local
  /// parameters: the gradient of the whole of `data`.
  virtual Update local_pass(const Dataset& data, double lr, Eigen::VectorXd& adagrad, double& flops);

  /// Slices (classification models only): export, then import, the parameters of some classes.
  virtual bool has_slices() const { return false; }
  virtual ModelSlice export_slice(const std::vector<int>& classes) const;
  virtual void import_slice(const ModelSlice& slice);

  int value_bytes = 4;

protected:
  Eigen::VectorXd params_;
};

/// Which model to build and its sizes; parsed from the scenario's workload.model.
struct ModelSpec {
  std::string kind = "softmax"; ///< softmax, mf, mlp
  double l2 = 1e-4;
  std::vector<int> hidden; ///< mlp: one or two hidden layer widths
  int rank = 10;           ///< mf
  double init_scale = 0.1; ///< mf: initial factor entries ~ N(0, init_scale^2)
  int value_bytes = 4;
  double train_flops_per_sample = 0; ///< see Model::training_flops
  /// mf: IterStore's semantics. User factors are local to the worker (local_size()), the loss per rating is
  /// (U_u . V_i - r)^2 with l2 divided by the mean ratings per user (for U) or per item (for V).
  bool local_users = false;
};

struct ModelShape {
  int dims = 0;             ///< classification features
  int classes = 0;          ///< classification classes
  int users = 0, items = 0; ///< ratings
  double ratings = 0;       ///< ratings in the whole data set (IterStore's l2 scaling)
};

/// Builds a model with deterministic initial parameters from `seed`.
std::unique_ptr<Model> make_model(const ModelSpec& spec, const ModelShape& shape, std::uint64_t seed);

} // namespace geosim
