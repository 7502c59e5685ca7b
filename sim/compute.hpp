#pragma once
// The compute a run charges. Every flop an actor charges to its host (charge_flops in sim/protocols/training.hpp)
// is booked here, so that a run reports the work it did and the core-seconds it occupied (flops over the
// host's per-core speed), in total and per site. Core-seconds do not depend on how many cores shared
// the work or on what else the host was doing: they are the training cost a deployment would pay for,
// which is what Cartel's "training time" compares.
#include "sim/input.hpp"
#include "sim/platform.hpp"

#include <vector>

namespace geosim {

class ComputeLedger {
public:
  /// Books what is charged on every host of `platform` from now on (each host points to this ledger
  /// through its user-data slot until the ledger is destroyed).
  explicit ComputeLedger(const Platform& platform);
  ~ComputeLedger();
  ComputeLedger(const ComputeLedger&) = delete;
  ComputeLedger& operator=(const ComputeLedger&) = delete;

  /// The ledger `host` books to, or null for a host of a platform without one.
  static ComputeLedger* of(const simgrid::s4u::Host* host);

  void charge(const simgrid::s4u::Host* host, double flops);
  double flops() const { return flops_; }
  double core_seconds() const { return core_seconds_; }
  /// {"flops", "core_s", "core_s_by_site": {site: core-seconds}} (sites that computed nothing left out).
  json summary() const;

private:
  const Platform& platform_;
  std::vector<double> site_core_seconds_;
  double flops_ = 0, core_seconds_ = 0;
};

} // namespace geosim
