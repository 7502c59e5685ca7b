// Parameter server and centralized strategies, end to end in the geosim binary: analytic clock
// times, byte counts, the effect of WAN bandwidth, determinism.
#include "sim/learning/model.hpp"
#include "tests/helpers.hpp"

#include <catch2/catch.hpp>

#include <map>
#include <sstream>

using namespace geosim::test;

namespace {

struct Run {
  nlohmann::json summary;
  std::map<long long, double> clock_time; ///< simulated time at which each clock was complete
  std::map<long long, std::string> loss;  ///< the model's loss after each clock, as printed
  std::string csv;
};

Run run(const std::string& scenario, const std::string& label, const std::string& extra = "") {
  auto out = temp_dir(label + "-run");
  auto r = run_geosim("run -q " + data(scenario) + " -o " + out.string() + " " + extra);
  INFO(r.err);
  REQUIRE(r.status == 0);
  Run result{read_json(out / label / "summary.json"), {}, {}, read_text(out / label / "convergence.csv")};
  std::istringstream lines(result.csv);
  std::string line;
  std::getline(lines, line); // header: sim_time,strategy,site,iteration,...
  while (std::getline(lines, line)) {
    std::istringstream cells(line);
    std::string t, strategy, site, iteration, loss;
    std::getline(cells, t, ',');
    std::getline(cells, strategy, ',');
    std::getline(cells, site, ',');
    std::getline(cells, iteration, ',');
    std::getline(cells, loss, ',');
    if (site == "global") {
      result.clock_time[std::stoll(iteration)] = std::stod(t);
      result.loss[std::stoll(iteration)] = loss;
    }
  }
  return result;
}

} // namespace

TEST_CASE("param_server BSP: a clock takes compute time plus two WAN transfers (CM02)", "[strategies][ps]") {
  Run r = run("ps-small.json", "param_server");
  REQUIRE(r.clock_time.count(3));
  // Each site trains one full-batch step on its 160 samples (400 split in two, 20% held out for test).
  geosim::Dataset batch;
  batch.set_features(Eigen::MatrixXd::Zero(1023, 160));
  batch.y.assign(160, 0);
  batch.classes = 10;
  auto model = geosim::make_model(geosim::ModelSpec{}, {1023, 10, 0, 0}, 1);
  const double keys = 10240;                                        // (1023 + 1) x 10
  double compute = (model->gradient_flops(batch) + 2 * keys) / 1e9; // one core at 1 Gflop/s
  // Keys are dealt in blocks of 64, so each server holds half of them. A clock: compute, push the
  // remote half (16-byte header + 4 bytes a value) across the WAN, the remote server applies both
  // workers' changes (1 flop a value, twice) and sends the fresh half back. Both directions carry a
  // push (then a reply) at once, and SimGrid's cross-traffic makes each flow's TCP acknowledgements
  // take 5% of the reverse direction: each flow gets B / 1.05.
  double half = 16 + keys / 2 * 4;
  double transfer = 0.050 + half * 1.05 / 1e6; // 50 ms + bytes at 8 Mb/s
  double expected = compute + 2 * transfer + keys / 1e9;
  double period = r.clock_time[3] - r.clock_time[2];
  CHECK(period == Approx(expected).epsilon(0.01));
}

TEST_CASE("param_server moves a clock's pushes and replies, and the keys once", "[strategies][ps]") {
  Run r = run("ps-small.json", "param_server", "--set stop.max_iterations=2");
  // Over the WAN, each message carries one worker's remote half of the keys: 16 + 5120 x 4 bytes.
  // - start: each worker names its remote keys (4 bytes each) and gets their values: 4 messages;
  // - clock 0: two pushes, two replies: 4;
  // - clock 1: two pushes, which complete clock 2 on both servers at the same instant. The first to
  //   have applied them finds the target met: it answers its remote worker "stop" (16 bytes) and tells
  //   the other server (16). That one, which learns it only when the message arrives, has already
  //   answered its remote worker with values (one more message), and then tells it "stop" (16).
  const double half = 16 + 5120 * 4;
  CHECK(r.summary["bytes"]["wan"].get<double>() == 11 * half + 3 * 16);
  CHECK(r.summary["bytes"]["lan"].get<double>() == 0); // colocated worker and server: host-local
  CHECK(r.summary["bytes"]["host_local"].get<double>() > 0);
}

TEST_CASE("a parameter-server worker that does not pull learns the stop by a message", "[strategies][ps]") {
  // SSP with a bound no worker reaches: after the first clock no worker ever pulls, so nothing answers
  // it "stop"; each server tells its workers once it knows, and a worker looks before each clock. The
  // run ends soon after the 3rd clock (a few clocks of 50 ms round trips), far from the time limit.
  Run r = run("ps-small.json", "param_server",
              "--set strategy.sync=ssp --set strategy.staleness=1000 --set stop.max_iterations=3 "
              "--set stop.max_sim_time_s=100");
  CHECK(r.summary["iterations"] == 3);
  CHECK_FALSE(r.summary["stop"]["time_limit_hit"].get<bool>());
  CHECK(r.summary["sim_time_s"].get<double>() < 1);
}

TEST_CASE("param_server's time to target falls as WAN bandwidth grows, towards the LAN figure", "[strategies][ps]") {
  std::vector<double> times;
  for (double mbps : {1.0, 4.0, 16.0, 64.0, 1e5}) {
    Run r = run("ps-small.json", "param_server",
                "--set stop.max_iterations=3 --set network.wan_bandwidth_mbps=" + std::to_string(mbps) +
                    " --set network.wan_bandwidth_scale=1");
    times.push_back(r.summary["sim_time_s"].get<double>());
  }
  for (std::size_t k = 1; k < times.size(); ++k)
    CHECK(times[k] < times[k - 1]);
  // The same two machines on one LAN: what is left at 100 Gb/s is the WAN's 50 ms latency, once per
  // direction for the first pull and for each of the 3 clocks.
  auto dir = temp_dir("ps-lan");
  write_text(dir / "lan.json", R"({"name": "lan", "defaults": {"workers": {"count": 2, "speed_gflops": 1, "cores": 1},
    "lan": {"bandwidth_mbps": 80000, "latency_ms": 0}}, "sites": [{"name": "a"}], "wan": {"type": "matrix", "links": []}})");
  auto out = temp_dir("ps-lan-out");
  REQUIRE(run_geosim("run -q " + data("ps-small.json") + " --set stop.max_iterations=3 --set platform=" +
                     (dir / "lan.json").string() + " -o " + out.string())
              .status == 0);
  double lan = read_json(out / "param_server" / "summary.json")["sim_time_s"].get<double>();
  CHECK(times.back() > lan);
  CHECK(times.back() - lan == Approx(4 * 2 * 0.050).epsilon(0.02));
}

TEST_CASE("param_server runs are deterministic for a seed", "[strategies][ps][determinism]") {
  Run a = run("ps-small.json", "param_server"), b = run("ps-small.json", "param_server");
  CHECK(a.summary.dump() == b.summary.dump());
  CHECK(a.csv == b.csv);
}

TEST_CASE("a parameter-server site that crashes comes back from its checkpoints, and the job waits for it",
          "[strategies][ps][faults]") {
  // b (worker 1 and shard 1 on one host) is down from 0.5 to 0.7 s, in the 4th clock (clean: clock 2
  // complete at 0.3708 s, clock 3 at 0.5205 s): the pushes of clock 3 on the WAN are lost both ways.
  // At 0.7 s shard 1 goes back to its clock-2 checkpoint and tells both workers; worker 1 goes back to
  // the start of its clock 2 and pushes what shard 0 may lack again; worker 0 sends its clock-3 push
  // again. Nothing is lost for good and nothing is applied twice, so every clock's model is the clean
  // run's; clock 3 waits for the boot, the restart notice's WAN trip and the push's.
  const std::string common = "--set stop.max_iterations=6";
  Run clean = run("ps-small.json", "param_server", common);
  Run crash = run("ps-small.json", "param_server",
                  common + " --set 'network.faults={\"sites_fail_s\": {\"b\": [[0.5, 0.7]]}}'");
  REQUIRE(crash.loss.size() == 7);
  CHECK(crash.loss == clean.loss);
  for (long long c = 0; c <= 2; ++c)
    CHECK(crash.clock_time[c] == clean.clock_time[c]);
  const double push = 0.050 + (16 + 5120 * 4) / 1e6; // 50 ms + 20,496 bytes at 8 Mb/s
  CHECK(crash.clock_time[3] > 0.7 + (0.050 + 16 / 1e6) + push);
  CHECK(crash.clock_time[3] < 0.7 + 0.050 + 2 * push);
  CHECK(crash.summary["faults"]["lost_messages"].get<double>() == 3);
  CHECK(crash.summary["bytes"]["wan"].get<double>() > clean.summary["bytes"]["wan"].get<double>());
}

TEST_CASE("a parameter server survives repeated crashes of either site under BSP, SSP and async",
          "[strategies][ps][faults]") {
  // Crashes drawn from a seed (a site down about every 0.4 s for about 0.1 s): every run ends at its 30th
  // clock, none waits for ever or hits the time limit, and a rerun is identical.
  for (std::string sync : {"bsp", "ssp", "async"})
    for (std::string site : {"a", "b"}) {
      INFO(sync << ", site " << site);
      std::string extra = seeded_crashes(sync, site);
      Run r = run("ps-small.json", "param_server", extra);
      CHECK(r.summary["iterations"] == 30);
      CHECK_FALSE(r.summary["stop"]["time_limit_hit"].get<bool>());
      CHECK(r.summary["faults"]["failures_by_site"][site]["failures"].get<int>() >= 3);
      if (sync == "ssp")
        CHECK(run("ps-small.json", "param_server", extra).csv == r.csv);
    }
}

TEST_CASE("a parameter server waits for a crashed worker, or carries on without it after a timeout",
          "[strategies][ps][faults]") {
  // Two data centers of two workers and a server each; b-w0 (a worker) is down from 0.5 to 1.0 s, in
  // the 3rd clock. Waiting, clock 3 needs its push and completes after the boot. Carrying on, each
  // server waits 0.3 s from the first push of clock 3, then leaves b-w0 behind, so clock 3 completes
  // during the crash; after the boot its pushes for clocks the job went past are dropped, and the
  // reply to its pull tells it where the job is, where it rejoins.
  auto dir = temp_dir("ps-carry-on");
  write_text(dir / "servers.json", R"({"name": "servers", "defaults": {"kind": "dc",
    "workers": {"count": 2, "speed_gflops": 1, "cores": 1}, "servers": {"count": 1, "speed_gflops": 1, "cores": 1},
    "lan": {"bandwidth_mbps": 80000, "latency_ms": 0}}, "sites": [{"name": "a"}, {"name": "b"}],
    "wan": {"type": "matrix", "links": [{"sites": ["a", "b"], "bandwidth_mbps": 8, "latency_ms": 50}]}})");
  const std::string common = "--set stop.max_iterations=12 --set platform=" + (dir / "servers.json").string() +
                             " --set 'network.faults={\"hosts_fail_s\": {\"b-w0\": [[0.5, 1.0]]}}'";
  Run wait = run("ps-small.json", "param_server", common);
  Run carry = run("ps-small.json", "param_server",
                  common + " --set strategy.on_worker_failure=carry_on --set strategy.worker_timeout_s=0.3");
  CHECK(wait.clock_time[3] > 1.0);
  // Clock 3's first push reaches each server after 0.5 s (the others trained from 0.47 s on): the
  // servers wait 0.3 s more, and go on before the boot.
  CHECK(carry.clock_time[3] > 0.5 + 0.3);
  CHECK(carry.clock_time[3] < 1.0);
  CHECK_FALSE(wait.summary["details"].contains("workers_left_behind"));
  CHECK(carry.summary["details"]["workers_left_behind"] == 2); // by each server
  CHECK(carry.summary["details"]["workers_rejoined"] == 2);
  CHECK(carry.summary["iterations"] == 12);
  CHECK(carry.summary["sim_time_s"].get<double>() < wait.summary["sim_time_s"].get<double>());
  // The timeout goes with carry_on, and carry_on needs one.
  for (const auto& [extra, expected] : std::vector<std::pair<std::string, std::string>>{
           {"--set strategy.worker_timeout_s=1", "strategy.worker_timeout_s: expected no worker_timeout_s unless"},
           {"--set strategy.on_worker_failure=carry_on", "strategy.worker_timeout_s"}}) {
    auto r = run_geosim("validate " + data("ps-small.json") + " " + extra);
    CHECK(r.status == 2);
    CHECK(line_count(r.err) == 1);
    CHECK_THAT(r.err, Catch::Contains(expected));
  }
}

TEST_CASE("centralized ships exactly the raw bytes of the other sites, then trains on the LAN",
          "[strategies][centralized]") {
  // fedavg-small: 600 samples over c1..c3 (200 each, 40 held out), the hub holds none.
  Run r = run("fedavg-small.json", "centralized",
              "--set 'strategy={\"name\": \"centralized\", \"site\": \"hub\", \"lr\": 0.1}' "
              "--set workload.raw_bytes_per_sample=1000 --set stop.max_iterations=5");
  CHECK(r.summary["bytes"]["wan"].get<double>() == 3 * 160 * 1000);
  CHECK(r.summary["details"]["raw_bytes_shipped"].get<double>() == 3 * 160 * 1000);
  // Three 160 kB shards up 10 Mb/s, 10 ms uplinks and down the hub's: training starts after that.
  CHECK(r.summary["details"]["data_gathered_at_s"].get<double>() == Approx(0.010 + 160000 / 1.25e6).epsilon(0.01));
  CHECK(r.summary["iterations"] == 5);
  CHECK(r.summary["final"]["accuracy"].get<double>() > 0.5);
}
