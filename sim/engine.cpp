#include "sim/engine.hpp"

#include <malloc.h>

#include <xbt/log.h>

#include <fmt/format.h>
#include <xbt/config.hpp>

#include <algorithm>
#include <cstdlib>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sys/wait.h>
#include <unistd.h>

namespace geosim {

namespace {

bool mentions_ns3(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a.find("ns-3") != std::string::npos)
      return true;
    std::error_code ec;
    if (a.size() > 5 && a.compare(a.size() - 5, 5, ".json") == 0 && std::filesystem::is_regular_file(a, ec)) {
      std::ifstream f(a);
      std::string text((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
      if (text.find("\"ns-3\"") != std::string::npos)
        return true;
    }
  }
  return false;
}

} // namespace

void prepare_ns3_environment(int argc, char** argv) {
  const char* marker = "GEOSIM_NS3_PREPARED";
  if (std::getenv(marker) != nullptr || !mentions_ns3(argc, argv))
    return;
  std::string defaults = fmt::format("ns3::TcpSocket::SndBufSize={0:.0f};ns3::TcpSocket::RcvBufSize={0:.0f}", kNs3BufferBytes);
  if (const char* user = std::getenv("NS_ATTRIBUTE_DEFAULT"); user != nullptr && *user != 0)
    defaults = std::string(user) + ";" + defaults;
  ::setenv("NS_ATTRIBUTE_DEFAULT", defaults.c_str(), 1);
  ::setenv(marker, "1", 1);
  ::execv("/proc/self/exe", argv); // returns only on failure: ns-3 then keeps its own defaults
}

std::vector<std::string> settings_for_many_actors(std::size_t hosts) {
  if (hosts <= kManyHosts)
    return {};
#ifdef __GLIBC__
  mallopt(M_MMAP_THRESHOLD, 4 << 20); // below SimGrid's default stack of 8 MiB
#endif
  return {"--cfg=contexts/guard-size:0"};
}

std::unique_ptr<simgrid::s4u::Engine> start_engine(const NetworkSpec& network,
                                                   const std::vector<std::string>& simgrid_args) {
  // SimGrid's INFO lines (configuration changes, actor ends) would drown geosim's own output.
  xbt_log_control_set("root.thres:warning");
  // A deadlock is reported by geosim itself, in one line naming the blocked actors (guard_run).
  xbt_log_control_set("ker_engine.add:0");
  // ns-3 warns once that it ignores routes of more than one link: geosim's zones spell them out for the
  // flow-level models, and ns-3 routes those paths itself over the one-link routes.
  xbt_log_control_set("res_ns3.thres:error");
  // Static: SimGrid may keep pointers into argv for the life of the process.
  static std::vector<std::string> args;
  args = {"geosim", "--cfg=network/model:" + network.model,
          fmt::format("--cfg=network/TCP-gamma:{:.17g}", network.tcp_window_bytes)};
#if defined(__SANITIZE_ADDRESS__)
  // AddressSanitizer follows threads, not SimGrid's raw context switches (Debian's SimGrid is not built
  // to tell it about them): under it, every actor runs in a thread of its own.
  args.push_back("--cfg=contexts/factory:thread");
#endif
  args.insert(args.end(), simgrid_args.begin(), simgrid_args.end());
  static std::vector<char*> argv;
  argv.clear();
  for (auto& a : args)
    argv.push_back(a.data());
  argv.push_back(nullptr);
  int argc = static_cast<int>(args.size());
  return std::make_unique<simgrid::s4u::Engine>(&argc, argv.data());
}

namespace {

/// In a child process: start an engine with the flags and run one actor; "" or the first line of the error.
std::string try_engine(const NetworkSpec& network, const std::vector<std::string>& simgrid_args) {
  namespace sg4 = simgrid::s4u;
  try {
    auto engine = start_engine(network, simgrid_args);
    auto* zone = sg4::create_full_zone("preflight");
    auto* host = zone->create_host("preflight", 1e9)->seal();
    zone->seal();
    sg4::Actor::create("preflight", host, [] { simgrid::s4u::this_actor::sleep_for(1); });
    engine->run();
  } catch (const std::exception& e) {
    std::string what = e.what();
    return what.substr(0, what.find('\n'));
  }
  return "";
}

} // namespace

std::string simgrid_args_error(const NetworkSpec& network, const std::vector<std::string>& simgrid_args) {
  for (const auto& a : simgrid_args)
    if (a == "--cfg=ns3/TcpModel:Reno" || a == "--cfg=ns3/TcpModel:Tahoe")
      return "ns-3 3.37 crashes with the Reno and Tahoe TCP models; keep ns-3's default (NewReno)";
  if (simgrid_args.empty())
    return "";
  int fds[2];
  if (::pipe(fds) != 0)
    throw std::runtime_error("cannot open a pipe to check the SimGrid flags");
  pid_t pid = ::fork();
  if (pid < 0)
    throw std::runtime_error("cannot fork to check the SimGrid flags");
  if (pid == 0) {
    ::close(fds[0]);
    int devnull = ::open("/dev/null", O_WRONLY);
    ::dup2(devnull, 1); // SimGrid's own report (a list of every option, a backtrace) is not the user's
    ::dup2(devnull, 2);
    std::string error = try_engine(network, simgrid_args);
    ssize_t written = ::write(fds[1], error.data(), error.size());
    ::_exit(error.empty() && written == 0 ? 0 : 1);
  }
  ::close(fds[1]);
  std::string error;
  char buf[512];
  for (ssize_t n; (n = ::read(fds[0], buf, sizeof buf)) > 0;)
    error.append(buf, static_cast<std::size_t>(n));
  ::close(fds[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  if (WIFSIGNALED(status))
    return fmt::format("SimGrid aborted (signal {}) when started with these flags", WTERMSIG(status));
  if (WIFEXITED(status) && WEXITSTATUS(status) != 0 && error.empty())
    return "SimGrid refused these flags";
  return error;
}

NetworkSpec effective_network(const NetworkSpec& requested) {
  NetworkSpec n = requested;
  n.model = simgrid::config::get_value<std::string>("network/model");
  n.tcp_window_bytes = simgrid::config::get_value<double>("network/TCP-gamma");
  return n;
}

namespace {

/// "worker 0@sg-w0 (waits on mailbox ps-1)" for every actor that is not a daemon.
std::vector<std::string> blocked_actors(const Transport& transport) {
  std::vector<std::string> out;
  for (const auto& a : simgrid::s4u::Engine::get_instance()->get_all_actors()) {
    if (a->is_daemon())
      continue;
    auto it = transport.receiving().find(a->get_pid());
    out.push_back(fmt::format("{}@{} ({})", a->get_name(), a->get_host()->get_name(),
                              it != transport.receiving().end() ? "waits on mailbox " + *it->second
                                                                : "waits on a transfer or an actor"));
  }
  return out;
}

/// "N actor(s) wait forever: a@h (waits on mailbox m); ..." (the first few).
std::string describe_deadlock(const Transport& transport) {
  auto blocked = blocked_actors(transport);
  constexpr std::size_t kShown = 4;
  std::string shown =
      fmt::format("{}", fmt::join(blocked.begin(), blocked.begin() + std::min(kShown, blocked.size()), "; "));
  if (blocked.size() > kShown)
    shown += fmt::format("; and {} more", blocked.size() - kShown);
  return fmt::format("{} actor(s) wait forever: {}", blocked.size(), shown);
}

/// Called by the time-limit actor: every other actor (but the transport's plumbing) waits in recv() on a
/// mailbox with no message ready, and no message is on its way to anyone, so nothing can happen again.
bool all_wait_for_nothing(const Transport& transport) {
  if (transport.traveling() > 0)
    return false;
  long self = simgrid::s4u::this_actor::get_pid();
  for (const auto& a : simgrid::s4u::Engine::get_instance()->get_all_actors()) {
    if (a->get_pid() == self || transport.is_plumbing(a->get_pid()))
      continue;
    auto it = transport.receiving().find(a->get_pid());
    if (it == transport.receiving().end() || simgrid::s4u::Mailbox::by_name(*it->second)->ready())
      return false;
  }
  return true;
}

/// SimGrid applies a host's state profile only while some activity runs: with every actor waiting for a
/// crashed site to boot (a shipment that will be sent again), it would see a deadlock before the boot.
/// A daemon on a host that never crashes sleeps until the last boot, so that each one happens, and a
/// microsecond more: EngineImpl::solve (3.32) applies profile events only up to the end of the next
/// activity, and a sleep that ends at the boot's date may end a rounding error before it.
void keep_time_until_boots(const Platform& platform) {
  double last_boot = 0;
  for (const auto& site : platform.spec.sites) {
    for (const auto& [from, to] : site.fail_s)
      last_boot = std::max(last_boot, to);
    for (const auto& [host, down] : site.host_fail_s)
      for (const auto& [from, to] : down)
        last_boot = std::max(last_boot, to);
  }
  if (last_boot <= 0)
    return;
  for (const auto& hosts : platform.workers)
    for (auto* host : hosts)
      if (!platform.can_fail(host)) {
        simgrid::s4u::Actor::create("boot clock", host, [last_boot] {
          simgrid::s4u::this_actor::sleep_until(last_boot);
          simgrid::s4u::this_actor::sleep_for(1e-6);
        })->daemonize();
        return;
      }
}

} // namespace

std::shared_ptr<RunEnd> guard_run(const Transport& transport, std::optional<double> max_sim_time_s) {
  namespace sg4 = simgrid::s4u;
  auto end = std::make_shared<RunEnd>();
  sg4::Engine::on_deadlock_cb([end, &transport] {
    end->deadlock =
        fmt::format("deadlock at simulated time {:.6g} s: {}", sg4::Engine::get_clock(), describe_deadlock(transport));
  });
  if (max_sim_time_s) {
    auto* host = sg4::Engine::get_instance()->get_all_hosts().front();
    double limit = *max_sim_time_s;
    sg4::Actor::create("time limit", host, [end, limit, &transport] {
      sg4::this_actor::sleep_until(limit);
      // This actor's timer kept the clock moving, so SimGrid could not see a deadlock before the limit.
      if (all_wait_for_nothing(transport))
        end->deadlock =
            fmt::format("deadlock found at the time limit ({:.6g} s): {}", limit, describe_deadlock(transport));
      end->time_limit_hit = true;
      sg4::Actor::kill_all();
    })->daemonize();
  }
  keep_time_until_boots(transport.platform());
  return end;
}

} // namespace geosim
