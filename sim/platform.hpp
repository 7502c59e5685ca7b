#pragma once
// A geosim platform: sites (data centers or edge sites) joined by a WAN. The spec is parsed and
// checked without SimGrid; build_platform() then turns it into SimGrid zones, hosts and links.
#include "sim/input.hpp"
#include "sim/link_trace.hpp"

#include <map>
#include <string>
#include <vector>

namespace simgrid::s4u {
class Host;
class NetZone;
} // namespace simgrid::s4u

namespace geosim {

/// The slowest link and host SimGrid is given: 1 bit/s and 1 flop/s. Its solver fails on rates near 0
/// (a 1e-310 Mb/s link aborts it), and a slower one would only make a run that never ends.
constexpr double kMinMbps = 1e-6;
constexpr double kMinGflops = 1e-9;

struct HostGroupSpec {
  int count = 0;
  double speed_flops = 0; ///< per core
  int cores = 1;
};

struct SiteSpec {
  std::string name;
  std::string kind; ///< "dc" or "edge"
  std::string region;
  std::string jurisdiction;
  HostGroupSpec workers;
  HostGroupSpec servers;        ///< count may be 0
  double lan_bandwidth_bps = 0; ///< bytes/s of each host's LAN attachment
  double lan_latency_s = 0;     ///< host-to-host latency inside the site
  /// Messages between actors of one host (a worker and its colocated server) use shared memory, not
  /// the NIC: a loopback link of memory-copy speed, bytes/s (not set from JSON).
  double loopback_Bps = 10e9;
  /// [from, to) intervals in which every host of the site is off (a crash: the scenario's
  /// network.faults.sites_fail_s); its actors die and it boots again at `to` (not set from the platform).
  std::vector<std::pair<double, double>> fail_s;
  /// Hosts of the site that crash alone (network.faults.hosts_fail_s), by name: each one's intervals,
  /// the site's own crashes merged in.
  std::map<std::string, std::vector<std::pair<double, double>>> host_fail_s;

  /// When host `name` of this site is off: its own crashes and the site's.
  const std::vector<std::pair<double, double>>& host_down(const std::string& name) const {
    auto it = host_fail_s.find(name);
    return it == host_fail_s.end() ? fail_s : it->second;
  }
  /// Whether any host of the site ever crashes.
  bool can_crash() const { return !fail_s.empty() || !host_fail_s.empty(); }
};

/// The names of a site's hosts, workers first: <site>-w<i>, then servers <site>-s<i>.
std::vector<std::string> host_names(const SiteSpec& site);

struct WanLinkSpec {
  double bandwidth_Bps = 0; ///< bytes per second
  double latency_s = 0;     ///< one-way
  LinkTrace trace;          ///< how bandwidth and latency change over time, and when the link is down
};

struct PlatformSpec {
  std::string file;
  std::string name;
  std::string description;
  std::vector<SiteSpec> sites;
  std::string wan_type; ///< "matrix" or "star"
  /// matrix: one link per unordered site pair, key (i, j) with i < j.
  std::map<std::pair<int, int>, WanLinkSpec> pairs;
  /// star: the hub site and each other site's uplink to it.
  int hub = -1;
  std::map<int, WanLinkSpec> uplinks;

  int site_index(const std::string& name) const; ///< -1 when unknown
  std::size_t host_count() const;                 ///< workers and servers of every site
  bool has_link_traces() const; ///< whether any WAN link changes over time
  bool has_site_failures() const; ///< whether any site crashes during the run
  /// Every WAN link by its SimGrid name (`wan-<a>-<b>`, `wan-<site>-uplink`), in name order.
  std::map<std::string, const WanLinkSpec*> wan_links() const;
  /// The same, to change them, with the two sites each joins (an uplink joins its site and the hub).
  struct NamedLink {
    std::string name;
    WanLinkSpec* link;
    int a, b;
  };
  std::vector<NamedLink> mutable_wan_links();
  std::string pair_link_name(int a, int b) const;
  std::string uplink_name(int s) const;
  /// The WAN links a flow from site a to site b crosses (empty when a == b), as spec entries.
  std::vector<const WanLinkSpec*> wan_path(int a, int b) const;
};

/// A selection of sites in a scenario: "all", "dc", "edge", or a list of site names.
std::vector<int> parse_site_selection(Field f, const PlatformSpec& p);

/// Parses and validates a platform file (JSON); throws InputError naming the file and field.
PlatformSpec load_platform_spec(const std::string& path);
PlatformSpec parse_platform_spec(const json& doc, const std::string& file);

/// Names used for hosts and links, so that strategies, the transport and the tests agree.
std::string worker_name(const SiteSpec& site, int i);
std::string server_name(const SiteSpec& site, int i);

/// Bytes moved from one site to another, by (source, destination) index in PlatformSpec::sites.
using SitePairBytes = std::map<std::pair<int, int>, double>;

/// The SimGrid side of a platform: which site every host belongs to.
struct Platform {
  PlatformSpec spec;
  std::vector<std::vector<simgrid::s4u::Host*>> workers; ///< per site
  std::vector<std::vector<simgrid::s4u::Host*>> servers; ///< per site
  std::map<const simgrid::s4u::Host*, int> site_of;

  int site_count() const { return static_cast<int>(spec.sites.size()); }
  int site(const simgrid::s4u::Host* h) const { return site_of.at(h); }
  /// Whether the host crashes during the run, alone or with its site (its actors must then come back when
  /// it boots).
  bool can_fail(const simgrid::s4u::Host* h) const;
  const std::string& site_name(int s) const { return spec.sites[s].name; }
};

/// Creates the SimGrid platform (must run once, after the Engine exists and before it runs).
Platform build_platform(const PlatformSpec& spec);

} // namespace geosim
