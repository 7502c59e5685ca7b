// Matrix factorization by SGD on observed ratings (Gaia's main workload). Rating(u, i) ~ U_u . V_i; the
// objective on a batch is the mean over its ratings of e/2 (U_u . V_i - r)^2 + lu/2 |U_u|^2 + lv/2 |V_i|^2.
// A batch touches only its users' and items' factors, so the gradient is sparse.
//
// Two semantics. The plain one (e = 1, lu = lv = l2) shares every factor through the parameter server.
// IterStore's (apps/mf in cuihenggang/iterstore, the baseline Gaia measures) keeps each user's factors on
// the worker that holds the user's ratings and shares only the item factors: e = 2, lu = l2 / (mean
// ratings per user), lv = l2 / (mean ratings per item); a clock is one pass over the worker's ratings in
// which each rating steps its user's factors at once with AdaGrad and adds to the item factors' gradient,
// which the worker pushes at the end of the clock for the servers to apply.
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
  MatrixFactorization(const ModelSpec& spec, const ModelShape& shape, std::uint64_t seed)
      : users_(shape.users), items_(shape.items), rank_(spec.rank), local_users_(spec.local_users) {
    if (local_users_) {
      double ratings = std::max(shape.ratings, 1.0);
      err_scale_ = 2;
      l2_user_ = spec.l2 / std::max(ratings / users_, 1e-12);
      l2_item_ = spec.l2 / std::max(ratings / items_, 1e-12);
    } else {
      l2_user_ = l2_item_ = spec.l2;
    }
    this->value_bytes = spec.value_bytes;
    params_.resize(static_cast<Index>(users_ + items_) * rank_);
    std::mt19937_64 rng(seed);
    std::normal_distribution<double> n(0.0, spec.init_scale);
    for (Index k = 0; k < params_.size(); ++k)
      params_[k] = n(rng);
  }

  std::size_t local_size() const override {
    return local_users_ ? static_cast<std::size_t>(users_) * static_cast<std::size_t>(rank_) : 0;
  }

  Update local_pass(const Dataset& data, double lr, Eigen::VectorXd& adagrad, double& flops) override {
    if (!local_users_)
      return Model::local_pass(data, lr, adagrad, flops);
    // The item factors stay as the clock read them; their gradient is summed over the pass.
    const Eigen::VectorXd items = params_.tail(static_cast<Index>(items_) * rank_);
    Eigen::VectorXd sum = Eigen::VectorXd::Zero(items.size());
    std::vector<char> touched(static_cast<std::size_t>(items_), 0);
    Eigen::VectorXd gu(rank_);
    for (const Rating& r : data.ratings) {
      Index uo = user_offset(r.user), io = static_cast<Index>(r.item) * rank_;
      auto u = params_.segment(uo, rank_);
      auto v = items.segment(io, rank_);
      double d = err_scale_ * (u.dot(v) - r.value);
      gu = d * v + l2_user_ * u;
      sum.segment(io, rank_) += d * u + l2_item_ * v;
      auto acc = adagrad.segment(uo, rank_);
      acc += gu.cwiseAbs2();
      u -= lr * (gu.array() / (acc.array().sqrt() + 1e-300)).matrix(); // 0/0 for an entry never moved
      touched[static_cast<std::size_t>(r.item)] = 1;
    }
    // Per rating: dot product (2r), error (2); per factor entry: two gradients of d*x + l*y (4 each),
    // AdaGrad's square-add (2), square root, divide and step (4), the sum's add (1).
    flops += static_cast<double>(data.size()) * (17.0 * rank_ + 2);
    Update out;
    out.dense = false;
    out.value_bytes = value_bytes;
    std::vector<double> values;
    for (Index i = 0; i < items_; ++i)
      if (touched[static_cast<std::size_t>(i)])
        for (int j = 0; j < rank_; ++j) {
          out.index.push_back(item_offset(static_cast<int>(i)) + j);
          values.push_back(sum[i * rank_ + j]);
        }
    out.values = Eigen::Map<Eigen::VectorXd>(values.data(), static_cast<Index>(values.size()));
    return out;
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
      double err = err_scale_ * (u.dot(v) - r.value);
      terms.col(2 * k) = (err * v + l2_user_ * u) * inv_b;
      terms.col(2 * k + 1) = (err * u + l2_item_ * v) * inv_b;
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
      sum += 0.5 * err_scale_ * err * err + 0.5 * (l2_user_ * u.squaredNorm() + l2_item_ * v.squaredNorm());
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
  bool local_users_;
  double err_scale_ = 1, l2_user_ = 0, l2_item_ = 0;
};

} // namespace

std::unique_ptr<Model> make_dense_net(const std::vector<int>& sizes, double l2, int value_bytes, std::uint64_t seed);

std::unique_ptr<Model> make_model(const ModelSpec& spec, const ModelShape& shape, std::uint64_t seed) {
  std::unique_ptr<Model> m;
  if (spec.kind == "mf") {
    m = std::make_unique<MatrixFactorization>(spec, shape, seed);
  } else {
    std::vector<int> sizes = {shape.dims};
    if (spec.kind == "mlp")
      sizes.insert(sizes.end(), spec.hidden.begin(), spec.hidden.end());
    sizes.push_back(shape.classes);
    m = make_dense_net(sizes, spec.l2, spec.value_bytes, seed);
  }
  m->train_flops_per_sample = spec.train_flops_per_sample;
  return m;
}

} // namespace geosim
