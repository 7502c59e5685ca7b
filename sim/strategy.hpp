#pragma once
// The one small interface every strategy implements, and the registry the CLI lists and the scenario
// parser resolves names against. A strategy parses its parameters when constructed (so validation and
// running share one code path) and, at run time, places its actors on the platform's hosts.
#include "sim/input.hpp"

#include <functional>
#include <map>
#include <memory>
#include <string>

namespace geosim {

struct Scenario;
struct RunContext;

class Strategy {
public:
  virtual ~Strategy() = default;
  /// Creates this strategy's SimGrid actors. Called once, after the platform is built.
  virtual void deploy(RunContext& ctx) = 0;
};

struct StrategyInfo {
  std::string name;
  std::string summary;
  /// Reads the strategy's parameters from its scenario entry (unknown keys are rejected by the caller).
  std::function<std::shared_ptr<Strategy>(Field& params, const Scenario& scenario)> make;
};

std::map<std::string, StrategyInfo>& strategy_registry();

/// Registers a strategy from a static initialiser in its own file.
struct StrategyRegistration {
  explicit StrategyRegistration(StrategyInfo info);
};

} // namespace geosim
