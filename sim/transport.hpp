#pragma once
// Transport: the only way geosim actors talk. It wraps SimGrid mailboxes, sets every message's simulated
// size to the wire size of its payload, and counts bytes by (source site, destination site) and by link,
// telling LAN (same site) from WAN (different sites) traffic.
//
// Messages travel as over one open connection per (sending host, receiving mailbox): every connection's
// mailbox has a reader actor on the receiving host that is always ready, so a message starts crossing
// at once (no rendezvous) unless an earlier one is still on the same connection. A connection carries
// its messages one after another, as a TCP stream does (each pays the route's latency again, an
// overestimate of one latency per queued message), and the receiver gets them in the order they
// arrive across connections. A plain SimGrid mailbox would hand them over in the order they were
// sent, so a small message from a near host would wait for a large one still crossing a WAN.
#include "sim/outages.hpp"
#include "sim/platform.hpp"
#include "sim/provenance.hpp"

#include <simgrid/s4u.hpp>

#include <any>
#include <array>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

namespace geosim {

/// Where a message goes: a mailbox served by an actor on a known host.
struct Endpoint {
  std::string mailbox;
  simgrid::s4u::Host* host = nullptr;
};

/// A received message. `body` holds the payload object; `bytes` is what crossed the network.
struct Envelope {
  std::string kind;
  simgrid::s4u::Host* from = nullptr;
  double bytes = 0;
  std::any body;

  template <class T> const T& as() const { return std::any_cast<const T&>(body); }
};
using EnvelopePtr = std::unique_ptr<Envelope>;
/// What SimGrid calls on a detached message that failed (a crashed end): the message is gone.
inline void delete_envelope(void* env) { delete static_cast<Envelope*>(env); }

/// Payload size on the wire: a payload type either has a member wire_bytes() or is a plain byte count.
template <class T> double wire_bytes_of(const T& p) { return static_cast<double>(p.wire_bytes()); }

/// A payload that is only a size (raw data shards, probe traffic): nothing is carried but its length.
struct Opaque {
  double bytes = 0;
  double wire_bytes() const { return bytes; }
};

struct TrafficCounters {
  double lan_bytes = 0;
  double wan_bytes = 0;
  double host_local_bytes = 0; ///< between actors of one host (colocated worker and server)
  long long messages = 0;
  /// Messages that never arrived because a site crashed: posted to a host that was off, or under way
  /// when the sender's or the receiver's host went off.
  long long lost_messages = 0;
  /// Bytes by (source site, destination site) index, for the pairs that exchanged any: a dense matrix
  /// would hold N² entries (0.8 GB at 10,000 sites) where a run touches a few per site.
  SitePairBytes by_site_pair;
  std::map<std::string, double> by_link;
  /// Bytes that crossed the network (LAN or WAN) by what they carry (sim/provenance.hpp), indexed by
  /// ByteClass; and the inter-site ones by "source jurisdiction->destination jurisdiction".
  std::array<double, kByteClasses> by_class{};
  std::array<std::map<std::string, double>, kByteClasses> by_class_jurisdictions;
};

/// The first raw-data transfer a sovereignty policy forbids.
struct SovereigntyViolation {
  double at_s;
  std::string from_host, to_host, kind, from_jurisdiction, to_jurisdiction;
  double bytes;
};

class Transport {
public:
  explicit Transport(const Platform& platform, SovereigntySpec policy = {});

  /// Blocking send from the calling actor's host: returns once the message has arrived.
  template <class T> void send(const Endpoint& to, const std::string& kind, T payload) {
    auto [mbox, env, bytes] = prepare(to, kind, std::move(payload), "");
    wait_for_route(env->from, to.host);
    put_or_lose(mbox, env.release(), bytes);
  }
  /// Asynchronous send; the caller waits on the returned comm (or lets it run while it computes).
  template <class T> simgrid::s4u::CommPtr isend(const Endpoint& to, const std::string& kind, T payload) {
    auto [mbox, env, bytes] = prepare(to, kind, std::move(payload), "");
    if (route_down(env->from, to.host))
      return deferred_isend(mbox, env.release(), bytes, to.host);
    return mbox->put_async(env.release(), bytes);
  }
  /// Fire and forget: the message travels while the caller goes on, and nobody waits for it. A named
  /// `channel` is a connection of its own (a control socket): its messages do not queue behind the
  /// bulk traffic from the same host. A message to a host that is off (its site crashed) is lost, as
  /// is one under way when the receiver's host goes off (SimGrid fails it).
  template <class T>
  void post(const Endpoint& to, const std::string& kind, T payload, const std::string& channel = "") {
    if (!to.host->is_on()) {
      counters_.lost_messages++;
      return;
    }
    auto [mbox, env, bytes] = prepare(to, kind, std::move(payload), channel);
    if (route_down(env->from, to.host))
      deferred_post(mbox, env.release(), bytes, to.host);
    else
      mbox->put_init(env.release(), bytes)->detach(delete_envelope);
  }
  /// Blocking receive: the next message to have arrived at this mailbox, from any sender.
  EnvelopePtr recv(const std::string& mailbox);
  /// Whether a message has arrived at this mailbox and waits to be received (no time passes).
  bool has_mail(const std::string& mailbox) const;
  /// The same, giving up at the simulated time `deadline`: null when nothing arrived by then.
  EnvelopePtr recv_until(const std::string& mailbox, double deadline);
  /// The mailbox each actor now blocked in recv() waits on, by actor id (for the deadlock report). The
  /// names are the callers' own strings, alive while they wait: recv() stays free of copies.
  const std::unordered_map<long, const std::string*>& receiving() const { return receiving_; }
  /// Messages sent that have not yet arrived at their receiver's host.
  long long traveling() const { return traveling_; }
  /// Whether an actor is the transport's own plumbing: a connection's reader (which only hands messages
  /// on) or a helper that holds a message until its route is up (counted in traveling()).
  bool is_plumbing(long pid) const { return plumbing_.count(pid) > 0; }

  const TrafficCounters& counters() const { return counters_; }
  /// What the sovereignty policy saw: null without a policy.
  json sovereignty_report() const;
  const Platform& platform() const { return platform_; }

private:
  template <class T> auto prepare(const Endpoint& to, const std::string& kind, T payload, const std::string& channel) {
    auto env = std::make_unique<Envelope>();
    env->kind = kind;
    env->from = simgrid::s4u::this_actor::get_host();
    env->bytes = wire_bytes_of(payload);
    env->body = std::move(payload);
    account(env->from, to.host, env->bytes, kind);
    ++traveling_;
    double bytes = simulated_size(env->from, to.host, env->bytes);
    return std::make_tuple(connection(to, env->from, channel), std::move(env), bytes);
  }
  /// A blocking put whose receiver's site may crash meanwhile: the message is then lost.
  void put_or_lose(simgrid::s4u::Mailbox* mbox, Envelope* env, double bytes);
  /// A message on its way that a crash stopped.
  void lose();
  void drop_queued(simgrid::s4u::Mailbox* mbox);
  void read_connection(simgrid::s4u::Mailbox* mbox, simgrid::s4u::Mailbox* inbox, const simgrid::s4u::Host* from);
  /// The size SimGrid moves for a message: its bytes, except under ns-3, where a message between two
  /// hosts is at least 1 byte (an empty one never completes there) and at most its TCP buffers.
  double simulated_size(const simgrid::s4u::Host* from, const simgrid::s4u::Host* to, double bytes) const;
  void account(const simgrid::s4u::Host* from, const simgrid::s4u::Host* to, double bytes, const std::string& kind);
  /// Outages (sim/outages.hpp): a message waits until its route is up before it starts crossing. A
  /// blocking send waits in its sender; a post or an isend waits in a helper actor on the sender's host,
  /// and an isend's comm completes when the message has arrived.
  double route_up_at(const simgrid::s4u::Host* from, const simgrid::s4u::Host* to); ///< now when it is up
  bool route_down(const simgrid::s4u::Host* from, const simgrid::s4u::Host* to);
  void wait_for_route(const simgrid::s4u::Host* from, const simgrid::s4u::Host* to);
  void deferred_post(simgrid::s4u::Mailbox* mbox, Envelope* env, double bytes, const simgrid::s4u::Host* to);
  simgrid::s4u::CommPtr deferred_isend(simgrid::s4u::Mailbox* mbox, Envelope* env, double bytes,
                                       const simgrid::s4u::Host* to);
  /// The links a message from one host to another crosses: their names, and their byte counters in
  /// counters_.by_link (looked up once per host pair, not once per message).
  struct Route {
    std::vector<std::string> links;
    std::vector<double*> link_bytes;
  };
  const Route& route(const simgrid::s4u::Host* from, const simgrid::s4u::Host* to);
  /// Messages and bytes per link of the route.
  void count_message(const simgrid::s4u::Host* from, const simgrid::s4u::Host* to, double bytes);
  /// Raw data crossing a border the policy closes: counted, the first one kept; fatal if enforced.
  void violation(const simgrid::s4u::Host* from, const simgrid::s4u::Host* to, double bytes, const std::string& kind,
                 const std::string& from_jurisdiction, const std::string& to_jurisdiction);
  /// The mailbox of the connection from a host to an endpoint, with a reader on the endpoint's host.
  simgrid::s4u::Mailbox* connection(const Endpoint& to, const simgrid::s4u::Host* from, const std::string& channel);

  const Platform& platform_;
  bool packet_level_; ///< the network model is ns-3
  SovereigntySpec policy_;
  double violating_bytes_ = 0;
  std::optional<SovereigntyViolation> first_violation_;
  TrafficCounters counters_;
  std::map<std::pair<const simgrid::s4u::Host*, const simgrid::s4u::Host*>, Route> routes_;
  std::set<std::string> opened_; ///< connections that have a reader
  std::unordered_map<long, const std::string*> receiving_;
  long long traveling_ = 0;
  std::set<long> plumbing_;
  RouteOutages outages_;            ///< WAN links that go down
  long long deferred_ = 0;          ///< isends that waited for their route (names their done mailboxes)
  std::vector<std::unique_ptr<void*>> deferred_slots_; ///< where their completions land
};

} // namespace geosim
