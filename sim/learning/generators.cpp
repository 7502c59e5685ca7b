#include "sim/learning/generators.hpp"

#include <algorithm>
#include <cmath>

namespace geosim {

Dataset generate_synthetic(const SyntheticSpec& s, Rng& rng, std::vector<int>& device) {
  std::normal_distribution<double> std_normal(0, 1);
  std::lognormal_distribution<double> count(4, 2);
  Eigen::VectorXd sigma_sqrt(s.dims);
  for (int j = 0; j < s.dims; ++j)
    sigma_sqrt[j] = std::sqrt(std::pow(j + 1.0, -1.2));
  auto gaussian = [&](Eigen::Index rows, Eigen::Index cols, double mean, double sd) {
    Eigen::MatrixXd m(rows, cols);
    for (Eigen::Index k = 0; k < m.size(); ++k)
      m.data()[k] = mean + sd * std_normal(rng);
    return m;
  };
  Eigen::MatrixXd W_shared = gaussian(s.classes, s.dims, 0, 1);
  Eigen::VectorXd b_shared = gaussian(s.classes, 1, 0, 1);
  Dataset out;
  out.classes = s.classes;
  std::vector<Eigen::MatrixXd> blocks;
  for (int k = 0; k < s.devices; ++k) {
    int n = static_cast<int>(count(rng)) + 50;
    Eigen::MatrixXd W = W_shared;
    Eigen::VectorXd b = b_shared, v = Eigen::VectorXd::Zero(s.dims);
    if (!s.iid) {
      double u = s.alpha * std_normal(rng);
      W = gaussian(s.classes, s.dims, u, 1);
      b = gaussian(s.classes, 1, u, 1);
      double Bk = s.beta * std_normal(rng);
      v = gaussian(s.dims, 1, Bk, 1);
    }
    Eigen::MatrixXd X = gaussian(s.dims, n, 0, 1);
    X = (sigma_sqrt.asDiagonal() * X).colwise() + v;
    Eigen::MatrixXd logits = (W * X).colwise() + b;
    for (int i = 0; i < n; ++i) {
      Eigen::Index label;
      logits.col(i).maxCoeff(&label); // argmax of the softmax is the argmax of the logits
      out.y.push_back(static_cast<int>(label));
      device.push_back(k);
    }
    blocks.push_back(std::move(X));
  }
  Eigen::Index total = 0;
  for (const auto& b : blocks)
    total += b.cols();
  Eigen::MatrixXd features(s.dims, total);
  Eigen::Index at = 0;
  for (const auto& b : blocks) {
    features.middleCols(at, b.cols()) = b;
    at += b.cols();
  }
  out.set_features(std::move(features));
  return out;
}

MixtureGenerator::MixtureGenerator(const MixtureSpec& s, Rng& rng) : spec_(s) {
  std::normal_distribution<double> g(0, 1);
  // Two N(0, I_d) points lie sqrt(2d) apart on average; scale so that centres lie `separation` apart.
  double scale = s.separation / std::sqrt(2.0 * s.dims);
  for (int c = 0; c < s.classes * s.clusters; ++c) {
    Eigen::VectorXd mu(s.dims);
    for (int j = 0; j < s.dims; ++j)
      mu[j] = scale * g(rng);
    centres_.push_back(std::move(mu));
  }
}

Dataset MixtureGenerator::sample(int n, const std::vector<double>& class_weights, Rng& rng) const {
  std::normal_distribution<double> g(0, 1);
  std::discrete_distribution<int> pick_class(class_weights.begin(), class_weights.end());
  std::uniform_int_distribution<int> pick_cluster(0, spec_.clusters - 1);
  Dataset d;
  d.classes = spec_.classes;
  Eigen::MatrixXd X(spec_.dims, n);
  for (int i = 0; i < n; ++i) {
    int c = pick_class(rng);
    const auto& mu = centres_[static_cast<std::size_t>(c * spec_.clusters + pick_cluster(rng))];
    for (int j = 0; j < spec_.dims; ++j)
      X(j, i) = mu[j] + g(rng);
    d.y.push_back(c);
  }
  d.set_features(std::move(X));
  return d;
}

Dataset generate_ratings(const RatingsSpec& s, Rng& rng) {
  std::normal_distribution<double> g(0, 1);
  double sd = 1.0 / std::sqrt(std::sqrt(static_cast<double>(s.rank))); // U.V has unit variance
  Eigen::MatrixXd U(s.rank, s.users), V(s.rank, s.items);
  for (Eigen::Index k = 0; k < U.size(); ++k)
    U.data()[k] = sd * g(rng);
  for (Eigen::Index k = 0; k < V.size(); ++k)
    V.data()[k] = sd * g(rng);
  std::bernoulli_distribution observed(s.density);
  auto rating = [&s](double x) { return s.stars ? std::clamp(std::round(s.mean + x), 1.0, 5.0) : s.mean + x; };
  Dataset d;
  for (int u = 0; u < s.users; ++u)
    for (int i = 0; i < s.items; ++i)
      if (observed(rng))
        d.ratings.push_back({u, i, rating(U.col(u).dot(V.col(i)) + s.noise * g(rng))});
  return d;
}

} // namespace geosim
