#pragma once
// The step a parameter server takes with a pushed gradient, as IterStore's servers take it
// (cuihenggang/iterstore, src/server/tablet-server.cpp; both with delta = 1 under the square root):
//   adagrad      w += -lr g / sqrt(1 + sum of g^2), per push;
//   adarevision  AdaGrad for delayed updates (McMahan & Streeter, NIPS'14): a push's gradient is
//                weighed against the gradients the server applied since the shard's last complete clock
//                (what the pushing worker could not have read), so under BSP a clock's steps add up to
//                one AdaGrad step with the sum of the clock's gradients, however many workers pushed.
// Each instance keeps its own sums: Gaia's data centers each step with their own workers' gradients.
#include <Eigen/Dense>

#include <cstdint>
#include <vector>

namespace geosim {

enum class ServerOptimizer { add, adagrad, adarevision };

class ServerStep {
public:
  /// `slots`: the size of its tables (a shard's: ShardValues::slots).
  ServerStep(ServerOptimizer optimizer, double lr, std::size_t slots);
  /// The change of the parameter at `slot` of the server's tables for a pushed gradient g (for "add", g
  /// itself: the push is the change).
  double change(std::int64_t slot, double g);
  /// A shard's clock is complete (every worker pushed it): AdaRevision's "already applied" starts again
  /// for the slots of its keys.
  void clock_complete(const std::vector<std::int64_t>& slots);
  /// Flops charged per pushed value.
  double flops_per_value() const;

private:
  ServerOptimizer optimizer_;
  double lr_;
  Eigen::VectorXd sum_sq_;                     ///< adagrad: sum of g^2
  Eigen::VectorXd sum_, at_clock_, z_, z_max_; ///< adarevision: sum of updates, its value at the last
                                               ///< complete clock, the revised square sum and its max
};

} // namespace geosim
