// Workloads: partitions over sites, drift schedules and validation of scenario.workload.
#include "sim/learning/workload.hpp"
#include "sim/scenario.hpp"
#include "tests/helpers.hpp"

#include <catch2/catch.hpp>

using namespace geosim;
using namespace geosim::test;
using Catch::Matchers::Contains;

namespace {

PlatformSpec edge() { return load_platform_spec("platforms/edge-star.json"); }

WorkloadSpec parse(const std::string& text, const PlatformSpec& p) {
  json doc = json::parse(text);
  Field f("scenario.json", "workload", doc);
  return parse_workload(f, p);
}

int classes_present(const Dataset& d) {
  auto h = d.class_histogram();
  return static_cast<int>(std::count_if(h.begin(), h.end(), [](double x) { return x > 0; }));
}

} // namespace

TEST_CASE("label skew gives each data site its k classes; the hub holds none", "[workload]") {
  auto p = edge();
  auto spec = parse(R"({"dataset": {"kind": "mixture", "classes": 10, "dims": 5, "samples": 4000},
    "model": {"kind": "softmax"}, "partition": {"kind": "label_skew", "classes_per_site": 2, "sites": "edge"}})",
                    p);
  REQUIRE(spec.partition.sites.size() == 20);
  Workload w(spec, 21, 1);
  CHECK_FALSE(w.holds_data(0));
  for (int s = 1; s <= 20; ++s) {
    INFO("site " << s);
    CHECK(classes_present(w.site(s, 0).train) == 2);
  }
  CHECK(classes_present(w.global_test()) == 10);
}

TEST_CASE("the sites' data and the global test set are views of one copy of the pool", "[workload]") {
  auto p = edge();
  auto spec = parse(R"({"dataset": {"kind": "mixture", "classes": 10, "dims": 5, "samples": 4000},
    "model": {"kind": "softmax"}, "partition": {"kind": "iid", "sites": "edge"}, "test_fraction": 0.25})",
                    p);
  Workload w(spec, 21, 1);
  // The pool is laid out as every site's test samples, site by site, then every site's training samples.
  const double* at = w.global_test().X().data();
  std::size_t tests = 0;
  for (int s = 1; s <= 20; ++s) {
    INFO("site " << s);
    CHECK(w.site(s, 0).test.X().data() == at + 5 * tests);
    tests += w.site(s, 0).test.size();
  }
  CHECK(tests == w.global_test().size());
  std::size_t trains = 0;
  for (int s = 1; s <= 20; ++s) {
    CHECK(w.site(s, 0).train.X().data() == at + 5 * (tests + trains));
    trains += w.site(s, 0).train.size();
  }
  CHECK(tests + trains == 4000);
  // A view holds the same samples as a copy of those rows.
  const Dataset& site3 = w.site(3, 0).train;
  Dataset copy = site3.subset({0, 1, 2});
  CHECK(copy.X() == site3.X().leftCols(3));
  CHECK(copy.X().data() != site3.X().data());
  CHECK(std::vector<int>(site3.y.begin(), site3.y.begin() + 3) == copy.y);
}

TEST_CASE("Dirichlet partitions skew more as alpha shrinks", "[workload]") {
  auto p = edge();
  auto skew = [&](double alpha) {
    auto spec = parse(R"({"dataset": {"kind": "mixture", "classes": 10, "dims": 5, "samples": 6000},
      "model": {"kind": "softmax"}, "partition": {"kind": "dirichlet", "alpha": )" +
                          std::to_string(alpha) + R"(, "sites": "edge"}})",
                      p);
    Workload w(spec, 21, 3);
    double top = 0; // mean share of each site's most common class
    for (int s = 1; s <= 20; ++s) {
      auto share = w.site(s, 0).class_share;
      top += *std::max_element(share.begin(), share.end()) / 20;
    }
    return top;
  };
  CHECK(skew(0.1) > skew(100) + 0.3);
}

TEST_CASE("natural partitions keep Synthetic's devices together; power-law sizes are unequal", "[workload]") {
  auto p = edge();
  auto natural = parse(R"({"dataset": {"kind": "synthetic", "devices": 20}, "model": {"kind": "softmax"},
                           "partition": {"kind": "natural", "sites": "edge"}, "test_fraction": 0.1})",
                       p);
  Workload w(natural, 21, 2);
  std::size_t total = 0, largest = 0, smallest = SIZE_MAX;
  for (int s = 1; s <= 20; ++s) {
    std::size_t n = w.site(s, 0).train.size() + w.site(s, 0).test.size();
    total += n;
    largest = std::max(largest, n);
    smallest = std::min(smallest, n);
  }
  CHECK(smallest >= 50);
  CHECK(largest > 3 * smallest);
  auto power = parse(R"({"dataset": {"kind": "ratings", "users": 100, "items": 80}, "model": {"kind": "mf"},
                         "partition": {"kind": "iid", "sizes": "power_law", "power": 1.5}})",
                     p);
  Workload r(power, 21, 2);
  std::vector<std::size_t> sizes;
  for (int s = 0; s < 21; ++s)
    sizes.push_back(r.site(s, 0).train.size());
  CHECK(*std::max_element(sizes.begin(), sizes.end()) > 10 * *std::min_element(sizes.begin(), sizes.end()));
}

TEST_CASE("drift changes a site's data and test set at its time, and trends travel", "[workload][drift]") {
  auto p = edge();
  auto spec = parse(R"({"dataset": {"kind": "mixture", "classes": 6, "dims": 4, "samples": 3000},
    "model": {"kind": "softmax"}, "partition": {"kind": "label_skew", "classes_per_site": 1, "sites": "edge"},
    "drift": [{"trend": {"classes": [5], "sites": ["edge-01", "edge-02"], "start_s": 100, "every_s": 50}},
              {"at_s": 300, "site": "edge-03", "like_site": "edge-01"}]})",
                    p);
  REQUIRE(spec.drift.size() == 3);
  Workload w(spec, 21, 4);
  int e1 = p.site_index("edge-01"), e2 = p.site_index("edge-02"), e3 = p.site_index("edge-03");
  auto share5 = [&](int s, double t) { return w.site(s, t).class_share[5]; };
  CHECK(share5(e1, 0) == 0);
  CHECK(share5(e1, 100) == Approx(0.5));
  CHECK(w.site(e1, 100).test.class_histogram()[5] > 0); // the local test set follows the new distribution
  CHECK(share5(e2, 120) == 0);                          // the trend has not reached edge-02 yet
  CHECK(share5(e2, 150) == Approx(0.5));
  CHECK(w.site(e3, 300).class_share == w.site(e1, 300).class_share);
}

TEST_CASE("bad workloads name the field", "[workload][input]") {
  auto p = edge();
  auto fails = [&](const std::string& text, const std::string& message) {
    CHECK_THROWS_WITH(parse(text, p), Contains(message));
  };
  fails(R"({"dataset": {"kind": "video"}, "model": {"kind": "softmax"}})",
        "workload.dataset.kind: expected one of \"synthetic\", \"mixture\", \"ratings\", \"images\"");
  fails(R"({"dataset": {"kind": "images", "images": "/no/such/images.gz"}, "model": {"kind": "mlp", "hidden": [4]}})",
        "workload.dataset.images: expected an IDX file of unsigned bytes");
  fails(R"({"dataset": {"kind": "ratings"}, "model": {"kind": "softmax"}})", "workload.model.kind: expected \"mf\"");
  fails(R"({"dataset": {"kind": "mixture"}, "model": {"kind": "mlp"}})", "workload.model.hidden: required field");
  fails(R"({"dataset": {"kind": "mixture", "classes": 3}, "model": {"kind": "softmax"},
            "drift": [{"at_s": 1, "site": "edge-01", "add_classes": [3]}]})",
        "workload.drift[0].add_classes[0]: expected an integer in [0, 2]");
  fails(R"({"dataset": {"kind": "mixture"}, "model": {"kind": "softmax"},
            "partition": {"kind": "iid", "sites": "edge"}, "drift": [{"at_s": 1, "site": "cloud", "add_classes": [1]}]})",
        "workload.drift[0].site: expected a site that holds data");
  fails(R"({"dataset": {"kind": "synthetic"}, "model": {"kind": "softmax"}, "drift": []})",
        "workload.drift: expected no drift");
  fails(R"({"dataset": {"kind": "mixture", "separaton": 2}, "model": {"kind": "softmax"}})",
        "workload.dataset.separaton: unknown field");
}

TEST_CASE("geosim validate checks a scenario's workload", "[workload][input]") {
  auto dir = temp_dir("workload");
  write_text(dir / "platform.json", read_text("platforms/edge-star.json"));
  auto scenario = write_text(dir / "s.json", R"({"platform": "platform.json",
    "workload": {"dataset": {"kind": "mixture", "dims": -3}, "model": {"kind": "softmax"}},
    "strategy": {"name": "traffic", "flows": [{"from": "cloud-w0", "to": "edge-01-w0", "bytes": 1}]}})");
  auto r = run_geosim("validate " + scenario);
  CHECK(r.status == 2);
  CHECK_THAT(r.err, Contains("s.json: workload.dataset.dims: expected an integer in [1, 1000000], got -3"));
}
