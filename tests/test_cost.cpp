// Money: what a run costs under a price list (platforms/prices/*.json), against hand-computed figures,
// and price lists that are wrong.
#include "tests/helpers.hpp"

#include <catch2/catch.hpp>

#include <filesystem>

using namespace geosim::test;

namespace {

// two-sites: a (two hosts) and b (one host), both data centers, regions named after them.
const char* kPrices = R"({"name": "test-prices", "date": "2026", "sources": ["made up for the test"],
  "egress_usd_per_gb": {"default": 0.05, "by_region": {"b": 0.5}}, "internet_egress_usd_per_gb": 0.09,
  "compute_usd_per_hour": {"dc": 3.6}})";

std::string scenario(const std::filesystem::path& dir, const std::string& prices) {
  write_text(dir / "two-sites.json", read_text(data("two-sites.json")));
  write_text(dir / "prices.json", prices);
  return write_text(dir / "s.json", R"({"name": "cost", "platform": "two-sites.json", "prices": "prices.json",
    "network": {"model": "CM02"}, "strategy": {"name": "traffic", "flows": [
      {"from": "a-w0", "to": "b-w0", "bytes": 1e8}, {"from": "b-w0", "to": "a-w1", "bytes": 2e7}]}})");
}

} // namespace

TEST_CASE("a run's cost is egress by source region plus every host's rent", "[cost]") {
  auto dir = temp_dir("cost");
  auto r = run_geosim("run -q " + scenario(dir, kPrices) + " -o " + (dir / "out").string());
  INFO(r.err);
  REQUIRE(r.status == 0);
  auto s = read_json(dir / "out" / "traffic" / "summary.json");
  const auto& c = s["cost"];
  double t = s["sim_time_s"];
  CHECK(c["prices"] == "test-prices");
  CHECK(c["at_s"].get<double>() == t); // no target: the whole run
  // 0.1 GB leaves region a at the default 0.05 $/GB; 0.02 GB leaves region b at 0.5 $/GB.
  CHECK(c["wan_usd"].get<double>() == Approx(0.1 * 0.05 + 0.02 * 0.5).epsilon(1e-12));
  // Three hosts at 3.6 $/h.
  CHECK(c["compute_usd"].get<double>() == Approx(3 * 3.6 * t / 3600).epsilon(1e-12));
  CHECK(c["total_usd"].get<double>() == Approx(c["wan_usd"].get<double>() + c["compute_usd"].get<double>()));
}

TEST_CASE("a bad price list is an input error naming the file and the field", "[cost][input]") {
  auto dir = temp_dir("cost-bad");
  auto expect = [&](const std::string& prices, const std::string& message) {
    auto r = run_geosim("validate " + scenario(dir, prices));
    INFO(r.err);
    CHECK(r.status == 2);
    CHECK(line_count(r.err) == 1);
    CHECK(r.err.find(message) != std::string::npos);
  };
  expect(R"({"name": "p", "date": "2026", "sources": [], "egress_usd_per_gb": {"default": 0.02},
    "internet_egress_usd_per_gb": 0.09})", "prices.json: compute_usd_per_hour: required field is missing");
  expect(R"({"name": "p", "date": "2026", "sources": [], "egress_usd_per_gb": {"default": 0.02,
    "by_region": {"b": -1}}, "internet_egress_usd_per_gb": 0.09, "compute_usd_per_hour": {"dc": 1}})",
         "prices.json: egress_usd_per_gb.by_region.b: expected");
  expect(R"({"name": "p", "date": "2026", "sources": [], "egress_usd_per_gb": {"default": 0.02},
    "internet_egress_usd_per_gb": 0.09, "compute_usd_per_hour": {"edge": 1}})",
         "compute_usd_per_hour: expected a price per host for sites of kind \"dc\"");
}
