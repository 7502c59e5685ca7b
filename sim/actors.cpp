#include "sim/actors.hpp"

#include <memory>

namespace sg4 = simgrid::s4u;

namespace geosim {

sg4::ActorPtr create_actor(const std::string& name, sg4::Host* host, bool restarts, std::function<void()> body) {
  sg4::ActorPtr actor = sg4::Actor::create(name, host, std::move(body));
  if (restarts)
    actor->set_auto_restart(true);
  return actor;
}

sg4::ActorPtr create_daemon(const std::string& name, sg4::Host* host, bool restarts, std::function<void()> body,
                            std::function<void()> on_restart) {
  auto booted = std::make_shared<bool>(false); // shared by the copies SimGrid keeps to restart it
  sg4::ActorPtr actor = create_actor(name, host, restarts, [body, on_restart, booted] {
    if (*booted) {
      sg4::Actor::self()->daemonize();
      if (on_restart)
        on_restart();
    }
    *booted = true;
    body();
  });
  actor->daemonize();
  return actor;
}

} // namespace geosim
