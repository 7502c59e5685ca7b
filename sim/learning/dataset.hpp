#pragma once
// Data as the models see it: classification samples as the columns of a matrix (so a batch is one
// matrix product away from its logits), or sparse ratings for matrix factorization.
#include <Eigen/Dense>

#include <cstdint>
#include <vector>

namespace geosim {

struct Rating {
  std::int32_t user;
  std::int32_t item;
  double value;
};

struct Dataset {
  Eigen::MatrixXd X;           ///< features x samples (classification)
  std::vector<int> y;          ///< label per sample (classification)
  std::vector<Rating> ratings; ///< observed entries (matrix factorization)
  int classes = 0;             ///< 0 for rating data

  bool is_ratings() const { return classes == 0; }
  std::size_t size() const { return is_ratings() ? ratings.size() : y.size(); }
  int dims() const { return static_cast<int>(X.rows()); }

  /// The samples at the given positions, in that order.
  Dataset subset(const std::vector<int>& rows) const;
  /// Count of samples per class (classification only).
  std::vector<double> class_histogram() const;
};

/// The samples of several data sets of one kind, one after another.
Dataset concat(const std::vector<const Dataset*>& parts);

} // namespace geosim
