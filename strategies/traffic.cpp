// traffic: explicit flows between hosts, no learning. It exercises the platform and the transport on
// their own (demo scenarios, analytic timing checks) and reports each flow's start, end and bytes.
// `waits` adds receivers that wait for a message no flow sends: a protocol bug on purpose, with which
// the tests check that a deadlocked run fails with a report instead of writing results.
#include "sim/context.hpp"
#include "sim/strategy.hpp"

#include <fmt/format.h>

namespace sg4 = simgrid::s4u;

namespace geosim {
namespace {

struct Flow {
  std::string from, to;
  std::string mailbox; ///< flows from one host to one mailbox share a connection
  double bytes = 0;
  double start_s = 0;
};

/// What a flow carries: its length on the wire, and which flow it is (flows may share a mailbox).
struct FlowPayload {
  std::size_t index = 0;
  double bytes = 0;
  double wire_bytes() const { return bytes; }
};

bool host_exists(const PlatformSpec& p, const std::string& host) {
  for (const auto& s : p.sites) {
    for (int i = 0; i < s.workers.count; ++i)
      if (worker_name(s, i) == host)
        return true;
    for (int i = 0; i < s.servers.count; ++i)
      if (server_name(s, i) == host)
        return true;
  }
  return false;
}

class Traffic : public Strategy {
public:
  Traffic(Field& params, const Scenario& sc) {
    Field flows = params.at("flows");
    if (flows.size() == 0)
      flows.fail("at least one flow");
    for (Field f : flows.elements()) {
      Flow flow;
      for (auto [key, dst] : {std::pair{"from", &flow.from}, std::pair{"to", &flow.to}}) {
        Field h = f.at(key);
        *dst = h.string();
        if (!host_exists(sc.platform, *dst))
          h.fail(fmt::format("a host of platform {} (such as {})", sc.platform.name,
                             worker_name(sc.platform.sites.front(), 0)));
      }
      if (flow.from == flow.to)
        f.fail("a flow between two different hosts");
      flow.bytes = f.at("bytes").number(0, std::numeric_limits<double>::infinity(), true);
      flow.start_s = f.number_or("start_s", 0, 0);
      flow.mailbox = mailbox_of(f, flow.to);
      f.finish();
      flows_.push_back(flow);
    }
    if (auto waits = params.maybe("waits"))
      for (Field w : waits->elements()) {
        Field h = w.at("host");
        if (!host_exists(sc.platform, h.string()))
          h.fail(fmt::format("a host of platform {}", sc.platform.name));
        waits_.push_back({h.string(), w.at("mailbox").string()});
        w.finish();
      }
  }

  void deploy(RunContext& ctx) override {
    for (const auto& [host, mailbox] : waits_)
      sg4::Actor::create("waiter", sg4::Host::by_name(host),
                         [&ctx, mailbox = mailbox] { ctx.transport.recv(mailbox); });
    results_.assign(flows_.size(), {});
    for (std::size_t i = 0; i < flows_.size(); ++i) {
      const Flow& f = flows_[i];
      Endpoint to{f.mailbox, sg4::Host::by_name(f.to)};
      sg4::Actor::create("sender", sg4::Host::by_name(f.from), [&ctx, f, to, i]() {
        sg4::this_actor::sleep_until(f.start_s);
        ctx.transport.send(to, "flow", FlowPayload{i, f.bytes});
      });
      // One receive per flow; with a shared mailbox any receiver may take any of its flows.
      sg4::Actor::create("receiver", to.host, [this, &ctx, to]() {
        auto env = ctx.transport.recv(to.mailbox);
        results_[env->as<FlowPayload>().index] = sg4::Engine::get_clock();
        ctx.recorder.set_iterations(ctx.recorder.iterations() + 1);
        if (ctx.recorder.iterations() == static_cast<long long>(flows_.size()))
          report(ctx);
      });
    }
  }

private:
  /// The flow's mailbox (default its own, "flow-<i>"); flows that share one must share their `to` host.
  std::string mailbox_of(Field& f, const std::string& to) const {
    auto m = f.maybe("mailbox");
    if (!m)
      return fmt::format("flow-{}", flows_.size());
    std::string name = m->string();
    // A later flow's own mailbox could otherwise take the same name and silently share the connection.
    if (name.rfind("flow-", 0) == 0)
      m->fail("a name that does not start with \"flow-\" (flows' own mailboxes are named so)");
    for (const Flow& other : flows_)
      if (other.mailbox == name && other.to != to)
        m->fail(fmt::format("a mailbox on one host (flows to {} already use it)", other.to));
    return name;
  }

  void report(RunContext& ctx) {
    json out = json::array();
    for (std::size_t i = 0; i < flows_.size(); ++i)
      out.push_back({{"from", flows_[i].from},
                     {"to", flows_[i].to},
                     {"bytes", flows_[i].bytes},
                     {"start_s", flows_[i].start_s},
                     {"end_s", results_[i]},
                     {"duration_s", results_[i] - flows_[i].start_s}});
    ctx.recorder.detail("flows", out);
  }

  std::vector<Flow> flows_;
  std::vector<std::pair<std::string, std::string>> waits_; ///< (host, mailbox) of receivers nobody sends to
  std::vector<double> results_;
};

const StrategyRegistration reg{{"traffic", "explicit flows between hosts, no learning (platform and transport checks)",
                                [](Field& p, const Scenario& sc) { return std::make_shared<Traffic>(p, sc); }}};

} // namespace
} // namespace geosim
