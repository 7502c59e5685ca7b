#include "sim/link_trace.hpp"

#include <simgrid/kernel/ProfileBuilder.hpp>
#include <simgrid/s4u/Link.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <limits>
#include <set>
#include <sstream>

namespace geosim {
namespace {

/// A link that is down keeps this share of its bandwidth (SimGrid 3.32 ignores a bandwidth of 0): a flow
/// under way when it goes down stalls, and an outage of an hour moves it by under 4 ns of transfer time.
constexpr double kStalledShare = 1e-12;

struct Pair {
  double first, second;
  std::string where; ///< "file:line" or "file: path[i]", for errors
};

std::vector<Pair> pairs_from_text(const std::string& path) {
  std::vector<Pair> out;
  read_data_lines(path, "trace file", [&](int n, const std::string& data, const std::string&) {
    std::istringstream words(data);
    double a = 0, b = 0;
    std::string rest;
    if (!(words >> a >> b) || (words >> rest))
      throw InputError(fmt::format("{}:{}: expected two numbers (time and value), got \"{}\"", path, n, data));
    out.push_back({a, b, fmt::format("{}:{}", path, n)});
  });
  return out;
}

std::vector<Pair> pairs_of(Field f) {
  if (f.is_string()) {
    return pairs_from_text(f.beside_file(f.string()));
  }
  std::vector<Pair> out;
  for (const Field& e : f.elements()) {
    if (!e.is_array() || e.size() != 2)
      e.fail("a pair [time_s, value]");
    out.push_back(
        {e.at(std::size_t{0}).number(), e.at(std::size_t{1}).number(), fmt::format("{}: {}", f.file(), e.path())});
  }
  return out;
}

[[noreturn]] void bad(const Pair& p, const std::string& expected) {
  throw InputError(fmt::format("{}: expected {}, got {:g} {:g}", p.where, expected, p.first, p.second));
}

/// Time/value pairs in time order, each value within [lo, hi], scaled.
std::vector<TracePoint> series(Field f, double lo, double hi, double scale, const std::string& unit) {
  std::vector<TracePoint> out;
  for (const Pair& p : pairs_of(std::move(f))) {
    if (!(p.first >= 0) || (!out.empty() && p.first <= out.back().at_s))
      bad(p, "times of at least 0 s in increasing order");
    if (!(p.second >= lo && p.second <= hi))
      bad(p, fmt::format("a value in {} from {:g} to {:g}", unit, lo, hi));
    out.push_back({p.first, p.second * scale});
  }
  return out;
}

std::vector<std::pair<double, double>> outages(Field f) {
  std::vector<std::pair<double, double>> out;
  for (const Pair& p : pairs_of(std::move(f))) {
    if (!(p.first >= 0 && p.second > p.first) || (!out.empty() && p.first < out.back().second))
      bad(p, "an interval [from_s, to_s] with from_s < to_s, after the one before");
    out.emplace_back(p.first, p.second);
  }
  return out;
}

} // namespace

LinkTrace parse_link_trace(Field& f, double nominal_Bps, double min_bandwidth_mbps) {
  LinkTrace t;
  constexpr double kInf = std::numeric_limits<double>::infinity();
  if (auto bw = f.maybe("bandwidth_mbps"))
    t.bandwidth_share = series(*bw, min_bandwidth_mbps, kInf, 1e6 / 8 / nominal_Bps, "Mb/s");
  if (auto lat = f.maybe("latency_ms"))
    t.latency_s = series(*lat, 0, 1e6, 1e-3, "ms");
  if (auto down = f.maybe("down_s"))
    t.down_s = outages(*down);
  f.finish();
  return t;
}

std::string bandwidth_profile(const LinkTrace& t, double nominal_Bps) {
  if (t.bandwidth_share.empty() && t.down_s.empty())
    return "";
  std::set<double> times;
  for (const auto& p : t.bandwidth_share)
    times.insert(p.at_s);
  for (const auto& [from, to] : t.down_s)
    times.insert({from, to});
  // One walk over the change times, the bandwidth points and the outages, all in time order.
  std::string out;
  double share = 1;
  std::size_t next_point = 0, next_outage = 0;
  for (double at : times) {
    while (next_point < t.bandwidth_share.size() && t.bandwidth_share[next_point].at_s <= at)
      share = t.bandwidth_share[next_point++].value;
    while (next_outage < t.down_s.size() && t.down_s[next_outage].second <= at)
      ++next_outage;
    bool down = next_outage < t.down_s.size() && t.down_s[next_outage].first <= at;
    out += fmt::format("{:.17g} {:.17g}\n", at, nominal_Bps * share * (down ? kStalledShare : 1));
  }
  return out;
}

std::string latency_profile(const LinkTrace& t) {
  std::string out;
  for (const auto& p : t.latency_s)
    out += fmt::format("{:.17g} {:.17g}\n", p.at_s, p.value);
  return out;
}

void apply_link_trace(simgrid::s4u::Link* up, simgrid::s4u::Link* down, const LinkTrace& t, double nominal_Bps) {
  using simgrid::kernel::profile::ProfileBuilder;
  std::string bw = bandwidth_profile(t, nominal_Bps), lat = latency_profile(t);
  for (auto* link : {up, down}) {
    if (!bw.empty())
      link->set_bandwidth_profile(ProfileBuilder::from_string(link->get_name() + "-bandwidth", bw, -1));
    if (!lat.empty())
      link->set_latency_profile(ProfileBuilder::from_string(link->get_name() + "-latency", lat, -1));
  }
}

} // namespace geosim
