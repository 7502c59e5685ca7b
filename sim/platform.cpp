#include "sim/platform.hpp"

#include <fmt/format.h>
#include <algorithm>
#include <unordered_set>
#include <simgrid/kernel/ProfileBuilder.hpp>
#include <simgrid/s4u.hpp>
#include <xbt/config.hpp>

namespace sg4 = simgrid::s4u;

namespace geosim {

namespace {
/// The zone that holds a star WAN's one-host sites (build_star_wan): a name no site may take.
constexpr const char* kEdgeZone = "wan-edge";
} // namespace

int PlatformSpec::site_index(const std::string& n) const {
  for (std::size_t i = 0; i < sites.size(); ++i)
    if (sites[i].name == n)
      return static_cast<int>(i);
  return -1;
}

std::size_t PlatformSpec::host_count() const {
  std::size_t n = 0;
  for (const auto& s : sites)
    n += static_cast<std::size_t>(s.workers.count + s.servers.count);
  return n;
}

std::string PlatformSpec::pair_link_name(int a, int b) const {
  return fmt::format("wan-{}-{}", sites[a].name, sites[b].name);
}
std::string PlatformSpec::uplink_name(int s) const { return fmt::format("wan-{}-uplink", sites[s].name); }

std::map<std::string, const WanLinkSpec*> PlatformSpec::wan_links() const {
  std::map<std::string, const WanLinkSpec*> out;
  for (const auto& [key, l] : pairs)
    out[pair_link_name(key.first, key.second)] = &l;
  for (const auto& [s, l] : uplinks)
    out[uplink_name(s)] = &l;
  return out;
}

std::vector<PlatformSpec::NamedLink> PlatformSpec::mutable_wan_links() {
  std::vector<NamedLink> out;
  for (auto& [key, l] : pairs)
    out.push_back({pair_link_name(key.first, key.second), &l, key.first, key.second});
  for (auto& [s, l] : uplinks)
    out.push_back({uplink_name(s), &l, s, hub});
  return out;
}

bool PlatformSpec::has_link_traces() const {
  auto links = wan_links();
  return std::any_of(links.begin(), links.end(), [](const auto& l) { return !l.second->trace.empty(); });
}

std::vector<int> parse_site_selection(Field f, const PlatformSpec& p) {
  std::vector<int> out;
  if (f.is_string()) {
    std::string which = f.choice({"all", "dc", "edge"});
    for (int s = 0; s < static_cast<int>(p.sites.size()); ++s)
      if (which == "all" || p.sites[s].kind == which)
        out.push_back(s);
    if (out.empty())
      f.fail(fmt::format("a selection that matches some site of platform {}", p.name));
    return out;
  }
  for (Field e : f.elements()) {
    int s = p.site_index(e.string());
    if (s < 0)
      e.fail("the name of a site of this platform");
    out.push_back(s);
  }
  if (out.empty())
    f.fail("at least one site");
  return out;
}

bool PlatformSpec::has_site_failures() const {
  return std::any_of(sites.begin(), sites.end(), [](const SiteSpec& s) { return s.can_crash(); });
}

std::vector<const WanLinkSpec*> PlatformSpec::wan_path(int a, int b) const {
  if (a == b)
    return {};
  if (wan_type == "matrix")
    return {&pairs.at({std::min(a, b), std::max(a, b)})};
  std::vector<const WanLinkSpec*> path;
  if (a != hub)
    path.push_back(&uplinks.at(a));
  if (b != hub)
    path.push_back(&uplinks.at(b));
  return path;
}

std::string worker_name(const SiteSpec& site, int i) { return fmt::format("{}-w{}", site.name, i); }
std::string server_name(const SiteSpec& site, int i) { return fmt::format("{}-s{}", site.name, i); }

std::vector<std::string> host_names(const SiteSpec& site) {
  std::vector<std::string> out;
  for (int i = 0; i < site.workers.count; ++i)
    out.push_back(worker_name(site, i));
  for (int i = 0; i < site.servers.count; ++i)
    out.push_back(server_name(site, i));
  return out;
}

namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

HostGroupSpec parse_host_group(Field f, int min_count) {
  HostGroupSpec g;
  g.count = static_cast<int>(f.at("count").integer(min_count, 100000));
  g.speed_flops = f.at("speed_gflops").number(kMinGflops, kInf) * 1e9;
  g.cores = static_cast<int>(f.integer_or("cores", 1, 1, 4096));
  f.finish();
  return g;
}

WanLinkSpec parse_link(Field& f) {
  WanLinkSpec l;
  l.bandwidth_Bps = f.at("bandwidth_mbps").number(kMinMbps, kInf) * 1e6 / 8;
  l.latency_s = f.at("latency_ms").number(0, 1e6) / 1e3;
  if (auto trace = f.maybe("trace"))
    l.trace = parse_link_trace(*trace, l.bandwidth_Bps, kMinMbps);
  return l;
}

SiteSpec parse_site(Field f) {
  SiteSpec s;
  s.name = f.at("name").string();
  if (!is_safe_name(s.name))
    f.at("name").fail(kSafeName);
  s.kind = f.choice_or("kind", "dc", {"dc", "edge"});
  s.region = f.string_or("region", s.name);
  s.jurisdiction = f.string_or("jurisdiction", "unspecified");
  s.workers = parse_host_group(f.at("workers"), 1);
  if (auto servers = f.maybe("servers"))
    s.servers = parse_host_group(*servers, 0);
  Field lan = f.at("lan");
  s.lan_bandwidth_bps = lan.at("bandwidth_mbps").number(kMinMbps, kInf) * 1e6 / 8;
  s.lan_latency_s = lan.at("latency_ms").number(0, 1e6) / 1e3;
  lan.finish();
  f.finish();
  return s;
}

void parse_matrix(Field& wan, PlatformSpec& p) {
  for (Field link : wan.at("links").elements()) {
    Field between = link.at("sites");
    if (between.size() != 2)
      between.fail("a pair of site names");
    int ends[2];
    for (int k = 0; k < 2; ++k) {
      Field end = between.at(static_cast<std::size_t>(k));
      ends[k] = p.site_index(end.string());
      if (ends[k] < 0)
        end.fail("the name of a site of this platform");
    }
    if (ends[0] == ends[1])
      between.fail("two different sites");
    auto key = std::make_pair(std::min(ends[0], ends[1]), std::max(ends[0], ends[1]));
    if (p.pairs.count(key))
      between.fail("a pair not listed before");
    p.pairs[key] = parse_link(link);
    link.finish();
  }
  for (int i = 0; i < static_cast<int>(p.sites.size()); ++i)
    for (int j = i + 1; j < static_cast<int>(p.sites.size()); ++j)
      if (!p.pairs.count({i, j}))
        input_error(p.file, wan.path() + ".links",
                    fmt::format("a link for every pair of sites; {} and {} are not connected", p.sites[i].name,
                                p.sites[j].name));
}

void parse_star(Field& wan, PlatformSpec& p) {
  Field hub = wan.at("hub");
  p.hub = p.site_index(hub.string());
  if (p.hub < 0)
    hub.fail("the name of a site of this platform");
  std::optional<WanLinkSpec> dflt;
  if (auto d = wan.maybe("uplink")) {
    dflt = parse_link(*d);
    d->finish();
  }
  if (auto ups = wan.maybe("uplinks")) {
    for (const auto& name : ups->keys()) {
      Field up = ups->at(name);
      int s = p.site_index(name);
      if (s < 0 || s == p.hub)
        input_error(p.file, up.path(), "an uplink of a non-hub site of this platform");
      p.uplinks[s] = parse_link(up);
      up.finish();
    }
  }
  for (int s = 0; s < static_cast<int>(p.sites.size()); ++s) {
    if (s == p.hub || p.uplinks.count(s))
      continue;
    if (!dflt)
      input_error(
          p.file, wan.path(),
          fmt::format("an uplink for every non-hub site (or a default \"uplink\"); {} has none", p.sites[s].name));
    p.uplinks[s] = *dflt;
  }
}

} // namespace

namespace {

/// The names build_platform gives SimGrid's zones, routers and hosts share one namespace: a site named
/// "wan", or "a-w0" beside a site "a" with a worker, would only fail once the run builds the platform.
void check_simgrid_names(const PlatformSpec& p) {
  std::map<std::string, std::string> taken; // name -> what takes it
  auto take = [&](const std::string& name, const std::string& what, std::size_t site) {
    auto [it, fresh] = taken.emplace(name, what);
    if (!fresh)
      input_error(p.file, fmt::format("sites[{}].name", site),
                  fmt::format("a site name whose SimGrid names (zone, \"<site>-gw\", \"<site>-wN\", "
                              "\"<site>-sN\") no other name takes"),
                  fmt::format("\"{}\", which would name both {} and {}", name, it->second, what));
  };
  taken.emplace("wan", "the WAN zone");
  taken.emplace(kEdgeZone, "the zone of the one-host sites");
  taken.emplace(std::string(kEdgeZone) + "-gw", "the centre of the one-host sites' zone");
  for (std::size_t i = 0; i < p.sites.size(); ++i) {
    const SiteSpec& s = p.sites[i];
    take(s.name, fmt::format("site {}'s zone", s.name), i);
    take(s.name + "-gw", fmt::format("site {}'s gateway", s.name), i);
    for (int w = 0; w < s.workers.count; ++w)
      take(worker_name(s, w), fmt::format("a worker of site {}", s.name), i);
    for (int w = 0; w < s.servers.count; ++w)
      take(server_name(s, w), fmt::format("a server of site {}", s.name), i);
  }
}

} // namespace

PlatformSpec parse_platform_spec(const json& doc, const std::string& file) {
  PlatformSpec p;
  p.file = file;
  Field root(file, "", doc);
  if (!root.is_object())
    root.fail("a platform object");
  p.name = root.at("name").string();
  p.description = root.string_or("description", "");
  json defaults = json::object();
  if (auto d = root.maybe("defaults")) {
    if (!d->is_object())
      d->fail("an object of per-site defaults");
    defaults = d->raw();
  }
  Field sites = root.at("sites");
  if (sites.size() == 0)
    sites.fail("at least one site");
  // Defaults are merged under each site, so a site only states what differs from them.
  std::vector<json> merged;
  for (std::size_t i = 0; i < sites.size(); ++i) {
    if (!sites.at(i).is_object())
      sites.at(i).fail("a site object");
    json m = defaults;
    m.merge_patch(sites.at(i).raw());
    merged.push_back(std::move(m));
  }
  std::unordered_set<std::string> names; // a set, not site_index(): linear in sites (issue 21)
  for (std::size_t i = 0; i < merged.size(); ++i) {
    SiteSpec s = parse_site(Field(file, fmt::format("sites[{}]", i), merged[i]));
    if (!names.insert(s.name).second)
      input_error(file, fmt::format("sites[{}].name", i), "a unique site name", "\"" + s.name + "\" again");
    p.sites.push_back(std::move(s));
  }
  check_simgrid_names(p);
  Field wan = root.at("wan");
  p.wan_type = wan.at("type").choice({"matrix", "star"});
  if (p.wan_type == "matrix")
    parse_matrix(wan, p);
  else
    parse_star(wan, p);
  wan.finish();
  root.finish();
  return p;
}

PlatformSpec load_platform_spec(const std::string& path) { return parse_platform_spec(load_json_file(path), path); }

// ---------------------------------------------------------------------------------------------------------
// SimGrid construction. Links are full duplex (SimGrid's SPLITDUPLEX), as NICs and WAN circuits are.
// Each site is a zone in which every host hangs off the site's switch by its own LAN link (latency =
// half the site's host-to-host latency): a host reaches the site's gateway router over its LAN link, and
// another host of the site over both LAN links. The root zone routes site to site through the gateways
// over the WAN links, so concurrent flows crossing the same WAN link share its bandwidth.
// A matrix WAN's root is a full zone with a route per site pair. A star WAN's root is a star zone (one
// route per site: up its uplink, or none for the hub), and the sites of one host (but the hub) share
// one star zone in which a host's route is its LAN link then its uplink: the same links in the same
// order as through a zone of its own. Both keep set-up linear in sites: SimGrid 3.32 checks every new
// link's name against every zone, and a full zone of N sites takes N^2 routes.
// Under ns-3 every zone is a full zone with every route spelled out: ns-3 sees only routes of one link
// (host to gateway, gateway to gateway) and routes the rest itself, and star zones report none.

namespace {

struct SiteZone {
  sg4::NetZone* zone;
  simgrid::kernel::routing::NetPoint* gateway;
};

struct HostLinks {
  sg4::Host* host;
  sg4::Link* nic;
};

/// A host with its LAN link and its loopback (a host's own actors talk over memory, not the NIC).
HostLinks create_host(sg4::NetZone* zone, const SiteSpec& site, const HostGroupSpec& group, const std::string& name) {
  sg4::Host* host = zone->create_host(name, group.speed_flops)->set_core_count(group.cores)->seal();
  sg4::Link* nic = zone->create_split_duplex_link(name + "-lan", site.lan_bandwidth_bps)
                       ->set_latency(site.lan_latency_s / 2)
                       ->seal();
  sg4::Link* loop = zone->create_link(name + "-loopback", site.loopback_Bps)->set_latency(0)->seal();
  zone->add_route(host->get_netpoint(), host->get_netpoint(), nullptr, nullptr, {sg4::LinkInRoute(loop)}, false);
  return {host, nic};
}

/// SimGrid's state profile of a host that is off in the given intervals (0: off, 1: on).
std::string state_profile(const std::vector<std::pair<double, double>>& off) {
  std::string out;
  for (const auto& [from, to] : off)
    out += fmt::format("{:.17g} 0\n{:.17g} 1\n", from, to);
  return out;
}

/// Every host of a site, workers first, recorded in `out` as the site's; a site that crashes gets the
/// state profile that turns its hosts off and on.
std::vector<HostLinks> create_hosts(sg4::NetZone* zone, const SiteSpec& site, Platform& out, int index) {
  std::vector<HostLinks> hosts;
  out.workers.emplace_back();
  out.servers.emplace_back();
  for (int i = 0; i < site.workers.count; ++i)
    hosts.push_back(create_host(zone, site, site.workers, worker_name(site, i)));
  for (int i = 0; i < site.servers.count; ++i)
    hosts.push_back(create_host(zone, site, site.servers, server_name(site, i)));
  for (std::size_t i = 0; i < hosts.size(); ++i) {
    auto& group = i < static_cast<std::size_t>(site.workers.count) ? out.workers.back() : out.servers.back();
    group.push_back(hosts[i].host);
    out.site_of[hosts[i].host] = index;
    if (const auto& down = site.host_down(hosts[i].host->get_name()); !down.empty())
      hosts[i].host->set_state_profile(simgrid::kernel::profile::ProfileBuilder::from_string(
          hosts[i].host->get_name() + "-state", state_profile(down), -1));
  }
  return hosts;
}

/// A site's zone: its hosts on the site's switch, reaching the WAN through the site's gateway.
SiteZone build_site(const sg4::NetZone* root, const SiteSpec& site, Platform& out, int index) {
  sg4::NetZone* zone = sg4::create_full_zone(site.name);
  zone->set_parent(root);
  auto* gw = zone->create_router(site.name + "-gw");
  std::vector<HostLinks> hosts = create_hosts(zone, site, out, index);
  for (const auto& h : hosts)
    zone->add_route(h.host->get_netpoint(), gw, nullptr, nullptr, {{h.nic, sg4::LinkInRoute::Direction::UP}}, true);
  // Host to host inside the site: up the sender's LAN link, down the receiver's.
  for (std::size_t a = 0; a < hosts.size(); ++a)
    for (std::size_t b = a + 1; b < hosts.size(); ++b)
      zone->add_route(
          hosts[a].host->get_netpoint(), hosts[b].host->get_netpoint(), nullptr, nullptr,
          {{hosts[a].nic, sg4::LinkInRoute::Direction::UP}, {hosts[b].nic, sg4::LinkInRoute::Direction::DOWN}}, true);
  zone->seal();
  return {zone, gw};
}

sg4::Link* create_wan_link(sg4::NetZone* root, const std::string& name, const WanLinkSpec& l) {
  auto* link = root->create_split_duplex_link(name, l.bandwidth_Bps);
  link->set_latency(l.latency_s);
  apply_link_trace(link->get_link_up(), link->get_link_down(), l.trace, l.bandwidth_Bps);
  return link->seal();
}

/// A matrix WAN (or any WAN under ns-3): a full root zone with a route for every pair of sites.
void build_full_wan(const PlatformSpec& spec, Platform& out) {
  sg4::NetZone* root = sg4::create_full_zone("wan");
  std::vector<SiteZone> zones;
  for (std::size_t i = 0; i < spec.sites.size(); ++i)
    zones.push_back(build_site(root, spec.sites[i], out, static_cast<int>(i)));
  std::map<std::pair<int, int>, sg4::Link*> pair_links;
  std::map<int, sg4::Link*> uplinks;
  for (const auto& [key, l] : spec.pairs)
    pair_links[key] = create_wan_link(root, spec.pair_link_name(key.first, key.second), l);
  for (const auto& [s, l] : spec.uplinks)
    uplinks[s] = create_wan_link(root, spec.uplink_name(s), l);

  int n = static_cast<int>(spec.sites.size());
  for (int a = 0; a < n; ++a)
    for (int b = a + 1; b < n; ++b) {
      std::vector<sg4::LinkInRoute> links;
      if (spec.wan_type == "matrix") {
        links.emplace_back(pair_links.at({a, b}), sg4::LinkInRoute::Direction::UP);
      } else {
        // An uplink's UP direction carries traffic towards the hub.
        if (a != spec.hub)
          links.emplace_back(uplinks.at(a), sg4::LinkInRoute::Direction::UP);
        if (b != spec.hub)
          links.emplace_back(uplinks.at(b), sg4::LinkInRoute::Direction::DOWN);
      }
      root->add_route(zones[a].zone->get_netpoint(), zones[b].zone->get_netpoint(), zones[a].gateway, zones[b].gateway,
                      links, true);
    }
  root->seal();
}

/// A star WAN under the flow-level models (see above). The sites of one host that are not the hub share
/// one star zone, "wan-edge", whose centre router stands for the hub's side of their uplinks: SimGrid
/// routes between zones and between the hosts of one zone, not between a host and a sibling zone.
void build_star_wan(const PlatformSpec& spec, Platform& out) {
  sg4::NetZone* root = sg4::create_star_zone("wan");
  sg4::NetZone* edge = nullptr;
  simgrid::kernel::routing::NetPoint* centre = nullptr;
  std::vector<SiteZone> zones(spec.sites.size(), SiteZone{nullptr, nullptr});
  std::vector<HostLinks> lone(spec.sites.size(), HostLinks{nullptr, nullptr});
  for (std::size_t i = 0; i < spec.sites.size(); ++i) {
    const SiteSpec& site = spec.sites[i];
    int s = static_cast<int>(i);
    if (s == spec.hub || site.workers.count + site.servers.count != 1) {
      zones[i] = build_site(root, site, out, s);
      continue;
    }
    if (!edge) {
      edge = sg4::create_star_zone(kEdgeZone);
      edge->set_parent(root);
      centre = edge->create_router(std::string(kEdgeZone) + "-gw");
      edge->add_route(centre, nullptr, nullptr, nullptr, {}, true);
    }
    lone[i] = create_hosts(edge, site, out, s).front();
  }
  // The WAN links after every site's hosts and LAN links, in the order build_full_wan creates them.
  std::map<int, sg4::Link*> uplinks;
  for (const auto& [s, l] : spec.uplinks)
    uplinks[s] = create_wan_link(root, spec.uplink_name(s), l);
  for (std::size_t i = 0; i < spec.sites.size(); ++i) {
    std::vector<sg4::LinkInRoute> up; // an uplink's UP direction carries traffic towards the hub
    if (static_cast<int>(i) != spec.hub)
      up.emplace_back(uplinks.at(static_cast<int>(i)), sg4::LinkInRoute::Direction::UP);
    if (zones[i].zone) {
      root->add_route(zones[i].zone->get_netpoint(), nullptr, zones[i].gateway, nullptr, up, true);
    } else {
      up.insert(up.begin(), sg4::LinkInRoute(lone[i].nic, sg4::LinkInRoute::Direction::UP));
      edge->add_route(lone[i].host->get_netpoint(), nullptr, nullptr, nullptr, up, true);
    }
  }
  if (edge) {
    edge->seal();
    root->add_route(edge->get_netpoint(), nullptr, centre, nullptr, {}, true);
  }
  root->seal();
}

} // namespace

Platform build_platform(const PlatformSpec& spec) {
  Platform out;
  out.spec = spec;
  if (spec.wan_type == "star" && simgrid::config::get_value<std::string>("network/model") != "ns-3")
    build_star_wan(spec, out);
  else
    build_full_wan(spec, out);
  // SimGrid 3.32 fires this only after an XML platform; ns-3 builds its routing tables on it.
  sg4::Engine::on_platform_created();
  return out;
}

bool Platform::can_fail(const sg4::Host* h) const {
  return !spec.sites[static_cast<std::size_t>(site(h))].host_down(h->get_name()).empty();
}

} // namespace geosim
