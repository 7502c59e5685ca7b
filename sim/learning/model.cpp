#include "sim/learning/model.hpp"

#include <stdexcept>

namespace geosim {

void Model::apply(const Update& u, double scale) {
  if (u.dense) {
    params_ += scale * u.values;
    return;
  }
  for (std::size_t i = 0; i < u.index.size(); ++i)
    params_[u.index[i]] += scale * u.values[static_cast<Eigen::Index>(i)];
}

Update Model::local_pass(const Dataset& data, double, Eigen::VectorXd&, double& flops) {
  Update g = gradient(data);
  g.values *= static_cast<double>(data.size()); // gradient() is a mean; the pass sums
  flops += training_flops(data) + static_cast<double>(g.entries());
  return g;
}

Eigen::MatrixXd Model::logits(const Dataset&) const { throw std::logic_error(kind() + " models have no logits"); }

ModelSlice Model::export_slice(const std::vector<int>&) const {
  throw std::logic_error(kind() + " models have no class slices");
}

void Model::import_slice(const ModelSlice&) { throw std::logic_error(kind() + " models have no class slices"); }

} // namespace geosim
