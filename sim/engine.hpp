#pragma once
// Starting SimGrid's engine with geosim's network settings. SimGrid allows one engine per process, so
// every simulation runs in a process of its own (see runner.cpp).
#include "sim/scenario.hpp"
#include "sim/transport.hpp"

#include <simgrid/s4u.hpp>

#include <memory>
#include <string>
#include <vector>

namespace geosim {

/// ns-3 reads its attribute defaults (NS_ATTRIBUTE_DEFAULT) once, while its libraries load, so the
/// TCP buffers geosim needs under ns-3 (kNs3BufferBytes) must be in the environment before the process
/// starts. Called first in main: when the command line or a JSON file it names mentions ns-3, this sets
/// them and re-executes geosim once with the same arguments; otherwise it does nothing.
void prepare_ns3_environment(int argc, char** argv);

/// A platform of more hosts than this runs with many actors (one per client and per connection), and
/// each actor's stack takes two of the kernel's memory mappings (65,530 by default) with its guard page.
constexpr std::size_t kManyHosts = 5000;
/// For such a platform: stacks without guard pages (one mapping each: SimGrid's remedy), and blocks of
/// 4 MiB or more (a stack is 8 MiB) served by fresh mmaps again, so that the zero-filled stacks SimGrid
/// then allocates stay untouched until used (from the heap, calloc would zero every page of them).
/// Returns the --cfg flag to put before the user's own; does nothing for a smaller platform. Results do
/// not change.
std::vector<std::string> settings_for_many_actors(std::size_t hosts);

/// Creates the engine; `simgrid_args` are the user's --cfg=... and --log=... flags, applied last so
/// they override geosim's defaults.
std::unique_ptr<simgrid::s4u::Engine> start_engine(const NetworkSpec& network,
                                                   const std::vector<std::string>& simgrid_args);

/// Why SimGrid would refuse these --cfg/--log flags (empty when it accepts them): tried in a throwaway
/// child process with a one-host platform and one actor, so that a run fails before it simulates anything.
std::string simgrid_args_error(const NetworkSpec& network, const std::vector<std::string>& simgrid_args);

/// The engine's settings as SimGrid applied them (after the user's --cfg flags): network model, TCP window.
NetworkSpec effective_network(const NetworkSpec& requested);

/// Why a simulation ended before its strategy did, filled in while the engine runs.
struct RunEnd {
  std::string deadlock;        ///< non-empty: one line naming the actors that wait forever and on what
  bool time_limit_hit = false; ///< stop.max_sim_time_s passed, and the engine stopped every actor there
};

/// Before Engine::run(): report a deadlock (SimGrid finds actors blocked with nothing left to happen)
/// instead of ending quietly, and end the simulation at `max_sim_time_s` even in the middle of an
/// iteration or a transfer. The returned object is filled in during the run. On a platform whose sites
/// crash, it also keeps simulated time moving until the last boot (SimGrid would otherwise call a run
/// whose actors all wait for a crashed site a deadlock).
std::shared_ptr<RunEnd> guard_run(const Transport& transport, std::optional<double> max_sim_time_s);

} // namespace geosim
