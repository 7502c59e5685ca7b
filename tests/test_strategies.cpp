// Learning strategies run end to end in the geosim binary: byte counts, traffic shape and learning.
#include "tests/helpers.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <filesystem>
#include <sstream>

using namespace geosim::test;

namespace {
nlohmann::json run(const std::string& scenario, const std::string& label, const std::string& extra = "") {
  auto out = temp_dir(label);
  auto r = run_geosim("run -q " + data(scenario) + " -o " + out.string() + " " + extra);
  INFO(r.err);
  REQUIRE(r.status == 0);
  return read_json(out / label / "summary.json");
}
} // namespace

TEST_CASE("fedavg moves exactly 2 x m x model bytes over the WAN per round", "[strategies][fedavg]") {
  auto s = run("fedavg-small.json", "fedavg");
  // softmax 5 -> 3: (5 + 1) x 3 parameters of 4 bytes. m = max(0.67 x 3, 1) = 2 clients a round, all
  // behind the WAN from the hub; after the last round each of the 3 clients gets an 8-byte stop.
  const double model_bytes = 18 * 4;
  CHECK(s["iterations"] == 3);
  CHECK(s["bytes"]["wan"].get<double>() == 3 * 2 * 2 * model_bytes + 3 * 8);
  CHECK(s["bytes"]["lan"].get<double>() == 0);
  CHECK(s["bytes"]["by_site_pair"]["hub->c1"].get<double>() + s["bytes"]["by_site_pair"]["hub->c2"].get<double>() +
            s["bytes"]["by_site_pair"]["hub->c3"].get<double>() ==
        3 * 2 * model_bytes + 3 * 8);
}

TEST_CASE("fedavg learns: global accuracy rises over the rounds", "[strategies][fedavg]") {
  auto out = temp_dir("fedavg-learn");
  REQUIRE(
      run_geosim("run -q " + data("fedavg-small.json") + " --set stop.max_iterations=10 -o " + out.string()).status ==
      0);
  auto s = read_json(out / "fedavg" / "summary.json");
  CHECK(s["final"]["accuracy"].get<double>() > 0.9);
  auto csv = read_text(out / "fedavg" / "convergence.csv");
  CHECK(csv.find("0,fedavg,global,0,") != std::string::npos); // the untrained model is sampled at time 0
}

TEST_CASE("fedavg stops at its accuracy target and reports the time", "[strategies][fedavg]") {
  auto s = run("fedavg-small.json", "fedavg", "--set stop.max_iterations=50 --set stop.target_accuracy=0.8");
  CHECK(s["reached_target"] == true);
  CHECK(s["iterations"].get<int>() < 50);
  // The run ends once the stop messages have crossed the WAN, a little after the target was met.
  CHECK(s["time_to_target_s"].get<double>() > 0);
  CHECK(s["time_to_target_s"].get<double>() < s["sim_time_s"].get<double>());
}

TEST_CASE("isolated moves no bytes at all and judges each site on its own data", "[strategies][isolated]") {
  auto out = temp_dir("isolated");
  auto r =
      run_geosim("run -q " + data("fedavg-small.json") +
                 " --set 'strategy={\"name\": \"isolated\", \"local_epochs\": 1, \"lr\": 0.1}' -o " + out.string());
  INFO(r.err);
  REQUIRE(r.status == 0);
  auto s = read_json(out / "isolated" / "summary.json");
  CHECK(s["bytes"]["wan"].get<double>() == 0);
  CHECK(s["bytes"]["lan"].get<double>() == 0);
  CHECK(s["iterations"] == 3);
  CHECK(s["final"]["accuracy"].get<double>() > 0.8);
  auto csv = read_text(out / "isolated" / "convergence.csv");
  for (const char* site : {",c1,3,", ",c2,3,", ",c3,3,", ",global,3,"})
    CHECK(csv.find(site) != std::string::npos);
  // Training takes simulated time: the flops of 3 epochs on a 1 GFlop/s host are charged.
  CHECK(s["sim_time_s"].get<double>() > 0);
}

TEST_CASE("fedavg stragglers: dropped clients never report, slow ones run fewer epochs", "[strategies][fedavg]") {
  // m = 2 clients a round; a share of 0.5 makes one of them straggle each round.
  auto dropped = run("fedavg-small.json", "fedavg", "--set 'strategy.stragglers={\"share\": 0.5, \"mode\": \"drop\"}'");
  const double model_bytes = 18 * 4;
  CHECK(dropped["bytes"]["wan"].get<double>() == 3 * (2 + 1) * model_bytes + 3 * 8); // 2 down, 1 up a round
  auto slow = run("fedavg-small.json", "fedavg",
                  "--set 'strategy.stragglers={\"share\": 0.5, \"mode\": \"fewer_epochs\", \"epochs\": 1}'");
  auto full = run("fedavg-small.json", "fedavg");
  CHECK(slow["bytes"]["wan"].get<double>() == full["bytes"]["wan"].get<double>());
  // The round waits for its slowest client, which still runs E = 2 epochs: the same time per round.
  CHECK(slow["sim_time_s"].get<double>() == Approx(full["sim_time_s"].get<double>()).epsilon(1e-9));
  CHECK(slow["final"]["accuracy"].get<double>() != full["final"]["accuracy"].get<double>());
  auto bad = run_geosim("run -q " + data("fedavg-small.json") + " -o " + temp_dir("stragglers-bad").string() +
                        " --set 'strategy.stragglers={\"share\": 0.5, \"mode\": \"late\"}'");
  CHECK(bad.status == 2);
  CHECK_THAT(bad.err, Catch::Contains("strategy.stragglers.mode: expected one of \"drop\", \"fewer_epochs\""));
}

TEST_CASE("a strategy's service site defaults to the first data center and must name a site", "[strategies][errors]") {
  // FedAvg's server, centralized learning's gathering data center and Cartel's metadata service are
  // placed by one rule (service_site): hub-3's first data center is its hub.
  auto scenario = read_json(data("fedavg-small.json"));
  scenario["platform"] = std::filesystem::absolute(data("hub-3.json")).string();
  scenario["strategy"].erase("server_site");
  auto dir = temp_dir("service-site");
  std::string file = write_text(dir / "default.json", scenario.dump());
  auto dflt = run_geosim("run -q " + file + " -o " + (dir / "out").string());
  REQUIRE(dflt.status == 0);
  auto s = read_json(dir / "out" / "fedavg" / "summary.json");
  auto at_hub = run("fedavg-small.json", "fedavg");
  auto at_c1 = run("fedavg-small.json", "fedavg", "--set strategy.server_site=c1");
  CHECK(s["bytes"]["wan"] == at_hub["bytes"]["wan"]);
  CHECK(s["bytes"]["wan"] != at_c1["bytes"]["wan"]);
  for (const auto& [strategy, key] : std::vector<std::pair<std::string, std::string>>{
           {"fedavg", "server_site"}, {"centralized", "site"}, {"cartel", "metadata_site"}}) {
    nlohmann::json st = {{"name", strategy}, {key, "nowhere"}};
    auto bad = run_geosim("validate " + data("fedavg-small.json") + " --set 'strategy=" + st.dump() + "'");
    CHECK(bad.status == 2);
    CHECK(line_count(bad.err) == 1);
    CHECK_THAT(bad.err, Catch::Contains("strategy." + key + ": expected the name of a site of this platform, got \"nowhere\""));
  }
  // The parameter server's placement goes by the same rule, with "all_dcs" (its default) beside it.
  auto bad = run_geosim("validate " + data("fedavg-small.json") +
                        " --set 'strategy={\"name\": \"param_server\", \"placement\": \"nowhere\"}'");
  CHECK(bad.status == 2);
  CHECK(line_count(bad.err) == 1);
  CHECK_THAT(bad.err, Catch::Contains("strategy.placement: expected \"all_dcs\" or the name of a site of this platform, got \"nowhere\""));
}

TEST_CASE("fedavg with a round deadline drops exactly the clients cut off from the WAN", "[strategies][fedavg][faults]") {
  // Every client a round (C = 1), rounds of about 20 ms; c2 is cut off from 0.05 to 0.09 s and the
  // deadline is 30 ms. Round 3 (from 0.041 s) loses c2 mid-exchange; in round 4 (0.071-0.101 s) c2 is
  // back at 0.09 s but first finishes round 3's model, so its reply comes after the deadline. c1, c3 and
  // every other round are untouched.
  const std::string common = "--set strategy.fraction=1 --set stop.max_iterations=6 --set strategy.deadline_s=0.03";
  auto cut = run("fedavg-small.json", "fedavg",
                 common + " --set 'network.faults={\"sites_down_s\": {\"c2\": [[0.05, 0.09]]}}'");
  auto dropped = cut["details"]["dropped_by_round"];
  REQUIRE(dropped.size() == 2);
  CHECK(dropped[0]["round"] == 3);
  CHECK(dropped[1]["round"] == 4);
  for (const auto& d : dropped)
    CHECK(d["clients"] == nlohmann::json::array({"c2-w0"}));
  // A round that misses a client ends at its deadline (rounds start a few flops of averaging apart).
  CHECK(dropped[1]["at_s"].get<double>() - dropped[0]["at_s"].get<double>() == Approx(0.03).epsilon(1e-5));
  CHECK(cut["iterations"] == 6);
  CHECK(cut["faults"]["iterations_affected"] == 2); // rounds 3 and 4 span the cut

  // With nobody cut off, a deadline nobody misses changes nothing: no drop, the same curve.
  auto out = temp_dir("fedavg-deadline-same");
  REQUIRE(run_geosim("run -q " + data("fedavg-small.json") + " -o " + (out / "a").string() + " " + common).status == 0);
  REQUIRE(run_geosim("run -q " + data("fedavg-small.json") + " -o " + (out / "b").string() +
                     " --set strategy.fraction=1 --set stop.max_iterations=6")
              .status == 0);
  CHECK(read_json(out / "a" / "fedavg" / "summary.json")["details"]["dropped_by_round"].empty());
  CHECK(read_text(out / "a" / "fedavg" / "convergence.csv") == read_text(out / "b" / "fedavg" / "convergence.csv"));
  // Stragglers that drop out by design are not deadline misses, and the round does not wait for them.
  auto by_design = run("fedavg-small.json", "fedavg",
                       "--set strategy.deadline_s=1 --set 'strategy.stragglers={\"share\": 0.5, \"mode\": \"drop\"}'");
  auto plain = run("fedavg-small.json", "fedavg", "--set 'strategy.stragglers={\"share\": 0.5, \"mode\": \"drop\"}'");
  CHECK(by_design["details"]["dropped_by_round"].empty());
  CHECK(by_design["sim_time_s"].get<double>() == Approx(plain["sim_time_s"].get<double>()).epsilon(1e-9));
}

TEST_CASE("fedavg: a client whose site crashes misses its round and serves again once it has booted",
          "[strategies][fedavg][faults]") {
  // As in the deadline test: every client a round, rounds of about 20 ms, a 30 ms deadline; round 3
  // runs from 0.041 s, round 4 from 0.071 s, round 5 from 0.101 s. A model is 72 bytes and takes about
  // 10 ms to reach a client (its uplink's latency).
  const std::string common = "--set strategy.fraction=1 --set stop.max_iterations=6 --set strategy.deadline_s=0.03";
  auto faults = [](const std::string& key, const std::string& interval) {
    return " --set 'network.faults={\"" + key + "\": {\"c2\": [" + interval + "]}}'";
  };
  auto clean = run("fedavg-small.json", "fedavg", common);
  // A cut of 2 ms in round 3 only delays the model on its way to c2; a crash as short loses it.
  auto cut = run("fedavg-small.json", "fedavg", common + faults("sites_down_s", "[0.05, 0.052]"));
  auto blip = run("fedavg-small.json", "fedavg", common + faults("sites_fail_s", "[0.05, 0.052]"));
  CHECK(cut["details"]["dropped_by_round"].empty());
  REQUIRE(blip["details"]["dropped_by_round"].size() == 1);
  CHECK(blip["details"]["dropped_by_round"][0]["round"] == 3);
  CHECK(blip["details"]["dropped_by_round"][0]["clients"] == nlohmann::json::array({"c2-w0"}));
  CHECK(blip["bytes"]["wan"].get<double>() == clean["bytes"]["wan"].get<double>() - 72); // its reply
  CHECK(blip["faults"]["lost_messages"] == 1);
  // Down from 0.05 to 0.08 s: round 3's model is lost on its way, round 4's is posted while c2 is off
  // (never sent); c2 boots at 0.08 s with nothing to do, and serves round 5.
  auto out = temp_dir("fedavg-crash");
  std::string args = "run -q " + data("fedavg-small.json") + " " + common + faults("sites_fail_s", "[0.05, 0.08]");
  REQUIRE(run_geosim(args + " -o " + (out / "a").string()).status == 0);
  auto crash = read_json(out / "a" / "fedavg" / "summary.json");
  auto dropped = crash["details"]["dropped_by_round"];
  REQUIRE(dropped.size() == 2);
  CHECK(dropped[0]["round"] == 3);
  CHECK(dropped[1]["round"] == 4);
  CHECK(crash["faults"]["lost_messages"] == 2);
  CHECK(crash["faults"]["failures_by_site"]["c2"]["failures"] == 1);
  CHECK(crash["faults"]["failures_by_site"]["c2"]["down_s"].get<double>() == Approx(0.03));
  CHECK(crash["bytes"]["wan"].get<double>() == clean["bytes"]["wan"].get<double>() - 3 * 72);
  CHECK(crash["iterations"] == 6);
  // The same inputs, the same results.
  REQUIRE(run_geosim(args + " -o " + (out / "b").string()).status == 0);
  CHECK(read_text(out / "a" / "fedavg" / "summary.json") == read_text(out / "b" / "fedavg" / "summary.json"));
  CHECK(read_text(out / "a" / "fedavg" / "convergence.csv") == read_text(out / "b" / "fedavg" / "convergence.csv"));
  // Down from 0.12 s (round 6, 0.102-0.132 s) to long after the end: c2's reply, under way at 0.12 s, and
  // the server's stop are lost, and the run still ends with the server (the 6th round at its deadline).
  auto late = run("fedavg-small.json", "fedavg", common + faults("sites_fail_s", "[0.12, 5]"));
  CHECK(late["sim_time_s"].get<double>() < 0.2);
  CHECK(late["faults"]["lost_messages"] == 2);
}

TEST_CASE("a host that crashes alone does what its site's crash does to the actors on it",
          "[strategies][fedavg][faults]") {
  // c2 has one host, c2-w0, FedAvg's client there: crashing the host is crashing the site, to the byte,
  // and summary.json names the host beside it.
  const std::string common = "--set strategy.fraction=1 --set stop.max_iterations=6 --set strategy.deadline_s=0.03";
  auto out = temp_dir("host-crash");
  auto run_with = [&](const std::string& name, const std::string& faults) {
    auto r = run_geosim("run -q " + data("fedavg-small.json") + " " + common + " --set 'network.faults=" + faults +
                        "' -o " + (out / name).string());
    INFO(r.err);
    REQUIRE(r.status == 0);
    return out / name / "fedavg";
  };
  auto site = run_with("site", R"({"sites_fail_s": {"c2": [[0.05, 0.08]]}})");
  auto host = run_with("host", R"({"hosts_fail_s": {"c2-w0": [[0.05, 0.08]]}})");
  CHECK(read_text(site / "convergence.csv") == read_text(host / "convergence.csv"));
  auto s = read_json(site / "summary.json"), h = read_json(host / "summary.json");
  CHECK(h["details"] == s["details"]);
  CHECK(h["bytes"] == s["bytes"]);
  CHECK(h["faults"]["lost_messages"] == 2);
  CHECK(h["faults"]["failures_by_host"]["c2-w0"]["down_s"].get<double>() == Approx(0.03));
  CHECK(h["faults"]["failures_by_site"].empty());
  // A host's crash is refused where a site's would be, and a host must be one of the platform's.
  auto refused = [](const std::string& extra, const std::string& expected) {
    auto r = run_geosim("validate " + data("fedavg-small.json") + " " + extra);
    CHECK(r.status == 2);
    CHECK(line_count(r.err) == 1);
    CHECK_THAT(r.err, Catch::Contains(expected));
  };
  refused(common + R"( --set 'network.faults={"hosts_fail_s": {"hub-w0": [[0.05, 0.08]]}}')",
          "strategy.server_site: expected a site that does not crash");
  refused(R"(--set 'network.faults={"hosts_fail_s": {"c2-w0": [[0.05, 0.08]]}}')",
          "network.faults.hosts_fail_s: expected no site failures for a strategy that does not survive them");
  refused(R"(--set 'network.faults={"hosts_fail_s": {"c2-w9": [[0.05, 0.08]]}}')",
          "network.faults.hosts_fail_s.c2-w9: expected the name of a host of the platform");
  refused(R"(--set 'network.faults={"hosts_fail_s": {"c2-w0": [[0, 0.08]]}}')",
          "network.faults.hosts_fail_s.c2-w0: expected intervals that begin after 0");
  // The same crash read from a file of "<host> <from_s> <to_s>" lines; a bad line names file and line.
  std::string file = write_text(out / "hosts.txt", "# host from to\nc2-w0 0.05 0.08\n");
  auto listed = run_with("file", R"({"hosts_fail_file": ")" + file + R"("})");
  CHECK(read_text(listed / "convergence.csv") == read_text(host / "convergence.csv"));
  std::string bad = write_text(out / "bad.txt", "c2-w0 0.05 0.08\nc2-x0 1 2\n");
  refused(common + R"( --set 'network.faults={"hosts_fail_file": ")" + bad + R"("}')",
          bad + ":2: expected the name of a host of the platform, got \"c2-x0 1 2\"");
}

TEST_CASE("centralized: a site that crashes while shipping its raw data ships it again once booted",
          "[strategies][faults]") {
  // Three shards of 160 samples x 1000 bytes, each over its own 10 Mb/s uplink: 0.1381 s. c2 crashes at
  // 0.05 s, half-way, and boots at 0.2 s: its shard arrives 0.1381 s later, counted twice on the WAN.
  const std::string central = " --set 'strategy={\"name\": \"centralized\", \"site\": \"hub\", \"lr\": 0.1, "
                              "\"batch\": 10}' --set workload.raw_bytes_per_sample=1000";
  auto clean = run("fedavg-small.json", "centralized", central);
  auto crash = run("fedavg-small.json", "centralized",
                   central + " --set 'network.faults={\"sites_fail_s\": {\"c2\": [[0.05, 0.2]]}}'");
  double shard = 160 * 1000;
  CHECK(clean["details"]["data_gathered_at_s"].get<double>() == Approx(0.1381).epsilon(1e-9));
  CHECK(crash["details"]["data_gathered_at_s"].get<double>() == Approx(0.2 + 0.1381).epsilon(1e-9));
  CHECK(crash["details"]["raw_bytes_resent"].get<double>() == shard);
  CHECK(crash["bytes"]["wan"].get<double>() == clean["bytes"]["wan"].get<double>() + shard);
  CHECK(crash["faults"]["lost_messages"] == 1);
  CHECK(crash["final"] == clean["final"]); // the same data, gathered later
  // A crash after its shard has arrived costs nothing, and the run does not wait for the boot.
  auto after = run("fedavg-small.json", "centralized",
                   central + " --set 'network.faults={\"sites_fail_s\": {\"c2\": [[5, 6]]}}'");
  CHECK(after["details"]["raw_bytes_resent"].get<double>() == 0);
  CHECK(after["sim_time_s"] == clean["sim_time_s"]);
  // The gathering site holds the data and the training: its crash is refused.
  auto bad = run_geosim("validate " + data("fedavg-small.json") + central +
                        " --set 'network.faults={\"sites_fail_s\": {\"hub\": [[0.05, 0.2]]}}'");
  CHECK(bad.status == 2);
  CHECK(line_count(bad.err) == 1);
  CHECK_THAT(bad.err, Catch::Contains("strategy.site: expected a site that does not crash"));
}

TEST_CASE("isolated: a site that crashes goes on from the model it saved, and learns the same",
          "[strategies][faults]") {
  // An iteration (2 epochs on a 1 Gflop/s host) takes 29.312 us. c2 crashes during its 2nd (from 50 us)
  // and boots at 100 us: it redoes the 2nd from its checkpoint of the 1st, and everything after it is
  // the clean run's, one outage and a lost part-iteration later.
  const std::string iso = " --set 'strategy={\"name\": \"isolated\", \"local_epochs\": 2, \"batch\": 10, \"lr\": 0.1}'"
                          " --set stop.max_iterations=5";
  auto out = temp_dir("isolated-crash");
  std::string args = "run -q " + data("fedavg-small.json") + iso;
  REQUIRE(run_geosim(args + " -o " + (out / "clean").string()).status == 0);
  REQUIRE(run_geosim(args + " -o " + (out / "crash").string() +
                     " --set 'network.faults={\"sites_fail_s\": {\"c2\": [[5e-5, 1e-4]]}}'")
              .status == 0);
  auto clean = read_json(out / "clean" / "isolated" / "summary.json");
  auto crash = read_json(out / "crash" / "isolated" / "summary.json");
  const double step = 29.312e-6;
  CHECK(clean["sim_time_s"].get<double>() == Approx(5 * step).epsilon(1e-9));
  CHECK(crash["sim_time_s"].get<double>() == Approx(1e-4 + 4 * step).epsilon(1e-9));
  CHECK(crash["final"] == clean["final"]);
  // Compute counts what was done: the 2nd iteration twice, the first time only until the crash.
  CHECK(crash["compute"]["core_s"].get<double>() ==
        Approx(clean["compute"]["core_s"].get<double>() + (5e-5 - step)).epsilon(1e-9));
  // Row by row, the same figures: strategy, site, iteration, loss, accuracy (not the time, bytes, compute).
  auto rows = [](const std::string& csv) {
    std::vector<std::string> out;
    std::istringstream in(csv);
    for (std::string line; std::getline(in, line);) {
      std::istringstream fields(line);
      std::string field, figures;
      for (int i = 0; std::getline(fields, field, ',') && i < 6; ++i)
        if (i > 0)
          figures += field + ",";
      out.push_back(figures);
    }
    std::sort(out.begin(), out.end());
    return out;
  };
  CHECK(rows(read_text(out / "crash" / "isolated" / "convergence.csv")) ==
        rows(read_text(out / "clean" / "isolated" / "convergence.csv")));
  // A crash in the first iteration, before any checkpoint but the initial one: iteration 0 is judged once.
  REQUIRE(run_geosim(args + " -o " + (out / "early").string() +
                     " --set 'network.faults={\"sites_fail_s\": {\"c2\": [[1e-5, 1e-4]]}}'")
              .status == 0);
  CHECK(rows(read_text(out / "early" / "isolated" / "convergence.csv")) ==
        rows(read_text(out / "clean" / "isolated" / "convergence.csv")));
}

TEST_CASE("crashes drawn from a seed: per site, inside the horizon, the same for the same seed",
          "[strategies][faults]") {
  const std::string common = "--set strategy.fraction=1 --set stop.max_iterations=6 --set strategy.deadline_s=0.03";
  auto drawn = [&](const std::string& sites, int seed) {
    auto s = run("fedavg-small.json", "fedavg",
                 common + " --set 'network.faults={\"seed\": " + std::to_string(seed) +
                     ", \"horizon_s\": 0.2, \"site_failures\": {\"mtbf_s\": 0.05, \"mttr_s\": 0.01, \"sites\": " +
                     sites + "}}'");
    return s["faults"]["failures_by_site"];
  };
  auto both = drawn("[\"c1\", \"c2\"]", 3);
  REQUIRE(both.size() == 2);
  for (const auto& site : {"c1", "c2"}) {
    INFO(site);
    CHECK(both[site]["failures"].get<int>() > 0);
    for (const auto& iv : both[site]["intervals"]) {
      CHECK(iv[0].get<double>() > 0);
      CHECK(iv[1].get<double>() > iv[0].get<double>());
      CHECK(iv[1].get<double>() <= 0.2);
    }
  }
  CHECK(drawn("[\"c1\", \"c2\"]", 3) == both);
  CHECK(drawn("[\"c1\", \"c2\"]", 4) != both);
  // A site's crashes come from a stream of its own: leaving c1 out does not move c2's.
  CHECK(drawn("[\"c2\"]", 3)["c2"] == both["c2"]);
  // Single hosts the same way, each from a stream keyed by its name; "workers" names every worker host.
  auto hosts = [&](const std::string& which) {
    auto s = run("fedavg-small.json", "fedavg",
                 common +
                     " --set 'network.faults={\"seed\": 3, \"horizon_s\": 0.2, \"host_failures\": "
                     "{\"mtbf_s\": 0.05, \"mttr_s\": 0.01, \"hosts\": " +
                     which + "}}'");
    return s["faults"]["failures_by_host"];
  };
  auto c2 = hosts("[\"c2-w0\"]");
  REQUIRE(c2.size() == 1);
  CHECK(c2["c2-w0"]["failures"].get<int>() > 0);
  CHECK(c2["c2-w0"]["intervals"].back()[1].get<double>() <= 0.2);
  CHECK(c2["c2-w0"] != both["c2"]); // another stream than the site's
  CHECK(hosts("[\"c1-w0\", \"c2-w0\"]")["c2-w0"] == c2["c2-w0"]);
  auto r =
      run_geosim("validate " + data("fedavg-small.json") + " " + common +
                 " --set 'network.faults={\"horizon_s\": 1, \"host_failures\": {\"mtbf_s\": 0.05, \"mttr_s\": 0.01, "
                 "\"hosts\": \"workers\"}}'");
  CHECK(r.status == 2); // the hub's server host is a worker host too, and it may not crash
  CHECK_THAT(r.err, Catch::Contains("strategy.server_site: expected a site that does not crash"));
  r = run_geosim("validate " + data("fedavg-small.json") + " " + common +
                 " --set 'network.faults={\"site_failures\": {\"mtbf_s\": 1, \"mttr_s\": 1, \"sites\": \"edge\"}}'");
  CHECK(r.status == 2);
  CHECK_THAT(r.err, Catch::Contains("network.faults.horizon_s"));
}

TEST_CASE("a site failure that a strategy would not survive is refused in one line", "[strategies][faults][errors]") {
  auto refused = [](const std::string& extra, const std::string& expected) {
    auto r = run_geosim("validate " + data("fedavg-small.json") + " " + extra);
    INFO(r.err);
    CHECK(r.status == 2);
    CHECK(line_count(r.err) == 1);
    CHECK_THAT(r.err, Catch::Contains(expected));
  };
  const std::string c2 = " --set 'network.faults={\"sites_fail_s\": {\"c2\": [[0.05, 0.08]]}}'";
  refused(c2, "network.faults.sites_fail_s: expected no site failures for a strategy that does not survive them "
              "(fedavg needs deadline_s, gaia sync bsp or ssp; traffic does not; docs/faults.md), got strategy "
              "\"fedavg\" (fedavg)");
  const std::string traffic = " --set 'strategy={\"name\": \"traffic\", \"flows\": [{\"from\": \"c1-w0\", "
                              "\"to\": \"hub-w0\", \"bytes\": 1000}]}'";
  refused(c2 + traffic, "got strategy \"traffic\" (traffic)");
  refused("--set strategy.deadline_s=0.03 --set 'network.faults={\"sites_fail_s\": {\"hub\": [[0.05, 0.08]]}}'",
          "strategy.server_site: expected a site that does not crash");
  refused("--set strategy.deadline_s=0.03 --set 'network.faults={\"sites_fail_s\": {\"c2\": [[0, 0.08]]}}'",
          "network.faults.sites_fail_s.c2: expected intervals that begin after 0");
  auto dir = temp_dir("crash-file");
  std::string file = write_text(dir / "crashes.txt", "# site from to\nc2 0.05 0.08\nc2 0 0.01\n");
  refused("--set strategy.deadline_s=0.03 --set 'network.faults={\"sites_fail_file\": \"" + file + "\"}'",
          file + ":3: expected an interval with 0 < from_s < to_s, got \"c2 0 0.01\"");
  // A run of the strategies that survive is not refused for the others of the scenario (--only).
  const std::string pair = " --set 'strategy=[{\"name\": \"fedavg\", \"server_site\": \"hub\", \"deadline_s\": 0.03}, "
                           "{\"name\": \"fedavg\", \"label\": \"fedavg-wait\"}]' --set stop.max_iterations=2";
  auto out = temp_dir("crash-only");
  auto all = run_geosim("run -q " + data("fedavg-small.json") + c2 + pair + " -o " + (out / "all").string());
  CHECK(all.status == 2);
  CHECK_THAT(all.err, Catch::Contains("got strategy \"fedavg-wait\" (fedavg)"));
  auto only = run_geosim("run -q " + data("fedavg-small.json") + c2 + pair + " --only fedavg -o " +
                         (out / "only").string());
  INFO(only.err);
  CHECK(only.status == 0);
  CHECK(read_json(out / "only" / "fedavg" / "summary.json")["faults"]["failures_by_site"].contains("c2"));
}

TEST_CASE("fedavg without a deadline waits for clients cut off one after the other, and finishes",
          "[strategies][fedavg][faults]") {
  // c1 is cut off from 0.03 to 0.05 s and c2 from 0.05 to 0.09 s, back to back (a run like this once
  // deadlocked): every round waits for all three clients, so the run ends later than without the outages.
  const std::string common = "--set strategy.fraction=1 --set stop.max_iterations=6";
  auto cut = run("fedavg-small.json", "fedavg",
                 common + " --set 'network.faults={\"sites_down_s\": {\"c1\": [[0.03, 0.05]], \"c2\": [[0.05, 0.09]]}}'");
  auto clean = run("fedavg-small.json", "fedavg", common);
  CHECK(cut["iterations"] == 6);
  CHECK(cut["sim_time_s"].get<double>() > clean["sim_time_s"].get<double>() + 0.04);
  CHECK(cut["bytes"]["wan"] == clean["bytes"]["wan"]); // nothing lost, nothing sent twice
}

TEST_CASE("byte provenance: FedAvg moves model state and control, never raw data", "[strategies][provenance]") {
  auto s = run("fedavg-small.json", "fedavg");
  const auto& by_class = s["bytes"]["by_class"];
  const double model_bytes = 18 * 4; // as in the byte-count test above
  CHECK(by_class["raw"].get<double>() == 0);
  CHECK(by_class["model"].get<double>() == 3 * 2 * 2 * model_bytes);
  CHECK(by_class["control"].get<double>() == 3 * 8); // the stops
  // hub-3's sites name no jurisdiction: all of it is "unspecified" to "unspecified".
  CHECK(s["bytes"]["by_class_jurisdictions"]["raw"].empty());
  CHECK(s["bytes"]["by_class_jurisdictions"]["model"]["unspecified->unspecified"].get<double>() ==
        3 * 2 * 2 * model_bytes);
}


namespace {
/// hub-3 with jurisdictions (the hub in the EU, c1 and c2 in the US, c3 in Japan) and fedavg-small's
/// workload at 1000 raw bytes a sample, with `strategy` and `extra` top-level fields; returns its path.
std::string jurisdiction_scenario(const std::filesystem::path& dir, const nlohmann::json& strategy,
                                  const nlohmann::json& extra = nlohmann::json::object()) {
  auto platform = nlohmann::json::parse(read_text(data("hub-3.json")));
  const char* where[] = {"EU", "US", "US", "JP"};
  for (std::size_t i = 0; i < 4; ++i)
    platform["sites"][i]["jurisdiction"] = where[i];
  write_text(dir / "hub-3.json", platform.dump());
  auto scenario = nlohmann::json::parse(read_text(data("fedavg-small.json")));
  scenario["platform"] = "hub-3.json";
  scenario["workload"]["raw_bytes_per_sample"] = 1000;
  scenario["stop"]["max_iterations"] = 2;
  scenario["strategy"] = strategy;
  scenario.update(extra);
  return write_text(dir / "s.json", scenario.dump());
}

const nlohmann::json kCentralized = {{"name", "centralized"}, {"site", "hub"}, {"lr", 0.1}, {"batch", 10}};
} // namespace

TEST_CASE("byte provenance: centralized ships exactly its samples' raw bytes, by jurisdiction",
          "[strategies][provenance]") {
  auto dir = temp_dir("provenance-centralized");
  auto r = run_geosim("run -q " + jurisdiction_scenario(dir, kCentralized) + " -o " + (dir / "out").string());
  INFO(r.err);
  REQUIRE(r.status == 0);
  auto s = read_json(dir / "out" / "centralized" / "summary.json");
  // 600 samples dealt evenly over c1..c3, a fifth of each site's held out for testing: 3 x 160 training
  // samples of 1000 bytes cross the WAN, and nothing else is raw.
  CHECK(s["bytes"]["by_class"]["raw"].get<double>() == 3 * 160 * 1000);
  CHECK(s["details"]["raw_bytes_shipped"].get<double>() == 3 * 160 * 1000);
  const auto& raw = s["bytes"]["by_class_jurisdictions"]["raw"];
  CHECK(raw["US->EU"].get<double>() == 2 * 160 * 1000);
  CHECK(raw["JP->EU"].get<double>() == 160 * 1000);
  CHECK(raw.size() == 2);
  // The training itself stays in the hub: model state and control cross its LAN only.
  CHECK(s["bytes"]["by_class_jurisdictions"]["model"].empty());
  CHECK(s["bytes"]["wan"].get<double>() == 3 * 160 * 1000);
}

TEST_CASE("sovereignty: a run that ships US raw data abroad is reported with its first transfer; FedAvg complies",
          "[strategies][sovereignty]") {
  auto dir = temp_dir("sovereignty");
  nlohmann::json policy = {{"sovereignty", {{"raw_data", {{"stay_in", {"US"}}}}}}};
  nlohmann::json fedavg = {{"name", "fedavg"}, {"server_site", "hub"}, {"fraction", 1}, {"local_epochs", 1},
                           {"batch", 10}, {"lr", 0.1}};
  auto scenario = jurisdiction_scenario(dir, {kCentralized, fedavg}, policy);
  auto r = run_geosim("run -q -j 2 " + scenario + " -o " + (dir / "out").string());
  INFO(r.err);
  REQUIRE(r.status == 0);
  auto c = read_json(dir / "out" / "centralized" / "summary.json")["sovereignty"];
  CHECK(c["complies"] == false);
  CHECK(c["violating_raw_bytes"].get<double>() == 2 * 160 * 1000); // c1's and c2's samples; Japan's may leave
  CHECK(c["first_violation"]["at_s"].get<double>() == 0);
  CHECK(c["first_violation"]["to_host"] == "hub-w0");
  CHECK(c["first_violation"]["from_jurisdiction"] == "US");
  CHECK(c["first_violation"]["kind"] == "raw-data");
  auto f = read_json(dir / "out" / "fedavg" / "summary.json")["sovereignty"];
  CHECK(f["complies"] == true);
  CHECK(f["violating_raw_bytes"].get<double>() == 0);
  CHECK(f["first_violation"].is_null());
  auto csv = read_text(dir / "out" / "comparison.csv");
  CHECK(csv.find(",violates,") != std::string::npos);
  CHECK(csv.find(",complies,") != std::string::npos);
}

TEST_CASE("sovereignty: an enforced policy refuses centralized before it runs, and bad policies name the field",
          "[strategies][sovereignty][input]") {
  auto dir = temp_dir("sovereignty-enforced");
  nlohmann::json strict = {{"sovereignty", {{"raw_data", "stay_in_jurisdiction"}, {"enforce", true}}}};
  auto r = run_geosim("validate " + jurisdiction_scenario(dir, kCentralized, strict));
  CHECK(r.status == 2);
  CHECK(line_count(r.err) == 1);
  CHECK(r.err.find("sovereignty: expected strategies that keep raw data in its jurisdiction") != std::string::npos);
  CHECK(r.err.find("ships raw data from c1 (US) to hub (EU)") != std::string::npos);
  // FedAvg moves only model state: the same policy lets it run.
  nlohmann::json fedavg = {{"name", "fedavg"}, {"server_site", "hub"}, {"fraction", 1}, {"local_epochs", 1},
                           {"batch", 10}, {"lr", 0.1}};
  CHECK(run_geosim("validate " + jurisdiction_scenario(dir, fedavg, strict)).status == 0);
  // Allowed destinations: US data may go to the EU, Japan's only to the US.
  nlohmann::json routes = {{"sovereignty", {{"raw_data", {{"allowed_destinations", {{"US", {"EU"}}, {"JP", {"US"}}}}}}}}};
  auto run_dir = dir / "routes";
  auto ran = run_geosim("run -q " + jurisdiction_scenario(dir, kCentralized, routes) + " -o " + run_dir.string());
  REQUIRE(ran.status == 0);
  auto verdict = read_json(run_dir / "centralized" / "summary.json")["sovereignty"];
  CHECK(verdict["violating_raw_bytes"].get<double>() == 160 * 1000); // c3's samples, Japan to the EU
  CHECK(verdict["first_violation"]["from_jurisdiction"] == "JP");
  nlohmann::json unknown = {{"sovereignty", {{"raw_data", {{"stay_in", {"Atlantis"}}}}}}};
  auto bad = run_geosim("validate " + jurisdiction_scenario(dir, fedavg, unknown));
  CHECK(bad.status == 2);
  CHECK(bad.err.find("sovereignty.raw_data.stay_in[0]: expected a jurisdiction of the platform's sites") !=
        std::string::npos);
}

TEST_CASE("sovereignty: an enforced policy ends a run whose undeclared raw transfer crosses a closed border",
          "[strategies][sovereignty]") {
  auto dir = temp_dir("sovereignty-runtime");
  nlohmann::json strict = {{"sovereignty", {{"raw_data", "stay_in_jurisdiction"}, {"enforce", true}}}};
  nlohmann::json traffic = {{"name", "traffic"}, {"flows", {{{"from", "c1-w0"}, {"to", "hub-w0"}, {"bytes", 1e6}}}}};
  auto r = run_geosim("run -q " + jurisdiction_scenario(dir, traffic, strict) + " -o " + (dir / "out").string());
  CHECK(r.status == 1);
  CHECK(line_count(r.err) == 1);
  CHECK(r.err.find("flow sent 1000000 bytes of raw data from c1-w0 (US) to hub-w0 (EU) at 0 s") != std::string::npos);
  CHECK_FALSE(std::filesystem::exists(dir / "out"));
}
