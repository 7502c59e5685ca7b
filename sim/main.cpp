// geosim command line: run scenarios, validate input files, list what is available, probe platforms.
#include "sim/bench.hpp"
#include "sim/engine.hpp"
#include "sim/footprint.hpp"
#include "sim/input.hpp"
#include "sim/probe.hpp"
#include "sim/runner.hpp"
#include "sim/scenario.hpp"
#include "sim/strategy.hpp"
#include "version.hpp"

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <filesystem>
#include <iostream>
#ifdef __GLIBC__
#include <malloc.h>
#endif

namespace fs = std::filesystem;
using namespace geosim;

namespace {

constexpr int kInputErrorStatus = 2;

/// SimGrid's own --cfg=... and --log=... flags are not geosim's: set them aside for the engine.
std::vector<std::string> take_simgrid_args(int argc, char** argv, std::vector<std::string>& rest) {
  std::vector<std::string> simgrid;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a.rfind("--cfg=", 0) == 0 || a.rfind("--log=", 0) == 0)
      simgrid.push_back(a);
    else
      rest.push_back(a);
  }
  return simgrid;
}

/// A run that may take hours is legitimate (an overnight job), but worth a line before it starts.
void warn_of_long_run(const Scenario& sc) {
  if (std::string w = work_warning(sc); !w.empty())
    std::cerr << "geosim: warning: " << w << "\n";
}

/// A file is a scenario when it names a strategy, a platform when it lists sites. Overrides (--set) apply
/// to scenarios, as `run` applies them.
int validate_file(const std::string& file, const std::vector<std::string>& overrides) {
  json doc = load_json_file(file);
  if (doc.is_object() && doc.contains("strategy")) {
    Scenario sc = load_scenario(file, overrides);
    warn_of_long_run(sc);
    std::vector<std::string> labels;
    for (const auto& e : sc.strategies)
      labels.push_back(e.label);
    std::cout << fmt::format("ok  {}: scenario \"{}\" on platform \"{}\" ({} sites), strategies: {}\n", file, sc.name,
                             sc.platform.name, sc.platform.sites.size(), fmt::join(labels, ", "));
  } else if (doc.is_object() && doc.contains("sites")) {
    if (!overrides.empty())
      input_error(file, "", "a scenario for --set (it applies to scenarios, not platforms)");
    PlatformSpec p = parse_platform_spec(doc, file);
    std::cout << fmt::format("ok  {}: platform \"{}\" ({} sites, {} WAN)\n", file, p.name, p.sites.size(), p.wan_type);
  } else {
    input_error(file, "", "a scenario (with \"strategy\") or a platform (with \"sites\")");
  }
  return 0;
}

std::vector<fs::path> platform_files() {
  std::vector<fs::path> out;
  for (fs::path dir : {fs::path("platforms"), fs::path(GEOSIM_SOURCE_DIR) / "platforms"}) {
    if (!fs::is_directory(dir))
      continue;
    for (const auto& entry : fs::directory_iterator(dir))
      if (entry.path().extension() == ".json")
        out.push_back(entry.path());
    std::sort(out.begin(), out.end());
    break;
  }
  return out;
}

int list(const std::string& what) {
  if (what == "strategies") {
    for (const auto& [name, info] : strategy_registry())
      std::cout << fmt::format("{:<14} {}\n", name, info.summary);
  } else if (what == "platforms") {
    for (const auto& f : platform_files()) {
      PlatformSpec p = load_platform_spec(f.string());
      std::cout << fmt::format("{:<28} {:>3} sites, {:<6} WAN  {}\n", f.string(), p.sites.size(), p.wan_type,
                               p.description.substr(0, 60));
    }
  } else if (what == "models") {
    std::cout << "softmax   multinomial logistic regression with L2 (dense updates; class slices)\n"
                 "mlp       one or two ReLU hidden layers, softmax output (\"hidden\": [widths]; class slices)\n"
                 "mf        matrix factorization by SGD on observed ratings (\"rank\"; sparse updates;\n"
                 "          \"local_users\": IterStore's semantics, user factors stay on their worker)\n";
  } else {
    std::cout << "datasets (workload.dataset.kind):\n"
                 "  synthetic  FedProx Synthetic(alpha, beta) or its IID variant: devices, dims, classes\n"
                 "  mixture    Gaussian mixture: classes, dims, clusters_per_class, separation, samples\n"
                 "  ratings    low-rank sparse rating matrix: users, items, rank, density, noise, mean, stars\n"
                 "  images     real images from IDX files (default Fashion-MNIST from Debian's\n"
                 "             dataset-fashion-mnist): images, labels, samples, test_images, test_labels,\n"
                 "             test_samples, classes\n"
                 "partitions (workload.partition.kind): iid (sizes equal|power_law), label_skew (classes_per_site),\n"
                 "  dirichlet (alpha), natural (synthetic devices); \"sites\": all|dc|edge|[names]\n"
                 "drift (workload.drift, mixture or images): {at_s, site, add_classes|like_site},\n"
                 "  or {trend: {classes, sites, start_s, every_s}}\n";
  }
  return 0;
}

/// The --cfg/--log flags are checked before anything is simulated: a bad one is an input error.
void check_simgrid_args(const NetworkSpec& network, const std::vector<std::string>& simgrid_args) {
  std::string error = simgrid_args_error(network, simgrid_args);
  if (!error.empty())
    input_error(fmt::format("{}", fmt::join(simgrid_args, " ")), "", "flags SimGrid accepts", error);
}

// Full-batch dense models allocate and free matrices of tens of MB every step. glibc serves blocks that
// large with fresh mmaps, so each step paid its page faults again (a quarter of an image-classification
// run's host time); keeping them in the heap reuses the pages. Results do not change.
void keep_large_blocks_in_heap() {
#ifdef __GLIBC__
  mallopt(M_MMAP_THRESHOLD, 1 << 30);
  mallopt(M_TRIM_THRESHOLD, 1 << 30);
#endif
}
} // namespace

int main(int argc, char** argv) {
  geosim::prepare_ns3_environment(argc, argv);
  keep_large_blocks_in_heap();
  std::vector<std::string> rest;
  std::vector<std::string> simgrid_args = take_simgrid_args(argc, argv, rest);

  CLI::App app{fmt::format("geosim {}: a discrete-event simulator of geo-distributed machine learning over WANs.\n"
                           "SimGrid's own --cfg=... and --log=... flags are passed through to the engine.",
                           kVersion)};
  app.require_subcommand(1);
  app.set_version_flag("--version", kVersion);

  RunOptions run_opts;
  std::string scenario_file;
  std::vector<std::string> overrides;
  std::optional<long long> seed;
  auto* run = app.add_subcommand("run", "run every strategy of a scenario and write results");
  run->add_option("scenario", scenario_file, "scenario JSON file")->required();
  run->add_option("-o,--out", run_opts.out_dir, "results folder (default results/<scenario name>)");
  run->add_option("--seed", seed, "override the scenario's seed");
  run->add_option("--set", overrides, "override a scenario field: json.path=value (repeatable)");
  run->add_option("-j,--jobs", run_opts.jobs, "strategies simulated at once, one process each")
      ->check(CLI::Range(1, 64));
  run->add_flag("-q,--quiet", run_opts.quiet, "no progress line or per-strategy report");
  std::vector<std::string> only;
  run->add_option("--only", only, "run only the strategies with these labels (repeatable)")->delimiter(',');

  std::vector<std::string> validate_files;
  auto* validate = app.add_subcommand("validate", "check scenario and platform files without running them");
  validate->add_option("files", validate_files, "scenario or platform JSON files")->required();
  validate->add_option("--set", overrides, "override a scenario field, as run does: json.path=value (repeatable)");

  std::string list_what;
  auto* list_cmd = app.add_subcommand("list", "list strategies, platforms, models or workloads");
  list_cmd->add_option("what", list_what, "strategies|platforms|models|workloads")
      ->required()
      ->check(CLI::IsMember({"strategies", "platforms", "models", "workloads"}));

  std::string probe_file, probe_model = "CM02";
  double bulk_bytes = 0, window = NetworkSpec{}.tcp_window_bytes;
  bool probe_as_json = false;
  auto* probe = app.add_subcommand("probe", "simulated iperf: bandwidth and RTT between every pair of sites");
  probe->add_option("platform", probe_file, "platform JSON file")->required();
  probe->add_option("--network-model", probe_model, "CM02, LV08 or ns-3 (packet-level TCP; see docs/network-models.md)")
      ->check(CLI::IsMember({"CM02", "LV08", "ns-3"}))
      ->capture_default_str();
  probe->add_option("--tcp-window", window, "TCP window in bytes (SimGrid's network/TCP-gamma)")->capture_default_str();
  probe->add_option("--bytes", bulk_bytes,
                    "size of the bulk transfer per pair (default 1e9; 1e7 under ns-3, which simulates every packet)")
      ->check(CLI::PositiveNumber);
  probe->add_flag("--json", probe_as_json, "print JSON instead of matrices");

  double bench_seconds = 1.0;
  auto* bench = app.add_subcommand("bench", "host throughput of the model math (GFLOP/s against Eigen's GEMM)");
  bench->add_option("--seconds", bench_seconds, "time per case")->check(CLI::PositiveNumber)->capture_default_str();

  try {
    std::reverse(rest.begin(), rest.end());
    app.parse(rest);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    app.exit(e);
    return kInputErrorStatus;
  }

  try {
    if (*run) {
      Scenario sc = load_scenario(scenario_file, overrides, seed, only);
      warn_of_long_run(sc);
      check_simgrid_args(sc.network, simgrid_args);
      run_opts.simgrid_args = simgrid_args;
      return run_scenario(sc, run_opts);
    }
    if (*validate) {
      int status = 0;
      for (const auto& f : validate_files) {
        try {
          validate_file(f, overrides);
        } catch (const InputError& e) {
          std::cerr << "geosim: " << e.what() << "\n";
          status = kInputErrorStatus;
        }
      }
      return status;
    }
    if (*list_cmd)
      return list(list_what);
    if (*bench)
      return run_bench(bench_seconds);
    if (*probe) {
      PlatformSpec p = load_platform_spec(probe_file);
      bool packet_level = probe_model == "ns-3";
      for (const auto& a : simgrid_args)
        packet_level = a.rfind("--cfg=network/model:", 0) == 0 ? a == "--cfg=network/model:ns-3" : packet_level;
      if (bulk_bytes == 0)
        bulk_bytes = packet_level ? 1e7 : 1e9;
      NetworkSpec net;
      net.model = probe_model;
      net.tcp_window_bytes = window;
      check_simgrid_args(net, simgrid_args);
      ProbeResult r = probe_platform(p, net, simgrid_args, bulk_bytes);
      std::cout << (probe_as_json ? probe_json(r, p, bulk_bytes).dump(2) + "\n"
                                  : fmt::format("platform {} under {} (bulk {} bytes per pair)\n\n{}", p.name,
                                                r.network.model, bulk_bytes, format_probe(r)));
      return 0;
    }
  } catch (const InputError& e) {
    std::cerr << "geosim: " << e.what() << "\n";
    return kInputErrorStatus;
  } catch (const std::exception& e) {
    std::cerr << "geosim: error: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
