#include "sim/compute.hpp"

#include <simgrid/s4u.hpp>

namespace sg4 = simgrid::s4u;

namespace geosim {

namespace {
template <typename F> void for_each_host(const Platform& p, F f) {
  for (const auto* hosts : {&p.workers, &p.servers})
    for (const auto& site : *hosts)
      for (sg4::Host* h : site)
        f(h);
}
} // namespace

ComputeLedger::ComputeLedger(const Platform& platform)
    : platform_(platform), site_core_seconds_(static_cast<std::size_t>(platform.site_count()), 0.0) {
  for_each_host(platform_, [this](sg4::Host* h) { h->set_data(this); });
}

ComputeLedger::~ComputeLedger() {
  for_each_host(platform_, [this](sg4::Host* h) {
    if (h->get_data<ComputeLedger>() == this)
      h->set_data(nullptr);
  });
}

ComputeLedger* ComputeLedger::of(const sg4::Host* host) { return host->get_data<ComputeLedger>(); }

void ComputeLedger::charge(const sg4::Host* host, double flops) {
  double core_s = flops / host->get_speed(); // SimGrid's host speed is per core
  flops_ += flops;
  core_seconds_ += core_s;
  site_core_seconds_[static_cast<std::size_t>(platform_.site(host))] += core_s;
}

json ComputeLedger::summary() const {
  json by_site = json::object();
  for (int s = 0; s < platform_.site_count(); ++s)
    if (site_core_seconds_[static_cast<std::size_t>(s)] > 0)
      by_site[platform_.site_name(s)] = site_core_seconds_[static_cast<std::size_t>(s)];
  return {{"flops", flops_}, {"core_s", core_seconds_}, {"core_s_by_site", by_site}};
}

} // namespace geosim
