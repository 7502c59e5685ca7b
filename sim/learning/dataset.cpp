#include "sim/learning/dataset.hpp"

namespace geosim {

Dataset::Features Dataset::X() const {
  static const Eigen::MatrixXd none;
  return features_ ? features_->middleCols(first_, count_) : none.middleCols(0, 0);
}

void Dataset::set_features(Eigen::MatrixXd features) {
  count_ = features.cols();
  first_ = 0;
  features_ = std::make_shared<const Eigen::MatrixXd>(std::move(features));
}

Dataset Dataset::subset(const std::vector<int>& rows) const {
  Dataset out;
  out.classes = classes;
  if (is_ratings()) {
    out.ratings.reserve(rows.size());
    for (int r : rows)
      out.ratings.push_back(ratings[r]);
    return out;
  }
  Features from = X();
  Eigen::MatrixXd picked(from.rows(), static_cast<Eigen::Index>(rows.size()));
  out.y.reserve(rows.size());
  for (std::size_t i = 0; i < rows.size(); ++i) {
    picked.col(static_cast<Eigen::Index>(i)) = from.col(rows[i]);
    out.y.push_back(y[rows[i]]);
  }
  out.set_features(std::move(picked));
  return out;
}

Dataset Dataset::slice(std::size_t first, std::size_t count) const {
  Dataset out;
  out.classes = classes;
  auto begin = static_cast<std::ptrdiff_t>(first), end = static_cast<std::ptrdiff_t>(first + count);
  if (is_ratings()) {
    out.ratings.assign(ratings.begin() + begin, ratings.begin() + end);
    return out;
  }
  out.y.assign(y.begin() + begin, y.begin() + end);
  out.features_ = features_;
  out.first_ = first_ + static_cast<Eigen::Index>(first);
  out.count_ = static_cast<Eigen::Index>(count);
  return out;
}

std::vector<double> Dataset::class_histogram() const {
  std::vector<double> h(classes, 0.0);
  for (int label : y)
    h[label] += 1;
  return h;
}

Dataset concat(const std::vector<const Dataset*>& parts) {
  Dataset out;
  if (parts.empty())
    return out;
  out.classes = parts.front()->classes;
  Eigen::Index cols = 0;
  for (const Dataset* d : parts) {
    out.ratings.insert(out.ratings.end(), d->ratings.begin(), d->ratings.end());
    out.y.insert(out.y.end(), d->y.begin(), d->y.end());
    cols += d->X().cols();
  }
  Eigen::MatrixXd features(parts.front()->X().rows(), cols);
  Eigen::Index at = 0;
  for (const Dataset* d : parts) {
    features.middleCols(at, d->X().cols()) = d->X();
    at += d->X().cols();
  }
  out.set_features(std::move(features));
  return out;
}

} // namespace geosim
