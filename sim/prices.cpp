#include "sim/prices.hpp"

#include <fmt/format.h>

#include <limits>

namespace geosim {

namespace {
constexpr double kInf = std::numeric_limits<double>::infinity();

std::map<std::string, double> price_map(Field f) {
  std::map<std::string, double> out;
  if (!f.is_object())
    f.fail("an object of prices by name");
  for (const auto& key : f.keys())
    out[key] = f.at(key).number(0, kInf);
  return out;
}
} // namespace

PriceList load_price_list(const std::string& path, const PlatformSpec& platform) {
  json doc = load_json_file(path);
  Field root(path, "", doc);
  if (!root.is_object())
    root.fail("a price list object");
  PriceList p;
  p.file = path;
  p.name = root.at("name").string();
  p.date = root.at("date").string();
  for (Field s : root.at("sources").elements())
    s.string();
  Field egress = root.at("egress_usd_per_gb");
  p.egress_default_usd_per_gb = egress.at("default").number(0, kInf);
  if (auto by = egress.maybe("by_region"))
    p.egress_usd_per_gb = price_map(*by);
  egress.finish();
  p.internet_egress_usd_per_gb = root.at("internet_egress_usd_per_gb").number(0, kInf);
  Field compute = root.at("compute_usd_per_hour");
  p.compute_usd_per_hour = price_map(compute);
  for (const auto& site : platform.sites)
    if (!p.compute_usd_per_hour.count(site.kind))
      compute.fail(fmt::format("a price per host for sites of kind \"{}\" (site {} of {})", site.kind, site.name,
                               platform.name));
  root.finish();
  return p;
}

/// What leaving a site costs a GB: its region's egress price for a data center, internet egress otherwise.
static double egress_rate(const PriceList& prices, const SiteSpec& site) {
  if (site.kind != "dc")
    return prices.internet_egress_usd_per_gb;
  auto it = prices.egress_usd_per_gb.find(site.region);
  return it == prices.egress_usd_per_gb.end() ? prices.egress_default_usd_per_gb : it->second;
}

json run_cost(const PriceList& prices, const PlatformSpec& platform,
              const SitePairBytes& by_site_pair, double seconds, double scale_model) {
  double wan = 0, compute = 0;
  for (const auto& [ab, bytes] : by_site_pair) // in (source, destination) order, as the sum always ran
    if (ab.first != ab.second)
      wan += bytes * scale_model / 1e9 * egress_rate(prices, platform.sites[static_cast<std::size_t>(ab.first)]);
  for (const SiteSpec& site : platform.sites) {
    double hosts = site.workers.count + site.servers.count;
    compute += hosts * prices.compute_usd_per_hour.at(site.kind) * seconds / 3600;
  }
  return {{"prices", prices.name},
          {"at_s", seconds},
          {"wan_usd", wan},
          {"compute_usd", compute},
          {"total_usd", wan + compute}};
}

} // namespace geosim
