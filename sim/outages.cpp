#include "sim/outages.hpp"

#include <simgrid/s4u/Engine.hpp>

#include <algorithm>

namespace sg4 = simgrid::s4u;

namespace geosim {
namespace {
/// "wan-a-b_UP" -> "wan-a-b": both directions of a split-duplex link go down together.
std::string base_name(const std::string& link) {
  for (const char* suffix : {"_UP", "_DOWN"}) {
    std::string s = suffix;
    if (link.size() > s.size() && link.compare(link.size() - s.size(), s.size(), s) == 0)
      return link.substr(0, link.size() - s.size());
  }
  return link;
}
} // namespace

OutageSchedule::OutageSchedule(const PlatformSpec& spec) {
  for (const auto& [name, link] : spec.wan_links())
    for (const auto& [from, to] : link->trace.down_s) {
      events_.push_back({from, name, true});
      events_.push_back({to, name, false});
    }
  // At one instant, links come back before others go down (intervals are half-open).
  std::stable_sort(events_.begin(), events_.end(), [](const Event& a, const Event& b) {
    return a.at_s < b.at_s || (a.at_s == b.at_s && !a.down && b.down);
  });
}

long OutageSchedule::start(sg4::Host* host) {
  auto actor = sg4::Actor::create("wan outages", host, [this] {
    for (const Event& e : events_) {
      sg4::this_actor::sleep_until(e.at_s);
      apply(e);
    }
  });
  actor->daemonize();
  return actor->get_pid();
}

void OutageSchedule::watch(sg4::ActorPtr reader, const std::vector<std::string>& links) {
  Watched w{std::move(reader), {}, false};
  for (const auto& l : links)
    w.links.push_back(base_name(l));
  for (const auto& l : w.links)
    by_link_[l].push_back(watched_.size());
  watched_.push_back(std::move(w));
  settle(watched_.back());
}

void OutageSchedule::apply(const Event& e) {
  down_[e.link] += e.down ? 1 : -1;
  auto it = by_link_.find(e.link);
  if (it != by_link_.end())
    for (std::size_t i : it->second)
      settle(watched_[i]);
}

void OutageSchedule::settle(Watched& w) {
  bool down = std::any_of(w.links.begin(), w.links.end(), [this](const std::string& l) {
    auto it = down_.find(l);
    return it != down_.end() && it->second > 0;
  });
  if (down == w.stalled)
    return;
  w.stalled = down;
  if (down)
    w.reader->suspend();
  else
    w.reader->resume();
}

} // namespace geosim
