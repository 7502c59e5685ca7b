#include "sim/scenario.hpp"

#include "sim/footprint.hpp"
#include "sim/strategy.hpp"

#include <algorithm>
#include <fmt/format.h>

#include <filesystem>
#include <set>

namespace fs = std::filesystem;

namespace geosim {

void apply_override(json& doc, const std::string& assignment, const std::string& file) {
  auto eq = assignment.find('=');
  if (eq == std::string::npos || eq == 0)
    input_error(file, "--set " + assignment, "path=value");
  std::string path = assignment.substr(0, eq), text = assignment.substr(eq + 1);
  json value = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (value.is_discarded())
    value = text;
  json* node = &doc;
  std::size_t start = 0;
  while (true) {
    auto dot = path.find('.', start);
    std::string key = path.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    if (key.empty())
      input_error(file, "--set " + path, "a dotted path such as stop.max_iterations");
    if (node->is_null())
      *node = json::object(); // a section the scenario leaves out, such as "network"
    if (node->is_array()) {
      std::size_t idx = 0;
      try {
        idx = std::stoul(key);
      } catch (const std::exception&) {
        input_error(file, "--set " + path, fmt::format("an array index at \"{}\"", key));
      }
      if (idx >= node->size())
        input_error(file, "--set " + path, fmt::format("an index below {} at \"{}\"", node->size(), key));
      node = &(*node)[idx];
    } else if (node->is_object()) {
      node = &(*node)[key];
    } else {
      input_error(file, "--set " + path, fmt::format("an object or array before \"{}\"", key));
    }
    if (dot == std::string::npos)
      break;
    start = dot + 1;
  }
  *node = value;
}

namespace {

NetworkSpec parse_network(Field f, const PlatformSpec& platform, long long seed) {
  NetworkSpec n;
  if (auto m = f.maybe("model")) {
    n.model = m->choice({"CM02", "LV08", "ns-3"});
  }
  n.tcp_window_bytes =
      f.number_or("tcp_window_bytes", n.tcp_window_bytes, 0, std::numeric_limits<double>::infinity(), true);
  if (auto b = f.maybe("wan_bandwidth_mbps"))
    n.wan_bandwidth_mbps = b->number(0, std::numeric_limits<double>::infinity(), true);
  n.wan_bandwidth_scale =
      f.number_or("wan_bandwidth_scale", n.wan_bandwidth_scale, 0, std::numeric_limits<double>::infinity(), true);
  if (auto faults = f.maybe("faults"); faults && !faults->raw().is_null()) // null: none (--set network.faults=null)
    n.faults = parse_faults(*faults, platform, seed);
  f.finish();
  return n;
}

SovereigntySpec parse_sovereignty(Field f, const PlatformSpec& platform) {
  SovereigntySpec s;
  std::set<std::string> known;
  for (const auto& site : platform.sites)
    known.insert(site.jurisdiction);
  Field raw = f.at("raw_data");
  auto jurisdiction = [&](const Field& j) {
    std::string name = j.string();
    if (!known.count(name))
      j.fail(fmt::format("a jurisdiction of the platform's sites ({})", fmt::join(known, ", ")));
    return name;
  };
  if (raw.is_object()) {
    if (auto list = raw.maybe("stay_in"))
      for (Field j : list->elements())
        s.stay_in.insert(jurisdiction(j));
    if (auto allowed = raw.maybe("allowed_destinations")) {
      if (!allowed->is_object())
        allowed->fail("an object: jurisdiction -> the jurisdictions its raw data may go to");
      for (const auto& from : allowed->keys()) {
        Field to = allowed->at(from);
        auto& set = s.allowed_destinations[jurisdiction(Field(allowed->file(), to.path(), json(from)))];
        for (Field j : to.elements())
          set.insert(jurisdiction(j));
      }
    }
    if (s.stay_in.empty() && s.allowed_destinations.empty())
      raw.fail("\"stay_in_jurisdiction\", or an object with \"stay_in\" or \"allowed_destinations\"");
    raw.finish();
  } else if (raw.choice({"stay_in_jurisdiction"}) == "stay_in_jurisdiction") {
    s.all = true;
  }
  s.enforce = f.boolean_or("enforce", false);
  f.finish();
  return s;
}

/// With an enforced policy, a strategy that says it will ship raw data across a forbidden border is an
/// input error before anything runs.
void check_sovereignty(const Scenario& sc) {
  if (!sc.sovereignty.enforce)
    return;
  for (const auto& e : sc.strategies)
    for (auto [a, b] : e.strategy->raw_data_moves()) {
      const SiteSpec &from = sc.platform.sites[a], &to = sc.platform.sites[b];
      if (sc.sovereignty.forbids(from.jurisdiction, to.jurisdiction))
        input_error(sc.file, "sovereignty", "strategies that keep raw data in its jurisdiction (enforce: true)",
                    fmt::format("strategy {} ships raw data from {} ({}) to {} ({})", e.label, from.name,
                                from.jurisdiction, to.name, to.jurisdiction));
    }
}

StopSpec parse_stop(Field f) {
  StopSpec s;
  if (auto v = f.maybe("target_loss"))
    s.target_loss = v->number(0);
  if (auto v = f.maybe("target_accuracy"))
    s.target_accuracy = v->number(0, 1);
  if (auto v = f.maybe("max_sim_time_s"))
    s.max_sim_time_s = v->number(0, std::numeric_limits<double>::infinity(), true);
  if (auto v = f.maybe("max_iterations"))
    s.max_iterations = v->integer(1);
  if (auto c = f.maybe("converged")) {
    s.converged_clocks = c->integer_or("clocks", 10, 1, 1000000);
    s.converged_change = c->number_or("change", s.converged_change, 0, 1, true);
    c->finish();
  }
  f.finish();
  return s;
}

EvaluationSpec parse_evaluation(Field f, const StopSpec& stop) {
  EvaluationSpec e;
  if (auto every = f.maybe("every")) {
    e.every = every->integer(1);
    // The convergence rule compares the loss with the one `clocks` iterations before, which must be judged too.
    if (stop.converged_clocks && *stop.converged_clocks % e.every != 0)
      every->fail(fmt::format("a divisor of stop.converged.clocks ({})", *stop.converged_clocks));
  }
  std::string test = f.choice_or("test", "global", {"global", "sites", "both"});
  e.test = test == "sites" ? TestSets::sites : test == "both" ? TestSets::both : TestSets::global;
  f.finish();
  return e;
}

StrategyEntry parse_strategy(Field f, const Scenario& sc) {
  if (!f.is_object())
    f.fail("a strategy object such as {\"name\": \"fedavg\", ...}");
  StrategyEntry e;
  Field name = f.at("name");
  e.name = name.string();
  auto& reg = strategy_registry();
  auto it = reg.find(e.name);
  if (it == reg.end()) {
    std::vector<std::string> names;
    for (const auto& [n, info] : reg)
      names.push_back(n);
    name.fail(fmt::format("a strategy (one of {})", fmt::join(names, ", ")));
  }
  e.label = f.string_or("label", e.name);
  if (!is_safe_name(e.label)) // it names the strategy's results folder
    f.at("label").fail(kSafeName);
  e.strategy = it->second.make(f, sc);
  // Read from the raw object (the strategy has validated it), for the footprint's work estimate.
  if (f.raw().contains("local_epochs") && f.raw()["local_epochs"].is_number())
    e.passes_per_iteration = f.raw()["local_epochs"].get<double>();
  f.finish();
  return e;
}

/// The network section's sweep knobs, applied to the platform's WAN links.
void set_wan_bandwidth(PlatformSpec& p, const NetworkSpec& n) {
  auto set = [&](WanLinkSpec& link) {
    if (n.wan_bandwidth_mbps)
      link.bandwidth_Bps = *n.wan_bandwidth_mbps * 1e6 / 8;
    link.bandwidth_Bps *= n.wan_bandwidth_scale;
  };
  for (auto& [pair, link] : p.pairs)
    set(link);
  for (auto& [site, link] : p.uplinks)
    set(link);
}

/// The network section and the scale model must leave every link and host at least as fast as a
/// platform file may make it.
void check_rates(const PlatformSpec& p, const std::string& file) {
  auto check = [&](const std::string& what, double Bps) {
    if (Bps * 8e-6 < kMinMbps)
      input_error(file, "network",
                  fmt::format("links of at least {} Mb/s once the network section and "
                              "scale_model apply",
                              kMinMbps),
                  fmt::format("{} at {:.3g} Mb/s", what, Bps * 8e-6));
  };
  for (const auto& [pair, link] : p.pairs)
    check(fmt::format("the WAN link {}-{}", p.sites[pair.first].name, p.sites[pair.second].name), link.bandwidth_Bps);
  for (const auto& [site, link] : p.uplinks)
    check(fmt::format("the uplink of {}", p.sites[site].name), link.bandwidth_Bps);
  for (const auto& site : p.sites)
    check(fmt::format("the LAN of {}", site.name), site.lan_bandwidth_bps);
}

/// A 1/k scale model of a job runs on a platform k times slower (compute and bandwidth, not latency):
/// compute time, transfer time and latency then keep the proportions of the full-size job.
void slow_platform(PlatformSpec& p, double k) {
  for (auto& site : p.sites) {
    site.workers.speed_flops /= k;
    site.servers.speed_flops /= k;
    site.lan_bandwidth_bps /= k;
    site.loopback_Bps /= k;
  }
  for (auto& [pair, link] : p.pairs)
    link.bandwidth_Bps /= k;
  for (auto& [site, link] : p.uplinks)
    link.bandwidth_Bps /= k;
}

/// Keeps only the strategies with these labels (geosim run --only); an unknown label is an input error.
void keep_strategies(Scenario& sc, const std::vector<std::string>& labels) {
  std::vector<StrategyEntry> kept;
  for (const auto& label : labels) {
    auto it = std::find_if(sc.strategies.begin(), sc.strategies.end(),
                           [&](const StrategyEntry& e) { return e.label == label; });
    if (it == sc.strategies.end())
      input_error(sc.file, "strategy", "--only to name strategy labels of this scenario", "\"" + label + "\"");
    kept.push_back(*it);
  }
  sc.strategies = std::move(kept);
  if (std::none_of(sc.strategies.begin(), sc.strategies.end(),
                   [&](const StrategyEntry& e) { return e.label == sc.reference; }))
    sc.reference = sc.strategies.front().label;
}

/// A crash must not be left to a strategy that cannot recover from it: it would wait for ever on a lost
/// message. Refused in one line instead.
void check_site_failures(const Scenario& sc) {
  if (!sc.platform.has_site_failures())
    return;
  bool sites = std::any_of(sc.platform.sites.begin(), sc.platform.sites.end(),
                           [](const SiteSpec& s) { return !s.fail_s.empty(); });
  for (const auto& e : sc.strategies)
    if (!e.strategy->survives_site_failures())
      input_error(sc.file, sites ? "network.faults.sites_fail_s" : "network.faults.hosts_fail_s",
                  "no site failures for a strategy that does not survive them (fedavg needs deadline_s, "
                  "gaia sync bsp or ssp; traffic does not; docs/faults.md)",
                  fmt::format("strategy \"{}\" ({})", e.label, e.name));
}

} // namespace

Scenario parse_scenario(const json& doc, const std::string& file, const std::vector<std::string>& only) {
  Scenario sc;
  sc.file = file;
  Field root(file, "", doc);
  if (!root.is_object())
    root.fail("a scenario object");
  sc.name = root.string_or("name", fs::path(file).stem().string());
  sc.description = root.string_or("description", "");
  sc.seed = root.integer_or("seed", 1, 0);

  Field platform = root.at("platform");
  fs::path ppath = fs::path(file).parent_path() / platform.string();
  if (!fs::is_regular_file(ppath))
    platform.fail(fmt::format("a platform file (relative to the scenario; {} does not exist)", ppath.string()));
  sc.platform_file = ppath.lexically_normal().string();
  sc.platform = load_platform_spec(sc.platform_file);
  if (auto n = root.maybe("network"))
    sc.network = parse_network(*n, sc.platform, sc.seed);
  if (sc.network.model == "ns-3") {
    // geosim hands traces and faults to SimGrid's flow-level link profiles, which its ns-3 bindings do not read.
    if (sc.network.faults)
      input_error(file, "network.faults", "no faults under ns-3 (they act on flow-level links); CM02 or LV08");
    if (sc.platform.has_link_traces())
      input_error(sc.platform_file, "wan", "links without a \"trace\" under ns-3 (traces act on flow-level links); "
                  "run it under CM02 or LV08");
  }
  if (sc.network.faults)
    apply_faults(sc.platform, *sc.network.faults, file);
  set_wan_bandwidth(sc.platform, sc.network);
  sc.scale_model = root.number_or("scale_model", 1, 1);
  slow_platform(sc.platform, sc.scale_model);
  check_rates(sc.platform, file);
  if (auto s = root.maybe("stop"))
    sc.stop = parse_stop(*s);
  if (auto e = root.maybe("evaluation"))
    sc.evaluation = parse_evaluation(*e, sc.stop);
  if (auto w = root.maybe("workload"))
    sc.workload = parse_workload(*w, sc.platform);
  if (auto s = root.maybe("sovereignty"))
    sc.sovereignty = parse_sovereignty(*s, sc.platform);
  if (auto p = root.maybe("prices")) {
    fs::path path = fs::path(file).parent_path() / p->string();
    if (!fs::is_regular_file(path))
      p->fail(fmt::format("a price-list file (relative to the scenario; {} does not exist)", path.string()));
    sc.prices = load_price_list(path.lexically_normal().string(), sc.platform);
  }

  Field strategies = root.at("strategy");
  std::set<std::string> labels;
  auto add = [&](Field f) {
    StrategyEntry e = parse_strategy(f, sc);
    if (!labels.insert(e.label).second)
      input_error(file, f.path() + ".label", "a label unique in this scenario", "\"" + e.label + "\" again");
    sc.strategies.push_back(std::move(e));
  };
  if (strategies.is_array()) {
    if (strategies.size() == 0)
      strategies.fail("at least one strategy");
    for (Field f : strategies.elements())
      add(f);
  } else {
    add(strategies);
  }
  sc.reference = sc.strategies.front().label;
  if (auto r = root.maybe("reference")) {
    sc.reference = r->string();
    if (!labels.count(sc.reference))
      r->fail("the label of one of this scenario's strategies");
  }
  root.finish();
  if (!only.empty()) // the strategies left out of this run need not survive its crashes, nor fit
    keep_strategies(sc, only);
  check_site_failures(sc);
  check_sovereignty(sc);
  check_footprint(sc);
  return sc;
}

Scenario load_scenario(const std::string& file, const std::vector<std::string>& overrides,
                       std::optional<long long> seed, const std::vector<std::string>& only) {
  json doc = load_json_file(file);
  for (const auto& o : overrides)
    apply_override(doc, o, file);
  if (seed) {
    if (!doc.is_object())
      input_error(file, "", "a scenario object", describe(doc));
    doc["seed"] = *seed;
  }
  return parse_scenario(doc, file, only);
}

} // namespace geosim
