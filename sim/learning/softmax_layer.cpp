#include "sim/learning/softmax_layer.hpp"

#include <cmath>
#include <stdexcept>

namespace geosim::softmax_layer {

void normalize(Eigen::MatrixXd& z) {
  for (Eigen::Index j = 0; j < z.cols(); ++j) {
    auto col = z.col(j);
    col.array() = (col.array() - col.maxCoeff()).exp();
    col /= col.sum();
  }
}

void cross_entropy_grad(Eigen::MatrixXd& p, const std::vector<int>& y) {
  for (std::size_t i = 0; i < y.size(); ++i)
    p(y[i], static_cast<Eigen::Index>(i)) -= 1.0;
  p /= static_cast<double>(y.size());
}

Metrics score(Eigen::MatrixXd& z, const std::vector<int>& y) {
  double loss = 0, correct = 0;
  for (Eigen::Index j = 0; j < z.cols(); ++j) {
    auto col = z.col(j);
    Eigen::Index best;
    double m = col.maxCoeff(&best);
    double log_sum = std::log((col.array() - m).exp().sum());
    loss += log_sum - (col(y[j]) - m);
    correct += best == y[j];
  }
  double n = static_cast<double>(z.cols());
  return {loss / n, correct / n};
}

ModelSlice export_rows(const Eigen::VectorXd& params, Eigen::Index offset, int C, int H,
                       const std::vector<int>& classes, int value_bytes) {
  Eigen::Map<const Eigen::MatrixXd> W(params.data() + offset, C, H);
  const double* b = params.data() + offset + static_cast<Eigen::Index>(C) * H;
  ModelSlice s;
  s.classes = classes;
  s.value_bytes = value_bytes;
  s.values.resize(static_cast<Eigen::Index>(classes.size()) * (H + 1));
  for (std::size_t k = 0; k < classes.size(); ++k) {
    int c = classes[k];
    if (c < 0 || c >= C)
      throw std::out_of_range("slice class out of range");
    auto row = s.values.segment(static_cast<Eigen::Index>(k) * (H + 1), H + 1);
    row.head(H) = W.row(c).transpose();
    row(H) = b[c];
  }
  return s;
}

void import_rows(Eigen::VectorXd& params, Eigen::Index offset, int C, int H, const ModelSlice& slice) {
  Eigen::Map<Eigen::MatrixXd> W(params.data() + offset, C, H);
  double* b = params.data() + offset + static_cast<Eigen::Index>(C) * H;
  if (slice.values.size() != static_cast<Eigen::Index>(slice.classes.size()) * (H + 1))
    throw std::invalid_argument("slice does not match this model's layer width");
  for (std::size_t k = 0; k < slice.classes.size(); ++k) {
    auto row = slice.values.segment(static_cast<Eigen::Index>(k) * (H + 1), H + 1);
    W.row(slice.classes[k]) = row.head(H).transpose();
    b[slice.classes[k]] = row(H);
  }
}

} // namespace geosim::softmax_layer
