// The platform, the transport and the runner against closed-form network timings (CM02), byte
// accounting, the probe and determinism. Every simulation runs in the geosim binary.
#include "tests/helpers.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <map>

using namespace geosim::test;
using Catch::Matchers::Contains;

namespace {
// tests/data/two-sites.json: a 80 Mb/s (1e7 B/s), 50 ms WAN link between sites a and b; LAN links are
// 8000 Mb/s with zero latency, so the WAN is the bottleneck of every inter-site flow.
constexpr double kWanBps = 1e7;
constexpr double kWanLatency = 0.05;

nlohmann::json run_summary(const std::string& scenario, const std::string& out_name) {
  auto out = temp_dir(out_name);
  auto r = run_geosim("run -q " + data(scenario) + " -o " + out.string());
  REQUIRE(r.status == 0);
  return read_json(out / "traffic" / "summary.json");
}
} // namespace

TEST_CASE("one message over a WAN link takes L + S/B under CM02", "[network]") {
  auto s = run_summary("one-flow.json", "one-flow");
  double expected = kWanLatency + 1e8 / kWanBps;
  CHECK(s["network_model"] == "CM02");
  CHECK(s["details"]["flows"][0]["duration_s"].get<double>() == Approx(expected).epsilon(1e-3));
  CHECK(s["sim_time_s"].get<double>() == Approx(expected).epsilon(1e-3));
}

TEST_CASE("two concurrent flows on one WAN link each get half its bandwidth", "[network]") {
  auto s = run_summary("two-flows.json", "two-flows");
  auto flows = s["details"]["flows"];
  double shared = kWanLatency + 1e8 / (kWanBps / 2);
  CHECK(flows[0]["duration_s"].get<double>() == Approx(shared).epsilon(1e-3));
  CHECK(flows[1]["duration_s"].get<double>() == Approx(shared).epsilon(1e-3));
  // The LAN flow inside site a starts at 1 s and shares a-w0's 1e9 B/s NIC with flow 0, which the WAN
  // holds to 5e6 B/s: max-min fairness leaves it the rest.
  CHECK(flows[2]["duration_s"].get<double>() == Approx(5e7 / (1e9 - kWanBps / 2)).epsilon(1e-3));
}

TEST_CASE("two messages on one connection cross one after the other, as over one TCP stream", "[network]") {
  // Both are sent at time 0 from a-w0 to one mailbox on b-w0 (either may go first). Sharing the link as
  // parallel flows, both would arrive at L + 2S/B; one after the other, the first arrives at L + S/B
  // and the second one latency and one transfer later.
  auto flows = run_summary("one-connection.json", "one-connection")["details"]["flows"];
  double a = flows[0]["end_s"], b = flows[1]["end_s"];
  double first = std::min(a, b), second = std::max(a, b);
  double one = kWanLatency + 1e8 / kWanBps;
  CHECK(first == Approx(one).epsilon(1e-3));
  CHECK(second == Approx(2 * one).epsilon(1e-3));
}

TEST_CASE("the transport counts WAN and LAN bytes by site pair and by link", "[network][bytes]") {
  auto b = run_summary("two-flows.json", "bytes")["bytes"];
  CHECK(b["wan"].get<double>() == 2e8);
  CHECK(b["lan"].get<double>() == 5e7);
  CHECK(b["messages"].get<int>() == 3);
  CHECK(b["by_site_pair"]["a->b"].get<double>() == 2e8);
  CHECK(b["by_site_pair"]["a->a"].get<double>() == 5e7);
  CHECK_FALSE(b["by_site_pair"].contains("b->a"));
  CHECK(b["by_link"]["wan-a-b_UP"].get<double>() == 2e8);
  CHECK_FALSE(b["by_link"].contains("wan-a-b_DOWN"));
  CHECK(b["by_link"]["b-w0-lan_DOWN"].get<double>() == 2e8);
  CHECK(b["by_link"]["a-w0-lan_UP"].get<double>() == 1e8 + 5e7);
}

TEST_CASE("a star WAN routes one-host sites, a hub and other data centers over the right links", "[network]") {
  // A hub of two hosts, a data center "dc" of two, and two one-host sites, every uplink 1e7 B/s and 50 ms,
  // every LAN link 1e9 B/s and 1 ms (2 ms host to host). geosim builds one-host sites without a zone of
  // their own (sim/platform.cpp); each flow runs alone and must cross exactly the links named below.
  auto dir = temp_dir("star-routes");
  write_text(dir / "star.json", R"({"name": "star", "defaults": {"workers": {"count": 1, "speed_gflops": 1},
    "lan": {"bandwidth_mbps": 8000, "latency_ms": 2}},
    "sites": [{"name": "hub", "workers": {"count": 2, "speed_gflops": 1}}, {"name": "e1"},
              {"name": "dc", "workers": {"count": 2, "speed_gflops": 1}}, {"name": "e2"}],
    "wan": {"type": "star", "hub": "hub", "uplink": {"bandwidth_mbps": 80, "latency_ms": 50}}})");
  auto scenario = write_text(dir / "s.json", R"({"platform": "star.json", "network": {"model": "CM02"},
    "strategy": {"name": "traffic", "flows": [
      {"from": "e1-w0", "to": "e2-w0", "bytes": 1e8},
      {"from": "e1-w0", "to": "hub-w1", "bytes": 1e8, "start_s": 20},
      {"from": "hub-w0", "to": "e2-w0", "bytes": 1e8, "start_s": 40},
      {"from": "dc-w0", "to": "e1-w0", "bytes": 1e8, "start_s": 60},
      {"from": "e2-w0", "to": "dc-w1", "bytes": 1e8, "start_s": 80},
      {"from": "dc-w0", "to": "dc-w1", "bytes": 1e8, "start_s": 100}]}})");
  auto out = dir / "out";
  REQUIRE(run_geosim("run -q " + scenario + " -o " + out.string()).status == 0);
  auto s = read_json(out / "traffic" / "summary.json");
  auto flows = s["details"]["flows"];
  double two_uplinks = 0.001 + 0.05 + 0.05 + 0.001 + 1e8 / kWanBps, one_uplink = 0.001 + 0.05 + 0.001 + 1e8 / kWanBps;
  std::vector<double> expected = {two_uplinks, one_uplink, one_uplink, two_uplinks, two_uplinks, 0.002 + 1e8 / 1e9};
  for (std::size_t i = 0; i < expected.size(); ++i)
    CHECK(flows[i]["duration_s"].get<double>() == Approx(expected[i]).epsilon(1e-9));
  auto links = s["bytes"]["by_link"];
  std::map<std::string, double> crossed = {
      {"e1-w0-lan_UP", 2e8},        {"wan-e1-uplink_UP", 2e8}, {"wan-e2-uplink_DOWN", 2e8}, {"e2-w0-lan_DOWN", 2e8},
      {"hub-w1-lan_DOWN", 1e8},     {"hub-w0-lan_UP", 1e8},    {"dc-w0-lan_UP", 2e8},       {"wan-dc-uplink_UP", 1e8},
      {"wan-e1-uplink_DOWN", 1e8},  {"e1-w0-lan_DOWN", 1e8},   {"e2-w0-lan_UP", 1e8},       {"wan-e2-uplink_UP", 1e8},
      {"wan-dc-uplink_DOWN", 1e8},  {"dc-w1-lan_DOWN", 2e8}};
  for (const auto& [name, bytes] : crossed)
    CHECK(links.value(name, 0.0) == bytes);
  CHECK(links.size() == crossed.size());
}

TEST_CASE("LV08 scales latency by 13.01 and bandwidth by 0.97", "[network]") {
  auto out = temp_dir("lv08");
  auto r = run_geosim("run -q " + data("one-flow.json") + " --set network.model=LV08 -o " + out.string());
  REQUIRE(r.status == 0);
  auto s = read_json(out / "traffic" / "summary.json");
  CHECK(s["network_model"] == "LV08");
  CHECK(s["sim_time_s"].get<double>() == Approx(13.01 * kWanLatency + 1e8 / (0.97 * kWanBps)).epsilon(1e-3));
}

TEST_CASE("probe reports the bandwidth and round-trip time the platform sets (CM02)", "[probe]") {
  auto r = run_geosim("probe --json " + data("two-sites.json"));
  REQUIRE(r.status == 0);
  auto j = nlohmann::json::parse(r.out);
  CHECK(j["network_model"] == "CM02");
  REQUIRE(j["pairs"].size() == 2);
  for (const auto& p : j["pairs"]) {
    CHECK(p["bandwidth_mbps"].get<double>() == Approx(80).epsilon(1e-3));
    CHECK(p["rtt_ms"].get<double>() == Approx(2 * 50).epsilon(1e-3));
  }
}

TEST_CASE("probe's matrix names every site", "[probe]") {
  auto r = run_geosim("probe " + data("two-sites.json"));
  REQUIRE(r.status == 0);
  CHECK_THAT(r.out, Contains("achieved bandwidth (Mb/s)") && Contains("round-trip time (ms)"));
}

TEST_CASE("the same scenario and seed give byte-identical results; host timings sit apart", "[determinism]") {
  auto a = temp_dir("det-a"), b = temp_dir("det-b");
  REQUIRE(run_geosim("run -q scenarios/demo-transfer.json -o " + a.string()).status == 0);
  REQUIRE(run_geosim("run -q scenarios/demo-transfer.json -o " + b.string()).status == 0);
  CHECK(read_text(a / "traffic" / "summary.json") == read_text(b / "traffic" / "summary.json"));
  CHECK(read_text(a / "traffic" / "convergence.csv") == read_text(b / "traffic" / "convergence.csv"));
  auto host = read_json(a / "traffic" / "host.json");
  CHECK(host["wall_s"].get<double>() > 0);
  CHECK(host["cpu_s"].is_number());
}

TEST_CASE("a scenario with several strategies writes a comparison", "[runner]") {
  auto out = temp_dir("compare");
  auto dir = temp_dir("compare-in");
  write_text(dir / "two-sites.json", read_text(data("two-sites.json")));
  auto scenario = write_text(dir / "s.json", R"({
    "platform": "two-sites.json", "network": {"model": "CM02"}, "reference": "slow",
    "strategy": [
      {"name": "traffic", "label": "slow", "flows": [{"from": "a-w0", "to": "b-w0", "bytes": 2e8}]},
      {"name": "traffic", "label": "fast", "flows": [{"from": "a-w0", "to": "a-w1", "bytes": 2e8}]}]})");
  auto r = run_geosim("run -q -j 2 " + scenario + " -o " + out.string());
  REQUIRE(r.status == 0);
  auto c = read_json(out / "comparison.json");
  CHECK(c["reference"] == "slow");
  REQUIRE(c["strategies"].size() == 2);
  CHECK(c["strategies"][1]["label"] == "fast");
  CHECK(c["strategies"][1]["wan_bytes"].get<double>() == 0);
  CHECK(c["strategies"][0]["wan_bytes_vs_ref"].get<double>() == 1.0);
  CHECK(c["strategies"][0]["compute_core_s"].get<double>() == 0); // traffic computes nothing
  CHECK_THAT(read_text(out / "comparison.csv"), Contains("label,strategy,reached_target"));
  CHECK_THAT(read_text(out / "comparison.csv"), Contains(",compute_core_s,compute_core_s_to_target,"));
  // Without faults, the fault columns are empty.
  CHECK_THAT(read_text(out / "comparison.csv"), Contains(",goodput_core_s_per_s,iterations_affected,lost_messages,"));
  CHECK(c["strategies"][0]["iterations_affected"].is_null());
  CHECK(c["strategies"][0]["bytes_resent"].is_null());
}

// ---------------------------------------------------------------------------------------------------------
// Links that change over time (sim/link_trace.*): tests/data/two-sites.json's WAN link with a "trace".

namespace {
/// Writes two-sites.json with `trace` on its WAN link and a scenario sending one 1e8-byte flow from a to b
/// at `start_s`; returns the scenario's path.
std::filesystem::path traced_flow(const std::string& name, const nlohmann::json& trace, double start_s = 0) {
  auto dir = temp_dir(name);
  auto platform = read_json(data("two-sites.json"));
  platform["wan"]["links"][0]["trace"] = trace;
  write_text(dir / "platform.json", platform.dump());
  nlohmann::json scenario = {{"name", name}, {"platform", "platform.json"}, {"network", {{"model", "CM02"}}},
                             {"strategy", {{"name", "traffic"}, {"flows", {{{"from", "a-w0"}, {"to", "b-w0"},
                                                                            {"bytes", 1e8}, {"start_s", start_s}}}}}}};
  write_text(dir / "scenario.json", scenario.dump());
  return dir / "scenario.json";
}

double traced_end(const std::filesystem::path& scenario) {
  auto out = scenario.parent_path() / "out";
  auto r = run_geosim("run -q " + scenario.string() + " -o " + out.string());
  REQUIRE(r.status == 0);
  return read_json(out / "traffic" / "summary.json")["details"]["flows"][0]["end_s"].get<double>();
}
} // namespace

TEST_CASE("a WAN link whose bandwidth halves at t: a flow crossing t takes the closed-form time", "[network][trace]") {
  // 80 Mb/s until 4 s, then 40: by 4 s the flow has moved B (4 - L) bytes, the rest goes at B/2.
  double end = traced_end(traced_flow("trace-half", {{"bandwidth_mbps", {{4, 40}}}}));
  CHECK(end == Approx(4 + (1e8 - kWanBps * (4 - kWanLatency)) / (kWanBps / 2)).epsilon(1e-9));
  // Untraced, the same flow ends at L + S/B; a trace read from a text file (comments, blank lines)
  // that halves the bandwidth from 4 to 6 s costs it one second.
  auto scenario = traced_flow("trace-file", {{"bandwidth_mbps", "bw.txt"}});
  write_text(scenario.parent_path() / "bw.txt", "# time_s  Mb/s\n4 40\n\n6 80   # back to nominal\n");
  CHECK(traced_end(scenario) == Approx(kWanLatency + 1e8 / kWanBps + 1).epsilon(1e-9));
}

TEST_CASE("a WAN link down from t1 to t2 delays a flow crossing it by exactly the outage (CM02)", "[network][trace]") {
  double end = traced_end(traced_flow("trace-down", {{"down_s", {{3, 7}}}}));
  CHECK(end == Approx(kWanLatency + 1e8 / kWanBps + 4).epsilon(1e-9));
  // A message handed over while the link is down waits for it: sent at 4 s, it starts crossing at 7 s
  // and takes L + S/B from there (sim/outages.hpp).
  end = traced_end(traced_flow("trace-down-start", {{"down_s", {{3, 7}}}}, 4));
  CHECK(end == Approx(7 + kWanLatency + 1e8 / kWanBps).epsilon(1e-9));
  // The bandwidth in force when the link comes back is the trace's: down 3-7 s, 40 Mb/s from 5 s.
  end = traced_end(traced_flow("trace-down-half", {{"down_s", {{3, 7}}}, {"bandwidth_mbps", {{5, 40}}}}));
  CHECK(end == Approx(7 + (1e8 - kWanBps * (3 - kWanLatency)) / (kWanBps / 2)).epsilon(1e-9));
}

TEST_CASE("a latency trace sets the latency of flows that start after its change", "[network][trace]") {
  double end = traced_end(traced_flow("trace-latency", {{"latency_ms", {{1, 150}}}}, 2));
  CHECK(end == Approx(2 + 0.15 + 1e8 / kWanBps).epsilon(1e-9));
}

TEST_CASE("a bad trace is refused with exit 2, naming the file and the line or field", "[network][trace][errors]") {
  auto scenario = traced_flow("trace-bad", {{"bandwidth_mbps", "bw.txt"}});
  auto check = [&](const std::string& text, const std::string& says) {
    write_text(scenario.parent_path() / "bw.txt", text);
    auto r = run_geosim("validate " + scenario.string());
    CHECK(r.status == 2);
    CHECK_THAT(r.err, Contains("bw.txt:" + says));
    CHECK(line_count(r.err) == 1);
  };
  check("4 40\n5 oops\n", "2: expected two numbers (time and value), got \"5 oops\"");
  check("# header\n4 40\n3 80\n", "3: expected times of at least 0 s in increasing order, got 3 80");
  check("4 40 7\n", "1: expected two numbers");
  check("4 -1\n", "1: expected a value in Mb/s");
  std::filesystem::remove(scenario.parent_path() / "bw.txt");
  auto r = run_geosim("validate " + scenario.string());
  CHECK(r.status == 2);
  CHECK_THAT(r.err, Contains("bw.txt: cannot read this trace file"));

  auto overlap = traced_flow("trace-overlap", {{"down_s", {{3, 7}, {6, 9}}}});
  r = run_geosim("validate " + overlap.string());
  CHECK(r.status == 2);
  CHECK_THAT(r.err, Contains("platform.json: wan.links[0].trace.down_s[1]: expected an interval"));
  r = run_geosim("validate " + traced_flow("trace-ns3", {{"down_s", {{3, 7}}}}).string() + " --set network.model=ns-3");
  CHECK(r.status == 2);
  CHECK_THAT(r.err, Contains("under ns-3"));
}

// ---------------------------------------------------------------------------------------------------------
// Faults a scenario lays over the WAN (network.faults, sim/faults.*).

namespace {
/// A traffic scenario on tests/data/gaia-tri.json (three sites, three 100 Mb/s links) with `faults`;
/// one 1e8-byte flow from fast to b. `files` are written beside the scenario.
nlohmann::json faulty_run(const std::string& name, const nlohmann::json& faults, int status = 0,
                          const std::map<std::string, std::string>& files = {}) {
  auto dir = temp_dir(name);
  for (const auto& [file, text] : files)
    write_text(dir / file, text);
  nlohmann::json scenario = {
      {"name", name},
      {"platform", std::filesystem::absolute(data("gaia-tri.json")).string()},
      {"network", {{"model", "CM02"}, {"faults", faults}}},
      {"strategy", {{"name", "traffic"}, {"flows", {{{"from", "fast-w0"}, {"to", "b-w0"}, {"bytes", 1e8}}}}}}};
  write_text(dir / "scenario.json", scenario.dump());
  auto r = run_geosim("run -q " + (dir / "scenario.json").string() + " -o " + (dir / "out").string());
  REQUIRE(r.status == status);
  return status == 0 ? read_json(dir / "out" / "traffic" / "summary.json") : nlohmann::json{{"err", r.err}};
}
} // namespace

TEST_CASE("a site cut off from the WAN stalls every flow through its links for exactly the outage",
          "[network][faults]") {
  // b is down 3-5 s and 4-7 s: one outage of 4 s on each of its links, none on fast-c.
  auto s = faulty_run("faults-site", {{"sites_down_s", {{"b", {{3, 5}, {4, 7}}}}}});
  double nominal = 0.01 + 1e8 / 12.5e6;
  CHECK(s["details"]["flows"][0]["end_s"].get<double>() == Approx(nominal + 4).epsilon(1e-9));
  auto links = s["faults"]["outages_by_link"];
  CHECK(links.size() == 2);
  CHECK(links["wan-fast-b"]["outages"] == 1);
  CHECK(links["wan-fast-b"]["down_s"].get<double>() == 4);
  CHECK(links["wan-b-c"]["intervals"] == nlohmann::json::parse("[[3, 7]]"));
  CHECK_FALSE(links.contains("wan-fast-c"));
}

TEST_CASE("edge-device availability from a text file cuts sites off as the inline form does", "[network][faults]") {
  auto s = faulty_run("faults-file", {{"sites_down_file", "offline.txt"}}, 0,
                      {{"offline.txt", "# site from_s to_s\nb 3 5\n\nb 4 7   # overlaps: one outage\n"}});
  CHECK(s["details"]["flows"][0]["end_s"].get<double>() == Approx(0.01 + 1e8 / 12.5e6 + 4).epsilon(1e-9));
  CHECK(s["faults"]["outages_by_link"]["wan-fast-b"]["intervals"] == nlohmann::json::parse("[[3, 7]]"));
  auto bad = [](const std::string& name, const std::string& text) {
    return faulty_run(name, {{"sites_down_file", "offline.txt"}}, 2, {{"offline.txt", text}})["err"].get<std::string>();
  };
  CHECK_THAT(bad("faults-file-site", "b 1 2\nnowhere 1 2\n"),
             Contains("offline.txt:2: expected the name of a site of the platform, got \"nowhere 1 2\""));
  CHECK_THAT(bad("faults-file-fields", "b 1\n"), Contains("offline.txt:1: expected a site and an interval"));
  CHECK_THAT(bad("faults-file-order", "b 5 2\n"), Contains("offline.txt:1: expected an interval with 0 <= from_s"));
  CHECK_THAT(faulty_run("faults-file-none", {{"sites_down_file", "missing.txt"}}, 2)["err"].get<std::string>(),
             Contains("missing.txt: cannot read this file of offline intervals"));
}

TEST_CASE("generated faults: the seed fixes them, a correlated group moves as one", "[network][faults]") {
  nlohmann::json faults = {{"horizon_s", 400},
                           {"bandwidth", {{"every_s", 2}, {"sd", 0.3}}},
                           {"outages", {{"mtbf_s", 40}, {"mttr_s", 5}}},
                           {"correlated", nlohmann::json::array({nlohmann::json::array({"wan-fast-b", "wan-b-c"})})}};
  auto a = faulty_run("faults-gen-a", faults), b = faulty_run("faults-gen-b", faults);
  CHECK(a["faults"] == b["faults"]);
  CHECK(a["details"]["flows"] == b["details"]["flows"]);
  auto links = a["faults"]["outages_by_link"];
  REQUIRE(links.contains("wan-fast-b"));
  CHECK(links["wan-fast-b"] == links["wan-b-c"]);
  CHECK(links["wan-fast-b"] != links["wan-fast-c"]);
  // The noise moves the flow off its nominal time; another seed draws other faults.
  CHECK(a["details"]["flows"][0]["end_s"].get<double>() != Approx(0.01 + 1e8 / 12.5e6));
  faults["seed"] = 99;
  CHECK(faulty_run("faults-gen-c", faults)["faults"] != a["faults"]);
}

TEST_CASE("bad faults are refused naming the field", "[network][faults][errors]") {
  auto err = [](const std::string& name, const nlohmann::json& f) {
    return faulty_run(name, f, 2)["err"].get<std::string>();
  };
  CHECK_THAT(err("faults-bad-link", {{"correlated", {{"wan-fast-x"}}}}),
             Contains("network.faults.correlated[0][0]: expected the name of a WAN link"));
  CHECK_THAT(err("faults-twice", {{"correlated", {{"wan-fast-b"}, {"wan-fast-b"}}}}),
             Contains("a link in one correlated group only"));
  CHECK_THAT(err("faults-site", {{"sites_down_s", {{"nowhere", {{1, 2}}}}}}),
             Contains("network.faults.sites_down_s.nowhere: expected the name of a site of the platform, got \"nowhere\""));
  CHECK_THAT(err("faults-interval", {{"sites_down_s", {{"b", {{2, 1}}}}}}),
             Contains("with from_s < to_s, got [2,1]")); // a short array is shown as written
  CHECK_THAT(err("faults-horizon", {{"outages", {{"mtbf_s", 10}, {"mttr_s", 1}}}}),
             Contains("network.faults.horizon_s"));
}
