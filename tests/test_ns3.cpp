// ns-3, SimGrid's packet-level TCP model, on geosim platforms: messages cross multi-hop routes (host,
// switch, gateway, WAN, gateway, host), and flows that share a WAN link share its bandwidth. ns-3
// simulates every packet, so the transfers here are kept to a few seconds of host time.
#include "tests/helpers.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <filesystem>

using namespace geosim::test;

namespace {

nlohmann::json run_ns3(const std::string& name, const std::string& platform, const std::string& flows) {
  auto dir = temp_dir(name);
  write_text(dir / "platform.json", platform);
  write_text(dir / "s.json", R"({"name": ")" + name + R"(", "platform": "platform.json",
    "network": {"model": "ns-3"}, "strategy": {"name": "traffic", "flows": )" + flows + "}}");
  auto r = run_geosim("run -q " + (dir / "s.json").string() + " -o " + (dir / "out").string());
  INFO(r.err);
  REQUIRE(r.status == 0);
  return read_json(dir / "out" / "traffic" / "summary.json");
}

double duration(const nlohmann::json& s, int flow) { return s["details"]["flows"][flow]["duration_s"]; }

// Two data centers of two hosts, a 80 Mb/s (1e7 B/s), 50 ms WAN link between them.
const char* kTwoSites = R"({"name": "two", "defaults": {"workers": {"count": 2, "speed_gflops": 1},
  "lan": {"bandwidth_mbps": 8000, "latency_ms": 0.1}}, "sites": [{"name": "a"}, {"name": "b"}],
  "wan": {"type": "matrix", "links": [{"sites": ["a", "b"], "bandwidth_mbps": 80, "latency_ms": 50}]}})";

} // namespace

TEST_CASE("under ns-3 two flows on one WAN link each get about half of it", "[network][ns3]") {
  const double bytes = 1e7, wan_Bps = 1e7;
  auto alone = run_ns3("ns3-alone", kTwoSites, R"([{"from": "a-w0", "to": "b-w0", "bytes": 1e7}])");
  CHECK(alone["network_model"] == "ns-3");
  auto shared = run_ns3("ns3-shared", kTwoSites,
                        R"([{"from": "a-w0", "to": "b-w0", "bytes": 1e7}, {"from": "a-w1", "to": "b-w1", "bytes": 1e7}])");
  double one = duration(alone, 0), a = duration(shared, 0), b = duration(shared, 1);
  // Alone, a flow gets the link once TCP has opened its window: slow start from one segment to the
  // 1 MB bandwidth-delay product takes about ten round trips of 0.1 s.
  CHECK(one > bytes / wan_Bps);
  CHECK(one < bytes / wan_Bps + 1.2);
  // Together, neither starves the other, and each takes one more S/B than alone: half the link each.
  CHECK(std::max(a, b) < 1.25 * std::min(a, b));
  CHECK((a + b) / 2 - one == Approx(bytes / wan_Bps).epsilon(0.25));
}

TEST_CASE("under ns-3 a 64 MB message crosses a two-uplink route through the hub", "[network][ns3]") {
  // A star: c1 reaches c2 over its uplink to the hub and the hub's downlink to c2, through three routers.
  const char* star = R"({"name": "star", "defaults": {"kind": "edge", "workers": {"count": 1, "speed_gflops": 1},
    "lan": {"bandwidth_mbps": 10000, "latency_ms": 0.1}}, "sites": [{"name": "hub", "kind": "dc"},
    {"name": "c1"}, {"name": "c2"}], "wan": {"type": "star", "hub": "hub",
    "uplink": {"bandwidth_mbps": 1000, "latency_ms": 5}}})";
  auto s = run_ns3("ns3-64mb", star, R"([{"from": "c1-w0", "to": "c2-w0", "bytes": 64e6}])");
  CHECK(s["bytes"]["wan"].get<double>() == 64e6);
  double t = duration(s, 0);
  CHECK(t > 64e6 / 1.25e8);
  CHECK(t < 2 * 64e6 / 1.25e8);
}

TEST_CASE("under ns-3 a message larger than the TCP buffers ends the run with one line", "[network][ns3][errors]") {
  auto dir = temp_dir("ns3-too-big");
  write_text(dir / "platform.json", kTwoSites);
  write_text(dir / "s.json", R"({"name": "big", "platform": "platform.json", "network": {"model": "ns-3"},
    "strategy": {"name": "traffic", "flows": [{"from": "a-w0", "to": "b-w0", "bytes": 2e9}]}})");
  auto r = run_geosim("run -q " + (dir / "s.json").string() + " -o " + (dir / "out").string());
  CHECK(r.status == 1);
  CHECK(line_count(r.err) == 1);
  CHECK(r.err.find("larger than the TCP buffers geosim gives ns-3") != std::string::npos);
  CHECK_FALSE(std::filesystem::exists(dir / "out"));
}

TEST_CASE("under ns-3 the same run twice gives byte-identical results", "[network][ns3][determinism]") {
  const char* flows = R"([{"from": "a-w0", "to": "b-w0", "bytes": 3e6}, {"from": "a-w1", "to": "b-w0", "bytes": 2e6}])";
  auto one = run_ns3("ns3-again-1", kTwoSites, flows), two = run_ns3("ns3-again-2", kTwoSites, flows);
  for (const char* key : {"scenario", "scenario_file", "platform_file"}) { // two folders, two names
    one.erase(key);
    two.erase(key);
  }
  CHECK(one == two);
}
