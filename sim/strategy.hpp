#pragma once
// The one small interface every strategy implements, and the registry the CLI lists and the scenario
// parser resolves names against. A strategy parses its parameters when constructed (so validation and
// running share one code path) and, at run time, places its actors on the platform's hosts.
#include "sim/input.hpp"

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace geosim {

struct Scenario;
struct RunContext;
struct PlatformSpec;

class Strategy {
public:
  virtual ~Strategy() = default;
  /// Creates this strategy's SimGrid actors. Called once, after the platform is built.
  virtual void deploy(RunContext& ctx) = 0;
  /// The (source site, destination site) pairs between which the strategy will ship raw data, as its
  /// configuration says before it runs (checked against an enforced sovereignty policy). The transport
  /// sees every raw byte at run time anyway.
  virtual std::vector<std::pair<int, int>> raw_data_moves() const { return {}; }
  /// Whether the strategy, as configured, survives a site's crash (network.faults.sites_fail_s) with
  /// recovery semantics of its own (docs/faults.md). A scenario that crashes a site is refused for the
  /// others: a strategy that cannot recover would wait forever.
  virtual bool survives_site_failures() const { return false; }
};

struct StrategyInfo {
  std::string name;
  std::string summary;
  /// Reads the strategy's parameters from its scenario entry (unknown keys are rejected by the caller).
  std::function<std::shared_ptr<Strategy>(Field& params, const Scenario& scenario)> make;
};

std::map<std::string, StrategyInfo>& strategy_registry();

/// A strategy parameter `key` that names the site where one of its services runs (a FedAvg server, the
/// data center that gathers raw data, Cartel's metadata service): by default the platform's first data
/// center, or its first site when it has none. An unknown name is an input error naming the field;
/// `alternatives` names what else the caller accepts there (e.g. "\"all_dcs\" or ").
int service_site(Field& params, const std::string& key, const PlatformSpec& platform,
                 const std::string& alternatives = "");

/// Registers a strategy from a static initialiser in its own file.
struct StrategyRegistration {
  explicit StrategyRegistration(StrategyInfo info);
};

} // namespace geosim
