#pragma once
// An actor's inbox read by what it waits for: the next message of a kind (or that a test accepts),
// while messages of other kinds are kept, in the order they arrived, for a later take. One actor reads
// a mailbox through its Inbox, so no strategy writes its own buffering and dispatch; post_all sends the
// same small message (a stop) to many endpoints.
#include "sim/transport.hpp"

#include <deque>
#include <functional>
#include <limits>
#include <string>
#include <vector>

namespace geosim {

class Inbox {
public:
  /// What becomes of a message that is not the one awaited: kept for a later take, or dropped (late
  /// answers to a question given up on, say).
  enum class Others { keep, drop };
  using Test = std::function<bool(const Envelope&)>;

  Inbox(Transport& transport, std::string mailbox) : transport_(transport), mailbox_(std::move(mailbox)) {}
  const std::string& mailbox() const { return mailbox_; }

  /// The first message `wanted` accepts (kept ones first), waiting until the simulated time `deadline`
  /// at most: null when none came by then.
  EnvelopePtr take(const Test& wanted, double deadline = kForever, Others others = Others::keep);
  /// The next message of kind `kind`.
  EnvelopePtr take(const std::string& kind, double deadline = kForever);
  /// The next message of any of `kinds`.
  EnvelopePtr take_any(const std::vector<std::string>& kinds, double deadline = kForever);
  /// Whether some message has arrived and is not yet taken (no time passes).
  bool has_mail() const { return !kept_.empty() || transport_.has_mail(mailbox_); }

  static constexpr double kForever = std::numeric_limits<double>::infinity();

private:
  Transport& transport_;
  std::string mailbox_;
  std::deque<EnvelopePtr> kept_;
};

/// Posts one message to each endpoint, in order (fire and forget; `channel` as Transport::post).
template <class T>
void post_all(Transport& transport, const std::vector<Endpoint>& to, const std::string& kind, const T& payload,
              const std::string& channel = "") {
  for (const auto& e : to)
    transport.post(e, kind, payload, channel);
}

} // namespace geosim
