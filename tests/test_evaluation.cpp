// The scenario's evaluation period: the observer judges iteration 0, every K-th and the last, checks
// targets there only, and never changes what is simulated.
#include "tests/helpers.hpp"

#include <catch2/catch.hpp>

#include <map>
#include <sstream>
#include <utility>

using namespace geosim::test;
using nlohmann::json;

namespace {
struct Judged {
  json summary, host;
  std::map<long long, std::string> global; ///< iteration -> the sample's loss and accuracy
  /// Every other sample: site -> iteration -> (loss, accuracy) as printed.
  std::map<std::string, std::map<long long, std::string>> sites;
};

Judged run_judged(const std::string& scenario, const std::string& label, const std::string& extra) {
  auto out = temp_dir("evaluation-" + label);
  auto r = run_geosim("run -q " + scenario + " --only " + label + " --set stop.max_iterations=7 " + extra + " -o " +
                      out.string());
  INFO(r.err);
  REQUIRE(r.status == 0);
  Judged j{read_json(out / label / "summary.json"), read_json(out / label / "host.json"), {}, {}};
  std::istringstream csv(read_text(out / label / "convergence.csv"));
  std::string line;
  while (std::getline(csv, line)) { // sim_time,strategy,site,iteration,loss,accuracy,...
    std::vector<std::string> f;
    std::istringstream cells(line);
    for (std::string c; std::getline(cells, c, ',');)
      f.push_back(c);
    if (f.size() > 5 && f[2] == "global")
      j.global[std::stoll(f[3])] = f[4] + "," + f[5];
    else if (f.size() > 5 && f[2] != "site")
      j.sites[f[2]][std::stoll(f[3])] = f[4] + "," + f[5];
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

namespace {
std::pair<double, double> parse_metrics(const std::string& cell) {
  auto comma = cell.find(',');
  return {std::stod(cell.substr(0, comma)), std::stod(cell.substr(comma + 1))};
}
} // namespace

TEST_CASE("one test-set policy judges FedAvg's global model alike under every setting", "[evaluation]") {
  // fedavg-small: three client sites of hub-3 with iid data; the global test set is their test sets
  // together, so judging the one global model site by site and weighting by test-set size gives the
  // global figure again (up to rounding). What is simulated never changes.
  std::string file = data("fedavg-small.json");
  Judged global = run_judged(file, "fedavg", "");
  Judged sites = run_judged(file, "fedavg", "--set evaluation.test=sites");
  Judged both = run_judged(file, "fedavg", "--set evaluation.test=both");
  CHECK(global.summary["evaluation"]["test"] == "global");
  CHECK(sites.summary["evaluation"]["test"] == "sites");
  CHECK(global.sites.empty());
  REQUIRE(sites.sites.size() == 3);
  for (const auto& [site, samples] : sites.sites) {
    INFO(site);
    CHECK(samples.size() == sites.global.size()); // every judged round, every data site
    CHECK(both.sites.at(site) == samples);        // `both` records the same per-site figures
  }
  REQUIRE(sites.global.size() == global.global.size());
  for (const auto& [k, cell] : global.global) {
    auto [loss, accuracy] = parse_metrics(cell);
    auto [site_loss, site_accuracy] = parse_metrics(sites.global.at(k));
    CHECK(site_loss == Approx(loss).epsilon(1e-9));
    CHECK(site_accuracy == Approx(accuracy).epsilon(1e-9));
    CHECK(both.global.at(k) == cell); // and the global test set's figure as the run's
  }
  for (const Judged* j : {&sites, &both}) {
    CHECK(j->summary["sim_time_s"] == global.summary["sim_time_s"]);
    CHECK(j->summary["bytes"] == global.summary["bytes"]);
  }
}

TEST_CASE("isolated sites are judged on the global test set or their own, as the scenario says", "[evaluation]") {
  std::string file = data("fedavg-small.json");
  const std::string isolated = "--set 'strategy={\"name\": \"isolated\", \"batch\": 10, \"lr\": 0.1}' ";
  Judged own = run_judged(file, "isolated", isolated + "--set evaluation.test=sites");
  Judged global = run_judged(file, "isolated", isolated);
  REQUIRE(own.sites.size() == 3);
  REQUIRE(global.sites.size() == 3);
  for (const auto& [k, cell] : global.global) {
    // On the global test set every site weighs the same: the run's figure is the plain mean (of the
    // figures as printed, to 10 digits).
    double sum = 0;
    for (const auto& [site, samples] : global.sites)
      sum += parse_metrics(samples.at(k)).second;
    CHECK(parse_metrics(cell).second == Approx(sum / 3).epsilon(1e-9));
  }
  // A site's model on everyone's test set is not the same figure as on its own.
  CHECK(own.sites != global.sites);
  CHECK(own.summary["sim_time_s"] == global.summary["sim_time_s"]);
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
  auto test = run_geosim("validate " + data("ps-small.json") + " --set evaluation.test=local");
  CHECK(test.status == 2);
  CHECK(line_count(test.err) == 1);
  CHECK_THAT(test.err, Catch::Contains("evaluation.test: expected one of \"global\", \"sites\", \"both\""));
  // Judging is the scenario's, not a strategy's: centralized's old "judge" says where it went.
  auto judge = run_geosim("validate " + data("ps-small.json") +
                          " --set 'strategy={\"name\": \"centralized\", \"judge\": \"sites\"}'");
  CHECK(judge.status == 2);
  CHECK(line_count(judge.err) == 1);
  CHECK_THAT(judge.err, Catch::Contains("strategy.judge: expected no \"judge\" here"));
  auto unknown = run_geosim("validate " + data("ps-small.json") + " --set evaluation.period=3");
  CHECK(unknown.status == 2);
  CHECK(unknown.err.find("evaluation") != std::string::npos);
}
