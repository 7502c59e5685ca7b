// Matrix factorization as IterStore runs it: user factors never leave their worker, the servers step the
// item factors with AdaGrad, and Gaia's dense fallback and threshold schedule on top of it.
#include "sim/learning/model.hpp"
#include "tests/helpers.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>

using namespace geosim::test;
using nlohmann::json;

namespace {

json run_mf(const std::string& extra, const std::string& label = "param_server",
            std::string* significance_csv = nullptr) {
  auto out = temp_dir("mf-iterstore");
  auto r = run_geosim("run -q " + data("mf-iterstore.json") + " -o " + out.string() + " " + extra);
  INFO(r.err);
  REQUIRE(r.status == 0);
  if (significance_csv)
    *significance_csv = read_text(out / label / "significance.csv");
  return read_json(out / label / "summary.json");
}

} // namespace

TEST_CASE("IterStore MF moves the item factors only: WAN bytes do not depend on the users", "[models][mf][ps]") {
  // 20 items x rank 4 = 80 shared keys after the users' 200 (or 1,480) local ones, dealt to the two
  // servers in blocks of 64: 56 on b's server, 24 on a's (the same split for 50 and 370 users). Every
  // user rates every item, so each worker names all its remote keys once and then sends values only.
  // Over the WAN: worker a's names and two pushes to b (3 x (16 + 56 x 4) bytes) and b's two replies
  // (2 x the same); worker b's names and two pushes to a (3 x (16 + 24 x 4)) and a's three replies (the
  // first, clock 0's, and clock 1's, which a's server completes before it hears of the stop); then two
  // 16-byte stops. No user factor ever crosses: the bytes are the same for 7 times as many users.
  const double expected = 5 * (16 + 56 * 4) + 6 * (16 + 24 * 4) + 2 * 16;
  CHECK(run_mf("")["bytes"]["wan"].get<double>() == expected);
  CHECK(run_mf("--set workload.dataset.users=370")["bytes"]["wan"].get<double>() == expected);
}

TEST_CASE("FedAvg on MF keeps the user factors on their clients: it averages and moves the item factors only",
          "[models][mf][fedavg]") {
  // Two clients (a, and b across the WAN from the server at a): each round the server sends the 80 item
  // factors (20 items x rank 4) to b and b sends its 80 back, 4 bytes each; the stop is 8 bytes. With
  // 7 times as many users the bytes are the same. The model is judged with the users' factors read from
  // their clients (with the initial ones it would not learn): 20 rounds halve the RMSE of the first.
  const std::string fedavg = "--set 'strategy={\"name\": \"fedavg\", \"fraction\": 1, \"lr\": 0.05}' "
                             "--set stop.max_iterations=20";
  json few = run_mf(fedavg, "fedavg"), many = run_mf(fedavg + " --set workload.dataset.users=370", "fedavg");
  CHECK(few["bytes"]["wan"].get<double>() == 20 * 2 * 80 * 4 + 8);
  CHECK(many["bytes"]["wan"] == few["bytes"]["wan"]);
  json start = run_mf(fedavg + " --set stop.max_iterations=1", "fedavg");
  CHECK(few["final"]["loss"].get<double>() < 0.5 * start["final"]["loss"].get<double>());
}

TEST_CASE("IterStore MF learns: the servers' AdaGrad steps and the workers' local steps lower the RMSE",
          "[models][mf][ps]") {
  json first = run_mf("--set stop.max_iterations=1");
  std::string csv;
  json later = run_mf("--set stop.max_iterations=40", "param_server", &csv);
  CHECK(later["final"]["loss"].get<double>() < 0.6 * first["final"]["loss"].get<double>());
  // The significance profile of the servers' clocks is recorded, one share per threshold, falling as
  // the threshold falls; it counts each data center's own updates: 80 keys x 40 clocks x 2 data centers.
  auto shares = later["details"]["significance"]["insignificant_share"];
  REQUIRE(shares.size() == 7);
  for (std::size_t t = 1; t < shares.size(); ++t)
    CHECK(shares[t].get<double>() <= shares[t - 1].get<double>());
  CHECK(later["details"]["significance"]["parameter_clocks"].get<double>() == 80 * 40 * 2);
  // The same profile as a tidy CSV: a header and one row per threshold.
  CHECK(csv.rfind("strategy,threshold,insignificant_share,parameter_clocks\nparam_server,0.1,", 0) == 0);
  CHECK(std::count(csv.begin(), csv.end(), '\n') == 8);
}

TEST_CASE("gaia sends a shard's dense table when the significant (index, value) list would be as large",
          "[strategies][gaia]") {
  // Threshold 0: every changed key is significant. The list would cost 8 bytes a key, the table 4: each
  // data center's one shard sends its dense table (80 values after a 16-byte header) to the other, and a
  // clock with no change at all sends the header alone.
  json s = run_mf("--set strategy.name=gaia --set strategy.threshold=0 --set strategy.barrier=never "
                  "--set stop.max_iterations=4",
                  "gaia");
  double wan = s["bytes"]["wan"].get<double>(), tables = s["details"]["dense_tables"].get<double>();
  const double dense = 16 + 80 * 4, sparse = 16 + 80 * 8;
  CHECK(tables > 0);
  CHECK(wan >= tables * dense);
  CHECK(std::fmod(wan - tables * dense, 16) == 0);
  CHECK(wan < tables * sparse);
}

TEST_CASE("gaia decays its threshold as 1/sqrt(clock) unless told not to", "[strategies][gaia]") {
  // A threshold that a clock's change never passes at first passes later, once divided by sqrt(clock).
  const std::string base = "--set strategy.name=gaia --set strategy.barrier=never --set stop.max_iterations=30 ";
  json constant = run_mf(base + "--set strategy.threshold=0.2 --set strategy.threshold_decay=none", "gaia");
  json decayed = run_mf(base + "--set strategy.threshold=0.2", "gaia");
  CHECK(decayed["details"]["threshold_decay"] == "sqrt");
  CHECK(decayed["details"]["updates_sent"].get<double>() > constant["details"]["updates_sent"].get<double>());
}

TEST_CASE("parameter-server settings that a clock of that kind does not use are refused, naming the field",
          "[ps][input][errors]") {
  auto refused = [](const std::string& set, const std::string& message) {
    auto r =
        run_geosim("run -q " + data("mf-iterstore.json") + " -o " + temp_dir("mf-refused").string() + " --set " + set);
    CHECK(r.status == 2);
    CHECK(r.err.find(message) != std::string::npos);
  };
  refused("strategy.batch=10", "strategy.batch: expected no batch with optimizer \"adagrad\"");
  refused("strategy.batches_per_clock=1", "strategy.batches_per_clock: expected no batches_per_clock with optimizer");
  refused("strategy.optimizer=add --set strategy.momentum=0.9",
          "strategy.momentum: expected no momentum unless batches_per_clock > 0");
}
