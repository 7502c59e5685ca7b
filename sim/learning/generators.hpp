#pragma once
// Dataset generators, deterministic from their seed.
#include "sim/learning/dataset.hpp"

#include <random>
#include <vector>

namespace geosim {

using Rng = std::mt19937_64;

/// FedProx Synthetic(alpha, beta) (Li et al., MLSys 2020): per device k, u_k ~ N(0, alpha), W_k, b_k ~ N(u_k, 1),
/// B_k ~ N(0, beta), v_k ~ N(B_k, 1) elementwise, x ~ N(v_k, Sigma) with Sigma_jj = j^-1.2, y = argmax(W_k x + b_k).
/// The IID variant shares one W, b ~ N(0, 1) and draws x ~ N(0, Sigma). Samples per device: lognormal(4, 2) + 50.
struct SyntheticSpec {
  double alpha = 1, beta = 1;
  bool iid = false;
  int devices = 30, dims = 60, classes = 10;
};
/// Returns the pooled samples; `device` receives each sample's device.
Dataset generate_synthetic(const SyntheticSpec& s, Rng& rng, std::vector<int>& device);

/// Gaussian mixture: each class has `clusters` centres at typical distance `separation` (in units of the
/// unit-variance noise); more than one cluster per class makes the problem non-linear.
struct MixtureSpec {
  int classes = 10, dims = 20, clusters = 1;
  double separation = 3.0;
  int samples = 20000;
};
class MixtureGenerator {
public:
  MixtureGenerator(const MixtureSpec& s, Rng& rng);
  /// n samples whose classes follow `class_weights` (any non-negative weights).
  Dataset sample(int n, const std::vector<double>& class_weights, Rng& rng) const;
  const MixtureSpec& spec() const { return spec_; }

private:
  MixtureSpec spec_;
  std::vector<Eigen::VectorXd> centres_; ///< class c, cluster k at c * clusters + k
};

/// A low-rank rating matrix: U (users x rank), V (items x rank) with N(0, 1/sqrt(rank)) entries so that
/// ratings have unit scale, a `density` share of entries observed, each mean + U_u . V_i + N(0, noise^2);
/// with `stars`, rounded to a whole number of stars from 1 to 5 (as Netflix's are).
struct RatingsSpec {
  int users = 1000, items = 500, rank = 10;
  double density = 0.05, noise = 0.1;
  double mean = 0;
  bool stars = false;
};
Dataset generate_ratings(const RatingsSpec& s, Rng& rng);

} // namespace geosim
