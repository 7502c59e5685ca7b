#include "sim/evaluation.hpp"

#include <chrono>

namespace geosim {

Metrics Evaluation::judge(const Model& model, const Dataset& test) {
  auto start = std::chrono::steady_clock::now();
  Metrics m = model.evaluate(test);
  host_seconds_ += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  ++passes_;
  return m;
}

} // namespace geosim
