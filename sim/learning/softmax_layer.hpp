#pragma once
// Softmax layers shared by the softmax-regression and MLP models: the column-wise softmax, its
// cross-entropy, and the class slices of an output layer.
#include "sim/learning/model.hpp"

namespace geosim::softmax_layer {

/// In place: each column of logits becomes a probability vector (max-shifted for stability).
void normalize(Eigen::MatrixXd& logits);
/// Flops of normalize() on C x B logits: max, subtract, exp, sum and divide per entry.
inline double normalize_flops(double C, double B) { return 5 * C * B; }

/// Turns probabilities into the gradient of the mean cross-entropy with respect to the logits.
void cross_entropy_grad(Eigen::MatrixXd& probs, const std::vector<int>& y);
inline double cross_entropy_grad_flops(double C, double B) { return B + C * B; }

/// Mean cross-entropy and accuracy of logits (C x n) against labels; logits are consumed.
Metrics score(Eigen::MatrixXd& logits, const std::vector<int>& y);
/// Flops of score(): per column max (with argmax), subtract, exp and sum per class, then a log, three for
/// the loss term and one for the accuracy count.
inline double score_flops(double C, double n) { return 4 * C * n + 5 * n; }

/// An output layer's W (C x H, column-major) and b (C) live at `offset` in a flat parameter vector.
ModelSlice export_rows(const Eigen::VectorXd& params, Eigen::Index offset, int C, int H,
                       const std::vector<int>& classes, int value_bytes);
void import_rows(Eigen::VectorXd& params, Eigen::Index offset, int C, int H, const ModelSlice& slice);

} // namespace geosim::softmax_layer
