#include "sim/transport.hpp"

#include "sim/actors.hpp"
#include "sim/provenance.hpp"
#include "sim/scenario.hpp"

#include <fmt/format.h>

#include <xbt/config.hpp>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <limits>

namespace sg4 = simgrid::s4u;

namespace geosim {

Transport::Transport(const Platform& platform, SovereigntySpec policy)
    : platform_(platform), packet_level_(simgrid::config::get_value<std::string>("network/model") == "ns-3"),
      policy_(std::move(policy)), outages_(platform.spec) {
  if (platform.spec.has_site_failures()) // an actor killed by a crash never leaves its recv() itself
    sg4::Actor::on_termination_cb([this](const sg4::Actor& a) { receiving_.erase(a.get_pid()); });
}

namespace {
/// Ends the run's process with one line: an exception would unwind through SimGrid's actor context and
/// abort with a backtrace, and this run is a child process whose parent discards its results.
[[noreturn]] void end_run(const std::string& line) {
  std::fprintf(stderr, "geosim: %s\n", line.c_str());
  std::fflush(stderr);
  std::_Exit(1);
}
} // namespace

double Transport::simulated_size(const sg4::Host* from, const sg4::Host* to, double bytes) const {
  if (!packet_level_ || from == to)
    return bytes;
  if (bytes > kNs3BufferBytes)
    end_run(fmt::format("a message of {:.0f} bytes from {} to {} is larger than the TCP buffers geosim gives ns-3 "
                        "({:.0f} bytes); run this scenario under CM02 or LV08",
                        bytes, from->get_name(), to->get_name(), kNs3BufferBytes));
  return std::max(bytes, 1.0);
}

void Transport::account(const sg4::Host* from, const sg4::Host* to, double bytes, const std::string& kind) {
  int a = platform_.site(from), b = platform_.site(to);
  auto cls = static_cast<std::size_t>(byte_class_of(kind));
  // A message between two actors of one host never reaches the network: it is neither LAN nor WAN.
  if (from == to) {
    counters_.host_local_bytes += bytes;
  } else {
    (a == b ? counters_.lan_bytes : counters_.wan_bytes) += bytes;
    counters_.by_site_pair[{a, b}] += bytes;
    counters_.by_class[cls] += bytes;
  }
  if (a != b) {
    const std::string &ja = platform_.spec.sites[a].jurisdiction, &jb = platform_.spec.sites[b].jurisdiction;
    counters_.by_class_jurisdictions[cls][ja + "->" + jb] += bytes;
    if (cls == static_cast<std::size_t>(ByteClass::raw) && policy_.forbids(ja, jb))
      violation(from, to, bytes, kind, ja, jb);
  }
  count_message(from, to, bytes);
}

void Transport::violation(const sg4::Host* from, const sg4::Host* to, double bytes, const std::string& kind,
                          const std::string& ja, const std::string& jb) {
  violating_bytes_ += bytes;
  if (!first_violation_)
    first_violation_ = SovereigntyViolation{sg4::Engine::get_clock(), from->get_name(), to->get_name(), kind, ja, jb,
                                            bytes};
  if (policy_.enforce) // a strategy that did not declare its raw-data moves broke an enforced policy
    end_run(fmt::format("{} sent {:.0f} bytes of raw data from {} ({}) to {} ({}) at {:g} s, which the enforced "
                        "sovereignty policy forbids",
                        kind, bytes, from->get_name(), ja, to->get_name(), jb, sg4::Engine::get_clock()));
}

json Transport::sovereignty_report() const {
  if (!policy_.active())
    return nullptr;
  json first = nullptr;
  if (first_violation_)
    first = {{"at_s", first_violation_->at_s},
             {"from_host", first_violation_->from_host},
             {"to_host", first_violation_->to_host},
             {"kind", first_violation_->kind},
             {"from_jurisdiction", first_violation_->from_jurisdiction},
             {"to_jurisdiction", first_violation_->to_jurisdiction},
             {"bytes", first_violation_->bytes}};
  json raw_data = "stay_in_jurisdiction";
  if (!policy_.all)
    raw_data = {{"stay_in", policy_.stay_in}, {"allowed_destinations", policy_.allowed_destinations}};
  return {{"raw_data", raw_data},
          {"enforce", policy_.enforce},
          {"complies", violating_bytes_ == 0},
          {"violating_raw_bytes", violating_bytes_},
          {"first_violation", first}};
}

double Transport::route_up_at(const sg4::Host* from, const sg4::Host* to) {
  double now = sg4::Engine::get_clock();
  return outages_.empty() || from == to ? now : outages_.up_again(route(from, to).links, now);
}

bool Transport::route_down(const sg4::Host* from, const sg4::Host* to) {
  return route_up_at(from, to) > sg4::Engine::get_clock();
}

void Transport::wait_for_route(const sg4::Host* from, const sg4::Host* to) {
  for (double up = route_up_at(from, to); up > sg4::Engine::get_clock(); up = route_up_at(from, to))
    sg4::this_actor::sleep_until(up);
}

void Transport::deferred_post(sg4::Mailbox* mbox, Envelope* env, double bytes, const sg4::Host* to) {
  sg4::ActorPtr helper = sg4::Actor::create("deferred send", env->from, [this, mbox, env, bytes, to] {
    wait_for_route(env->from, to);
    mbox->put_init(env, bytes)->detach(delete_envelope);
  });
  helper->daemonize(); // like the detached comm it stands for, it does not keep the run alive
  plumbing_.insert(helper->get_pid());
}

void Transport::put_or_lose(sg4::Mailbox* mbox, Envelope* env, double bytes) {
  try {
    mbox->put(env, bytes);
  } catch (const simgrid::NetworkFailureException&) {
    delete env;
    lose();
  }
}

void Transport::lose() {
  --traveling_;
  counters_.lost_messages++;
}

/// The messages waiting on a connection whose sender crashed: SimGrid would start them from a host that
/// is off. Clearing the mailbox drops the detached comms, which frees their envelopes.
void Transport::drop_queued(sg4::Mailbox* mbox) {
  if (mbox->empty())
    return;
  for (std::size_t n = mbox->size(); n > 0; --n)
    lose();
  mbox->clear();
}

sg4::CommPtr Transport::deferred_isend(sg4::Mailbox* mbox, Envelope* env, double bytes, const sg4::Host* to) {
  sg4::Mailbox* done = sg4::Mailbox::by_name(fmt::format("deferred#{}", deferred_++));
  sg4::ActorPtr helper = sg4::Actor::create("deferred send", env->from, [this, mbox, env, bytes, to, done] {
    wait_for_route(env->from, to);
    put_or_lose(mbox, env, bytes);
    static int arrived;                    // the payload only says "arrived"
    done->put_init(&arrived, 0)->detach(); // on the sender's own host: no time
  });
  helper->daemonize();
  plumbing_.insert(helper->get_pid());
  deferred_slots_.push_back(std::make_unique<void*>(nullptr));
  return done->get_async(deferred_slots_.back().get());
}

const Transport::Route& Transport::route(const sg4::Host* from, const sg4::Host* to) {
  auto key = std::make_pair(from, to);
  auto it = routes_.find(key);
  if (it == routes_.end()) {
    std::vector<sg4::Link*> links;
    double latency = 0;
    from->route_to(to, links, &latency);
    Route r;
    for (const auto* l : links) {
      r.links.push_back(l->get_name());
      r.link_bytes.push_back(&counters_.by_link[l->get_name()]); // a std::map's entries stay put
    }
    it = routes_.emplace(key, std::move(r)).first;
  }
  return it->second;
}

void Transport::count_message(const sg4::Host* from, const sg4::Host* to, double bytes) {
  counters_.messages++;
  for (double* link : route(from, to).link_bytes)
    *link += bytes;
}

sg4::Mailbox* Transport::connection(const Endpoint& to, const sg4::Host* from, const std::string& channel) {
  std::string name = to.mailbox + "<" + from->get_name() + (channel.empty() ? "" : "#" + channel);
  sg4::Mailbox* mbox = sg4::Mailbox::by_name(name);
  // Looking a mailbox up and creating an actor both yield to the other actors; the check and the
  // registration sit between two such calls so that two actors sending on the same connection at the
  // same moment do not both open it (two readers would let two messages cross at once).
  if (!opened_.insert(name).second)
    return mbox;
  sg4::Mailbox* inbox = sg4::Mailbox::by_name(to.mailbox);
  // The reader takes one message at a time, so a message starts crossing only once the one before it
  // on this connection has arrived: a connection is one byte stream, as a TCP socket is, and its queued
  // messages do not share the route's bandwidth as parallel flows would. It hands each message on
  // through a zero-byte comm on its own host (no time) into the mailbox the receiver reads, which then
  // holds messages in the order they arrived across connections.
  // A connection lives as long as someone uses it, and on a host that crashes it comes back with it.
  auto plumbing = [this] { plumbing_.insert(sg4::this_actor::get_pid()); };
  sg4::ActorPtr reader = create_daemon("reader " + name, to.host, platform_.can_fail(to.host),
                                       [this, mbox, inbox, from] { read_connection(mbox, inbox, from); }, plumbing);
  plumbing_.insert(reader->get_pid());
  return mbox;
}

/// A connection's reader: hands the messages that arrive on `mbox`, one at a time, on to `inbox`.
void Transport::read_connection(sg4::Mailbox* mbox, sg4::Mailbox* inbox, const sg4::Host* from) {
  while (true) {
    if (!from->is_on()) // the sender crashed: what it had queued on the connection is gone with it
      drop_queued(mbox);
    Envelope* env = nullptr;
    sg4::CommPtr comm = mbox->get_async<Envelope>(&env); // what get() does, keeping the comm in hand
    try {
      comm->wait();
    } catch (const simgrid::NetworkFailureException&) { // the sender's site crashed while it was sending
      lose();
      drop_queued(mbox);
      continue;
    } catch (const simgrid::ForcefulKillException&) { // this site crashed, maybe while a message came in
      if (comm->get_sender() != nullptr)
        lose();
      throw;
    }
    --traveling_;
    inbox->put_init(env, 0)->detach();
  }
}

EnvelopePtr Transport::recv(const std::string& mailbox) {
  long pid = sg4::this_actor::get_pid();
  receiving_[pid] = &mailbox;
  EnvelopePtr env(sg4::Mailbox::by_name(mailbox)->get<Envelope>());
  receiving_.erase(pid);
  return env;
}

bool Transport::has_mail(const std::string& mailbox) const { return sg4::Mailbox::by_name(mailbox)->listen(); }

EnvelopePtr Transport::recv_until(const std::string& mailbox, double deadline) {
  sg4::Mailbox* mbox = sg4::Mailbox::by_name(mailbox);
  double left = deadline - sg4::Engine::get_clock();
  if (left <= 0 && !mbox->ready())
    return nullptr;
  long pid = sg4::this_actor::get_pid();
  receiving_[pid] = &mailbox;
  EnvelopePtr env;
  try {
    env.reset(mbox->get<Envelope>(std::max(left, 0.0)));
  } catch (const simgrid::TimeoutException&) {
  }
  receiving_.erase(pid);
  return env;
}

} // namespace geosim
