#include "sim/inbox.hpp"

#include <algorithm>
#include <cmath>

namespace geosim {

EnvelopePtr Inbox::take(const Test& wanted, double deadline, Others others) {
  auto kept = std::find_if(kept_.begin(), kept_.end(), [&](const EnvelopePtr& e) { return wanted(*e); });
  if (kept != kept_.end()) {
    EnvelopePtr env = std::move(*kept);
    kept_.erase(kept);
    return env;
  }
  while (true) {
    EnvelopePtr env = std::isinf(deadline) ? transport_.recv(mailbox_) : transport_.recv_until(mailbox_, deadline);
    if (!env || wanted(*env))
      return env;
    if (others == Others::keep)
      kept_.push_back(std::move(env));
  }
}

EnvelopePtr Inbox::take(const std::string& kind, double deadline) {
  return take([&kind](const Envelope& e) { return e.kind == kind; }, deadline);
}

EnvelopePtr Inbox::take_any(const std::vector<std::string>& kinds, double deadline) {
  return take([&kinds](const Envelope& e) { return std::find(kinds.begin(), kinds.end(), e.kind) != kinds.end(); },
              deadline);
}

} // namespace geosim
