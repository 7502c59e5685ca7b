#pragma once
// WAN links that go down and come back (a platform trace's down_s, or the scenario's network.faults).
// While a link is down, every connection whose route crosses it stalls: its transfer stops where it is
// and resumes when the link is back, as a TCP connection outlives a short outage, so an outage delays a
// flow by exactly its length. geosim does it by suspending the connection's reader actor: SimGrid then
// suspends the transfer the reader waits on and creates the next ones suspended (CommImpl::start), and
// resumes them with the reader. The link's bandwidth is left alone: SimGrid caps a flow at the
// bandwidth its route had when it started, so a flow begun on a link dipped to nothing would crawl on
// after the link came back.
#include "sim/platform.hpp"

#include <simgrid/s4u/Actor.hpp>

#include <map>
#include <string>
#include <vector>

namespace geosim {

class OutageSchedule {
public:
  explicit OutageSchedule(const PlatformSpec& spec);
  bool empty() const { return events_.empty(); }
  /// Starts the daemon that takes links down and up at their times (on `host`, which it does not load);
  /// returns its actor id.
  long start(simgrid::s4u::Host* host);
  /// A connection's reader and the WAN links of its route (SimGrid names, `_UP`/`_DOWN` allowed): stalled
  /// now if one of them is down, and whenever one goes down until all are up.
  void watch(simgrid::s4u::ActorPtr reader, const std::vector<std::string>& links);

private:
  struct Event {
    double at_s;
    std::string link;
    bool down;
  };
  struct Watched {
    simgrid::s4u::ActorPtr reader;
    std::vector<std::string> links;
    bool stalled = false;
  };
  void apply(const Event& e);
  void settle(Watched& w);

  std::vector<Event> events_;       ///< in time order
  std::map<std::string, int> down_; ///< links now down
  std::vector<Watched> watched_;
  std::map<std::string, std::vector<std::size_t>> by_link_; ///< link -> watched connections crossing it
};

} // namespace geosim
