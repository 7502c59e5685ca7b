// The IDX loader (Fashion-MNIST's format) on small files the test writes itself, plain and gzipped, and
// the images workload built on it.
#include "sim/learning/idx.hpp"
#include "sim/learning/workload.hpp"
#include "sim/scenario.hpp"
#include "tests/helpers.hpp"

#include <catch2/catch.hpp>
#include <zlib.h>

#include <fstream>

using namespace geosim;
using namespace geosim::test;
using Catch::Matchers::Contains;

namespace {

std::string header(unsigned char type, std::vector<std::uint32_t> dims) {
  std::string h = {0, 0, static_cast<char>(type), static_cast<char>(dims.size())};
  for (auto d : dims)
    for (int shift : {24, 16, 8, 0})
      h += static_cast<char>((d >> shift) & 0xff);
  return h;
}

/// Three 2x2 images (pixel values 0..11) and their labels 2, 0, 1.
std::string images() {
  std::string s = header(0x08, {3, 2, 2});
  for (int v = 0; v < 12; ++v)
    s += static_cast<char>(v);
  return s;
}
std::string labels() { return header(0x08, {3}) + std::string{2, 0, 1}; }

void write_gz(const std::string& path, const std::string& bytes) {
  gzFile f = gzopen(path.c_str(), "wb");
  REQUIRE(f);
  REQUIRE(gzwrite(f, bytes.data(), static_cast<unsigned>(bytes.size())) == static_cast<int>(bytes.size()));
  gzclose(f);
}

} // namespace

TEST_CASE("the IDX loader reads images and labels, plain or gzipped", "[idx][workload]") {
  auto dir = temp_dir("idx");
  std::string x = write_text(dir / "x.idx", images()), y = (dir / "y.idx.gz").string();
  write_gz(y, labels());
  Dataset d = load_idx_images(x, y);
  REQUIRE(d.size() == 3);
  CHECK(d.dims() == 4);
  CHECK(d.y == std::vector<int>{2, 0, 1});
  CHECK(d.X()(0, 0) == 0);
  CHECK(d.X()(3, 2) == Approx(11 / 255.0)); // the last pixel of the last image
  CHECK(d.X()(1, 1) == Approx(5 / 255.0));
  Dataset first = load_idx_images(x, y, 2);
  CHECK(first.size() == 2);
  CHECK(read_idx_dims(x) == std::vector<std::uint32_t>{3, 2, 2});
}

TEST_CASE("the IDX loader says what is wrong with a file", "[idx][workload][errors]") {
  auto dir = temp_dir("idx-bad");
  auto fails = [&](const std::string& name, const std::string& bytes, const std::string& message) {
    std::string path = write_text(dir / name, bytes);
    CHECK_THROWS_WITH(read_idx(path), Contains(path) && Contains(message));
  };
  fails("text.idx", "hello, world", "is not an IDX file");
  fails("floats.idx", header(0x0d, {2}) + std::string(8, 'x'), "IDX type 0x0d; expected unsigned bytes");
  fails("short.idx", images().substr(0, 20), "ends inside its values");
  fails("empty.idx", header(0x08, {0, 2}), "declares dimension 0 of size 0");
  CHECK_THROWS_WITH(read_idx((dir / "missing.idx").string()), Contains("cannot be opened"));
  std::string x = write_text(dir / "x.idx", images()), y = write_text(dir / "y.idx", header(0x08, {2}) + "ab");
  CHECK_THROWS_WITH(load_idx_images(x, y), Contains("holds 2 labels for 3 images"));
}

TEST_CASE("an images workload reads its files relative to the scenario and deals the images to sites",
          "[idx][workload]") {
  auto dir = temp_dir("idx-workload");
  write_text(dir / "data" / "x.idx", images());
  write_text(dir / "data" / "y.idx", labels());
  json doc = json::parse(R"({"dataset": {"kind": "images", "images": "data/x.idx", "labels": "data/y.idx",
    "classes": 3}, "model": {"kind": "mlp", "hidden": [4]}, "test_fraction": 0.2})");
  Field f((dir / "scenario.json").string(), "workload", doc);
  PlatformSpec p = load_platform_spec("tests/data/ps-pair.json");
  WorkloadSpec spec = parse_workload(f, p);
  CHECK(spec.shape().dims == 4);
  CHECK(spec.raw_bytes_per_sample == 4); // an image's own bytes
  Workload w(spec, 2, 1);
  auto held = [&](int s) { return w.site(s, 0).train.size() + w.site(s, 0).test.size(); };
  CHECK(held(0) + held(1) == 3);
  CHECK(w.global_test().size() == w.site(0, 0).test.size() + w.site(1, 0).test.size());

  // With test images of its own, the global test set is those (the same on every platform).
  json with_test = doc;
  with_test["dataset"]["test_images"] = "data/x.idx";
  with_test["dataset"]["test_labels"] = "data/y.idx";
  with_test["dataset"]["test_samples"] = 2;
  Field g((dir / "scenario.json").string(), "workload", with_test);
  Workload t(parse_workload(g, p), 2, 1);
  REQUIRE(t.global_test().size() == 2);
  CHECK(t.global_test().y == std::vector<int>{2, 0});
}

namespace {

/// n 2x2 images whose pixels all hold `first + i` (so a test can tell which file an image came from),
/// labelled 0, 1, 2, 0, 1, 2, ...
std::pair<std::string, std::string> marked(std::uint32_t n, int first) {
  std::string x = header(0x08, {n, 2, 2}), y = header(0x08, {n});
  for (std::uint32_t i = 0; i < n; ++i) {
    x += std::string(4, static_cast<char>(first + static_cast<int>(i)));
    y += static_cast<char>(i % 3);
  }
  return {x, y};
}

bool from_file(const Dataset& d, int first, int last) {
  for (Eigen::Index j = 0; j < d.X().cols(); ++j) {
    double v = d.X()(0, j) * 255;
    if (v < first - 0.5 || v > last + 0.5)
      return false;
  }
  return true;
}

} // namespace

TEST_CASE("images drift: per-site class mixes, a trend that travels, fresh training and test images",
          "[idx][workload][drift]") {
  auto dir = temp_dir("idx-drift");
  auto [x, y] = marked(60, 0);       // training images: pixels 0..59
  auto [tx, ty] = marked(30, 200);   // test images: pixels 200..229
  write_text(dir / "x.idx", x);
  write_text(dir / "y.idx", y);
  write_text(dir / "tx.idx", tx);
  write_text(dir / "ty.idx", ty);
  json doc = json::parse(R"({"dataset": {"kind": "images", "images": "x.idx", "labels": "y.idx",
    "test_images": "tx.idx", "test_labels": "ty.idx", "classes": 3}, "model": {"kind": "softmax"},
    "partition": {"kind": "label_skew", "classes_per_site": 1, "sites": "edge"}, "test_fraction": 0.25,
    "drift": [{"trend": {"classes": [2], "sites": ["c1", "c2"], "start_s": 100, "every_s": 50}}]})");
  Field f((dir / "scenario.json").string(), "workload", doc);
  PlatformSpec p = load_platform_spec("tests/data/hub-3.json");
  Workload w(parse_workload(f, p), 4, 7);
  int c1 = p.site_index("c1"), c2 = p.site_index("c2"), c3 = p.site_index("c3");
  auto hist = [&](int s, double t, bool test) {
    const SiteData& d = w.site(s, t);
    return (test ? d.test : d.train).class_histogram();
  };
  // Label skew, round robin: c1 sees class 0, c2 class 1, c3 class 2, 20 images each.
  CHECK(hist(c1, 0, false) == std::vector<double>{15, 0, 0});
  CHECK(hist(c1, 0, true) == std::vector<double>{5, 0, 0});
  CHECK(hist(c2, 0, false) == std::vector<double>{0, 15, 0});
  CHECK(hist(c3, 0, false) == std::vector<double>{0, 0, 15});
  CHECK(w.site(c2, 99).class_share == std::vector<double>{0, 1, 0});

  // At 100 s the trend reaches c1: half of its data becomes class 2, drawn afresh, as many images as
  // before; its training images still come from the training file, its test images from the test file.
  const SiteData& d1 = w.site(c1, 100);
  CHECK(d1.class_share == std::vector<double>{0.5, 0, 0.5});
  CHECK(d1.train.size() == 15);
  CHECK(d1.test.size() == 5);
  auto h = d1.train.class_histogram();
  CHECK(h[0] > 0);
  CHECK(h[1] == 0);
  CHECK(h[2] > 0);
  CHECK(from_file(d1.train, 0, 59));
  CHECK(from_file(d1.test, 200, 229));
  // c2 follows 50 s later; c3 never drifts.
  CHECK(w.site(c2, 120).class_share == std::vector<double>{0, 1, 0});
  CHECK(w.site(c2, 150).class_share == std::vector<double>{0, 0.5, 0.5});
  CHECK(w.site(c3, 500).class_share == std::vector<double>{0, 0, 1});

  // The same seed draws the same images.
  Field g((dir / "scenario.json").string(), "workload", doc);
  Workload again(parse_workload(g, p), 4, 7);
  CHECK(again.site(c1, 100).train.X() == w.site(c1, 100).train.X());
  CHECK(again.site(c1, 100).test.y == w.site(c1, 100).test.y);

  // Two test images (classes 0 and 1) leave the drift's class 2 nothing to be tested on.
  json few = doc;
  few["dataset"]["test_samples"] = 2;
  // Refused while parsing, so `geosim validate` refuses it, from the label files alone.
  Field limited((dir / "scenario.json").string(), "workload", few);
  CHECK_THROWS_AS(parse_workload(limited, p), InputError);
  Field limited2((dir / "scenario.json").string(), "workload", few);
  CHECK_THROWS_WITH(parse_workload(limited2, p),
                    Contains("scenario.json: workload.drift: no test image of class 2 in") &&
                        Contains("which drifting sites may see"));
  // A drift adding a class that no training image has is refused the same way.
  json absent = doc;
  absent["dataset"]["samples"] = 2; // the training file's first two images: classes 0 and 1 only
  Field no_class((dir / "scenario.json").string(), "workload", absent);
  CHECK_THROWS_WITH(parse_workload(no_class, p), Contains("no training image of class 2 in"));
}
