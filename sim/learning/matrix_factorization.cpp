// Matrix factorization by SGD on observed ratings (Gaia's main workload). Rating(u, i) ~ U_u . V_i; the
// objective on a batch is the mean over its ratings of 1/2 (U_u . V_i - r)^2 + l2/2 (|U_u|^2 + |V_i|^2).
// A batch touches only its users' and items' factors, so the gradient is sparse.
#include "sim/learning/model.hpp"

#include <algorithm>
#include <cmath>
#include <random>
#include <utility>
#include <vector>

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
    // Each rating adds one term to its user's row and one to its item's. The terms are gathered, sorted
    // by (row, rating), and summed row by row: the update lists its indexes in ascending order and each
    // row sums its terms in rating order, run after run, without a tree node per row.
    const Index n = static_cast<Index>(batch.ratings.size());
    double inv_b = 1.0 / static_cast<double>(n);
    Eigen::MatrixXd terms(rank_, 2 * n);
    std::vector<std::pair<Index, Index>> at; // (row offset, column in terms)
    at.reserve(static_cast<std::size_t>(2 * n));
    for (Index k = 0; k < n; ++k) {
      const Rating& r = batch.ratings[static_cast<std::size_t>(k)];
      auto u = factor(user_offset(r.user)), v = factor(item_offset(r.item));
      double err = u.dot(v) - r.value;
      terms.col(2 * k) = (err * v + l2_ * u) * inv_b;
      terms.col(2 * k + 1) = (err * u + l2_ * v) * inv_b;
      at.emplace_back(user_offset(r.user), 2 * k);
      at.emplace_back(item_offset(r.item), 2 * k + 1);
    }
    std::sort(at.begin(), at.end());
    Update out;
    out.dense = false;
    out.value_bytes = value_bytes;
    Index rows = 0;
    for (std::size_t i = 0; i < at.size(); ++i)
      rows += i == 0 || at[i].first != at[i - 1].first;
    out.values.resize(rows * rank_);
    out.index.reserve(static_cast<std::size_t>(rows * rank_));
    Index k = -rank_;
    for (std::size_t i = 0; i < at.size(); ++i) {
      if (i == 0 || at[i].first != at[i - 1].first) {
        k += rank_;
        out.values.segment(k, rank_) = terms.col(at[i].second);
        for (int j = 0; j < rank_; ++j)
          out.index.push_back(at[i].first + j);
      } else {
        out.values.segment(k, rank_) += terms.col(at[i].second);
      }
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
