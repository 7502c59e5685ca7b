#include "sim/protocols/server_step.hpp"

#include <algorithm>
#include <cmath>

namespace geosim {

namespace {
constexpr double kDelta = 1; // IterStore's `delta`, which also keeps the first step finite
}

ServerStep::ServerStep(ServerOptimizer optimizer, double lr, std::size_t slots) : optimizer_(optimizer), lr_(lr) {
  auto n = static_cast<Eigen::Index>(slots);
  if (optimizer_ == ServerOptimizer::adagrad)
    sum_sq_ = Eigen::VectorXd::Zero(n);
  if (optimizer_ == ServerOptimizer::adarevision)
    sum_ = at_clock_ = z_ = z_max_ = Eigen::VectorXd::Zero(n);
}

double ServerStep::change(std::int64_t slot, double g) {
  switch (optimizer_) {
  case ServerOptimizer::add:
    return g;
  case ServerOptimizer::adagrad:
    sum_sq_[slot] += g * g;
    return -lr_ * g / std::sqrt(sum_sq_[slot] + kDelta);
  case ServerOptimizer::adarevision: {
    // In IterStore's terms: u = -g is the update, g_bck the updates applied since the last complete clock.
    double u = -g, g_bck = sum_[slot] - at_clock_[slot];
    double eta_old = lr_ / std::sqrt(z_max_[slot] + kDelta);
    z_[slot] += u * u + 2 * u * g_bck;
    z_max_[slot] = std::max(z_max_[slot], z_[slot]);
    double eta = lr_ / std::sqrt(z_max_[slot] + kDelta);
    sum_[slot] += u;
    return eta * u + (eta - eta_old) * g_bck;
  }
  }
  return g;
}

void ServerStep::clock_complete(const std::vector<std::int64_t>& slots) {
  if (optimizer_ != ServerOptimizer::adarevision)
    return;
  for (auto at : slots)
    at_clock_[at] = sum_[at];
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
