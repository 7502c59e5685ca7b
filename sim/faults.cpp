#include "sim/faults.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cstdint>
#include <limits>
#include <random>
#include <set>
#include <sstream>

namespace geosim {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

std::vector<std::pair<double, double>> intervals(Field f) {
  std::vector<std::pair<double, double>> out;
  for (const Field& e : f.elements()) {
    if (!e.is_array() || e.size() != 2)
      e.fail("an interval [from_s, to_s]");
    double from = e.at(std::size_t{0}).number(0), to = e.at(std::size_t{1}).number(0);
    if (!(to > from))
      e.fail("an interval [from_s, to_s] with from_s < to_s");
    out.emplace_back(from, to);
  }
  return out;
}

/// Sorted, overlapping or touching intervals joined.
std::vector<std::pair<double, double>> merged(std::vector<std::pair<double, double>> v) {
  std::sort(v.begin(), v.end());
  std::vector<std::pair<double, double>> out;
  for (const auto& iv : v)
    if (!out.empty() && iv.first <= out.back().second)
      out.back().second = std::max(out.back().second, iv.second);
    else
      out.push_back(iv);
  return out;
}

/// A stable 64-bit hash (FNV-1a) of a group's key, so that a group's draws do not depend on where it
/// sits in the file or on which other links exist.
std::uint64_t stream_of(long long seed, const std::string& key) {
  std::uint64_t h = 1469598103934665603ull ^ static_cast<std::uint64_t>(seed);
  for (unsigned char c : key)
    h = (h ^ c) * 1099511628211ull;
  return h;
}

/// Alternating up and down times, drawn from exponentials of means `mtbf_s` and `mttr_s`, until the horizon.
std::vector<std::pair<double, double>> draw_downtimes(double mtbf_s, double mttr_s, double horizon_s,
                                                      std::mt19937_64& rng) {
  std::vector<std::pair<double, double>> down;
  std::exponential_distribution<double> up(1 / mtbf_s), repair(1 / mttr_s);
  for (double at = up(rng); at < horizon_s;) {
    double until = std::min(at + repair(rng), horizon_s);
    down.emplace_back(at, until);
    at = until + up(rng);
  }
  return down;
}

/// Reads {"mtbf_s": .., "mttr_s": ..} (an entry's other keys are its caller's).
FaultsSpec::Outages parse_rates(Field& f) {
  FaultsSpec::Outages r;
  r.mtbf_s = f.at("mtbf_s").number(0, kInf, true);
  r.mttr_s = f.at("mttr_s").number(0, kInf, true);
  return r;
}

/// Adds to `down` the crashes drawn until the horizon from the stream keyed by `key` (a site's or a
/// host's own, so that adding another does not move them).
void add_drawn(const FaultsSpec& faults, const FaultsSpec::Outages& rates, const std::string& key,
               std::vector<std::pair<double, double>>& down) {
  std::mt19937_64 rng(stream_of(faults.seed, key));
  auto drawn = draw_downtimes(rates.mtbf_s, rates.mttr_s, faults.horizon_s, rng);
  down.insert(down.end(), drawn.begin(), drawn.end());
}

/// One draw of a link's (or a correlated group's) faults until the horizon.
LinkTrace draw(const FaultsSpec& f, std::uint64_t stream) {
  std::mt19937_64 rng(stream);
  LinkTrace t;
  if (f.bandwidth) {
    std::normal_distribution<double> g(0, f.bandwidth->sd);
    for (double at = 0; at < f.horizon_s; at += f.bandwidth->every_s)
      t.bandwidth_share.push_back({at, std::max(f.bandwidth->min_share, 1 + g(rng))});
    t.bandwidth_share.push_back({f.horizon_s, 1});
  }
  if (f.outages)
    t.down_s = draw_downtimes(f.outages->mtbf_s, f.outages->mttr_s, f.horizon_s, rng);
  return t;
}

/// Intervals by site, inline: {"<site>": [[from_s, to_s], ...]}; a crash may not begin at 0 (a host must
/// boot to run its actors).
void site_intervals(Field f, const PlatformSpec& p, bool crash,
                    std::map<int, std::vector<std::pair<double, double>>>& out) {
  for (const auto& site : f.keys()) {
    int i = p.site_index(site);
    if (i < 0)
      input_error(f.file(), f.path() + "." + site, "the name of a site of the platform", "\"" + site + "\"");
    out[i] = intervals(f.at(site));
    for (const auto& [from, to] : out[i])
      if (crash && !(from > 0))
        input_error(f.file(), f.path() + "." + site,
                    "intervals that begin after 0 (the site's hosts boot at 0 to start its actors)",
                    fmt::format("[{:g}, {:g}]", from, to));
  }
}

std::set<std::string> all_hosts(const PlatformSpec& p) {
  std::set<std::string> hosts;
  for (const auto& site : p.sites)
    for (auto& name : host_names(site))
      hosts.insert(std::move(name));
  return hosts;
}

/// Crash intervals by host, inline: {"<host>": [[from_s, to_s], ...]}, hosts named as the platform names
/// them (<site>-w<i>, <site>-s<i>).
void host_intervals(Field f, const PlatformSpec& p,
                    std::map<std::string, std::vector<std::pair<double, double>>>& out) {
  std::set<std::string> hosts = all_hosts(p);
  for (const auto& host : f.keys()) {
    if (!hosts.count(host))
      input_error(f.file(), f.path() + "." + host, "the name of a host of the platform (<site>-w<i> or <site>-s<i>)",
                  "\"" + host + "\"");
    out[host] = intervals(f.at(host));
    for (const auto& [from, to] : out[host])
      if (!(from > 0))
        input_error(f.file(), f.path() + "." + host,
                    "intervals that begin after 0 (a host boots at 0 to start its actors)",
                    fmt::format("[{:g}, {:g}]", from, to));
  }
}

/// Intervals by name from a text file: "<name> <from_s> <to_s>" a line, '#' comments. `what` names the
/// file in its errors and `thing` what a name is ("site", "host"); `index` gives a name's key, or
/// nothing when the platform has no such name; a crash may not begin at 0 (a host must boot to run its
/// actors).
template <class Key, class Index>
void read_intervals(const std::string& path, const std::string& what, const std::string& thing, bool crash, Index index,
                    std::map<Key, std::vector<std::pair<double, double>>>& out) {
  read_data_lines(path, what, [&](int n, const std::string& data, const std::string& line) {
    std::istringstream words(data);
    std::string name, rest;
    double from = 0, to = 0;
    words >> name;
    auto bad = [&](const std::string& expected) {
      throw InputError(fmt::format("{}:{}: expected {}, got \"{}\"", path, n, expected, line));
    };
    if (!(words >> from >> to) || (words >> rest))
      bad(fmt::format("a {} and an interval: <{}> <from_s> <to_s>", thing, thing));
    std::optional<Key> key = index(name);
    if (!key)
      bad(fmt::format("the name of a {} of the platform", thing));
    if (crash ? !(from > 0 && to > from) : !(from >= 0 && to > from))
      bad(crash ? "an interval with 0 < from_s < to_s" : "an interval with 0 <= from_s < to_s");
    out[*key].emplace_back(from, to);
  });
}

void read_site_intervals(const std::string& path, const PlatformSpec& p, const std::string& what, bool crash,
                         std::map<int, std::vector<std::pair<double, double>>>& out) {
  auto index = [&](const std::string& name) {
    int i = p.site_index(name);
    return i < 0 ? std::nullopt : std::optional<int>(i);
  };
  read_intervals<int>(path, what, "site", crash, index, out);
}

void read_host_intervals(const std::string& path, const PlatformSpec& p,
                         std::map<std::string, std::vector<std::pair<double, double>>>& out) {
  std::set<std::string> hosts = all_hosts(p);
  auto index = [&](const std::string& name) {
    return hosts.count(name) ? std::optional<std::string>(name) : std::nullopt;
  };
  read_intervals<std::string>(path, "file of host failures", "host", true, index, out);
}

/// Which hosts crash: "all", "workers", "servers", or a list of host names.
std::vector<std::string> parse_host_selection(Field f, const PlatformSpec& p) {
  std::set<std::string> hosts = all_hosts(p);
  std::vector<std::string> out;
  if (f.is_array()) {
    for (const Field& e : f.elements()) {
      if (!hosts.count(e.string()))
        e.fail("the name of a host of the platform (<site>-w<i> or <site>-s<i>)");
      out.push_back(e.string());
    }
    return out;
  }
  std::string which = f.choice({"all", "workers", "servers"});
  for (const auto& site : p.sites) {
    if (which != "servers")
      for (int i = 0; i < site.workers.count; ++i)
        out.push_back(worker_name(site, i));
    if (which != "workers")
      for (int i = 0; i < site.servers.count; ++i)
        out.push_back(server_name(site, i));
  }
  return out;
}

} // namespace

FaultsSpec parse_faults(Field f, const PlatformSpec& p, long long default_seed) {
  FaultsSpec s;
  s.seed = f.integer_or("seed", default_seed, 0);
  if (auto bw = f.maybe("bandwidth")) {
    FaultsSpec::Noise n;
    n.every_s = bw->at("every_s").number(0, kInf, true);
    n.sd = bw->at("sd").number(0);
    n.min_share = bw->number_or("min_share", n.min_share, 0, 1, true);
    bw->finish();
    s.bandwidth = n;
  }
  if (auto o = f.maybe("outages")) {
    s.outages = parse_rates(*o);
    o->finish();
  }
  if (auto sf = f.maybe("site_failures")) {
    s.site_failures = FaultsSpec::SiteFailures{parse_rates(*sf), parse_site_selection(sf->at("sites"), p)};
    sf->finish();
  }
  if (auto hf = f.maybe("host_failures")) {
    s.host_failures = FaultsSpec::HostFailures{parse_rates(*hf), parse_host_selection(hf->at("hosts"), p)};
    hf->finish();
  }
  if (s.bandwidth || s.outages || s.site_failures || s.host_failures)
    s.horizon_s = f.at("horizon_s").number(0, kInf, true);
  if (auto groups = f.maybe("correlated")) {
    std::set<std::string> names, seen;
    for (const auto& [name, link] : p.wan_links())
      names.insert(name);
    for (const Field& g : groups->elements()) {
      std::vector<std::string> group;
      for (const Field& n : g.elements()) {
        std::string name = n.string();
        if (!names.count(name))
          n.fail("the name of a WAN link of the platform (wan-<a>-<b> or wan-<site>-uplink)");
        if (!seen.insert(name).second)
          n.fail("a link in one correlated group only");
        group.push_back(name);
      }
      s.correlated.push_back(group);
    }
  }
  if (auto down = f.maybe("sites_down_s"))
    site_intervals(*down, p, false, s.sites_down_s);
  if (auto file = f.maybe("sites_down_file"))
    read_site_intervals(file->beside_file(file->string()), p, "file of offline intervals", false, s.sites_down_s);
  if (auto fail = f.maybe("sites_fail_s"))
    site_intervals(*fail, p, true, s.sites_fail_s);
  if (auto file = f.maybe("sites_fail_file"))
    read_site_intervals(file->beside_file(file->string()), p, "file of site failures", true, s.sites_fail_s);
  if (auto hosts = f.maybe("hosts_fail_s"))
    host_intervals(*hosts, p, s.hosts_fail_s);
  if (auto file = f.maybe("hosts_fail_file"))
    read_host_intervals(file->beside_file(file->string()), p, s.hosts_fail_s);
  f.finish();
  return s;
}

void apply_faults(PlatformSpec& p, const FaultsSpec& faults, const std::string& file) {
  auto links = p.mutable_wan_links();
  std::map<std::string, std::string> stream_key; // link -> the key of the stream it draws from
  for (const auto& group : faults.correlated)
    for (const auto& name : group)
      stream_key[name] = fmt::format("group:{}", fmt::join(group, ","));
  std::map<int, std::vector<std::pair<double, double>>> crashes = faults.sites_fail_s;
  if (faults.site_failures)
    for (int site : faults.site_failures->sites)
      add_drawn(faults, faults.site_failures->rates, "site:" + p.sites[static_cast<std::size_t>(site)].name,
                crashes[site]);
  for (const auto& [site, down] : crashes)
    p.sites[static_cast<std::size_t>(site)].fail_s = merged(down);
  auto host_crashes = faults.hosts_fail_s;
  if (faults.host_failures)
    for (const auto& host : faults.host_failures->hosts)
      add_drawn(faults, faults.host_failures->rates, "host:" + host, host_crashes[host]);
  if (!host_crashes.empty())   // naming every host of a large platform is not free
    for (auto& site : p.sites) // a host that crashes alone is also down whenever its whole site is
      for (const auto& name : host_names(site))
        if (auto it = host_crashes.find(name); it != host_crashes.end() && !it->second.empty()) {
          auto down = it->second;
          down.insert(down.end(), site.fail_s.begin(), site.fail_s.end());
          site.host_fail_s[name] = merged(down);
        }
  bool generated = faults.bandwidth || faults.outages;
  for (auto& l : links) {
    std::vector<std::pair<double, double>> down;
    for (int s : {l.a, l.b})
      if (auto it = faults.sites_down_s.find(s); it != faults.sites_down_s.end())
        down.insert(down.end(), it->second.begin(), it->second.end());
    if (!generated && down.empty())
      continue;
    if (!l.link->trace.empty())
      input_error(
          file, "network.faults",
          fmt::format("faults only on links without a trace of their own; {} has one in the platform file", l.name));
    auto key = stream_key.count(l.name) ? stream_key[l.name] : "link:" + l.name;
    LinkTrace t = generated ? draw(faults, stream_of(faults.seed, key)) : LinkTrace{};
    down.insert(down.end(), t.down_s.begin(), t.down_s.end());
    t.down_s = merged(down);
    l.link->trace = t;
  }
}

namespace {
json intervals_report(const std::vector<std::pair<double, double>>& down, const char* count_key) {
  double total = 0;
  json intervals = json::array();
  for (const auto& [from, to] : down) {
    total += to - from;
    intervals.push_back({from, to});
  }
  return {{count_key, down.size()}, {"down_s", total}, {"intervals", intervals}};
}
} // namespace

json site_failures_report(const PlatformSpec& p) {
  json out = json::object();
  for (const auto& site : p.sites)
    if (!site.fail_s.empty())
      out[site.name] = intervals_report(site.fail_s, "failures");
  return out;
}

json host_failures_report(const PlatformSpec& p) {
  json out = json::object();
  for (const auto& site : p.sites)
    for (const auto& [host, down] : site.host_fail_s)
      out[host] = intervals_report(down, "failures");
  return out;
}

json faults_report(const PlatformSpec& p) {
  json out = json::object();
  for (const auto& [name, link] : p.wan_links()) {
    const auto& down = link->trace.down_s;
    if (down.empty())
      continue;
    out[name] = intervals_report(down, "outages");
  }
  return out;
}

} // namespace geosim
