// Models: gradients against finite differences, flop counts against an independent count, learning on
// problems with known answers, and class slices.
#include "sim/learning/model.hpp"
#include "tests/model_fixtures.hpp"

#include <catch2/catch.hpp>

#include <random>

using namespace geosim;

namespace {

Dataset random_classification(int dims, int classes, int n, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> g(0, 1);
  Dataset d;
  d.classes = classes;
  Eigen::MatrixXd X(dims, n);
  for (Eigen::Index k = 0; k < X.size(); ++k)
    X.data()[k] = g(rng);
  d.set_features(std::move(X));
  for (int i = 0; i < n; ++i)
    d.y.push_back(static_cast<int>(rng() % classes));
  return d;
}

Dataset random_ratings(int users, int items, int n, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> g(0, 1);
  Dataset d;
  for (int i = 0; i < n; ++i)
    d.ratings.push_back({static_cast<int>(rng() % users), static_cast<int>(rng() % items), g(rng)});
  return d;
}

Eigen::VectorXd dense_of(const Update& u, std::size_t size) {
  if (u.dense)
    return u.values;
  Eigen::VectorXd out = Eigen::VectorXd::Zero(static_cast<Eigen::Index>(size));
  for (std::size_t i = 0; i < u.index.size(); ++i)
    out[u.index[i]] = u.values[static_cast<Eigen::Index>(i)];
  return out;
}

/// Central differences of the objective against the analytic gradient, over every parameter.
double gradient_error(Model& m, const Dataset& batch) {
  Eigen::VectorXd analytic = dense_of(m.gradient(batch), m.size());
  Eigen::VectorXd numeric(analytic.size());
  const double h = 1e-5;
  for (Eigen::Index k = 0; k < numeric.size(); ++k) {
    double keep = m.parameters()[k];
    m.parameters()[k] = keep + h;
    double up = m.objective(batch);
    m.parameters()[k] = keep - h;
    double down = m.objective(batch);
    m.parameters()[k] = keep;
    numeric[k] = (up - down) / (2 * h);
  }
  return (analytic - numeric).norm() / std::max(1e-12, analytic.norm() + numeric.norm());
}

} // namespace

TEST_CASE("gradients match finite differences", "[models]") {
  Dataset cls = random_classification(7, 4, 20, 1);
  SECTION("softmax regression") {
    ModelSpec spec;
    spec.l2 = 0.01;
    auto m = make_model(spec, {7, 4}, 3);
    m->parameters().setRandom(); // away from the zero start, where every class looks alike
    CHECK(gradient_error(*m, cls) < 1e-5);
  }
  SECTION("MLP, one hidden layer") {
    ModelSpec spec{"mlp", 0.01, {6}, 10, 0.1, 4};
    auto m = make_model(spec, {7, 4}, 3);
    m->parameters().setRandom(); // non-zero biases: no pre-activation sits exactly on a ReLU kink
    CHECK(gradient_error(*m, cls) < 1e-5);
  }
  SECTION("MLP, two hidden layers") {
    ModelSpec spec{"mlp", 0.01, {6, 5}, 10, 0.1, 4};
    auto m = make_model(spec, {7, 4}, 3);
    m->parameters().setRandom();
    CHECK(gradient_error(*m, cls) < 1e-5);
  }
  SECTION("matrix factorization (sparse)") {
    auto m = geosim::test::mf_model(5, 4, 3, 0.05, 0.5, 3);
    Dataset r = random_ratings(5, 4, 12, 2);
    Update u = m->gradient(r);
    CHECK_FALSE(u.dense);
    CHECK(std::is_sorted(u.index.begin(), u.index.end()));
    CHECK(gradient_error(*m, r) < 1e-5);
  }
}

namespace {

/// Operation tallies of naive loop implementations, written independently of the models' formulas and
/// following the convention in model.hpp (multiply-add 2, anything else 1).
double naive_dense_gradient_flops(const std::vector<int>& sizes, int B) {
  double f = 0;
  int L = static_cast<int>(sizes.size()) - 1, C = sizes.back();
  for (int l = 0; l < L; ++l)
    for (int s = 0; s < B; ++s)
      for (int o = 0; o < sizes[l + 1]; ++o) {
        for (int i = 0; i < sizes[l]; ++i)
          f += 2;                 // acc += w * a
        f += 1;                   // + bias
        f += (l + 1 < L) ? 1 : 0; // ReLU
      }
  for (int s = 0; s < B; ++s)
    for (int c = 0; c < C; ++c)
      f += 5; // max, subtract, exp, sum, divide
  f += B;     // p[y] -= 1
  f += C * B; // divide by B
  for (int l = L - 1; l >= 0; --l) {
    for (int o = 0; o < sizes[l + 1]; ++o)
      for (int i = 0; i < sizes[l]; ++i) {
        for (int s = 0; s < B; ++s)
          f += 2; // dW += g * a
        f += 2;   // + l2 * w
      }
    for (int o = 0; o < sizes[l + 1]; ++o)
      for (int s = 0; s < B; ++s)
        f += 1; // db += g
    if (l > 0)
      for (int i = 0; i < sizes[l]; ++i)
        for (int s = 0; s < B; ++s) {
          for (int o = 0; o < sizes[l + 1]; ++o)
            f += 2; // back-propagated g += w * g
          f += 1;   // ReLU mask
        }
  }
  return f;
}

double naive_dense_evaluate_flops(const std::vector<int>& sizes, int n) {
  int L = static_cast<int>(sizes.size()) - 1, C = sizes.back();
  double f = 0;
  for (int l = 0; l < L; ++l)
    f += static_cast<double>(n) * sizes[l + 1] * (2.0 * sizes[l] + 1 + (l + 1 < L ? 1 : 0));
  for (int s = 0; s < n; ++s) {
    for (int c = 0; c < C; ++c)
      f += 4; // max (and argmax), subtract, exp, sum
    f += 1;   // log
    f += 3;   // loss += log_sum - (z_y - max)
    f += 1;   // correct += (argmax == y)
  }
  return f;
}

} // namespace

TEST_CASE("flop counts match an independent count", "[models][flops]") {
  Dataset cls = random_classification(5, 3, 4, 1);
  for (auto hidden : std::vector<std::vector<int>>{{}, {6}, {6, 4}}) {
    ModelSpec spec;
    spec.kind = hidden.empty() ? "softmax" : "mlp";
    spec.hidden = hidden;
    auto m = make_model(spec, {5, 3}, 1);
    std::vector<int> sizes = {5};
    sizes.insert(sizes.end(), hidden.begin(), hidden.end());
    sizes.push_back(3);
    INFO(spec.kind << " with " << hidden.size() << " hidden layers");
    CHECK(m->gradient_flops(cls) == naive_dense_gradient_flops(sizes, 4));
    CHECK(m->evaluate_flops(cls) == naive_dense_evaluate_flops(sizes, 4));
    CHECK(m->apply_flops(m->gradient(cls)) == 2.0 * static_cast<double>(m->size()));
  }
  SECTION("matrix factorization") {
    ModelSpec defaults;
    auto m = geosim::test::mf_model(4, 4, 3, defaults.l2, defaults.init_scale, 1);
    Dataset r = random_ratings(4, 4, 6, 1);
    // Per rating: dot product 2r, error 1; per factor err * x, l2 * y, add, scale by 1/B (4r) and
    // accumulation into the update (r).
    CHECK(m->gradient_flops(r) == 6 * (2 * 3 + 1 + 2 * (4 * 3) + 2 * 3));
    CHECK(m->evaluate_flops(r) == 6 * (2 * 3 + 3) + 2);
  }
}
