#include "sim/transport.hpp"

namespace sg4 = simgrid::s4u;

namespace geosim {

Transport::Transport(const Platform& platform) : platform_(platform) {
  int n = platform.site_count();
  counters_.by_site_pair.assign(n, std::vector<double>(n, 0.0));
}

void Transport::account(const sg4::Host* from, const sg4::Host* to, double bytes) {
  int a = platform_.site(from), b = platform_.site(to);
  // A message between two actors of one host never reaches the network: it is neither LAN nor WAN.
  if (from == to)
    counters_.host_local_bytes += bytes;
  else
    (a == b ? counters_.lan_bytes : counters_.wan_bytes) += bytes;
  if (from != to)
    counters_.by_site_pair[a][b] += bytes;
  counters_.messages++;
  auto key = std::make_pair(from, to);
  auto it = routes_.find(key);
  if (it == routes_.end()) {
    std::vector<sg4::Link*> links;
    double latency = 0;
    from->route_to(to, links, &latency);
    std::vector<std::string> names;
    for (const auto* l : links)
      names.push_back(l->get_name());
    it = routes_.emplace(key, std::move(names)).first;
  }
  for (const auto& name : it->second)
    counters_.by_link[name] += bytes;
}

void Transport::listen(const std::string& mailbox, sg4::ActorPtr actor) {
  if (listening_.insert(mailbox).second)
    sg4::Mailbox::by_name(mailbox)->set_receiver(actor ? actor : sg4::Actor::self());
}

EnvelopePtr Transport::recv(const std::string& mailbox) {
  listen(mailbox);
  return EnvelopePtr(sg4::Mailbox::by_name(mailbox)->get<Envelope>());
}

} // namespace geosim
