// Matrix factorization by SGD on observed ratings (Gaia's main workload). Rating(u, i) ~ U_u . V_i; the
// objective on a batch is the mean over its ratings of 1/2 (U_u . V_i - r)^2 + l2/2 (|U_u|^2 + |V_i|^2).
// A batch touches only its users' and items' factors, so the gradient is sparse.
#include "sim/learning/model.hpp"

#include <cmath>
#include <map>
#include <random>

namespace geosim {
namespace {

using Eigen::Index;

class MatrixFactorization : public Model {
public:
  MatrixFactorization(int users, int items, int rank, double l2, double init_scale, int value_bytes, std::uint64_t seed)
      : users_(users), items_(items), rank_(rank), l2_(l2) {
    this->value_bytes = value_bytes;
    params_.resize(static_cast<Index>(users + items) * rank);
    std::mt19937_64 rng(seed);
    std::normal_distribution<double> n(0.0, init_scale);
    for (Index k = 0; k < params_.size(); ++k)
      params_[k] = n(rng);
  }

  std::string kind() const override { return "mf"; }
  std::unique_ptr<Model> clone() const override { return std::make_unique<MatrixFactorization>(*this); }

  Update gradient(const Dataset& batch) const override {
    // Ordered map: the sparse update lists its indexes in ascending order, run after run.
    std::map<Index, Eigen::VectorXd> rows;
    double inv_b = 1.0 / static_cast<double>(batch.size());
    for (const Rating& r : batch.ratings) {
      auto u = factor(user_offset(r.user)), v = factor(item_offset(r.item));
      double err = u.dot(v) - r.value;
      accumulate(rows, user_offset(r.user), ((err * v + l2_ * u) * inv_b).eval());
      accumulate(rows, item_offset(r.item), ((err * u + l2_ * v) * inv_b).eval());
    }
    Update out;
    out.dense = false;
    out.value_bytes = value_bytes;
    out.values.resize(static_cast<Index>(rows.size()) * rank_);
    out.index.reserve(rows.size() * rank_);
    Index k = 0;
    for (const auto& [offset, g] : rows) {
      for (int j = 0; j < rank_; ++j)
        out.index.push_back(offset + j);
      out.values.segment(k, rank_) = g;
      k += rank_;
    }
    return out;
  }

  double objective(const Dataset& batch) const override {
    double sum = 0;
    for (const Rating& r : batch.ratings) {
      auto u = factor(user_offset(r.user)), v = factor(item_offset(r.item));
      double err = u.dot(v) - r.value;
      sum += 0.5 * err * err + 0.5 * l2_ * (u.squaredNorm() + v.squaredNorm());
    }
    return sum / static_cast<double>(batch.size());
  }

  Metrics evaluate(const Dataset& data) const override {
    double sq = 0;
    for (const Rating& r : data.ratings) {
      double err = factor(user_offset(r.user)).dot(factor(item_offset(r.item))) - r.value;
      sq += err * err;
    }
    return {std::sqrt(sq / static_cast<double>(data.size())), std::nan("")};
  }

  // Per rating: dot product (2r), error (1), two factor gradients of err*x + l2*y scaled by 1/B (4r each),
  // and their accumulation into the update (r each).
  double gradient_flops(const Dataset& batch) const override {
    return static_cast<double>(batch.size()) * (12.0 * rank_ + 1);
  }
  // Per rating: dot product (2r), error, square, sum (3); then a divide and a square root.
  double evaluate_flops(const Dataset& data) const override {
    return static_cast<double>(data.size()) * (2.0 * rank_ + 3) + 2;
  }

private:
  Index user_offset(int u) const { return static_cast<Index>(u) * rank_; }
  Index item_offset(int i) const { return (static_cast<Index>(users_) + i) * rank_; }
  Eigen::Map<const Eigen::VectorXd> factor(Index offset) const { return {params_.data() + offset, rank_}; }
  static void accumulate(std::map<Index, Eigen::VectorXd>& rows, Index offset, const Eigen::VectorXd& g) {
    auto [it, fresh] = rows.try_emplace(offset, g);
    if (!fresh)
      it->second += g;
  }

  int users_, items_, rank_;
  double l2_;
};

} // namespace

std::unique_ptr<Model> make_dense_net(const std::vector<int>& sizes, double l2, int value_bytes, std::uint64_t seed);

std::unique_ptr<Model> make_model(const ModelSpec& spec, const ModelShape& shape, std::uint64_t seed) {
  if (spec.kind == "mf")
    return std::make_unique<MatrixFactorization>(shape.users, shape.items, spec.rank, spec.l2, spec.init_scale,
                                                 spec.value_bytes, seed);
  std::vector<int> sizes = {shape.dims};
  if (spec.kind == "mlp")
    sizes.insert(sizes.end(), spec.hidden.begin(), spec.hidden.end());
  sizes.push_back(shape.classes);
  return make_dense_net(sizes, spec.l2, spec.value_bytes, seed);
}

} // namespace geosim
