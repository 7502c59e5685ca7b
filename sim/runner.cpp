#include "sim/runner.hpp"

#include "sim/context.hpp"
#include "sim/engine.hpp"
#include "sim/results.hpp"
#include "sim/strategy.hpp"

#include <fmt/format.h>
#include <simgrid/s4u.hpp>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <ctime>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

namespace fs = std::filesystem;
namespace sg4 = simgrid::s4u;

namespace geosim {

std::string default_out_dir(const Scenario& scenario) { return (fs::path("results") / scenario.name).string(); }

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

/// A progress line on stderr for runs longer than a couple of seconds of host time: rewritten in place on
/// a terminal, a plain line every ten seconds otherwise (logs of overnight sweeps stay readable).
class Progress {
public:
  Progress(std::string label, const Recorder& recorder, bool enabled)
      : label_(std::move(label)), recorder_(recorder), enabled_(enabled), tty_(::isatty(2)) {}

  void tick() {
    if (!enabled_)
      return;
    double host = seconds_since(start_);
    if (host < 2.0 || host - last_ < (tty_ ? 0.5 : 10.0))
      return;
    last_ = host;
    double now = sg4::Engine::get_clock();
    std::string line = fmt::format("[{}] sim {:.1f} s | {:.0f}% of stop budget | iteration {} | host {:.1f} s", label_,
                                   now, 100 * recorder_.progress(now), recorder_.iterations(), host);
    std::fprintf(stderr, tty_ ? "\r%s\033[K" : "%s\n", line.c_str());
    printed_ = true;
  }
  void done() {
    if (printed_ && tty_)
      std::fprintf(stderr, "\r\033[K");
  }

private:
  std::string label_;
  const Recorder& recorder_;
  bool enabled_, tty_;
  bool printed_ = false;
  Clock::time_point start_ = Clock::now();
  double last_ = 0;
};

double cpu_seconds() { return static_cast<double>(std::clock()) / CLOCKS_PER_SEC; }

std::string human_bytes(double b) {
  const char* units[] = {"B", "KB", "MB", "GB", "TB"};
  int u = 0;
  while (b >= 1000 && u < 4) {
    b /= 1000;
    ++u;
  }
  return fmt::format("{:.3g} {}", b, units[u]);
}

/// Runs one strategy in this process (a forked child) and writes its results under `out` (the run's
/// staging folder); `shown` is where they will be once the run is complete.
int run_strategy(const Scenario& sc, const StrategyEntry& entry, const RunOptions& o, const std::string& out,
                 const std::string& shown) {
  auto wall0 = Clock::now();
  double cpu0 = cpu_seconds();
  std::vector<std::string> simgrid_args = settings_for_many_actors(sc.platform.host_count());
  simgrid_args.insert(simgrid_args.end(), o.simgrid_args.begin(), o.simgrid_args.end()); // the user's win
  auto engine = start_engine(sc.network, simgrid_args);
  Platform platform = build_platform(sc.platform);
  Transport transport(platform, sc.sovereignty);
  ComputeLedger compute(platform);
  Recorder recorder(sc, entry, transport, compute);
  std::optional<Workload> workload;
  if (sc.workload)
    workload.emplace(*sc.workload, platform.site_count(), static_cast<std::uint64_t>(sc.seed));
  Evaluation evaluation(sc.evaluation, sc.stop.max_iterations);
  RunContext ctx{sc, entry, platform, transport, recorder, workload ? &*workload : nullptr, evaluation};
  entry.strategy->deploy(ctx);

  Progress progress(entry.label, recorder, !o.quiet);
  sg4::Engine::on_time_advance_cb([&progress](double) { progress.tick(); });
  auto end = guard_run(transport, sc.stop.max_sim_time_s);
  engine->run();
  progress.done();
  if (!end->deadlock.empty())
    throw std::runtime_error(end->deadlock + "; no results written");

  double sim_time = sg4::Engine::get_clock();
  json summary = recorder.summary(sim_time, effective_network(sc.network), end->time_limit_hit);
  fs::path dir = fs::path(out) / entry.label;
  write_file_atomic((dir / "convergence.csv").string(), recorder.convergence_csv());
  if (std::string sig = recorder.significance_csv(); !sig.empty())
    write_file_atomic((dir / "significance.csv").string(), sig);
  write_file_atomic((dir / "summary.json").string(), summary.dump(2) + "\n");
  // Host timings live apart from the results, which are byte-identical for the same inputs and seed.
  json host = {{"cpu_s", cpu_seconds() - cpu0},
               {"wall_s", seconds_since(wall0)},
               {"evaluation_s", evaluation.host_seconds()}, // the observer's judging, part of wall_s
               {"evaluations", evaluation.passes()}};
  write_file_atomic((dir / "host.json").string(), host.dump(2) + "\n");
  if (!o.quiet) {
    std::string target =
        recorder.reached_target()
            ? fmt::format("target reached at {:.4g} s", summary["time_to_target_s"].get<double>())
            : std::string(sc.stop.target_loss || sc.stop.target_accuracy ? "target NOT reached" : "no target set");
    std::printf("%-16s %s | sim %.4g s | %lld iterations | WAN %s | LAN %s -> %s\n", entry.label.c_str(),
                target.c_str(), sim_time, recorder.iterations(), human_bytes(transport.counters().wan_bytes).c_str(),
                human_bytes(transport.counters().lan_bytes).c_str(),
                (fs::path(shown) / entry.label / "summary.json").c_str());
  }
  return 0;
}

int run_child(const Scenario& sc, const StrategyEntry& entry, const RunOptions& o, const std::string& out,
              const std::string& shown) {
  // A child outlives a killed parent only to write into a folder nobody will move into place.
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  int status = 1;
  try {
    status = run_strategy(sc, entry, o, out, shown);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "geosim: %s: %s\n", entry.label.c_str(), e.what());
  }
  std::fflush(stdout);
  std::fflush(stderr);
  return status;
}

json read_summary(const std::string& path) {
  std::ifstream in(path);
  return json::parse(in);
}

json ratio(const json& a, const json& b) {
  if (!a.is_number() || !b.is_number() || b.get<double>() == 0)
    return nullptr;
  return a.get<double>() / b.get<double>();
}

/// What faults did to a strategy (null where the scenario has none): its goodput, the iterations that
/// spanned an outage or a crash, the messages crashes lost and the bytes it sent again to recover.
void add_fault_columns(json& row, const json& s) {
  const json& f = s["faults"];
  const json& d = s["details"];
  row["goodput_core_s_per_s"] = s["compute"]["core_s_per_s"];
  row["iterations_affected"] = f.is_null() ? json(nullptr) : f["iterations_affected"];
  row["lost_messages"] = f.is_null() ? json(nullptr) : f.value("lost_messages", json(0));
  row["bytes_resent"] = f.is_null()                      ? json(nullptr)
                        : d.contains("bytes_resent")     ? d["bytes_resent"]
                        : d.contains("raw_bytes_resent") ? d["raw_bytes_resent"]
                                                         : json(0);
}

/// "complies", "violates" (raw data crossed a border the policy closes) or "" (no policy).
std::string sovereignty_verdict(const json& report) {
  if (report.is_null())
    return "";
  return report["complies"].get<bool>() ? "complies" : "violates";
}

void write_comparison(const Scenario& sc, const std::string& out) {
  std::vector<json> rows;
  json ref;
  for (const auto& e : sc.strategies) {
    json s = read_summary((fs::path(out) / e.label / "summary.json").string());
    if (e.label == sc.reference)
      ref = s;
    rows.push_back(std::move(s));
  }
  json table = json::array();
  std::string csv = "label,strategy,reached_target,time_to_target_s,sim_time_s,wan_bytes,lan_bytes,final_loss,"
                    "final_accuracy,compute_core_s,compute_core_s_to_target,sovereignty,cost_usd,time_to_target_vs_ref,"
                    "wan_bytes_vs_ref,goodput_core_s_per_s,iterations_affected,lost_messages,bytes_resent\n";
  auto cell = [](const json& v) {
    return v.is_null() ? std::string() : v.is_number() ? fmt_num(v.get<double>()) : v.dump();
  };
  for (const auto& s : rows) {
    json row = {{"label", s["label"]},
                {"strategy", s["strategy"]},
                {"reached_target", s["reached_target"]},
                {"time_to_target_s", s["time_to_target_s"]},
                {"sim_time_s", s["sim_time_s"]},
                {"wan_bytes", s["bytes"]["wan"]},
                {"lan_bytes", s["bytes"]["lan"]},
                {"final_loss", s["final"]["loss"]},
                {"final_accuracy", s["final"]["accuracy"]},
                {"compute_core_s", s["compute"]["core_s"]},
                {"compute_core_s_to_target", s["compute"]["core_s_to_target"]},
                {"sovereignty", sovereignty_verdict(s["sovereignty"])},
                {"cost_usd", s["cost"].is_null() ? json(nullptr) : s["cost"]["total_usd"]},
                {"time_to_target_vs_ref", ratio(s["time_to_target_s"], ref["time_to_target_s"])},
                {"wan_bytes_vs_ref", ratio(s["bytes"]["wan"], ref["bytes"]["wan"])}};
    add_fault_columns(row, s);
    csv += fmt::format("{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{}\n", row["label"].get<std::string>(),
                       row["strategy"].get<std::string>(), row["reached_target"].dump(), cell(row["time_to_target_s"]),
                       cell(row["sim_time_s"]), cell(row["wan_bytes"]), cell(row["lan_bytes"]), cell(row["final_loss"]),
                       cell(row["final_accuracy"]), cell(row["compute_core_s"]), cell(row["compute_core_s_to_target"]),
                       row["sovereignty"].get<std::string>(), cell(row["cost_usd"]), cell(row["time_to_target_vs_ref"]),
                       cell(row["wan_bytes_vs_ref"]), cell(row["goodput_core_s_per_s"]),
                       cell(row["iterations_affected"]), cell(row["lost_messages"]), cell(row["bytes_resent"]));
    table.push_back(row);
  }
  json doc = {{"geosim_version", ref["geosim_version"]}, {"scenario", sc.name},       {"seed", sc.seed},
              {"network_model", sc.network.model},       {"reference", sc.reference}, {"strategies", table}};
  write_file_atomic((fs::path(out) / "comparison.json").string(), doc.dump(2) + "\n");
  write_file_atomic((fs::path(out) / "comparison.csv").string(), csv);
}

/// A run's results are written to a staging folder beside the output folder and moved into it only when
/// every strategy has finished, so a failed or killed run changes nothing there; a lock file beside it
/// refuses a second run on the same folder while one is writing.
class OutputFolder {
public:
  explicit OutputFolder(std::string out) : out_(std::move(out)) {
    fs::path target = fs::absolute(out_).lexically_normal();
    if (target.filename().empty())
      target = target.parent_path();
    std::error_code ec;
    fs::create_directories(target.parent_path(), ec);
    lock_path_ = target.string() + ".lock";
    lock_fd_ = ::open(lock_path_.c_str(), O_CREAT | O_RDWR | O_CLOEXEC, 0644);
    if (lock_fd_ < 0)
      input_error(out_, "", "an output folder geosim can write (its parent folder is not writable)");
    if (::flock(lock_fd_, LOCK_EX | LOCK_NB) != 0)
      input_error(out_, "", "an output folder no other geosim run is writing", "one locked by another run");
    // Holding the lock, any staging folder of this output folder is a killed run's: remove it.
    std::string prefix = target.filename().string() + ".staging.";
    for (const auto& entry : fs::directory_iterator(target.parent_path(), ec))
      if (entry.path().filename().string().rfind(prefix, 0) == 0)
        fs::remove_all(entry.path(), ec);
    staging_ = fmt::format("{}.staging.{}", target.string(), ::getpid());
    if (!fs::create_directories(staging_, ec) || ec)
      input_error(out_, "", "an output folder geosim can write", ec.message());
    target_ = target.string();
  }
  ~OutputFolder() {
    std::error_code ec;
    fs::remove_all(staging_, ec);
    fs::remove(lock_path_, ec);
    ::close(lock_fd_);
  }
  const std::string& staging() const { return staging_; }
  const std::string& shown() const { return out_; }

  /// Moves every staged file and strategy folder into the output folder, replacing those of the same name.
  void commit() {
    fs::create_directories(target_);
    for (const auto& entry : fs::directory_iterator(staging_)) {
      fs::path dest = fs::path(target_) / entry.path().filename();
      std::error_code ec;
      fs::remove_all(dest, ec);
      fs::rename(entry.path(), dest);
    }
  }

private:
  std::string out_, target_, staging_, lock_path_;
  int lock_fd_ = -1;
};

} // namespace

int run_scenario(const Scenario& sc, const RunOptions& o) {
  OutputFolder folder(o.out_dir.empty() ? default_out_dir(sc) : o.out_dir);
  const std::string& out = folder.staging();
  std::fflush(stdout);
  std::fflush(stderr);
  std::map<pid_t, std::string> running;
  int failures = 0;
  auto reap_one = [&]() {
    int status = 0;
    pid_t pid = ::wait(&status);
    if (pid < 0)
      return;
    bool ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
    if (!ok)
      ++failures;
    // A child that exits on its own has said why in one line; one killed by a signal could not.
    if (WIFSIGNALED(status))
      std::fprintf(stderr, "geosim: strategy %s died of signal %d\n", running[pid].c_str(), WTERMSIG(status));
    running.erase(pid);
  };
  for (const auto& entry : sc.strategies) {
    while (static_cast<int>(running.size()) >= std::max(1, o.jobs))
      reap_one();
    pid_t pid = ::fork();
    if (pid < 0)
      throw std::runtime_error("cannot fork a simulation process");
    if (pid == 0)
      ::_exit(run_child(sc, entry, o, out, folder.shown()));
    running[pid] = entry.label;
  }
  while (!running.empty())
    reap_one();
  if (failures)
    return 1;
  if (sc.strategies.size() > 1)
    write_comparison(sc, out);
  folder.commit();
  return 0;
}

} // namespace geosim
