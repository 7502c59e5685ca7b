#include "sim/probe.hpp"

#include "sim/engine.hpp"
#include "sim/transport.hpp"
#include "version.hpp"

#include <fmt/format.h>

namespace sg4 = simgrid::s4u;

namespace geosim {
namespace {

constexpr double kPingBytes = 1;

/// Measures one ordered pair: a ping-pong gives the RTT, then a bulk send gives the throughput once
/// the one-way latency is taken off.
void probe_pair(Transport& t, sg4::Host* a, sg4::Host* b, double bulk, double& rtt, double& bw) {
  Endpoint at_a{"probe-" + a->get_name(), a}, at_b{"probe-" + b->get_name(), b};
  sg4::Actor::create("echo", b, [&t, at_a, at_b]() {
    t.recv(at_b.mailbox);
    t.send(at_a, "pong", Opaque{kPingBytes});
    t.recv(at_b.mailbox);
  });
  auto sender = sg4::Actor::create("iperf", a, [&t, at_a, at_b, bulk, &rtt, &bw]() {
    double t0 = sg4::Engine::get_clock();
    t.send(at_b, "ping", Opaque{kPingBytes});
    t.recv(at_a.mailbox);
    rtt = sg4::Engine::get_clock() - t0;
    double t1 = sg4::Engine::get_clock();
    t.send(at_b, "bulk", Opaque{bulk});
    double elapsed = sg4::Engine::get_clock() - t1 - rtt / 2;
    bw = elapsed > 0 ? bulk / elapsed : 0;
  });
  sender->join();
}

} // namespace

ProbeResult probe_platform(const PlatformSpec& spec, const NetworkSpec& network,
                           const std::vector<std::string>& simgrid_args, double bulk_bytes) {
  auto engine = start_engine(network, simgrid_args);
  Platform platform = build_platform(spec);
  Transport transport(platform);
  int n = platform.site_count();
  ProbeResult r;
  for (const auto& s : spec.sites)
    r.sites.push_back(s.name);
  r.rtt_s.assign(n, std::vector<double>(n, 0));
  r.bandwidth_Bps.assign(n, std::vector<double>(n, 0));
  // One controller runs the pairs in turn so that no two measurements share a link.
  sg4::Actor::create("probe", platform.workers[0][0], [&]() {
    for (int a = 0; a < n; ++a)
      for (int b = 0; b < n; ++b)
        if (a != b)
          probe_pair(transport, platform.workers[a][0], platform.workers[b][0], bulk_bytes, r.rtt_s[a][b],
                     r.bandwidth_Bps[a][b]);
  });
  engine->run();
  r.network = effective_network(network);
  return r;
}

std::string format_probe(const ProbeResult& r) {
  std::size_t w = 8;
  for (const auto& s : r.sites)
    w = std::max(w, s.size() + 1);
  auto table = [&](const std::string& title, const auto& m, double scale) {
    std::string out = title + "\n" + fmt::format("{:<{}}", "from\\to", w);
    for (const auto& s : r.sites)
      out += fmt::format("{:>{}}", s, w);
    out += "\n";
    for (std::size_t a = 0; a < r.sites.size(); ++a) {
      out += fmt::format("{:<{}}", r.sites[a], w);
      for (std::size_t b = 0; b < r.sites.size(); ++b)
        out += a == b ? fmt::format("{:>{}}", "-", w) : fmt::format("{:>{}.4g}", m[a][b] * scale, w);
      out += "\n";
    }
    return out;
  };
  return table("achieved bandwidth (Mb/s)", r.bandwidth_Bps, 8e-6) + "\n" + table("round-trip time (ms)", r.rtt_s, 1e3);
}

json probe_json(const ProbeResult& r, const PlatformSpec& platform, double bulk_bytes) {
  json pairs = json::array();
  for (std::size_t a = 0; a < r.sites.size(); ++a)
    for (std::size_t b = 0; b < r.sites.size(); ++b)
      if (a != b)
        pairs.push_back({{"from", r.sites[a]},
                         {"to", r.sites[b]},
                         {"bandwidth_mbps", r.bandwidth_Bps[a][b] * 8e-6},
                         {"rtt_ms", r.rtt_s[a][b] * 1e3}});
  return {{"geosim_version", kVersion},
          {"platform", platform.name},
          {"platform_file", platform.file},
          {"network_model", r.network.model},
          {"tcp_window_bytes", r.network.tcp_window_bytes},
          {"bulk_bytes", bulk_bytes},
          {"pairs", pairs}};
}

} // namespace geosim
