// Learning on problems with known answers, class slices, dataset generators, partitions and drift.
#include "sim/learning/generators.hpp"
#include "sim/learning/model.hpp"
#include "sim/learning/workload.hpp"
#include "sim/scenario.hpp"
#include "tests/helpers.hpp"
#include "tests/model_fixtures.hpp"

#include <catch2/catch.hpp>

#include <numeric>

using namespace geosim;
using Catch::Matchers::Contains;

namespace {

/// Plain minibatch SGD over shuffled epochs.
void sgd(Model& m, const Dataset& data, int epochs, int batch, double lr, std::uint64_t seed) {
  Rng rng(seed);
  std::vector<int> order(data.size());
  std::iota(order.begin(), order.end(), 0);
  for (int e = 0; e < epochs; ++e) {
    std::shuffle(order.begin(), order.end(), rng);
    for (std::size_t at = 0; at < order.size(); at += batch) {
      std::vector<int> rows(order.begin() + at, order.begin() + std::min(order.size(), at + batch));
      m.apply(m.gradient(data.subset(rows)), -lr);
    }
  }
}

Dataset mixture(const MixtureSpec& spec, int n, std::uint64_t seed, MixtureGenerator** keep = nullptr) {
  Rng rng(seed);
  static std::vector<std::unique_ptr<MixtureGenerator>> generators;
  generators.push_back(std::make_unique<MixtureGenerator>(spec, rng));
  if (keep)
    *keep = generators.back().get();
  return generators.back()->sample(n, std::vector<double>(spec.classes, 1.0), rng);
}

ModelSpec model_spec(const std::string& kind, std::vector<int> hidden = {}) {
  ModelSpec s;
  s.kind = kind;
  s.hidden = std::move(hidden);
  return s;
}

} // namespace

TEST_CASE("softmax regression separates a well-separated mixture", "[learning]") {
  MixtureSpec spec{5, 10, 1, 8.0, 0};
  Dataset train = mixture(spec, 3000, 1), test;
  Rng rng(2);
  auto m = make_model(model_spec("softmax"), {10, 5}, 1);
  CHECK(m->evaluate(train).accuracy < 0.5); // untrained: one class for all
  sgd(*m, train, 5, 32, 0.1, 3);
  MixtureGenerator* gen = nullptr;
  mixture(spec, 10, 1, &gen);
  test = gen->sample(2000, std::vector<double>(5, 1.0), rng);
  CHECK(m->evaluate(test).accuracy > 0.95);
}

TEST_CASE("matrix factorization recovers a low-rank matrix to near its noise level", "[learning]") {
  RatingsSpec spec{200, 150, 4, 0.3, 0.1};
  Rng rng(1);
  Dataset all = generate_ratings(spec, rng);
  std::vector<int> train_rows, test_rows;
  for (int i = 0; i < static_cast<int>(all.size()); ++i)
    (i % 10 == 0 ? test_rows : train_rows).push_back(i);
  Dataset train = all.subset(train_rows), test = all.subset(test_rows);
  auto m = geosim::test::mf_model(200, 150, 4, 0.01, ModelSpec{}.init_scale, 1);
  double before = m->evaluate(test).loss;
  sgd(*m, train, 60, 16, 0.5, 2);
  double rmse = m->evaluate(test).loss;
  INFO("RMSE before " << before << ", after " << rmse);
  CHECK(before > 0.9);
  CHECK(rmse < 0.2); // noise sd 0.1; ratings have unit scale
}

TEST_CASE("an MLP beats softmax regression on a non-linear problem", "[learning]") {
  MixtureSpec spec{2, 2, 4, 16.0, 0}; // two classes of four clusters each in the plane: not linearly separable
  MixtureGenerator* gen = nullptr;
  Dataset train = mixture(spec, 4000, 7, &gen);
  Rng rng(8);
  Dataset test = gen->sample(2000, {1.0, 1.0}, rng);
  auto linear = make_model(model_spec("softmax"), {2, 2}, 1);
  auto mlp = make_model(model_spec("mlp", {32}), {2, 2}, 1);
  sgd(*linear, train, 20, 32, 0.1, 3);
  sgd(*mlp, train, 40, 32, 0.05, 3);
  double lin = linear->evaluate(test).accuracy, deep = mlp->evaluate(test).accuracy;
  INFO("softmax " << lin << ", mlp " << deep);
  CHECK(lin < 0.65); // a line cannot split interleaved clusters
  CHECK(deep > lin + 0.2);
}

TEST_CASE("a class slice carries those classes' predictions from one model to another", "[learning][slices]") {
  MixtureSpec spec{4, 6, 1, 6.0, 0};
  Dataset data = mixture(spec, 400, 3);
  for (auto hidden : std::vector<std::vector<int>>{{}, {8}}) {
    auto source = make_model(model_spec(hidden.empty() ? "softmax" : "mlp", hidden), {6, 4}, 1);
    sgd(*source, data, 2, 16, 0.1, 1);
    auto target = source->clone();
    target->parameters().setRandom();
    // Same hidden layers, different output rows: the imported rows must restore classes 1 and 3 exactly.
    if (!hidden.empty())
      target->parameters().head(6 * 8 + 8) = source->parameters().head(6 * 8 + 8);
    ModelSlice slice = source->export_slice({1, 3});
    CHECK(slice.wire_bytes() == 2 * ((hidden.empty() ? 6 : 8) + 1) * 4.0 + 2 * 4.0);
    target->import_slice(slice);
    Eigen::MatrixXd a = source->logits(data), b = target->logits(data);
    CHECK((a.row(1) - b.row(1)).norm() < 1e-12);
    CHECK((a.row(3) - b.row(3)).norm() < 1e-12);
    CHECK((a.row(0) - b.row(0)).norm() > 1e-3); // the others were not touched
  }
}

TEST_CASE("generators are deterministic from the seed", "[generators]") {
  SyntheticSpec s;
  std::vector<int> d1, d2, d3;
  Rng r1(5), r2(5), r3(6);
  Dataset a = generate_synthetic(s, r1, d1), b = generate_synthetic(s, r2, d2), c = generate_synthetic(s, r3, d3);
  CHECK(a.X() == b.X());
  CHECK(a.y == b.y);
  CHECK(d1 == d2);
  CHECK_FALSE((a.X().cols() == c.X().cols() && a.X() == c.X()));
  RatingsSpec rs{50, 40, 3, 0.2, 0.1};
  Rng q1(1), q2(1), q3(2);
  auto ra = generate_ratings(rs, q1), rb = generate_ratings(rs, q2), rc = generate_ratings(rs, q3);
  REQUIRE(ra.size() == rb.size());
  CHECK(std::equal(ra.ratings.begin(), ra.ratings.end(), rb.ratings.begin(), [](const Rating& x, const Rating& y) {
    return x.user == y.user && x.item == y.item && x.value == y.value;
  }));
  CHECK(ra.size() != rc.size());
}

TEST_CASE("Synthetic(alpha, beta) has power-law device sizes and Sigma_jj = j^-1.2", "[generators]") {
  SyntheticSpec s;
  s.iid = true; // x ~ N(0, Sigma): feature variances are Sigma's diagonal
  s.devices = 200;
  std::vector<int> device;
  Rng rng(11);
  Dataset d = generate_synthetic(s, rng, device);
  std::vector<double> counts(s.devices, 0);
  for (int k : device)
    counts[k] += 1;
  std::sort(counts.begin(), counts.end());
  CHECK(counts.front() >= 50); // lognormal(4, 2) + 50
  double median = counts[counts.size() / 2];
  CHECK(median > 50 + 0.6 * std::exp(4.0)); // the lognormal's median is e^4 ~ 55
  CHECK(median < 50 + 1.6 * std::exp(4.0));
  CHECK(counts.back() > 10 * median); // heavy tail
  for (int j : {0, 9, 59}) {
    double var = d.X().row(j).squaredNorm() / static_cast<double>(d.X().cols());
    double expected = std::pow(j + 1.0, -1.2);
    INFO("feature " << j);
    CHECK(var == Approx(expected).epsilon(0.1));
  }
  std::vector<double> per_class(s.classes, 0);
  for (int y : d.y)
    per_class[y] += 1;
  CHECK(*std::min_element(per_class.begin(), per_class.end()) > 0);
}
