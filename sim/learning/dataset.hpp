#pragma once
// Data as the models see it: classification samples as the columns of a matrix (so a batch is one
// matrix product away from its logits), or sparse ratings for matrix factorization.
#include <Eigen/Dense>

#include <cstdint>
#include <memory>
#include <vector>

namespace geosim {

struct Rating {
  std::int32_t user;
  std::int32_t item;
  double value;
};

struct Dataset {
  std::vector<int> y;          ///< label per sample (classification)
  std::vector<Rating> ratings; ///< observed entries (matrix factorization)
  int classes = 0;             ///< 0 for rating data

  /// Features x samples (classification). The features are the bulk of a data set (784 values an image
  /// against one label), so the data sets cut from one pool (every site's train and test sets, the
  /// global test set) are views of columns of one shared matrix, not copies.
  using Features = Eigen::Block<const Eigen::MatrixXd, Eigen::Dynamic, Eigen::Dynamic, true>;
  Features X() const;
  /// Makes `features` this data set's own: its samples are their columns.
  void set_features(Eigen::MatrixXd features);

  bool is_ratings() const { return classes == 0; }
  std::size_t size() const { return is_ratings() ? ratings.size() : y.size(); }
  int dims() const { return static_cast<int>(X().rows()); }

  /// The samples at the given positions, in that order (a copy).
  Dataset subset(const std::vector<int>& rows) const;
  /// Samples first to first + count - 1, viewing this data set's features (ratings are copied).
  Dataset slice(std::size_t first, std::size_t count) const;
  /// Count of samples per class (classification only).
  std::vector<double> class_histogram() const;

private:
  std::shared_ptr<const Eigen::MatrixXd> features_; ///< null: no features
  Eigen::Index first_ = 0, count_ = 0;              ///< the columns of features_ this data set holds
};

/// The samples of several data sets of one kind, one after another.
Dataset concat(const std::vector<const Dataset*>& parts);

} // namespace geosim
