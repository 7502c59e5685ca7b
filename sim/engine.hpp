#pragma once
// Starting SimGrid's engine with geosim's network settings. SimGrid allows one engine per process, so
// every simulation runs in a process of its own (see runner.cpp).
#include "sim/scenario.hpp"

#include <simgrid/s4u.hpp>

#include <memory>
#include <string>
#include <vector>

namespace geosim {

/// Creates the engine; `simgrid_args` are the user's --cfg=... and --log=... flags, applied last so
/// they override geosim's defaults.
std::unique_ptr<simgrid::s4u::Engine> start_engine(const NetworkSpec& network,
                                                   const std::vector<std::string>& simgrid_args);

} // namespace geosim
