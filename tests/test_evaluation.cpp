// The scenario's evaluation period: the observer judges iteration 0, every K-th and the last, checks
// targets there only, and never changes what is simulated.
#include "tests/helpers.hpp"

#include <catch2/catch.hpp>

#include <map>
#include <sstream>

using namespace geosim::test;
using nlohmann::json;

namespace {
struct Judged {
  json summary, host;
  std::map<long long, std::string> global; ///< iteration -> the sample's loss and accuracy
};

Judged run_judged(const std::string& scenario, const std::string& label, const std::string& extra) {
  auto out = temp_dir("evaluation-" + label);
  auto r = run_geosim("run -q " + scenario + " --only " + label + " --set stop.max_iterations=7 " + extra + " -o " +
                      out.string());
  INFO(r.err);
  REQUIRE(r.status == 0);
  Judged j{read_json(out / label / "summary.json"), read_json(out / label / "host.json"), {}};
  std::istringstream csv(read_text(out / label / "convergence.csv"));
  std::string line;
  while (std::getline(csv, line)) { // sim_time,strategy,site,iteration,loss,accuracy,...
    std::vector<std::string> f;
    std::istringstream cells(line);
    for (std::string c; std::getline(cells, c, ',');)
      f.push_back(c);
    if (f.size() > 5 && f[2] == "global")
      j.global[std::stoll(f[3])] = f[4] + "," + f[5];
  }
  return j;
}
} // namespace

TEST_CASE("judging every 3rd iteration records 0, 3, 6 and the last, and simulates the same run", "[evaluation]") {
  struct Case {
    std::string scenario, label;
    // The observer judges iteration 0 and its passes are counted (not Cartel's: its protocol judges).
    bool observer_judges;
  };
  auto [scenario, label, observer_judges] =
      GENERATE(Case{data("fedavg-small.json"), "fedavg", true}, Case{data("ps-small.json"), "param_server", true},
               Case{data("gaia-small.json"), "gaia", true}, Case{"scenarios/edge-drift.json", "isolated", true},
               Case{"scenarios/edge-drift.json", "cartel", false});
  INFO(label);
  Judged every1 = run_judged(scenario, label, "");
  Judged every3 = run_judged(scenario, label, "--set evaluation.every=3");
  std::vector<long long> judged;
  for (const auto& [k, metrics] : every3.global) {
    judged.push_back(k);
    CHECK(every1.global.at(k) == metrics); // the same model, judged at the same iteration
  }
  CHECK(judged == (observer_judges ? std::vector<long long>{0, 3, 6, 7} : std::vector<long long>{3, 6, 7}));
  CHECK(every1.global.size() == (observer_judges ? 8U : 7U));
  for (const char* key : {"sim_time_s", "iterations"})
    CHECK(every3.summary[key] == every1.summary[key]);
  CHECK(every3.summary["bytes"] == every1.summary["bytes"]);
  CHECK(every3.summary["evaluation"]["every"] == 3);
  CHECK(every1.summary["evaluation"]["every"] == 1);
  if (observer_judges) // the observer's passes, timed apart; Cartel's own judging is its protocol's
    CHECK(every3.host["evaluations"].get<long long>() < every1.host["evaluations"].get<long long>());
  else
    CHECK(every3.host["evaluations"] == 0);
  CHECK(every3.host["evaluation_s"].get<double>() <= every3.host["wall_s"].get<double>());
}

TEST_CASE("FedAvg judges its global model once per judged round", "[evaluation]") {
  Judged j = run_judged(data("fedavg-small.json"), "fedavg", "--set evaluation.every=2");
  CHECK(j.host["evaluations"] == 5); // rounds 0, 2, 4, 6 and the last, 7
}

TEST_CASE("an evaluation period the convergence rule cannot use is refused in one line", "[evaluation][input]") {
  auto r = run_geosim("run -q " + data("ps-small.json") +
                      " --set stop.converged.clocks=10 --set evaluation.every=3 -o " + temp_dir("ev-bad").string());
  CHECK(r.status == 2);
  CHECK(r.err == "geosim: " + data("ps-small.json") +
                     ": evaluation.every: expected a divisor of stop.converged.clocks (10), got 3\n");
  auto zero = run_geosim("validate " + data("ps-small.json") + " --set evaluation.every=0");
  CHECK(zero.status == 2);
  CHECK(zero.err.find("evaluation.every: expected an integer >= 1, got 0") != std::string::npos);
  auto unknown = run_geosim("validate " + data("ps-small.json") + " --set evaluation.period=3");
  CHECK(unknown.status == 2);
  CHECK(unknown.err.find("evaluation") != std::string::npos);
}
