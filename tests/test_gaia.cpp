// Gaia end to end in the geosim binary: equivalence with the parameter server when nothing is filtered
// and nothing is stale, the significance filter, the mirror clock and the selective barrier.
#include "tests/helpers.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <sstream>

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

TEST_CASE("a gaia data center that crashes comes back from its checkpoint, and the others send it what it lost",
          "[strategies][gaia][faults]") {
  // A clock takes about 56 ms and a mirror message about 56 ms to cross. b (its worker and its server on
  // one host) is down from 0.5 to 0.7 s: its last checkpoint is its clock 9 (0.337 s), which holds a's
  // clocks up to 6. At 0.7 s it goes back there and tells a, which sends its clocks 7-9 again; a's
  // answer tells b that its own clock 9, lost on the way when b went down, is missing, and b sends it
  // again. The job waits for b (its mirror clock holds a within the bound) and ends at its 30th clock.
  const std::string common = "--set stop.max_iterations=30 --set stop.max_sim_time_s=100 ";
  json clean = run_gaia(common);
  json crash = run_gaia(common + "--set 'network.faults={\"sites_fail_s\": {\"b\": [[0.5, 0.7]]}}'");
  CHECK(crash["iterations"] == 30);
  CHECK_FALSE(crash["stop"]["time_limit_hit"].get<bool>());
  CHECK(crash["details"]["mirrors_resent"].get<long long>() == 4);
  CHECK(crash["faults"]["lost_messages"].get<double>() == 4);
  CHECK(crash["faults"]["iterations_affected"] == 1); // clock 9, from 0.449 s until after the boot
  CHECK(crash["details"]["max_mirror_lead"] == 2);
  // Every update is applied once in every replica; the crash only moves when each replica reads, so the
  // model ends close to the clean run's.
  CHECK(crash["final"]["loss"].get<double>() == Approx(clean["final"]["loss"].get<double>()).epsilon(0.05));
  CHECK_FALSE(clean["details"].contains("mirrors_resent")); // no logs where nothing can crash
  CHECK(crash["bytes"]["wan"].get<double>() > clean["bytes"]["wan"].get<double>());
}

TEST_CASE("a gaia data center that crashes as the job stops learns the stop when it boots",
          "[strategies][gaia][faults]") {
  // The clean run's clock 30 completes everywhere at 1.6854 s, and b decides the stop. b down from
  // 1.6855 s loses the stop on its way to a (a's worker would wait for ever); b down from 1.70 s misses
  // nothing but its own restart. Either way, when b boots and says "restarted", a stopped shard answers
  // "stop" (or hears b's), and the run ends with the clean run's figures.
  const std::string common = "--set stop.max_iterations=30 --set stop.max_sim_time_s=100 ";
  json clean = run_gaia(common);
  for (std::string from : {"1.6855", "1.70"}) {
    INFO("b down from " << from << " s");
    json s = run_gaia(common + "--set 'network.faults={\"sites_fail_s\": {\"b\": [[" + from + ", 1.8]]}}'");
    CHECK(s["iterations"] == 30);
    CHECK_FALSE(s["stop"]["time_limit_hit"].get<bool>());
    CHECK(s["final"]["loss"].get<double>() == clean["final"]["loss"].get<double>());
    CHECK(s["faults"]["lost_messages"].get<double>() >= 4);
  }
}

TEST_CASE("gaia survives repeated crashes of either data center under BSP and SSP", "[strategies][gaia][faults]") {
  // Crashes drawn from a seed (a site down about every 0.4 s for about 0.1 s, 4 to 7 times): every run
  // ends at its 30th clock, none waits for ever or hits the time limit; messages that arrive twice (sent
  // again while an earlier copy was still queued) are applied once; a rerun is identical.
  for (std::string sync : {"bsp", "ssp"})
    for (std::string site : {"a", "b"}) {
      INFO(sync << ", site " << site);
      std::string extra = seeded_crashes(sync, site);
      json s = run_gaia(extra);
      CHECK(s["iterations"] == 30);
      CHECK_FALSE(s["stop"]["time_limit_hit"].get<bool>());
      CHECK(s["faults"]["failures_by_site"][site]["failures"].get<int>() >= 4);
      CHECK(s["details"]["mirrors_resent"].get<long long>() > 0);
      CHECK(s["details"]["mirrors_duplicate"].get<long long>() > 0);
      if (sync == "bsp" && site == "a")
        CHECK(run_gaia(extra).dump() == s.dump());
    }
  // Under async a data center runs ahead of the WAN without bound: crashes are refused.
  auto r = run_geosim("validate " + data("gaia-small.json") +
                      " --set strategy.sync=async --set 'network.faults={\"sites_fail_s\": {\"b\": [[0.5, 0.7]]}}'");
  CHECK(r.status == 2);
  CHECK_THAT(r.err, Catch::Contains("gaia sync bsp or ssp"));
}

TEST_CASE("gaia waits for a data center cut off, or carries on without it after a timeout",
          "[strategies][gaia][faults]") {
  // ps-pair with machines 500 times slower: a clock's compute (71 ms) outlasts a mirror message's trip,
  // so clocks are paced by compute. b is cut off from the WAN from 1.0 to 3.0 s.
  auto dir = temp_dir("gaia-carry-on");
  auto slow_pair = [&](int workers) { // a worker and a server per machine
    return write_text(
        dir / ("slow-pair-" + std::to_string(workers) + ".json"), R"({"name": "slow-pair",
      "defaults": {"kind": "dc", "workers": {"count": )" + std::to_string(workers) +
                                                                      R"(, "speed_gflops": 0.002, "cores": 1},
                   "lan": {"bandwidth_mbps": 80000, "latency_ms": 0}},
      "sites": [{"name": "a"}, {"name": "b"}],
      "wan": {"type": "matrix", "links": [{"sites": ["a", "b"], "bandwidth_mbps": 8, "latency_ms": 50}]}})");
  };
  const std::string cut =
      "--set platform=" + slow_pair(1) + " --set 'network.faults={\"sites_down_s\": {\"b\": [[1.0, 3.0]]}}' ";
  const std::string carry_on =
      "--set strategy.on_data_center_failure=carry_on --set strategy.data_center_timeout_s=0.5 ";
  auto global_times = [](const std::filesystem::path& run) {
    std::vector<double> t;
    std::istringstream csv(read_text(run / "gaia" / "convergence.csv"));
    std::string line;
    std::getline(csv, line);
    while (std::getline(csv, line))
      if (line.find(",global,") != std::string::npos)
        t.push_back(std::stod(line.substr(0, line.find(','))));
    return t;
  };
  auto run_to = [&](const std::string& extra, int clocks) {
    auto out = temp_dir("gaia-cut");
    auto r = run_geosim("run -q " + data("gaia-small.json") + " -o " + out.string() + " " + cut + extra +
                        " --set stop.max_iterations=" + std::to_string(clocks));
    INFO(r.err);
    REQUIRE(r.status == 0);
    return std::make_pair(read_json(out / "gaia" / "summary.json"), global_times(out));
  };
  // Waiting: the mirror clock holds both data centers from clock 14 until the cut ends.
  auto [wait, wait_t] = run_to("", 30);
  REQUIRE(wait_t.size() == 31);
  CHECK(wait_t[13] < 1.0);
  CHECK(wait_t[14] > 3.0);
  CHECK_FALSE(wait["details"].contains("data_centers_left_behind"));
  // Carrying on: each leaves the other out 0.5 s after the other began to hold its pulls back, and both
  // reach clock 30 before the cut ends, each on its own data since.
  auto [alone, alone_t] = run_to(carry_on, 30);
  REQUIRE(alone_t.size() == 31);
  CHECK(alone_t[14] > 1.5);
  CHECK(alone_t[14] < 2.0);
  CHECK(alone_t[30] < 3.0);
  CHECK(alone["details"]["data_centers_left_behind"] == 2);
  CHECK(alone["details"]["data_centers_rejoined"] == 0);
  CHECK(alone["details"]["max_mirror_lead"] == 2); // the bound holds against those not left out
  // Two workers and two servers a data center: each shard leaves the other data center's two shards out
  // (each waiting pull is timed on its own, whatever the other worker's pull waits on).
  auto [two, two_t] = run_to(carry_on + "--set platform=" + slow_pair(2), 30);
  CHECK(two["details"]["data_centers_left_behind"] == 8);
  CHECK(two_t[30] < 3.0);
  // Once the cut is over, the backlog of each one's messages drains and each takes the other back.
  auto [back, back_t] = run_to(carry_on, 150);
  CHECK(back["details"]["data_centers_rejoined"] == 2);
  // A timeout without carry_on, or carry_on without one, is refused.
  auto r = run_geosim("validate " + data("gaia-small.json") + " --set strategy.data_center_timeout_s=1");
  CHECK(r.status == 2);
  CHECK_THAT(r.err, Catch::Contains("no data_center_timeout_s unless on_data_center_failure is \"carry_on\""));
  r = run_geosim("validate " + data("gaia-small.json") + " --set strategy.on_data_center_failure=carry_on");
  CHECK(r.status == 2);
  CHECK_THAT(r.err, Catch::Contains("data_center_timeout_s"));
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
