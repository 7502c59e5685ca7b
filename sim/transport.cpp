#include "sim/transport.hpp"

namespace sg4 = simgrid::s4u;

namespace geosim {

Transport::Transport(const Platform& platform) : platform_(platform) {
  int n = platform.site_count();
  counters_.by_site_pair.assign(n, std::vector<double>(n, 0.0));
}

void Transport::account(const sg4::Host* from, const sg4::Host* to, double bytes) {
  int a = platform_.site(from), b = platform_.site(to);
  counters_.by_site_pair[a][b] += bytes;
  (a == b ? counters_.lan_bytes : counters_.wan_bytes) += bytes;
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

EnvelopePtr Transport::recv(const std::string& mailbox) {
  return EnvelopePtr(sg4::Mailbox::by_name(mailbox)->get<Envelope>());
}

} // namespace geosim
