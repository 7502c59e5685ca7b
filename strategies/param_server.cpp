// param_server: the parameter-server baseline. The model's keys are sharded over server hosts placed
// either in every data center (the geo-distributed deployment Gaia measures against) or all in one;
// every site's workers train on their own data and push/pull across the WAN every clock (see
// sim/protocols/param_server.hpp for the protocol and the BSP / SSP / async consistency models).
#include "sim/context.hpp"
#include "sim/protocols/param_server.hpp"
#include "sim/strategy.hpp"

namespace geosim {
namespace {

class ParamServer : public Strategy {
public:
  ParamServer(Field& p, const Scenario& sc) {
    require_learning_setup(p, sc, "param_server");
    config_ = parse_ps_config(p);
    const PlatformSpec& plat = sc.platform;
    if (p.string_or("placement", "all_dcs") != "all_dcs") {
      server_sites_.push_back(service_site(p, "placement", plat, "\"all_dcs\" or "));
    } else {
      for (int s = 0; s < static_cast<int>(plat.sites.size()); ++s)
        if (plat.sites[s].kind == "dc")
          server_sites_.push_back(s);
      if (server_sites_.empty())
        input_error(p.file(), p.path() + ".placement",
                    "a site name (this platform has no site of kind \"dc\" for \"all_dcs\")", "all_dcs");
    }
    data_sites_ = sc.workload->partition.sites;
  }

  /// A crashed worker or server comes back from its checkpoint and the job waits for it (docs/faults.md).
  bool survives_site_failures() const override { return true; }

  void deploy(RunContext& ctx) override {
    std::vector<simgrid::s4u::Host*> servers;
    for (int s : server_sites_)
      for (auto* h : server_hosts(ctx.platform, s))
        servers.push_back(h);
    ctx.recorder.detail("sync", consistency_name(config_.sync));
    if (config_.sync == Consistency::ssp)
      ctx.recorder.detail("staleness", config_.staleness);
    ctx.recorder.detail("servers", servers.size());
    job_ = std::make_unique<PsJob>(ctx, config_, std::move(servers), workers_of_sites(ctx, data_sites_));
    job_->deploy();
  }

private:
  PsConfig config_;
  std::vector<int> server_sites_;
  std::vector<int> data_sites_;
  std::unique_ptr<PsJob> job_;
};

const StrategyRegistration reg{{"param_server",
                                "parameter server: keys sharded over every DC (or one), BSP / SSP(s) / async push-pull",
                                [](Field& p, const Scenario& sc) { return std::make_shared<ParamServer>(p, sc); }}};

} // namespace
} // namespace geosim
