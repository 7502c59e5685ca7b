// Cartel: the metadata service's neighbour ranking (unit), and end to end in the geosim binary on the
// shipped drift scenario: slice bytes, what merging does, metadata-only traffic without drift, and
// adaptation against isolated learning.
#include "sim/protocols/neighbours.hpp"
#include "tests/helpers.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <map>
#include <numeric>
#include <random>
#include <sstream>

using namespace geosim::test;
using nlohmann::json;

TEST_CASE("Jensen-Shannon divergence: 0 for equal distributions, 1 bit for disjoint ones", "[cartel]") {
  CHECK(geosim::jensen_shannon({1, 1, 0}, {2, 2, 0}) == Approx(0).margin(1e-12));
  CHECK(geosim::jensen_shannon({1, 0}, {0, 1}) == Approx(1));
  double half = geosim::jensen_shannon({1, 1}, {1, 0});
  CHECK(half > 0);
  CHECK(half < 1);
  CHECK(geosim::jensen_shannon({1, 1}, {1, 0}) == Approx(geosim::jensen_shannon({1, 0}, {1, 1})));
}

TEST_CASE("the metadata service picks the closest peer that holds the needed classes", "[cartel]") {
  // A site that now sees classes 0, 1 and the new class 3.
  std::vector<double> mine{0.25, 0.25, 0, 0.5};
  std::vector<geosim::SiteProfile> peers{
      {10, {0.5, 0.5, 0, 0}},     // alike on 0 and 1, but has never seen class 3
      {11, {0, 0, 0.5, 0.5}},     // has class 3, little else in common
      {12, {0.3, 0.2, 0, 0.5}},   // alike and has class 3: the best
      {13, {0.1, 0.1, 0.3, 0.5}}, // has class 3, further away than 12
  };
  CHECK(geosim::rank_neighbours(mine, {3}, peers, 1, 0.05) == std::vector<int>{12});
  CHECK(geosim::rank_neighbours(mine, {3}, peers, 3, 0.05) == std::vector<int>{12, 13, 11});
  // Without a needed class, peer 10 competes too, and 12 still wins.
  CHECK(geosim::rank_neighbours(mine, {}, peers, 2, 0.05).front() == 12);
  CHECK(geosim::rank_neighbours(mine, {2}, {{10, {1, 0, 0, 0}}}, 1, 0.05).empty());
}

TEST_CASE("the metadata service's index ranks as a full sort of every other site's divergence would", "[cartel]") {
  // Skewed sites (classes absent), and near-uniform ones with exact duplicates, where the index's
  // divergence floor prunes most sites and ties (divergence 0) are broken by site number.
  for (bool near_uniform : {false, true}) {
    std::mt19937_64 rng(7);
    std::uniform_real_distribution<double> u(0, 1);
    auto draw = [&] {
      std::vector<double> v(6);
      for (auto& x : v)
        x = near_uniform ? 1 + 0.05 * u(rng) : (u(rng) < 0.3 ? 0 : u(rng));
      return v;
    };
    geosim::NeighbourIndex index;
    std::map<int, std::vector<double>> last;
    for (int i = 0; i < 400; ++i) { // reports, some sites reporting again
      int site = static_cast<int>(u(rng) * 120);
      last[site] = near_uniform && site % 10 == 0 && last.count(site + 1) ? last[site + 1] : draw();
      index.update(site, last[site]);
    }
    for (int q = 0; q < 20; ++q) {
      std::vector<double> mine = near_uniform && q % 4 == 0 ? last.begin()->second : draw();
      int asking = q * 6;
      std::vector<int> needed{q % 6};
      std::vector<std::pair<double, int>> brute;
      for (const auto& [site, share] : last) {
        double total = std::accumulate(share.begin(), share.end(), 0.0);
        if (site == asking || total <= 0 || share[static_cast<std::size_t>(q % 6)] / total < 0.05)
          continue;
        std::vector<double> reported = share; // normalized when it arrives, as the index holds it
        for (auto& x : reported)
          x /= total;
        brute.emplace_back(geosim::jensen_shannon(mine, reported), site);
      }
      std::sort(brute.begin(), brute.end());
      for (int k : {1, 5, 500}) {
        std::vector<int> expected;
        for (std::size_t i = 0; i < brute.size() && i < static_cast<std::size_t>(k); ++i)
          expected.push_back(brute[i].second);
        INFO("near uniform " << near_uniform << ", query " << q << ", k " << k);
        CHECK(index.rank(asking, mine, needed, k, 0.05) == expected);
      }
    }
  }
}

namespace {

json run_edge_drift(const std::string& label, const std::string& extra) {
  auto out = temp_dir("cartel-run");
  auto r = run_geosim("run -q scenarios/edge-drift.json --only " + label + " -o " + out.string() + " " + extra);
  INFO(r.err);
  REQUIRE(r.status == 0);
  return read_json(out / label / "summary.json");
}

} // namespace

TEST_CASE("cartel pulls exactly the slice it needs, and the merge lifts the site's accuracy", "[cartel]") {
  json s = run_edge_drift("cartel", "--set stop.max_sim_time_s=700");
  const json& merges = s["details"]["merges"];
  REQUIRE(merges.size() >= 2); // the trend reaches edge-01 at 300 s and edge-02 at 420 s
  double expected = 0;
  for (const auto& m : merges) {
    double classes = static_cast<double>(m["classes"].size());
    expected += classes * (20 + 1) * 4 + 4 * classes; // a row of 20 weights and a bias per class, and its number
    INFO(m.dump());
    CHECK(m["accuracy_after"].get<double>() > m["accuracy_before"].get<double>() + 0.1);
    // On the samples of the classes it pulled, the site goes from guessing to recognising them.
    CHECK(m["merged_classes_accuracy_before"].get<double>() < 0.5);
    CHECK(m["merged_classes_accuracy_after"].get<double>() > m["merged_classes_accuracy_before"].get<double>() + 0.3);
  }
  CHECK(s["details"]["slice_bytes"].get<double>() == expected);
  // Everything else on the WAN is control: metadata reports, neighbour queries and replies, slice requests.
  double wan = s["bytes"]["wan"].get<double>();
  CHECK(wan > s["details"]["slice_bytes"].get<double>() + s["details"]["metadata_bytes"].get<double>());
}

TEST_CASE("without drift, cartel moves only metadata over the WAN", "[cartel]") {
  json s = run_edge_drift("cartel", "--set 'workload.drift=[]' --set stop.max_sim_time_s=400");
  CHECK(s["details"]["merges"].empty());
  CHECK(s["details"]["slice_bytes"].get<double>() == 0);
  CHECK(s["details"]["metadata_bytes"].get<double>() > 0);
  CHECK(s["bytes"]["wan"].get<double>() == s["details"]["metadata_bytes"].get<double>());
}

TEST_CASE("on the shipped drift scenario, isolated learning never recovers faster than cartel", "[cartel]") {
  json cartel = run_edge_drift("cartel", "")["details"]["adaptation"];
  json isolated = run_edge_drift("isolated", "")["details"]["adaptation"];
  REQUIRE(cartel["events"].size() == isolated["events"].size());
  int compared = 0;
  for (std::size_t i = 0; i < cartel["events"].size(); ++i) {
    const json& c = cartel["events"][i];
    const json& s = isolated["events"][i];
    INFO(c.dump() << " / " << s.dump());
    REQUIRE(c["site"] == s["site"]);
    if (s["adaptation_s"].is_null())
      continue; // isolated never got back: it cannot have been faster
    REQUIRE_FALSE(c["adaptation_s"].is_null());
    CHECK(c["adaptation_s"].get<double>() <= s["adaptation_s"].get<double>());
    ++compared;
  }
  CHECK(compared >= 4);
}

TEST_CASE("with the metadata service cut off, cartel sites give their adaptations up and learn on alone",
          "[cartel][faults]") {
  // The hub (the metadata service's site) is off the WAN from 290 to 700 s; the trend reaches edge-01 to
  // edge-04 at 300, 420, 540 and 660 s, each while it is off.
  auto run = [](const std::string& timeout) {
    auto out = temp_dir("cartel-cut-off");
    auto r = run_geosim("run -q scenarios/edge-drift.json --only cartel -o " + out.string() +
                        " --set 'network.faults={\"sites_down_s\": {\"cloud\": [[290, 700]]}}'"
                        " --set stop.max_sim_time_s=720 --set strategy.0.reply_timeout_s=" +
                        timeout);
    INFO(r.err);
    REQUIRE(r.status == 0);
    std::size_t learning = 0; // edge-01's samples while the hub is off (one a second when it learns)
    std::istringstream csv(read_text(out / "cartel" / "convergence.csv"));
    for (std::string line; std::getline(csv, line);)
      if (line.find(",edge-01,") != std::string::npos) {
        double t = std::stod(line.substr(0, line.find(',')));
        learning += t > 320 && t < 680;
      }
    return std::make_pair(read_json(out / "cartel" / "summary.json")["details"], learning);
  };
  auto [alone, alone_learning] = run("30");
  CHECK(alone["adaptations_abandoned"] == 4);
  CHECK(alone["merges"].empty());
  CHECK(alone_learning >= 359);
  auto [waiting, waiting_learning] = run("1e300"); // no timeout: each drifting site waits for the hub
  CHECK(waiting["adaptations_abandoned"] == 0);
  CHECK(waiting_learning == 0);
  REQUIRE(waiting["merges"].size() >= 4);
  CHECK(waiting["merges"][0]["at_s"].get<double>() >= 700);
}

TEST_CASE("cartel: a site that crashes catches up from its checkpoint; a crashed metadata service loses reports only",
          "[cartel][faults]") {
  // hub-3 with cartel, one period a second, reports every 2 s, 10 periods, no drift.
  auto out = temp_dir("cartel-crash");
  auto run = [&](const std::string& name, const std::string& faults) {
    auto r = run_geosim("run -q " + data("fedavg-small.json") + " -o " + (out / name).string() +
                        " --set 'strategy={\"name\": \"cartel\", \"report_every_s\": 2}' --set stop.max_iterations=10"
                        " --set 'network.faults=" + faults + "'");
    INFO(r.err);
    REQUIRE(r.status == 0);
    return read_text(out / name / "cartel" / "convergence.csv");
  };
  // (site, period) -> (loss, accuracy) and the time it was recorded.
  auto rows = [](const std::string& csv) {
    std::map<std::pair<std::string, int>, std::pair<std::string, double>> out;
    std::istringstream in(csv);
    std::string line;
    std::getline(in, line); // header
    while (std::getline(in, line)) {
      std::vector<std::string> f;
      std::istringstream fields(line);
      for (std::string x; std::getline(fields, x, ',');)
        f.push_back(x);
      out[{f[2], std::stoi(f[3])}] = {f[4].substr(0, 12) + "," + f[5], std::stod(f[0])};
    }
    return out;
  };
  auto clean = rows(run("clean", "null"));
  // c2 is down from 3.5 to 6.2 s: periods 5-7 (due at 4, 5 and 6 s) run back to back when it boots, from
  // its checkpoint of period 4, and give the clean run's figures.
  auto c2 = rows(run("c2", "{\"sites_fail_s\": {\"c2\": [[3.5, 6.2]]}}"));
  REQUIRE(c2.size() == clean.size());
  for (const auto& [key, value] : clean) {
    INFO(key.first << " period " << key.second);
    CHECK(c2[key].first.substr(0, 10) == value.first.substr(0, 10)); // global means may sum in another order
    if (key.first == "c2" && key.second >= 5 && key.second <= 7)
      CHECK(c2[key].second == Approx(6.2).margin(1e-4));
    else if (key.first != "global")
      CHECK(c2[key].second == value.second);
  }
  // A crash in c2's first period (it computes for about 1 us from 0 s), before any checkpoint: c2 starts
  // again from the initial model at 0.5 s, with the clean run's figures.
  auto early = rows(run("early", "{\"sites_fail_s\": {\"c2\": [[1e-7, 0.5]]}}"));
  REQUIRE(early.size() == clean.size());
  for (const auto& [key, value] : clean)
    CHECK(early[key].first.substr(0, 10) == value.first.substr(0, 10));
  // The metadata service's site (the hub) down: the reports sent meanwhile are lost, the sites learn on.
  auto hub = rows(run("hub", "{\"sites_fail_s\": {\"hub\": [[3.5, 6.2]]}}"));
  for (const auto& [key, value] : clean)
    if (key.first != "global")
      CHECK(hub[key] == value);
  auto s = read_json(out / "hub" / "cartel" / "summary.json");
  CHECK(s["faults"]["lost_messages"].get<int>() == 6); // c1, c2 and c3's reports of 4 s and of 6 s
}
