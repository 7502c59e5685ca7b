// Dense networks: multinomial logistic (softmax) regression is the network with no hidden layer; the
// MLP adds one or two ReLU hidden layers. Loss: mean cross-entropy plus (l2 / 2) * ||W||^2 over weights.
#include "sim/learning/model.hpp"
#include "sim/learning/softmax_layer.hpp"

#include <random>

namespace geosim {
namespace {

using Eigen::Index;
using Eigen::MatrixXd;
using Input = Eigen::Ref<const MatrixXd>; ///< a layer's input: the data's features (a view) or activations

class DenseNet : public Model {
public:
  DenseNet(std::vector<int> sizes, double l2, int value_bytes, std::uint64_t seed) : sizes_(std::move(sizes)), l2_(l2) {
    this->value_bytes = value_bytes;
    Index total = 0;
    for (std::size_t l = 0; l + 1 < sizes_.size(); ++l) {
      offsets_.push_back(total);
      total += static_cast<Index>(sizes_[l + 1]) * (sizes_[l] + 1);
    }
    params_ = Eigen::VectorXd::Zero(total);
    // Softmax regression starts at zero (its loss is convex); hidden layers need He-initialized weights.
    if (layers() > 1) {
      std::mt19937_64 rng(seed);
      for (int l = 0; l < layers(); ++l) {
        std::normal_distribution<double> n(0.0, std::sqrt(2.0 / sizes_[l]));
        auto w = weights(l);
        for (Index k = 0; k < w.size(); ++k)
          w.data()[k] = n(rng);
      }
    }
  }

  std::string kind() const override { return layers() == 1 ? "softmax" : "mlp"; }
  std::unique_ptr<Model> clone() const override { return std::make_unique<DenseNet>(*this); }

  Update gradient(const Dataset& batch) const override {
    std::vector<MatrixXd> acts;
    MatrixXd g = forward(batch.X(), acts);
    softmax_layer::normalize(g);
    softmax_layer::cross_entropy_grad(g, batch.y);
    Update u;
    u.value_bytes = value_bytes;
    u.values.resize(params_.size());
    for (int l = layers() - 1; l >= 0; --l) {
      Input input = l == 0 ? Input(batch.X()) : Input(acts[l - 1]);
      Eigen::Map<MatrixXd> dW(u.values.data() + offsets_[l], sizes_[l + 1], sizes_[l]);
      dW.noalias() = g * input.transpose();
      dW += l2_ * weights(l);
      u.values.segment(offsets_[l] + dW.size(), sizes_[l + 1]) = g.rowwise().sum();
      if (l > 0)
        g = (weights(l).transpose() * g).cwiseProduct((acts[l - 1].array() > 0).cast<double>().matrix());
    }
    return u;
  }

  double objective(const Dataset& batch) const override {
    std::vector<MatrixXd> acts;
    MatrixXd z = forward(batch.X(), acts);
    double reg = 0;
    for (int l = 0; l < layers(); ++l)
      reg += weights(l).squaredNorm();
    return softmax_layer::score(z, batch.y).loss + 0.5 * l2_ * reg;
  }

  Metrics evaluate(const Dataset& data) const override {
    std::vector<MatrixXd> acts;
    MatrixXd z = forward(data.X(), acts);
    return softmax_layer::score(z, data.y);
  }

  MatrixXd logits(const Dataset& data) const override {
    std::vector<MatrixXd> acts;
    return forward(data.X(), acts);
  }

  double gradient_flops(const Dataset& batch) const override {
    double B = static_cast<double>(batch.size()), C = sizes_.back();
    double f = forward_flops(B) + softmax_layer::normalize_flops(C, B) + softmax_layer::cross_entropy_grad_flops(C, B);
    for (int l = 0; l < layers(); ++l) {
      double in = sizes_[l], out = sizes_[l + 1];
      f += 2 * out * in * B + 2 * out * in + out * B; // dW = G A^T, + l2 W, db = row sums
      if (l > 0)
        f += 2 * in * out * B + in * B; // back-propagate through W, then the ReLU mask
    }
    return f;
  }

  double evaluate_flops(const Dataset& data) const override {
    double n = static_cast<double>(data.size());
    return forward_flops(n) + softmax_layer::score_flops(sizes_.back(), n);
  }

  bool has_slices() const override { return true; }
  ModelSlice export_slice(const std::vector<int>& classes) const override {
    int l = layers() - 1;
    return softmax_layer::export_rows(params_, offsets_[l], sizes_[l + 1], sizes_[l], classes, value_bytes);
  }
  void import_slice(const ModelSlice& slice) override {
    int l = layers() - 1;
    softmax_layer::import_rows(params_, offsets_[l], sizes_[l + 1], sizes_[l], slice);
  }

private:
  int layers() const { return static_cast<int>(sizes_.size()) - 1; }
  Eigen::Map<const MatrixXd> weights(int l) const { return {params_.data() + offsets_[l], sizes_[l + 1], sizes_[l]}; }
  Eigen::Map<MatrixXd> weights(int l) { return {params_.data() + offsets_[l], sizes_[l + 1], sizes_[l]}; }
  Eigen::Map<const Eigen::VectorXd> bias(int l) const {
    return {params_.data() + offsets_[l] + static_cast<Index>(sizes_[l + 1]) * sizes_[l], sizes_[l + 1]};
  }

  /// Returns the output logits; `acts` receives each hidden layer's post-ReLU activations.
  MatrixXd forward(const Input& X, std::vector<MatrixXd>& acts) const {
    MatrixXd z;
    for (int l = 0; l < layers(); ++l) {
      Input input = l == 0 ? X : Input(acts.back());
      z.noalias() = weights(l) * input;
      z.colwise() += bias(l);
      if (l + 1 < layers())
        acts.push_back(z.cwiseMax(0.0));
    }
    return z;
  }

  double forward_flops(double B) const {
    double f = 0;
    for (int l = 0; l < layers(); ++l) {
      double in = sizes_[l], out = sizes_[l + 1];
      f += 2 * out * in * B + out * B + (l + 1 < layers() ? out * B : 0); // W A, + b, ReLU
    }
    return f;
  }

  std::vector<int> sizes_; ///< input, hidden..., classes
  double l2_;
  std::vector<Index> offsets_; ///< where layer l's W (column-major) starts; its b follows it
};

} // namespace

std::unique_ptr<Model> make_dense_net(const std::vector<int>& sizes, double l2, int value_bytes, std::uint64_t seed) {
  return std::make_unique<DenseNet>(sizes, l2, value_bytes, seed);
}

} // namespace geosim
