#include "sim/strategy.hpp"

namespace geosim {

std::map<std::string, StrategyInfo>& strategy_registry() {
  static std::map<std::string, StrategyInfo> registry; // filled by static initialisers, read-only after main()
  return registry;
}

StrategyRegistration::StrategyRegistration(StrategyInfo info) {
  auto name = info.name;
  strategy_registry().emplace(std::move(name), std::move(info));
}

} // namespace geosim
