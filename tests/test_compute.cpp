// The compute ledger: every flop charged to a host is booked, and core-seconds are flops over the
// host's per-core speed whatever its core count, while the time the work takes shrinks with the cores.
#include "tests/helpers.hpp"

#include <catch2/catch.hpp>

#include <sstream>
#include <vector>

using namespace geosim::test;

namespace {

// Three edge sites of 2 Gflop/s cores, with 1, 2 and 4 cores, each learning alone (isolated) on the same
// amount of data: the same flops at every site.
const char* kPlatform = R"({"name": "cores-3", "defaults": {"kind": "edge", "lan": {"bandwidth_mbps": 1000,
  "latency_ms": 0}}, "sites": [
  {"name": "one", "workers": {"count": 1, "speed_gflops": 2, "cores": 1}},
  {"name": "two", "workers": {"count": 1, "speed_gflops": 2, "cores": 2}},
  {"name": "four", "workers": {"count": 1, "speed_gflops": 2, "cores": 4}}],
  "wan": {"type": "matrix", "links": [{"sites": ["one", "two"], "bandwidth_mbps": 10, "latency_ms": 1},
  {"sites": ["one", "four"], "bandwidth_mbps": 10, "latency_ms": 1},
  {"sites": ["two", "four"], "bandwidth_mbps": 10, "latency_ms": 1}]}})";

const char* kScenario = R"({"name": "compute", "platform": "cores-3.json", "seed": 3,
  "workload": {"dataset": {"kind": "mixture", "classes": 3, "dims": 5, "samples": 300},
    "partition": {"kind": "iid"}, "model": {"kind": "softmax"}, "test_fraction": 0.2},
  "stop": {"max_iterations": 4},
  "strategy": {"name": "isolated", "local_epochs": 2, "batch": 8, "lr": 0.1}})";

/// The last sample time of a site in a convergence.csv.
double last_time(const std::string& csv, const std::string& site) {
  double t = -1;
  std::size_t at = 0;
  while ((at = csv.find("," + site + ",", at)) != std::string::npos) {
    std::size_t line = csv.rfind('\n', at) + 1;
    t = std::stod(csv.substr(line, at - line));
    ++at;
  }
  return t;
}

} // namespace

TEST_CASE("compute is booked as flops over per-core speed, per site and in total", "[compute]") {
  auto dir = temp_dir("compute");
  write_text(dir / "cores-3.json", kPlatform);
  write_text(dir / "compute.json", kScenario);
  auto r = run_geosim("run -q " + (dir / "compute.json").string() + " -o " + (dir / "out").string());
  INFO(r.err);
  REQUIRE(r.status == 0);
  auto s = read_json(dir / "out" / "isolated" / "summary.json");
  const auto& c = s["compute"];
  double flops = c["flops"], core_s = c["core_s"];
  REQUIRE(flops > 0);
  CHECK(core_s == Approx(flops / 2e9).epsilon(1e-12));
  // The same data and steps at every site: the same core-seconds, a third of the total each.
  for (const char* site : {"one", "two", "four"})
    CHECK(c["core_s_by_site"][site].get<double>() == Approx(core_s / 3).epsilon(1e-12));
  // A site's work takes its core-seconds over its cores (evaluation is the observer's, free).
  auto csv = read_text(dir / "out" / "isolated" / "convergence.csv");
  CHECK(last_time(csv, "one") == Approx(core_s / 3).epsilon(1e-9));
  CHECK(last_time(csv, "two") == Approx(core_s / 3 / 2).epsilon(1e-9));
  CHECK(last_time(csv, "four") == Approx(core_s / 3 / 4).epsilon(1e-9));
  // convergence.csv carries the core-seconds charged so far; the last global sample has them all.
  CHECK(csv.substr(0, csv.find('\n')).find(",compute_core_s") != std::string::npos);
  std::string last = csv.substr(csv.rfind('\n', csv.size() - 2) + 1);
  CHECK(std::stod(last.substr(last.rfind(',') + 1)) == Approx(core_s).epsilon(1e-9));
}

TEST_CASE("the compute spent until the target is in the summary", "[compute]") {
  auto dir = temp_dir("compute-target");
  write_text(dir / "cores-3.json", kPlatform);
  write_text(dir / "compute.json", kScenario);
  auto r = run_geosim("run -q " + (dir / "compute.json").string() + " -o " + (dir / "out").string() +
                      " --set stop.max_iterations=20 --set stop.target_accuracy=0.6");
  INFO(r.err);
  REQUIRE(r.status == 0);
  auto s = read_json(dir / "out" / "isolated" / "summary.json");
  REQUIRE(s["reached_target"] == true);
  double to_target = s["compute"]["core_s_to_target"];
  CHECK(to_target > 0);
  CHECK(to_target <= s["compute"]["core_s"].get<double>());
  // It is what convergence.csv says was charged at the first global sample that met the target.
  std::istringstream csv(read_text(dir / "out" / "isolated" / "convergence.csv"));
  std::string line;
  std::getline(csv, line);
  double at_target = -1;
  while (at_target < 0 && std::getline(csv, line)) {
    std::vector<std::string> cell;
    std::istringstream row(line);
    for (std::string c; std::getline(row, c, ',');)
      cell.push_back(c);
    if (cell[2] == "global" && std::stod(cell[5]) >= 0.6)
      at_target = std::stod(cell[8]);
  }
  CHECK(to_target == Approx(at_target).epsilon(1e-9));

  // Without a target there is no compute to it.
  auto r2 = run_geosim("run -q " + (dir / "compute.json").string() + " -o " + (dir / "out2").string());
  REQUIRE(r2.status == 0);
  CHECK(read_json(dir / "out2" / "isolated" / "summary.json")["compute"]["core_s_to_target"].is_null());
}
