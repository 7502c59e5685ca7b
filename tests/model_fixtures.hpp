#pragma once
// Models built directly in tests (no simulation needed for their math).
#include "sim/learning/model.hpp"

namespace geosim::test {

/// A matrix-factorization model of `users` x `items` ratings.
inline std::unique_ptr<Model> mf_model(int users, int items, int rank, double l2, double init_scale,
                                       std::uint64_t seed) {
  ModelSpec spec;
  spec.kind = "mf";
  spec.rank = rank;
  spec.l2 = l2;
  spec.init_scale = init_scale;
  ModelShape shape;
  shape.users = users;
  shape.items = items;
  return make_model(spec, shape, seed);
}

} // namespace geosim::test
