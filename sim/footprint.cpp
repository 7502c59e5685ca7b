#include "sim/footprint.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <unistd.h>

namespace geosim {

namespace {

constexpr double kDouble = 8;
constexpr double kMeanDeviceSamples = 453; // FedProx Synthetic: lognormal(4, 2) + 50 samples a device
constexpr double kRatingBytes = 24;        // user, item, value
// A host with its links, routes, actors and connections: FedAvg over 2,000 one-device edge sites held
// 560 MB (about 280 KB a site), most of it SimGrid's.
constexpr double kHostBytes = 256 * 1024;
constexpr double kModelCopiesPerSite = 9; // servers, optimizer state, Gaia's replica and Figure 5 tallies

double parameters(const WorkloadSpec& w) {
  ModelShape s = w.shape();
  const ModelSpec& m = w.model;
  if (m.kind == "mf")
    return (static_cast<double>(s.users) + s.items) * m.rank;
  double in = s.dims, total = 0;
  for (int h : m.hidden) {
    total += (in + 1) * h;
    in = h;
  }
  return total + (in + 1) * s.classes;
}

double data_bytes(const WorkloadSpec& w) {
  ModelShape s = w.shape();
  double features = s.dims + 1;
  if (w.dataset == "synthetic")
    return 2 * w.synthetic.devices * kMeanDeviceSamples * features * kDouble;
  if (w.dataset == "mixture")
    return 2 * w.mixture.samples * features * kDouble;
  if (w.dataset == "images") {
    const ImagesSpec& i = w.images;
    double train = i.samples > 0 ? i.samples : i.available,
           test = i.test_samples > 0 ? i.test_samples : i.test_available;
    return 2 * (train + test) * features * kDouble;
  }
  return 2 * s.ratings * kRatingBytes + (static_cast<double>(s.users) + s.items) * w.ratings.rank * kDouble;
}

double training_samples(const WorkloadSpec& w) {
  if (w.dataset == "synthetic")
    return w.synthetic.devices * kMeanDeviceSamples;
  if (w.dataset == "mixture")
    return w.mixture.samples;
  if (w.dataset == "images")
    return w.images.samples > 0 ? w.images.samples : w.images.available;
  return w.shape().ratings;
}

/// Forward and backward over every parameter for a classifier; a rating touches two factor rows.
double flops_per_sample(const WorkloadSpec& w) {
  if (w.model.kind == "mf")
    return 17.0 * w.model.rank + 2;
  return 6 * parameters(w);
}

double max_passes(const Scenario& sc) {
  double passes = 0;
  for (const auto& e : sc.strategies)
    passes = std::max(passes, e.passes_per_iteration);
  return passes;
}

std::string gib(double bytes) { return fmt::format("{:.1f} GiB", bytes / (1024.0 * 1024 * 1024)); }

} // namespace

Footprint estimate_footprint(const Scenario& sc) {
  Footprint f;
  double hosts = 0;
  for (const auto& site : sc.platform.sites)
    hosts += site.workers.count + site.servers.count;
  f.platform_bytes = hosts * kHostBytes;
  if (sc.workload) {
    f.data_bytes = data_bytes(*sc.workload);
    double copies = hosts + kModelCopiesPerSite * static_cast<double>(sc.platform.sites.size()) + 4;
    f.model_bytes = parameters(*sc.workload) * kDouble * copies;
  }
  return f;
}

double physical_memory_bytes() {
  return static_cast<double>(::sysconf(_SC_PHYS_PAGES)) * static_cast<double>(::sysconf(_SC_PAGE_SIZE));
}

double estimate_host_seconds(const Scenario& sc) {
  if (!sc.workload || !sc.stop.max_iterations)
    return 0;
  constexpr double kHostFlops = 2e9;
  return max_passes(sc) * static_cast<double>(*sc.stop.max_iterations) * training_samples(*sc.workload) *
         flops_per_sample(*sc.workload) / kHostFlops;
}

std::string work_warning(const Scenario& sc) {
  double s = estimate_host_seconds(sc);
  if (s <= 3600)
    return "";
  return fmt::format("{}: this run may take up to about {:.0f} hours of host time ({} passes over {:.3g} "
                     "training samples an iteration, {} iterations)",
                     sc.file, s / 3600, max_passes(sc), training_samples(*sc.workload), *sc.stop.max_iterations);
}

void check_footprint(const Scenario& sc) {
  Footprint f = estimate_footprint(sc);
  double have = physical_memory_bytes();
  if (f.total() > 0.8 * have)
    input_error(sc.file, "workload", fmt::format("a run that fits in 80% of this machine's memory ({})", gib(have)),
                fmt::format("one that needs about {} (data set {}, models {}, platform {})", gib(f.total()),
                            gib(f.data_bytes), gib(f.model_bytes), gib(f.platform_bytes)));
}

} // namespace geosim
