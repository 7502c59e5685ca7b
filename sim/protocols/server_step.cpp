#include "sim/protocols/server_step.hpp"

#include <algorithm>
#include <cmath>

namespace geosim {

namespace {
constexpr double kDelta = 1; // IterStore's `delta`, which also keeps the first step finite
}

ServerStep::ServerStep(ServerOptimizer optimizer, double lr, std::size_t parameters) : optimizer_(optimizer), lr_(lr) {
  auto n = static_cast<Eigen::Index>(parameters);
  if (optimizer_ == ServerOptimizer::adagrad)
    sum_sq_ = Eigen::VectorXd::Zero(n);
  if (optimizer_ == ServerOptimizer::adarevision)
    sum_ = at_clock_ = z_ = z_max_ = Eigen::VectorXd::Zero(n);
}

double ServerStep::change(std::int64_t key, double g) {
  switch (optimizer_) {
  case ServerOptimizer::add:
    return g;
  case ServerOptimizer::adagrad:
    sum_sq_[key] += g * g;
    return -lr_ * g / std::sqrt(sum_sq_[key] + kDelta);
  case ServerOptimizer::adarevision: {
    // In IterStore's terms: u = -g is the update, g_bck the updates applied since the last complete clock.
    double u = -g, g_bck = sum_[key] - at_clock_[key];
    double eta_old = lr_ / std::sqrt(z_max_[key] + kDelta);
    z_[key] += u * u + 2 * u * g_bck;
    z_max_[key] = std::max(z_max_[key], z_[key]);
    double eta = lr_ / std::sqrt(z_max_[key] + kDelta);
    sum_[key] += u;
    return eta * u + (eta - eta_old) * g_bck;
  }
  }
  return g;
}

void ServerStep::clock_complete(const std::vector<std::int64_t>& shard_keys) {
  if (optimizer_ != ServerOptimizer::adarevision)
    return;
  for (auto key : shard_keys)
    at_clock_[key] = sum_[key];
}

double ServerStep::flops_per_value() const {
  switch (optimizer_) {
  case ServerOptimizer::add:
    return 1;
  case ServerOptimizer::adagrad:
    return 6; // square, add, add delta, root, divide, step
  case ServerOptimizer::adarevision:
    return 16;
  }
  return 1;
}

} // namespace geosim
