// docs/adding-a-strategy.md's worked example (ring_average), compiled from the page as written into a
// geosim of its own (GEOSIM_GUIDE_BIN): it registers, moves exactly one model per site per round,
// learns, and refuses the stop conditions it cannot honour.
#include "tests/helpers.hpp"

#include <catch2/catch.hpp>

using namespace geosim::test;
using nlohmann::json;

namespace {
std::string ring_scenario(const std::string& stop) {
  return write_text(temp_dir("guide") / "ring.json", R"({
  "name": "ring",
  "platform": ")" GEOSIM_SOURCE_DIR R"(/tests/data/hub-3.json",
  "network": {"model": "CM02"},
  "workload": {
    "dataset": {"kind": "mixture", "classes": 3, "dims": 5, "separation": 4, "samples": 600},
    "partition": {"kind": "iid", "sites": "edge"},
    "model": {"kind": "softmax"}
  },
  "stop": )" + stop + R"(,
  "strategy": {"name": "ring_average", "local_epochs": 2, "batch": 10, "lr": 0.1}
})");
}
} // namespace

TEST_CASE("the guide's ring_average example registers with nothing but its own file", "[guide]") {
  auto r = run_program(GEOSIM_GUIDE_BIN, "list strategies");
  CHECK(r.status == 0);
  CHECK(r.out.find("ring_average") != std::string::npos);
  auto shipped = run_geosim("list strategies");
  CHECK(shipped.out.find("fedavg") != std::string::npos);
  CHECK(shipped.out.find("ring_average") == std::string::npos); // not a shipped strategy
}

TEST_CASE("the guide's ring_average moves one model per site per round, and the sites learn", "[guide]") {
  auto out = temp_dir("guide-run");
  auto r =
      run_program(GEOSIM_GUIDE_BIN, "run -q " + ring_scenario(R"({"max_iterations": 10})") + " -o " + out.string());
  INFO(r.err);
  REQUIRE(r.status == 0);
  json s = read_json(out / "ring_average" / "summary.json");
  // Three client sites; softmax 5 -> 3 is 18 parameters of 4 bytes. Every message crosses the hub.
  CHECK(s["bytes"]["wan"].get<double>() == 10 * 3 * 18 * 4);
  CHECK(s["bytes"]["messages"] == 30);
  CHECK(s["iterations"] == 10);
  CHECK(s["final"]["accuracy"].get<double>() > 0.9);
  CHECK(s["bytes"]["by_site_pair"]["c1->c2"].get<double>() == 10 * 72);
  CHECK(s["bytes"]["by_site_pair"]["c3->c1"].get<double>() == 10 * 72);
}

TEST_CASE("the guide's ring_average refuses a target in one line", "[guide][input]") {
  std::string file = ring_scenario(R"({"max_iterations": 10, "target_accuracy": 0.9})");
  auto r = run_program(GEOSIM_GUIDE_BIN, "validate " + file);
  CHECK(r.status == 2);
  CHECK(r.err == "geosim: " + file +
                     ": stop: expected max_iterations alone (the sites of a ring stop at the same round), got a "
                     "target or a convergence rule\n");
}
