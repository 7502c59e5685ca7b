#pragma once
// Actors that live through their site's crashes (docs/faults.md): the strategies' learners, clients and
// shippers, the transport's connection readers and the services strategies run on a site (Cartel's
// slice servers and metadata service).
#include <simgrid/s4u.hpp>

#include <functional>
#include <string>

namespace geosim {

/// An actor running `body` on `host`. When `restarts` (the host's site crashes), SimGrid starts it again,
/// from the start of `body`, when the host boots; without, it is a plain Actor::create.
simgrid::s4u::ActorPtr create_actor(const std::string& name, simgrid::s4u::Host* host, bool restarts,
                                    std::function<void()> body);

/// A daemon actor running `body` on `host`. When `restarts` (the host's site crashes), SimGrid starts it
/// again when the host boots, as it was created: not a daemon until it says so, and under a new id, so
/// it daemonizes itself again then and runs `on_restart` first. Without `restarts` it makes the same
/// calls as a plain create-then-daemonize, so runs without crashes are unchanged.
simgrid::s4u::ActorPtr create_daemon(const std::string& name, simgrid::s4u::Host* host, bool restarts,
                                     std::function<void()> body, std::function<void()> on_restart = {});

} // namespace geosim
