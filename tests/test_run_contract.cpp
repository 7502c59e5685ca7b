// The run contract: a simulation that cannot end is an error, a time limit stops the engine itself,
// SimGrid's flags reach the engine (and bad ones are input errors), results do not depend on the folder
// the run starts from, and a run's output folder is all-or-nothing.
#include "tests/helpers.hpp"

#include "sim/engine.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

using namespace geosim::test;
using Catch::Matchers::Contains;
namespace fs = std::filesystem;

namespace {

const std::string kWaits = " --set 'strategy.waits=[{\"host\": \"b-w0\", \"mailbox\": \"nobody\"}]'";

/// Anything the run left beside its output folder (a staging folder, a lock).
std::vector<std::string> leftovers(const fs::path& out) {
  std::vector<std::string> found;
  for (const auto& e : fs::directory_iterator(out.parent_path()))
    if (e.path() != out)
      found.push_back(e.path().filename().string());
  return found;
}

} // namespace

TEST_CASE("a deadlocked run fails in one line naming the blocked actors, and writes nothing", "[run]") {
  // A receiver waits for a message no flow sends; the one flow (1e8 bytes at 80 Mb/s) ends at 10.05 s.
  auto out = temp_dir("deadlock") / "out";
  auto r = run_geosim("run -q " + data("one-flow.json") + " -o " + out.string() + kWaits);
  INFO(r.err);
  CHECK(r.status == 1);
  CHECK_THAT(r.err, Contains("traffic: deadlock at simulated time 10.05 s: 1 actor(s) wait forever: "
                             "waiter@b-w0 (waits on mailbox nobody); no results written"));
  CHECK(line_count(r.err) == 1);
  CHECK_FALSE(fs::exists(out));
  CHECK(leftovers(out).empty());
}

TEST_CASE("a deadlock is found under a time limit too, and a run still moving data is not one", "[run]") {
  // The limit's timer keeps SimGrid from seeing the deadlock: at the limit, every actor waits on a
  // mailbox with nothing ready and no message travels, so geosim reports it.
  auto out = temp_dir("deadlock-limit") / "out";
  auto r =
      run_geosim("run -q " + data("one-flow.json") + " -o " + out.string() + kWaits + " --set stop.max_sim_time_s=100");
  CHECK(r.status == 1);
  CHECK_THAT(r.err, Contains("deadlock found at the time limit (100 s): 1 actor(s) wait forever: "
                             "waiter@b-w0 (waits on mailbox nobody)"));
  CHECK_FALSE(fs::exists(out));
  // At 5 s the flow (10.05 s) is still crossing: the waiter might yet get a message. A plain stop.
  auto moving = temp_dir("moving");
  auto m = run_geosim("run -q " + data("one-flow.json") + " -o " + moving.string() + kWaits +
                      " --set stop.max_sim_time_s=5");
  CHECK(m.status == 0);
  CHECK(read_json(moving / "traffic" / "summary.json")["stop"]["time_limit_hit"] == true);
}

TEST_CASE("stop.max_sim_time_s stops the engine in the middle of a transfer", "[run]") {
  auto out = temp_dir("time-limit");
  auto r = run_geosim("run -q " + data("one-flow.json") + " -o " + out.string() + " --set stop.max_sim_time_s=2.5");
  INFO(r.err);
  REQUIRE(r.status == 0);
  auto s = read_json(out / "traffic" / "summary.json");
  CHECK(s["sim_time_s"].get<double>() == 2.5);
  CHECK(s["stop"]["time_limit_hit"] == true);
  CHECK_FALSE(s["details"].contains("flows")); // the flow never ended
  auto full = temp_dir("no-limit");
  REQUIRE(run_geosim("run -q " + data("one-flow.json") + " -o " + full.string()).status == 0);
  auto f = read_json(full / "traffic" / "summary.json");
  CHECK(f["sim_time_s"].get<double>() == Approx(10.05));
  CHECK(f["stop"]["time_limit_hit"] == false);
}

TEST_CASE("SimGrid's --cfg flags reach the engine and summary.json records them as applied", "[run][cfg]") {
  auto out = temp_dir("cfg");
  auto r = run_geosim("run -q " + data("one-flow.json") + " -o " + out.string() +
                      " --cfg=network/model:LV08 --cfg=network/TCP-gamma:65536");
  INFO(r.err);
  REQUIRE(r.status == 0);
  auto s = read_json(out / "traffic" / "summary.json");
  CHECK(s["network_model"] == "LV08");
  CHECK(s["tcp_window_bytes"].get<double>() == 65536);
  // A 64 KiB window over a 100 ms round trip caps the flow far below the link's 80 Mb/s.
  CHECK(s["sim_time_s"].get<double>() > 100);
  auto p = run_geosim("probe " + data("two-sites.json") + " --json --cfg=network/model:LV08");
  REQUIRE(p.status == 0);
  CHECK(nlohmann::json::parse(p.out)["network_model"] == "LV08");
}

TEST_CASE("a platform of many hosts runs its actors without stack guard pages, a small one keeps them", "[run][cfg]") {
  // Two memory mappings an actor with a guard page: Cartel at 10,000 sites (over 32,000 actors) ran out of
  // the kernel's 65,530 (docs/scale.md). The user's own --cfg flags come after these and win.
  CHECK(geosim::settings_for_many_actors(geosim::kManyHosts).empty());
  CHECK(geosim::settings_for_many_actors(geosim::kManyHosts + 1) ==
        std::vector<std::string>{"--cfg=contexts/guard-size:0"});
}

TEST_CASE("flags SimGrid would refuse are input errors before anything runs", "[run][cfg]") {
  auto out = temp_dir("bad-cfg") / "out";
  for (std::string args : {"run -q " + data("one-flow.json") + " -o " + out.string() + " --cfg=no/such:option",
                           "run -q " + data("one-flow.json") + " -o " + out.string() + " --log=root.thres:bogus",
                           "probe " + data("two-sites.json") + " --cfg=contexts/factory:bogus",
                           "probe " + data("two-sites.json") + " --network-model ns-3 --cfg=ns3/TcpModel:Tahoe"}) {
    auto r = run_geosim(args);
    INFO(args << "\n" << r.err);
    CHECK(r.status == 2);
    CHECK_THAT(r.err, Contains("expected flags SimGrid accepts"));
    CHECK(line_count(r.err) == 1);
  }
  CHECK_FALSE(fs::exists(out));
}

TEST_CASE("a run records its input files by absolute path: the same run named two ways is byte-identical", "[run]") {
  auto a = temp_dir("path-a"), b = temp_dir("path-b");
  REQUIRE(run_geosim("run -q " + data("one-flow.json") + " -o " + a.string()).status == 0);
  REQUIRE(run_geosim("run -q ./tests/../tests/data/one-flow.json -o " + b.string()).status == 0);
  auto sa = read_text(a / "traffic" / "summary.json");
  CHECK(sa == read_text(b / "traffic" / "summary.json"));
  auto file = read_json(a / "traffic" / "summary.json")["scenario_file"].get<std::string>();
  CHECK(fs::path(file).is_absolute());
}

TEST_CASE("a failed run leaves the output folder as it was, and nothing beside it", "[run][output]") {
  auto out = temp_dir("all-or-nothing") / "out";
  REQUIRE(run_geosim("run -q " + data("one-flow.json") + " -o " + out.string()).status == 0);
  auto before = read_text(out / "traffic" / "summary.json");
  auto r = run_geosim("run -q " + data("one-flow.json") + " -o " + out.string() + " --seed 7" + kWaits);
  CHECK(r.status == 1);
  CHECK(read_text(out / "traffic" / "summary.json") == before);
  CHECK(leftovers(out).empty());
}

TEST_CASE("a run on an output folder another run is writing is refused before it simulates", "[run][output]") {
  auto out = temp_dir("locked") / "out";
  int fd = ::open((out.string() + ".lock").c_str(), O_CREAT | O_RDWR, 0644);
  REQUIRE(fd >= 0);
  REQUIRE(::flock(fd, LOCK_EX) == 0);
  auto r = run_geosim("run -q " + data("one-flow.json") + " -o " + out.string());
  ::close(fd);
  CHECK(r.status == 2);
  CHECK_THAT(r.err, Contains("out: expected an output folder no other geosim run is writing"));
  CHECK_FALSE(fs::exists(out));
}

TEST_CASE("an output folder that cannot be written is refused before simulating", "[run][output]") {
  auto r = run_geosim("run -q " + data("one-flow.json") + " -o /dev/null/out");
  CHECK(r.status == 2);
  CHECK_THAT(r.err, Contains("/dev/null/out: an output folder geosim can write"));
}

TEST_CASE("a strategy's process dies with the run's, which wrote nothing", "[run][output]") {
  // The MF job runs for tens of seconds of host time. Once its strategy's process has started (two
  // geosim processes write to the folder), the parent is killed; then none is left. "[g]eosim" keeps
  // pgrep from finding the shell that runs this command.
  auto out = temp_dir("killed") / "out";
  std::string find = "pgrep -f '[g]eosim run -q scenarios/gaia-mf.json .*" + out.string() + "'";
  std::string cmd = "cd '" GEOSIM_SOURCE_DIR "' && { '" GEOSIM_BIN "' run -q scenarios/gaia-mf.json --set "
                    "platform=../platforms/gaia-lan-2.json -o '" +
                    out.string() +
                    "' > /dev/null 2>&1 & pid=$!; "
                    "for i in $(seq 50); do [ $(" +
                    find +
                    " | wc -l) -ge 2 ] && break; sleep 0.1; done; "
                    "[ $(" +
                    find + " | wc -l) -ge 2 ] || exit 3; kill -9 $pid; sleep 1; " + find + " && exit 4; exit 0; }";
  CHECK(std::system(cmd.c_str()) == 0);
  CHECK_FALSE(fs::exists(out / "param_server"));
}

TEST_CASE("validate applies --set as run does", "[input]") {
  CHECK(run_geosim("validate scenarios/gaia-mf.json --set strategy.lr=0.1").status == 0);
  auto r = run_geosim("validate scenarios/gaia-mf.json --set strategy.lr=-1");
  CHECK(r.status == 2);
  CHECK_THAT(r.err, Contains("scenarios/gaia-mf.json: strategy.lr: expected a number > 0, got -1"));
  CHECK(run_geosim("validate platforms/lan-1dc.json --set name=x").status == 2);
}

TEST_CASE("every shipped scenario and platform validates", "[input]") {
  for (const char* dir : {"scenarios", "platforms"})
    for (const auto& e : fs::directory_iterator(fs::path(GEOSIM_SOURCE_DIR) / dir)) {
      if (e.path().extension() != ".json")
        continue;
      auto r = run_geosim("validate " + std::string(dir) + "/" + e.path().filename().string());
      INFO(r.err);
      CHECK(r.status == 0);
    }
}

TEST_CASE("a run too large for the machine's memory is refused at validation, saying what it needs", "[input]") {
  // 1e8 users x 20 items, every pair rated: 2e9 ratings. It used to validate, then die of bad_alloc.
  auto r = run_geosim("validate " + data("mf-iterstore.json") + " --set workload.dataset.users=100000000");
  CHECK(r.status == 2);
  CHECK_THAT(r.err, Contains("mf-iterstore.json: workload: expected a run that fits in 80% of this machine's memory"));
  CHECK_THAT(r.err, Contains("got one that needs about"));
  CHECK(line_count(r.err) == 1);
  // A million features for ten million samples: 160 TB of data set.
  auto m = run_geosim("validate " + data("fedavg-small.json") +
                      " --set workload.dataset.dims=1000000 --set workload.dataset.samples=10000000");
  CHECK(m.status == 2);
  CHECK_THAT(m.err, Contains("fedavg-small.json: workload: expected a run that fits"));
}

TEST_CASE("a run that may take hours of host time is announced in one line, and still runs", "[input]") {
  // 100,000 epochs over 600 samples in each of 100,000 rounds: about 90 hours at 2 Gflop/s.
  auto r = run_geosim("validate " + data("fedavg-small.json") +
                      " --set strategy.local_epochs=100000 --set stop.max_iterations=100000");
  CHECK(r.status == 0);
  CHECK_THAT(r.err, Contains("geosim: warning: tests/data/fedavg-small.json: this run may take up to about"));
  CHECK_THAT(r.err, Contains("hours of host time (100000 passes over 600 training samples an iteration"));
  CHECK(line_count(r.err) == 1);
  CHECK(run_geosim("validate " + data("fedavg-small.json")).err.empty());
}
