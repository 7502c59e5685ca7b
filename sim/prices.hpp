#pragma once
// Money: a price list for a platform (platforms/prices/*.json) and what a run cost under it. Egress is
// charged by the source site, as the clouds bill it: a data center's region pays its inter-region rate,
// an edge site the internet egress rate. Every host of the platform is rented for the run's time.
#include "sim/input.hpp"
#include "sim/platform.hpp"

#include <map>
#include <string>
#include <vector>

namespace geosim {

struct PriceList {
  std::string file, name, date;
  double egress_default_usd_per_gb = 0;              ///< a data-center region the list does not name
  std::map<std::string, double> egress_usd_per_gb;   ///< by data-center region
  double internet_egress_usd_per_gb = 0;             ///< from edge sites
  std::map<std::string, double> compute_usd_per_hour; ///< by site kind ("dc", "edge"), per host
};

/// Reads a price list; a missing or malformed field is an InputError naming the file and the field.
/// `platform` must have a compute price for each kind of site it holds.
PriceList load_price_list(const std::string& path, const PlatformSpec& platform);

/// The cost of a run that lasted `seconds` and moved `by_site_pair` bytes ([source][destination] sites),
/// for the full-size job: the bytes of a scale model (`scale_model` k) are 1/k of the job's, so they are
/// charged k times. {"prices", "at_s", "wan_usd", "compute_usd", "total_usd"}.
json run_cost(const PriceList& prices, const PlatformSpec& platform,
              const SitePairBytes& by_site_pair, double seconds, double scale_model);

} // namespace geosim
