#pragma once
// Links whose bandwidth and latency change over time, and that go down and come back: a platform's WAN
// link may carry a "trace" of time/value pairs, inline or in a plain-text file, which geosim hands to
// SimGrid as the link's profiles. A link that is down carries (almost) nothing: the flows under way stall
// where they are and resume when it comes back (a TCP connection outlives a short outage), so an
// outage delays them by its length; and no new flow starts on it meanwhile (sim/outages.*).
//
// Why no new flow: SimGrid caps a flow at the narrowest bandwidth on its route *when it starts* (CM02's
// comm_action_set_bounds, 3.32 and still upstream), so a flow begun on a link dipped to nothing would
// crawl on after the link came back. The same rule makes a flow that starts in a bandwidth dip keep the
// dip's rate to its end, while a flow under way slows down when a dip begins and speeds up after.
#include "sim/input.hpp"

#include <string>
#include <utility>
#include <vector>

namespace simgrid::s4u {
class Link;
}

namespace geosim {

struct TracePoint {
  double at_s = 0;
  double value = 0;
};

struct LinkTrace {
  std::vector<TracePoint> bandwidth_share;       ///< from each time on, a share of the link's nominal bandwidth
  std::vector<TracePoint> latency_s;             ///< from each time on, its one-way latency
  std::vector<std::pair<double, double>> down_s; ///< [from, to) intervals in which it carries nothing
  bool empty() const { return bandwidth_share.empty() && latency_s.empty() && down_s.empty(); }
};

/// Reads a link's "trace": {"bandwidth_mbps": T, "latency_ms": T, "down_s": T}, where each T is an array
/// of [time_s, value] pairs or the name of a text file (relative to the platform file) with one pair a
/// line ('#' starts a comment). For down_s a pair is [from_s, to_s]. A bad file is an InputError naming
/// the file and the line. Bandwidths are kept as shares of the link's `nominal_Bps`, so that what scales
/// the link (the scenario's network section, scale_model) scales its trace too.
LinkTrace parse_link_trace(Field& f, double nominal_Bps, double min_bandwidth_mbps);

/// SimGrid's profile text for the link's bandwidth (absolute bytes per second, as SimGrid 3.32 reads
/// them) with the outages folded in, and for its latency; empty when the trace sets none.
std::string bandwidth_profile(const LinkTrace& t, double nominal_Bps);
std::string latency_profile(const LinkTrace& t);

/// Hands the trace to both directions of a split-duplex link.
void apply_link_trace(simgrid::s4u::Link* up, simgrid::s4u::Link* down, const LinkTrace& t, double nominal_Bps);

} // namespace geosim
