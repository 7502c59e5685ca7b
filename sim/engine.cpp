#include "sim/engine.hpp"

#include <xbt/log.h>

#include <fmt/format.h>

namespace geosim {

std::unique_ptr<simgrid::s4u::Engine> start_engine(const NetworkSpec& network,
                                                   const std::vector<std::string>& simgrid_args) {
  // SimGrid's INFO lines (configuration changes, actor ends) would drown geosim's own output.
  xbt_log_control_set("root.thres:warning");
  // Static: SimGrid may keep pointers into argv for the life of the process.
  static std::vector<std::string> args;
  args = {"geosim", "--cfg=network/model:" + network.model,
          fmt::format("--cfg=network/TCP-gamma:{:.17g}", network.tcp_window_bytes)};
  args.insert(args.end(), simgrid_args.begin(), simgrid_args.end());
  static std::vector<char*> argv;
  argv.clear();
  for (auto& a : args)
    argv.push_back(a.data());
  argv.push_back(nullptr);
  int argc = static_cast<int>(args.size());
  return std::make_unique<simgrid::s4u::Engine>(&argc, argv.data());
}

} // namespace geosim
