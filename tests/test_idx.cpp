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
  CHECK(d.X(0, 0) == 0);
  CHECK(d.X(3, 2) == Approx(11 / 255.0)); // the last pixel of the last image
  CHECK(d.X(1, 1) == Approx(5 / 255.0));
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
