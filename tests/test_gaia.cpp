// Gaia end to end in the geosim binary: equivalence with the parameter server when nothing is filtered
// and nothing is stale, the significance filter, the mirror clock and the selective barrier.
#include "tests/helpers.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>

using namespace geosim::test;
using nlohmann::json;

namespace {

/// Runs tests/data/gaia-small.json (matrix factorization on two data centers) with `extra` arguments and
/// returns the summary of strategy `label`.
json run_gaia(const std::string& extra, const std::string& label = "gaia") {
  auto out = temp_dir("gaia-run");
  auto r = run_geosim("run -q " + data("gaia-small.json") + " -o " + out.string() + " " + extra);
  INFO(r.err);
  REQUIRE(r.status == 0);
  return read_json(out / label / "summary.json");
}

// Three data centers, one ten times faster than the others; a WAN slow enough that updates take
// longer to cross it than a clock takes to compute.
const std::string kThreeSites = "--set platform=gaia-tri-slow.json --set network.wan_bandwidth_mbps=0.08 ";

} // namespace

TEST_CASE("gaia with threshold 0 and mirror bound 0 computes what the parameter server (BSP) does",
          "[strategies][gaia]") {
  json ps = run_gaia("--set strategy.name=param_server --set strategy.record_parameters=true", "param_server");
  json gaia =
      run_gaia("--set strategy.threshold=0 --set strategy.mirror_bound=0 --set strategy.record_parameters=true");
  auto expected = ps["details"]["final_parameters"].get<std::vector<double>>();
  REQUIRE(gaia["iterations"] == ps["iterations"]);
  REQUIRE(gaia["details"]["final_parameters"].size() == 2); // one replica per data center
  for (const auto& [site, replica] : gaia["details"]["final_parameters"].items()) {
    auto values = replica.get<std::vector<double>>();
    REQUIRE(values.size() == expected.size());
    double worst = 0;
    for (std::size_t i = 0; i < values.size(); ++i)
      worst = std::max(worst, std::abs(values[i] - expected[i]));
    INFO(site);
    CHECK(worst < 1e-12);
  }
  CHECK(gaia["final"]["loss"].get<double>() == Approx(ps["final"]["loss"].get<double>()).epsilon(1e-12));
  CHECK(gaia["details"]["significant_share"].get<double>() > 0.99); // every changed value went out
}

TEST_CASE("gaia with an unreachable threshold sends only control messages over the WAN", "[strategies][gaia]") {
  json s = run_gaia("--set strategy.threshold=1e12 --set strategy.threshold_decay=none");
  CHECK(s["iterations"] == 5); // it still completes its budget
  CHECK(s["details"]["updates_sent"].get<double>() == 0);
  CHECK(s["details"]["updates_considered"].get<double>() > 0);
  // Every WAN message is a 16-byte header: one mirror clock per clock and direction, and the stop.
  double wan = s["bytes"]["wan"].get<double>();
  CHECK(std::fmod(wan, 16.0) == 0);
  CHECK(wan >= 2 * 5 * 16);
  CHECK(wan <= 2 * (5 + 3) * 16);
  // The same run with every update significant moves values and their indexes.
  CHECK(run_gaia("--set strategy.threshold=0")["bytes"]["wan"].get<double>() > 100 * wan);
}

TEST_CASE("gaia's mirror clock holds a fast data center within the bound of the slowest", "[strategies][gaia]") {
  const std::string budget = "--set stop.max_iterations=12 --set platform=gaia-tri.json ";
  for (int bound : {0, 1, 3}) {
    json s = run_gaia(budget + "--set strategy.mirror_bound=" + std::to_string(bound));
    INFO("bound " << bound);
    // The fast data center reaches the bound (it is held back there), never beyond.
    CHECK(s["details"]["max_mirror_lead"].get<long long>() == bound);
  }
  // Without a binding bound it runs far ahead.
  CHECK(run_gaia(budget + "--set strategy.mirror_bound=100")["details"]["max_mirror_lead"].get<long long>() > 5);
}

TEST_CASE("gaia's selective barrier holds reads of announced keys until their values arrive", "[strategies][gaia]") {
  const std::string setup = kThreeSites + "--set stop.max_iterations=8 --set strategy.mirror_bound=2 ";
  json with = run_gaia(setup + "--set strategy.barrier=always");
  json without = run_gaia(setup + "--set strategy.barrier=never");
  // Without barriers, no pull ever waits for one.
  CHECK(without["details"]["barriers"].get<double>() == 0);
  CHECK(without["details"]["barrier_delayed_pulls"].get<long long>() == 0);
  // With them, some pulls wait, and no reply ever serves a key announced but not yet arrived.
  CHECK(with["details"]["barriers"].get<double>() > 0);
  CHECK(with["details"]["barrier_delayed_pulls"].get<long long>() > 0);
  CHECK(with["details"]["reads_past_barrier"].get<long long>() == 0);
  // "auto" sends a barrier only while earlier updates are still draining: fewer than "always".
  json automatic = run_gaia(setup + "--set strategy.barrier=auto");
  CHECK(automatic["details"]["barriers"].get<double>() > 0);
  CHECK(automatic["details"]["barriers"].get<double>() < with["details"]["barriers"].get<double>());
}

TEST_CASE("gaia rejects data sites that are not data centers", "[strategies][gaia][errors]") {
  auto dir = temp_dir("gaia-edge");
  write_text(dir / "edge.json",
             R"({"name": "edge", "defaults": {"kind": "edge", "workers": {"count": 1, "speed_gflops": 1, "cores": 1},
    "lan": {"bandwidth_mbps": 1000, "latency_ms": 0}}, "sites": [{"name": "x"}, {"name": "y"}],
    "wan": {"type": "matrix", "links": [{"sites": ["x", "y"], "bandwidth_mbps": 10, "latency_ms": 5}]}})");
  auto r = run_geosim("run -q " + data("gaia-small.json") + " --set platform=" + (dir / "edge.json").string() + " -o " +
                      dir.string() + "/out");
  CHECK(r.status == 2);
  CHECK(r.err.find("gaia-small.json") != std::string::npos);
  CHECK(r.err.find("data centers") != std::string::npos);
}
