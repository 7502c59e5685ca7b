#include "sim/bench.hpp"

#include "sim/learning/generators.hpp"
#include "sim/learning/model.hpp"

#include <fmt/format.h>

#include <chrono>
#include <functional>

namespace geosim {
namespace {

/// Repeats `step` for about `seconds` and returns the GFLOP/s it sustained.
double gflops(double seconds, double flops_per_step, const std::function<void()>& step) {
  using Clock = std::chrono::steady_clock;
  step(); // warm-up
  long reps = 0;
  auto t0 = Clock::now();
  double elapsed = 0;
  while (elapsed < seconds) {
    step();
    ++reps;
    elapsed = std::chrono::duration<double>(Clock::now() - t0).count();
  }
  return flops_per_step * static_cast<double>(reps) / elapsed / 1e9;
}

struct Case {
  std::string label;
  ModelSpec spec;
  ModelShape shape;
  int batch;
};

} // namespace

int run_bench(double seconds) {
  const int n = 512;
  Eigen::MatrixXd a = Eigen::MatrixXd::Random(n, n), b = Eigen::MatrixXd::Random(n, n), c(n, n);
  double gemm = gflops(seconds, 2.0 * n * n * n, [&] { c.noalias() = a * b; });
  fmt::print("{:<34} {:>10.2f} GFLOP/s   (reference)\n", "Eigen GEMM 512x512 (double)", gemm);

  ModelSpec softmax, mlp, mf;
  mlp.kind = "mlp";
  mlp.hidden = {256};
  mf.kind = "mf";
  mf.rank = 50;
  ModelShape images{784, 10, 0, 0}, ratings{0, 0, 10000, 5000};
  std::vector<Case> cases = {{"softmax 784->10, batch 32", softmax, images, 32},
                             {"softmax 784->10, batch 256", softmax, images, 256},
                             {"mlp 784-256-10, batch 32", mlp, images, 32},
                             {"mlp 784-256-10, batch 256", mlp, images, 256},
                             {"mf rank 50, batch 1000 (sparse)", mf, ratings, 1000}};
  Rng rng(1);
  for (const auto& k : cases) {
    auto model = make_model(k.spec, k.shape, 1);
    Dataset batch;
    if (k.spec.kind == "mf") {
      RatingsSpec rs{k.shape.users, k.shape.items, 10, 0.001, 0.1};
      Dataset all = generate_ratings(rs, rng);
      std::vector<int> rows(k.batch);
      for (int i = 0; i < k.batch; ++i)
        rows[i] = i;
      batch = all.subset(rows);
    } else {
      MixtureSpec ms{k.shape.classes, k.shape.dims, 1, 3.0, 0};
      MixtureGenerator gen(ms, rng);
      batch = gen.sample(k.batch, std::vector<double>(k.shape.classes, 1.0), rng);
    }
    double g = gflops(seconds, model->gradient_flops(batch), [&] { model->apply(model->gradient(batch), -1e-6); });
    fmt::print("{:<34} {:>10.2f} GFLOP/s   {:>5.0f}% of GEMM\n", k.label, g, 100 * g / gemm);
  }
  return 0;
}

} // namespace geosim
