#include "sim/learning/dataset.hpp"

namespace geosim {

Dataset Dataset::subset(const std::vector<int>& rows) const {
  Dataset out;
  out.classes = classes;
  if (is_ratings()) {
    out.ratings.reserve(rows.size());
    for (int r : rows)
      out.ratings.push_back(ratings[r]);
    return out;
  }
  out.X.resize(X.rows(), static_cast<Eigen::Index>(rows.size()));
  out.y.reserve(rows.size());
  for (std::size_t i = 0; i < rows.size(); ++i) {
    out.X.col(static_cast<Eigen::Index>(i)) = X.col(rows[i]);
    out.y.push_back(y[rows[i]]);
  }
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
    cols += d->X.cols();
  }
  out.X.resize(parts.front()->X.rows(), cols);
  Eigen::Index at = 0;
  for (const Dataset* d : parts) {
    out.X.middleCols(at, d->X.cols()) = d->X;
    at += d->X.cols();
  }
  return out;
}

} // namespace geosim
