#include "sim/protocols/significance.hpp"

#include <cmath>

namespace geosim {

const std::vector<double>& SignificanceCounter::thresholds() {
  static const std::vector<double> t = {0.1, 0.05, 0.01, 0.005, 0.001, 0.0005, 0.0001};
  return t;
}

SignificanceCounter::SignificanceCounter(std::size_t parameters)
    : accum_(thresholds().size(), Eigen::VectorXd::Zero(static_cast<Eigen::Index>(parameters))),
      significant_(thresholds().size(), 0.0) {}

void SignificanceCounter::clock(const std::vector<std::int64_t>& keys, const std::vector<double>& changes,
                                const std::vector<double>& values, double parameters) {
  parameter_clocks_ += parameters;
  for (std::size_t t = 0; t < accum_.size(); ++t) {
    double threshold = thresholds()[t];
    Eigen::VectorXd& acc = accum_[t];
    for (std::size_t i = 0; i < keys.size(); ++i) {
      if (changes[i] == 0)
        continue;
      double& a = acc[keys[i]];
      a += changes[i];
      double v = values[i];
      if (std::abs(a) > threshold * std::abs(v) || v == 0) {
        significant_[t] += 1;
        a = 0;
      }
    }
  }
}

std::vector<double> SignificanceCounter::insignificant_share() const {
  std::vector<double> out;
  for (double s : significant_)
    out.push_back(parameter_clocks_ > 0 ? 1 - s / parameter_clocks_ : 1.0);
  return out;
}

void SignificanceCounter::merge(const SignificanceCounter& other) {
  parameter_clocks_ += other.parameter_clocks_;
  for (std::size_t t = 0; t < significant_.size(); ++t)
    significant_[t] += other.significant_[t];
}

nlohmann::json SignificanceCounter::to_json() const {
  return {{"thresholds", thresholds()},
          {"insignificant_share", insignificant_share()},
          {"parameter_clocks", parameter_clocks_}};
}

OriginTally::OriginTally(std::size_t parameters, std::size_t shards)
    : open_(Eigen::VectorXd::Zero(static_cast<Eigen::Index>(parameters))), changed_(shards), counter_(parameters) {}

void OriginTally::add(std::size_t shard, std::int64_t key, double change) {
  if (change == 0)
    return;
  if (open_[key] == 0) // a key whose changes cancelled out is listed twice; it reads 0 the second time
    changed_[shard].push_back(key);
  open_[key] += change;
}

void OriginTally::close(std::size_t shard, const std::vector<double>& values, double shard_parameters) {
  std::vector<double> changes;
  changes.reserve(changed_[shard].size());
  for (auto key : changed_[shard]) {
    changes.push_back(open_[key]);
    open_[key] = 0;
  }
  counter_.clock(changed_[shard], changes, values, shard_parameters);
  changed_[shard].clear();
}

} // namespace geosim
