#include "sim/strategy.hpp"

#include "sim/platform.hpp"

namespace geosim {

std::map<std::string, StrategyInfo>& strategy_registry() {
  static std::map<std::string, StrategyInfo> registry; // filled by static initialisers, read-only after main()
  return registry;
}

StrategyRegistration::StrategyRegistration(StrategyInfo info) {
  auto name = info.name;
  strategy_registry().emplace(std::move(name), std::move(info));
}

int service_site(Field& params, const std::string& key, const PlatformSpec& platform,
                 const std::string& alternatives) {
  auto f = params.maybe(key);
  if (!f) {
    for (int s = 0; s < static_cast<int>(platform.sites.size()); ++s)
      if (platform.sites[s].kind == "dc")
        return s;
    return 0;
  }
  int s = platform.site_index(f->string());
  if (s < 0)
    f->fail(alternatives + "the name of a site of this platform");
  return s;
}

} // namespace geosim
