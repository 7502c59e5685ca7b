// centralized: every site ships its raw training data to one data center (in parallel flows, over the
// real WAN routes), which then trains on all of it on its own LAN as a parameter server (BSP by
// default). Time to target includes the data movement; the WAN carries exactly the raw bytes of the
// sites other than the chosen one. A data site that crashes while shipping ships its shard again, from
// the first byte, once it has booted.
#include "sim/actors.hpp"
#include "sim/context.hpp"
#include "sim/protocols/param_server.hpp"
#include "sim/strategy.hpp"

#include <fmt/format.h>

#include <map>

namespace sg4 = simgrid::s4u;

namespace geosim {
namespace {

std::string inbox(std::size_t w) { return fmt::format("central-inbox-{}", w); }

/// A data site's shipper's state, which survives the site's crashes (it is on the site's disk).
struct Shipment {
  int attempts = 0;     ///< how many times the shipper started
  bool arrived = false; ///< the shard has arrived at the gathering site
};

class Centralized : public Strategy {
public:
  Centralized(Field& p, const Scenario& sc) {
    require_learning_setup(p, sc, "centralized");
    config_ = parse_ps_config(p);
    site_ = service_site(p, "site", sc.platform);
    data_sites_ = sc.workload->partition.sites;
    if (auto judge = p.maybe("judge"))
      judge->fail("no \"judge\" here: the scenario's \"evaluation\": {\"test\": \"sites\"} judges every strategy "
                  "on the sites' test sets");
    if (sc.platform.sites[site_].can_crash())
      input_error(p.file(), p.path() + ".site",
                  "a site that does not crash (the gathered data and the training live there)",
                  sc.platform.sites[site_].name);
  }

  /// The gathering site never crashes (refused above); a data site that does ships again.
  bool survives_site_failures() const override { return true; }

  std::vector<std::pair<int, int>> raw_data_moves() const override {
    std::vector<std::pair<int, int>> moves;
    for (int s : data_sites_)
      if (s != site_)
        moves.emplace_back(s, site_);
    return moves;
  }

  void deploy(RunContext& ctx) override {
    const auto& hosts = ctx.platform.workers[site_];
    std::vector<const Dataset*> all;
    for (int s : data_sites_)
      all.push_back(&ctx.workload->site(s, 0).train);
    auto parts = split_data(concat(all), hosts.size());
    std::vector<PsWorker> workers;
    for (std::size_t j = 0; j < hosts.size(); ++j)
      workers.push_back({hosts[j], site_, std::move(parts[j])});

    ctx.recorder.detail("gathering_site", ctx.platform.site_name(site_));
    ctx.recorder.detail("sync", consistency_name(config_.sync));
    expected_.assign(hosts.size(), 0);
    job_ = std::make_unique<PsJob>(ctx, config_, server_hosts(ctx.platform, site_), std::move(workers),
                                   [this, &ctx](std::size_t w) { gather(ctx, w); });
    job_->deploy();
    // Site k of the shipping sites sends to gathering worker k mod n, which trains once all arrived.
    std::size_t k = 0;
    double shipped = 0;
    for (int s : data_sites_) {
      if (s == site_)
        continue;
      std::size_t w = k++ % hosts.size();
      expected_[w]++;
      double bytes = ctx.workload->raw_bytes(s);
      shipped += bytes;
      Endpoint to{inbox(w), hosts[w]};
      bool crashes = ctx.platform.can_fail(ctx.platform.workers[s][0]);
      create_actor("ship", ctx.platform.workers[s][0], crashes,
                   [this, &ctx, to, bytes, me = &shipments_[s]] { ship(ctx, to, bytes, *me); });
      if (crashes)
        ctx.recorder.detail("raw_bytes_resent", resent_);
    }
    ctx.recorder.detail("raw_bytes_shipped", shipped);
  }

private:
  /// Ships a site's shard. A crash kills the shipper and loses the shard on its way; SimGrid starts the
  /// shipper again when the site boots, and it sends the whole shard again (a raw-data transfer does not
  /// resume), unless the shard had arrived: the site keeps that on its disk (`Shipment::arrived`).
  void ship(RunContext& ctx, const Endpoint& to, double bytes, Shipment& me) {
    if (me.arrived)
      return;
    if (me.attempts++ > 0) {
      resent_ += bytes;
      ctx.recorder.detail("raw_bytes_resent", resent_);
    }
    ctx.transport.send(to, "raw-data", Opaque{bytes});
    me.arrived = true;
  }

  void gather(RunContext& ctx, std::size_t w) {
    for (int n = 0; n < expected_[w]; ++n)
      ctx.transport.recv(inbox(w));
    gathered_at_ = std::max(gathered_at_, sg4::Engine::get_clock());
    ctx.recorder.detail("data_gathered_at_s", gathered_at_); // the last shipment's arrival
  }

  PsConfig config_;
  int site_ = -1;
  std::vector<int> data_sites_;
  std::vector<int> expected_;
  double gathered_at_ = 0;
  std::unique_ptr<PsJob> job_;
  std::map<int, Shipment> shipments_; ///< per data site: its shipper's own (what its disk keeps)
  double resent_ = 0;                 ///< the observer's
};

const StrategyRegistration reg{
    {"centralized", "every site ships its raw data to one data center, which trains there on its LAN (PS, BSP)",
     [](Field& p, const Scenario& sc) { return std::make_shared<Centralized>(p, sc); }}};

} // namespace
} // namespace geosim
