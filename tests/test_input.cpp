// Bad input: every class of mistake gives one line naming the file and the JSON path, exit status 2,
// and no results. Also the strict reader and --set overrides on their own.
#include "sim/platform.hpp"
#include "sim/scenario.hpp"
#include "tests/helpers.hpp"

#include <catch2/catch.hpp>

using namespace geosim;
using namespace geosim::test;
using Catch::Matchers::Contains;

namespace {

const char* kPlatform = R"({
  "name": "p",
  "defaults": {"workers": {"count": 1, "speed_gflops": 1}, "lan": {"bandwidth_mbps": 1000, "latency_ms": 0}},
  "sites": [{"name": "a"}, {"name": "b"}, {"name": "c"}],
  "wan": {"type": "matrix", "links": [
    {"sites": ["a", "b"], "bandwidth_mbps": 100, "latency_ms": 10},
    {"sites": ["a", "c"], "bandwidth_mbps": 100, "latency_ms": 10},
    {"sites": ["b", "c"], "bandwidth_mbps": 100, "latency_ms": 10}]}
})";

const char* kScenario = R"({
  "platform": "platform.json",
  "strategy": {"name": "traffic", "flows": [{"from": "a-w0", "to": "b-w0", "bytes": 1000}]}
})";

std::string replace(std::string text, const std::string& from, const std::string& to) {
  auto pos = text.find(from);
  REQUIRE(pos != std::string::npos);
  return text.replace(pos, from.size(), to);
}

/// Writes the (possibly broken) scenario and platform, runs the scenario, and checks the failure.
void expect_rejected(const std::string& scenario, const std::string& platform, const std::string& file,
                     const std::string& field) {
  auto dir = temp_dir("bad");
  write_text(dir / "platform.json", platform);
  auto s = write_text(dir / "scenario.json", scenario);
  auto r = run_geosim("run " + s + " -o " + (dir / "out").string());
  INFO(r.err);
  CHECK(r.status == 2);
  CHECK_THAT(r.err, Contains(file) && Contains(field));
  CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
  CHECK_FALSE(std::filesystem::exists(dir / "out"));
}

} // namespace

TEST_CASE("a well-formed scenario is accepted", "[input]") {
  auto dir = temp_dir("good");
  write_text(dir / "platform.json", kPlatform);
  auto r =
      run_geosim("validate " + write_text(dir / "scenario.json", kScenario) + " " + (dir / "platform.json").string());
  CHECK(r.status == 0);
  CHECK_THAT(r.out, Contains("ok  "));
}

TEST_CASE("bad scenarios and platforms are rejected naming file and field with exit status 2", "[input]") {
  SECTION("malformed JSON") { expect_rejected("{\"platform\": ", kPlatform, "scenario.json", "malformed JSON"); }
  SECTION("unknown key") {
    expect_rejected(replace(kScenario, "\"platform\"", "\"platfrom\": 1, \"platform\""), kPlatform, "scenario.json",
                    "platfrom: unknown field");
  }
  SECTION("wrong type") {
    expect_rejected(replace(kScenario, "\"bytes\": 1000", "\"bytes\": \"lots\""), kPlatform, "scenario.json",
                    "strategy.flows[0].bytes: expected a number > 0");
  }
  SECTION("negative bandwidth") {
    expect_rejected(kScenario, replace(kPlatform, "\"bandwidth_mbps\": 100,", "\"bandwidth_mbps\": -5,"),
                    "platform.json", "wan.links[0].bandwidth_mbps: expected a number >= 1e-06, got -5");
  }
  SECTION("zero LAN bandwidth") {
    expect_rejected(kScenario, replace(kPlatform, "\"bandwidth_mbps\": 1000,", "\"bandwidth_mbps\": 0,"),
                    "platform.json", "sites[0].lan.bandwidth_mbps: expected a number >= 1e-06");
  }
  SECTION("unknown site in the WAN matrix") {
    expect_rejected(kScenario, replace(kPlatform, "[\"a\", \"c\"]", "[\"a\", \"z\"]"), "platform.json",
                    "wan.links[1].sites[1]: expected the name of a site");
  }
  SECTION("a missing pair") {
    expect_rejected(kScenario,
                    replace(kPlatform, "{\"sites\": [\"a\", \"c\"], \"bandwidth_mbps\": 100, \"latency_ms\": 10},", ""),
                    "platform.json", "wan.links: a link for every pair of sites; a and c are not connected");
  }
  SECTION("a missing platform file") {
    expect_rejected(replace(kScenario, "platform.json", "nowhere.json"), kPlatform, "scenario.json",
                    "platform: expected a platform file");
  }
  SECTION("an unknown strategy") {
    expect_rejected(replace(kScenario, "\"traffic\"", "\"gossip\""), kPlatform, "scenario.json",
                    "strategy.name: expected a strategy (one of");
  }
  SECTION("an unknown host") {
    expect_rejected(replace(kScenario, "b-w0", "b-w9"), kPlatform, "scenario.json", "strategy.flows[0].to");
  }
  SECTION("one mailbox on two hosts") {
    expect_rejected(replace(kScenario, "\"bytes\": 1000}",
                            "\"bytes\": 1000, \"mailbox\": \"m\"}, "
                            "{\"from\": \"a-w0\", \"to\": \"c-w0\", \"bytes\": 1, \"mailbox\": \"m\"}"),
                    kPlatform, "scenario.json", "strategy.flows[1].mailbox: expected a mailbox on one host");
  }
  SECTION("a mailbox named like a flow's own") {
    expect_rejected(replace(kScenario, "\"bytes\": 1000}", "\"bytes\": 1000, \"mailbox\": \"flow-1\"}"), kPlatform,
                    "scenario.json", "strategy.flows[0].mailbox: expected a name that does not start with \"flow-\"");
  }
  SECTION("a WAN slower than 1 bit/s once scaled (SimGrid's solver aborts near 0)") {
    expect_rejected(replace(kScenario, "\"platform\"", "\"network\": {\"wan_bandwidth_scale\": 1e-320}, \"platform\""),
                    kPlatform, "scenario.json", "network: expected links of at least 1e-06 Mb/s");
  }
  SECTION("a LAN slower than 1 bit/s once the scale model applies") {
    expect_rejected(replace(kScenario, "\"platform\"", "\"scale_model\": 1e300, \"platform\""),
                    replace(replace(replace(kPlatform, "\"bandwidth_mbps\": 100,", "\"bandwidth_mbps\": 1e300,"),
                                    "\"bandwidth_mbps\": 100,", "\"bandwidth_mbps\": 1e300,"),
                            "\"bandwidth_mbps\": 100,", "\"bandwidth_mbps\": 1e300,"),
                    "scenario.json", "got the LAN of a at");
  }
  SECTION("a site named like geosim's WAN zone") {
    expect_rejected(kScenario, replace(kPlatform, "{\"name\": \"c\"}", "{\"name\": \"wan\"}"), "platform.json",
                    "sites[2].name: expected a site name whose SimGrid names");
  }
  SECTION("a site named like another site's worker") {
    expect_rejected(kScenario, replace(kPlatform, "{\"name\": \"c\"}", "{\"name\": \"a-w0\"}"), "platform.json",
                    "got \"a-w0\", which would name both a worker of site a and site a-w0's zone");
  }
  SECTION("a site named like another site's gateway") {
    expect_rejected(kScenario, replace(kPlatform, "{\"name\": \"c\"}", "{\"name\": \"b-gw\"}"), "platform.json",
                    "which would name both site b's gateway");
  }
  SECTION("a name with a newline is echoed on one line") {
    expect_rejected(kScenario, replace(kPlatform, "{\"name\": \"c\"}", "{\"name\": \"c\\nd\\u001b[31m\"}"),
                    "platform.json", "got \"c\\nd\\x1b[31m\"");
  }
  for (const char* label : {"..", "../escaped", "/abs/path", "x/.", "a b"}) {
    SECTION(std::string("a strategy label that is not a plain name: ") + label) {
      expect_rejected(replace(kScenario, "\"name\": \"traffic\"",
                              std::string("\"name\": \"traffic\", \"label\": \"") + label + "\""),
                      kPlatform, "scenario.json", "strategy.label: expected a name of letters, digits");
    }
  }
  SECTION("a number beyond a double's range") {
    expect_rejected(replace(kScenario, "\"platform\"", "\"seed\": 1e400, \"platform\""), kPlatform, "scenario.json",
                    "near \"seed\": expected numbers within a double's range");
  }
  SECTION("a million-digit number is not echoed") {
    expect_rejected(replace(kScenario, "\"platform\"", "\"seed\": " + std::string(1000000, '9') + ", \"platform\""),
                    kPlatform, "scenario.json", "a number too large to represent");
  }
  SECTION("a site nested 50,000 levels deep (merging defaults would overflow the stack)") {
    std::string deep;
    for (int i = 0; i < 50000; ++i)
      deep += "{\"a\":";
    deep += "1" + std::string(50000, '}');
    expect_rejected(kScenario, replace(kPlatform, "{\"name\": \"c\"}", "{\"name\": \"c\", \"x\": " + deep + "}"),
                    "platform.json", "JSON nested at most 64 levels deep");
  }
  SECTION("a bad network model") {
    expect_rejected(replace(kScenario, "\"platform\"", "\"network\": {\"model\": \"LV99\"}, \"platform\""), kPlatform,
                    "scenario.json", "network.model: expected one of \"CM02\", \"LV08\", \"ns-3\"");
  }
}

TEST_CASE("validate reports every bad file and exits 2", "[input]") {
  auto dir = temp_dir("validate");
  auto bad = write_text(dir / "bad.json", "[1, 2]");
  auto r = run_geosim("validate " + bad + " platforms/lan-1dc.json");
  CHECK(r.status == 2);
  CHECK_THAT(r.err, Contains("bad.json: a scenario (with \"strategy\") or a platform (with \"sites\")"));
  CHECK_THAT(r.out, Contains("ok  platforms/lan-1dc.json"));
}

TEST_CASE("command-line mistakes exit 2", "[input]") {
  CHECK(run_geosim("run").status == 2);
  CHECK(run_geosim("list colours").status == 2);
  CHECK(run_geosim("run scenarios/demo-transfer.json --set nodot").status == 2);
  CHECK(run_geosim("run scenarios/demo-transfer.json --set strategy.flows.9.bytes=1").status == 2);
}

TEST_CASE("overrides (--set) reach nested objects and arrays", "[input]") {
  json doc = json::parse(R"({"stop": {"max_iterations": 5}, "strategy": [{"name": "x", "lr": 0.1}]})");
  apply_override(doc, "stop.max_iterations=50", "f");
  apply_override(doc, "strategy.0.lr=0.01", "f");
  apply_override(doc, "network.model=CM02", "f");
  CHECK(doc["stop"]["max_iterations"] == 50);
  CHECK(doc["strategy"][0]["lr"] == 0.01);
  CHECK(doc["network"]["model"] == "CM02");
  CHECK_THROWS_WITH(apply_override(doc, "stop.max_iterations.x=1", "f"), Contains("an object or array before \"x\""));
}

TEST_CASE("platform defaults merge under each site and a star WAN routes edge to edge over two uplinks", "[input]") {
  auto p = load_platform_spec("platforms/edge-star.json");
  REQUIRE(p.sites.size() == 21);
  CHECK(p.sites[0].name == "cloud");
  CHECK(p.sites[0].servers.count == 1);
  CHECK(p.sites[5].workers.speed_flops == 5e9);
  CHECK(p.wan_path(1, 2).size() == 2);
  CHECK(p.wan_path(0, 3).size() == 1);
  CHECK(p.wan_path(4, 4).empty());
}

TEST_CASE("the EC2 platform carries Gaia's quoted WAN bandwidths", "[input]") {
  auto p = load_platform_spec("platforms/ec2-11-regions.json");
  REQUIRE(p.sites.size() == 11);
  auto bw = [&](const char* a, const char* b) {
    return p.wan_path(p.site_index(a), p.site_index(b)).at(0)->bandwidth_Bps * 8 / 1e6;
  };
  CHECK(bw("singapore", "sao-paulo") == Approx(16.76));
  CHECK(bw("virginia", "california") == Approx(120));
  CHECK(bw("oregon", "virginia") == Approx(140));
}
