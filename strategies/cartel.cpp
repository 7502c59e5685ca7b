// cartel: collaborative transfer learning at the edge (Daga et al., SoCC'19). Every data site keeps a
// small model of its own and updates it once per period from its stream (`batches_per_period` minibatches
// of its current data), as isolated learning with the same period does.
// Around that:
//  - every `report_every_s` a site sends the metadata service its class distribution and accuracy;
//  - a drift detector at each site compares its accuracy on its current data with the mean of its last
//    `window` figures; a drop of more than `drop` is a drift;
//  - on a drift the site names the classes it now sees and handles badly (recall below
//    `class_accuracy`), asks the metadata service for its logical neighbours (the peers holding those
//    classes, ranked by Jensen-Shannon divergence between class distributions), pulls from the best
//    `neighbours` of them only the model slice of those classes (softmax rows), merges it, and trains on;
//  - a site waits `reply_timeout_s` for the metadata service's answer, and as long again for the slices:
//    when the service or the peers cannot be reached (a fault), it gives the adaptation up, keeps
//    learning on its own, and asks again at its next drift. Late answers are recognised and dropped.
// A site's model holds the rows of the classes it has seen or imported; its size is reported beside
// adaptation times (sim/protocols/adaptation.hpp), slices and metadata bytes.
#include "sim/actors.hpp"
#include "sim/context.hpp"
#include "sim/inbox.hpp"
#include "sim/protocols/adaptation.hpp"
#include "sim/protocols/neighbours.hpp"
#include "sim/protocols/training.hpp"
#include "sim/strategy.hpp"
#include "sim/wire.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <map>
#include <numeric>
#include <optional>
#include <set>

namespace sg4 = simgrid::s4u;

namespace geosim {
namespace {

using wire::kFieldBytes;  // a class share, a class or site number, as float32 / int32
using wire::kHeaderBytes; // sender and query or report number

struct Metadata {
  int site;
  std::vector<double> class_share;
  double accuracy;
  double wire_bytes() const { return kHeaderBytes + kFieldBytes * static_cast<double>(class_share.size() + 1); }
};

struct NeighbourQuery {
  int site;
  std::vector<double> class_share;
  std::vector<int> classes;
  long long query; ///< the site's query number (in the header), echoed by the answer
  double wire_bytes() const {
    return kHeaderBytes + kFieldBytes * static_cast<double>(class_share.size() + classes.size());
  }
};

struct SiteList {
  std::vector<int> sites;
  long long query; ///< the query this answers (in the header)
  double wire_bytes() const { return kHeaderBytes + kFieldBytes * static_cast<double>(sites.size()); }
};

struct SliceRequest {
  int site;
  std::vector<int> classes;
  double wire_bytes() const { return kHeaderBytes + kFieldBytes * static_cast<double>(classes.size()); }
};

struct CartelConfig {
  TrainingParams training;
  StreamParams stream;
  double report_every_s = 60;
  int window = 3;
  double drop = 0.1;
  double class_accuracy = 0.5;
  double min_share = 0.05;
  int neighbours = 1;
  double reply_timeout_s = 60;
};

/// A merge: the site's accuracy on its current data just before and just after importing a slice.
struct Merge {
  int site;
  double at_s, before, after;   ///< accuracy on the site's current test set
  double new_before, new_after; ///< the same on the samples of the merged classes only
  std::vector<int> classes;
};

class Cartel : public Strategy {
public:
  Cartel(Field& p, const Scenario& sc) {
    require_learning_setup(p, sc, "cartel");
    if (sc.workload->model.kind != "softmax")
      input_error(p.file(), "workload.model.kind", "softmax (cartel moves output rows between site models)",
                  sc.workload->model.kind);
    c_.training = parse_training(p);
    c_.stream = parse_stream(p, {1.0, 1});
    if (c_.stream.period_s <= 0)
      input_error(p.file(), p.path() + ".period_s", "a period in seconds > 0 (a cartel site learns from a stream)",
                  fmt::format("{:g}", c_.stream.period_s));
    c_.report_every_s =
        p.number_or("report_every_s", c_.report_every_s, 0, std::numeric_limits<double>::infinity(), true);
    c_.window = static_cast<int>(p.integer_or("window", c_.window, 1, 1000));
    c_.drop = p.number_or("drop", c_.drop, 0, 1, true);
    c_.class_accuracy = p.number_or("class_accuracy", c_.class_accuracy, 0, 1);
    c_.min_share = p.number_or("min_share", c_.min_share, 0, 1);
    c_.neighbours = static_cast<int>(p.integer_or("neighbours", c_.neighbours, 1, 1000));
    c_.reply_timeout_s =
        p.number_or("reply_timeout_s", c_.reply_timeout_s, 0, std::numeric_limits<double>::infinity(), true);
    sites_ = sc.workload->partition.sites;
    metadata_site_ = service_site(p, "metadata_site", sc.platform);
  }

  void deploy(RunContext& ctx) override {
    ctx_ = &ctx;
    adaptation_.emplace(ctx.workload->spec().drift);
    hosts_.clear();
    held_.clear();
    held_rows_ = 0;
    means_ = SiteMeans(sites_);
    for (int s : sites_) {
      SiteHost& at = hosts_[s];
      at.model = ctx.workload->make_model(static_cast<std::uint64_t>(ctx.scenario.seed));
      service("cartel-peer", s, [this, s, me = &at] { serve_slices(s, *me); });
      create_actor("cartel-site", host(s), ctx.platform.can_fail(host(s)), [this, s, me = &at] { learn(s, *me); });
    }
    service("metadata-service", metadata_site_, [this] { serve_metadata(); });
  }

  /// Cartel crashes sites (docs/faults.md): a site goes on from its checkpoint; the metadata service
  /// starts again with an empty index, which the sites' next reports fill.
  bool survives_site_failures() const override { return true; }

private:
  sg4::Host* host(int site) const { return ctx_->platform.workers[site][0]; }
  /// A daemon that serves requests on a site's host, and comes back with it after a crash.
  void service(const std::string& name, int site, std::function<void()> serve) {
    create_daemon(name, host(site), ctx_->platform.can_fail(host(site)), std::move(serve));
  }
  Endpoint metadata_service() const { return {"cartel-metadata", host(metadata_site_)}; }
  Endpoint site_inbox(int s) const { return {fmt::format("cartel-site-{}", s), host(s)}; }
  Endpoint peer(int s) const { return {fmt::format("cartel-peer-{}", s), host(s)}; }

  /// What a site that crashes keeps on its disk, taken once a period's figure is in and reported: the
  /// period, its accuracy, the model, the batch order, the drift detector's window, the next report.
  struct Checkpoint {
    long long period;
    double accuracy;
    Eigen::VectorXd parameters;
    Rng rng;
    std::vector<double> recent;
    double next_report;
  };

  /// What a site's host holds: its model (trained by its learner, read by its slice server), its
  /// checkpoint on disk (sites that crash), and its last neighbour query's number.
  struct SiteHost {
    std::unique_ptr<Model> model;
    std::optional<Checkpoint> saved;
    long long queries = 0;
  };

  void learn(int site, SiteHost& me) {
    RunContext& ctx = *ctx_;
    Model& model = *me.model;
    Inbox inbox(ctx.transport, site_inbox(site).mailbox); // answers from the metadata service and peers
    Rng rng = site_rng(ctx.scenario.seed, site);
    std::vector<double> recent;
    double next_report = 0;
    long long first = 1;
    bool resumed = false; // booted after a crash: the last period saved is done but for its drift check
    double acc = 0;
    if (me.saved) {
      const Checkpoint& c = *me.saved;
      model.parameters() = c.parameters;
      rng = c.rng;
      recent = c.recent;
      next_report = c.next_report;
      first = c.period;
      acc = c.accuracy;
      resumed = true;
    }
    bool crashes = ctx.platform.can_fail(host(site));
    if (crashes && !resumed) // the first start, or a crash in the first period: the initial model
      model.parameters() = ctx.workload->make_model(static_cast<std::uint64_t>(ctx.scenario.seed))->parameters();
    // A site that was down catches up on the periods it missed, one after the other (sleep_until a time
    // past returns at once), on the data of the moment, as a box that buffered its stream on disk would.
    for (long long k = first; !ctx.recorder.should_stop(k - 1); ++k) {
      if (resumed) { // the drift check of the saved period is done again: an adaptation it began was lost
        resumed = false;
      } else {
        acc = period(site, model, k, rng, next_report);
        if (crashes)
          me.saved = Checkpoint{k, acc, model.parameters(), rng, recent, next_report};
      }
      double mean = recent.empty() ? acc : std::accumulate(recent.begin(), recent.end(), 0.0) / recent.size();
      if (static_cast<int>(recent.size()) == c_.window && acc < mean - c_.drop) {
        adapt(site, me, inbox);
        recent.clear();
        continue;
      }
      recent.push_back(acc);
      if (static_cast<int>(recent.size()) > c_.window)
        recent.erase(recent.begin());
    }
  }

  /// One period of a site: it learns from its stream, is judged, and reports its metadata when due.
  double period(int site, Model& model, long long k, Rng& rng, double& next_report) {
    RunContext& ctx = *ctx_;
    sg4::this_actor::sleep_until(static_cast<double>(k - 1) * c_.stream.period_s);
    double now = sg4::Engine::get_clock();
    const SiteData& data = ctx.workload->site(site, now);
    note_classes(site, data.class_share);
    train_stream(model, data.train, c_.stream.batches_per_period, c_.training.batch, c_.training.lr, rng);
    double acc = evaluate(site, model, k);
    if (now >= next_report) {
      Metadata m{site, data.class_share, acc};
      metadata_bytes_ += m.wire_bytes();
      ctx.transport.post(metadata_service(), "metadata", std::move(m));
      next_report = now + c_.report_every_s;
    }
    return acc;
  }

  /// The site's accuracy on its own current test set: Cartel's drift detection needs it every period,
  /// so it is part of the protocol. The observer judges the model at the scenario's evaluation period, on
  /// the test sets the scenario's evaluation names; adaptation is measured on the site's own test set.
  double evaluate(int site, const Model& model, long long k) {
    const Dataset& test = ctx_->workload->site(site, sg4::Engine::get_clock()).test;
    Metrics m = model.evaluate(test);
    if (!ctx_->evaluation.due(k))
      return m.accuracy;
    SiteJudgement j = judge_site(*ctx_, model, site, k, m);
    adaptation_->observe(site, sg4::Engine::get_clock(), m.accuracy);
    report(k, site, j.toward_run, j.weight);
    return m.accuracy;
  }

  /// Drift: find the classes handled badly, ask for neighbours, pull their slices and merge.
  void adapt(int site, SiteHost& me, Inbox& inbox) {
    RunContext& ctx = *ctx_;
    Model& model = *me.model;
    const SiteData& data = ctx.workload->site(site, sg4::Engine::get_clock());
    std::vector<int> weak = weak_classes(model, data);
    drifts_++;
    if (weak.empty())
      return;
    long long query = ++me.queries;
    ctx.transport.post(metadata_service(), "neighbours", NeighbourQuery{site, data.class_share, weak, query});
    auto is_answer = [query](const Envelope& e) { return e.kind == "neighbours" && e.as<SiteList>().query == query; };
    auto reply = await(inbox, is_answer);
    if (!reply) { // the metadata service is out of reach: learn on alone
      abandoned_++;
      return;
    }
    const auto& peers = reply->as<SiteList>().sites;
    double before = model.evaluate(data.test).accuracy;
    double new_before = recall_of(model, data.test, weak);
    for (int p : peers)
      ctx.transport.post(peer(p), "slice?", SliceRequest{site, weak});
    std::set<const sg4::Host*> waiting;
    for (int p : peers)
      waiting.insert(host(p));
    // A slice of these classes from a peer asked now: a late one from an abandoned query is as good.
    auto is_slice = [&](const Envelope& e) {
      return e.kind == "slice" && waiting.count(e.from) && e.as<ModelSlice>().classes == weak;
    };
    std::vector<ModelSlice> slices;
    while (!waiting.empty()) {
      auto env = await(inbox, is_slice);
      if (!env)
        break;
      waiting.erase(env->from);
      slices.push_back(env->as<ModelSlice>());
      slice_bytes_ += env->bytes;
    }
    missing_slices_ += static_cast<long long>(waiting.size());
    if (slices.empty()) {
      abandoned_ += !peers.empty();
      return;
    }
    merge(model, slices);
    for (int c : weak)
      hold(site, c);
    double after = model.evaluate(data.test).accuracy;
    merges_.push_back(
        {site, sg4::Engine::get_clock(), before, after, new_before, recall_of(model, data.test, weak), weak});
  }

  /// Per class: the share of its test samples the model recognises (NaN for classes not in the set).
  static std::vector<double> recall(const Model& model, const Dataset& test) {
    Eigen::MatrixXd scores = model.logits(test);
    std::vector<double> hits(static_cast<std::size_t>(test.classes), 0), seen(hits.size(), 0);
    for (Eigen::Index j = 0; j < scores.cols(); ++j) {
      Eigen::Index best;
      scores.col(j).maxCoeff(&best);
      int y = test.y[static_cast<std::size_t>(j)];
      seen[y]++;
      hits[y] += best == y;
    }
    for (std::size_t c = 0; c < hits.size(); ++c)
      hits[c] = seen[c] > 0 ? hits[c] / seen[c] : std::nan("");
    return hits;
  }

  /// Recall over the test samples of some classes together.
  static double recall_of(const Model& model, const Dataset& test, const std::vector<int>& classes) {
    std::vector<int> rows;
    for (std::size_t j = 0; j < test.y.size(); ++j)
      if (std::find(classes.begin(), classes.end(), test.y[j]) != classes.end())
        rows.push_back(static_cast<int>(j));
    return rows.empty() ? std::nan("") : model.evaluate(test.subset(rows)).accuracy;
  }

  /// Classes present in the site's current data whose recall on its current test set is low.
  std::vector<int> weak_classes(const Model& model, const SiteData& data) const {
    auto r = recall(model, data.test);
    std::vector<int> weak;
    for (std::size_t c = 0; c < r.size(); ++c)
      if (data.class_share[c] >= c_.min_share && !std::isnan(r[c]) && r[c] < c_.class_accuracy)
        weak.push_back(static_cast<int>(c));
    return weak;
  }

  /// The next message at the site's inbox that `wanted` accepts, waiting at most reply_timeout_s; other
  /// messages there are late answers to queries given up on, and are dropped. Null on timeout.
  EnvelopePtr await(Inbox& inbox, const Inbox::Test& wanted) {
    return inbox.take(wanted, sg4::Engine::get_clock() + c_.reply_timeout_s, Inbox::Others::drop);
  }

  /// The slices' rows, averaged when several peers sent the same classes, replace the site's own.
  static void merge(Model& model, const std::vector<ModelSlice>& slices) {
    ModelSlice mean = slices.front();
    for (std::size_t i = 1; i < slices.size(); ++i)
      mean.values += slices[i].values;
    mean.values /= static_cast<double>(slices.size());
    model.import_slice(mean);
  }

  /// A site's slice server: a second actor of the site's host, which reads the model the host's learner
  /// trains (one machine's memory).
  void serve_slices(int site, const SiteHost& at) {
    while (true) {
      auto env = ctx_->transport.recv(peer(site).mailbox);
      const auto& req = env->as<SliceRequest>();
      ctx_->transport.post(site_inbox(req.site), "slice", at.model->export_slice(req.classes));
    }
  }

  void serve_metadata() {
    NeighbourIndex profiles;
    while (true) {
      auto env = ctx_->transport.recv(metadata_service().mailbox);
      if (env->kind == "metadata") {
        const auto& m = env->as<Metadata>();
        profiles.update(m.site, m.class_share);
        continue;
      }
      const auto& q = env->as<NeighbourQuery>();
      SiteList best{profiles.rank(q.site, q.class_share, q.classes, c_.neighbours, c_.min_share), q.query};
      ctx_->transport.post(site_inbox(q.site), "neighbours", std::move(best));
    }
  }

  void hold(int site, int c) { held_rows_ += held_[site].insert(c).second; }

  void note_classes(int site, const std::vector<double>& share) {
    for (std::size_t c = 0; c < share.size(); ++c)
      if (share[c] >= c_.min_share)
        hold(site, static_cast<int>(c));
  }

  /// The global figure at iteration k, once every site has reported it.
  void report(long long k, int site, const Metrics& m, double weight) {
    auto mean = means_.add(k, site, m, weight);
    if (!mean)
      return;
    ctx_->recorder.set_iterations(k);
    ctx_->recorder.sample("global", k, mean->loss, mean->accuracy);
    record_details();
  }

  void record_details() {
    auto& rec = ctx_->recorder;
    const Model& any = *hosts_.begin()->second.model;
    int classes = ctx_->workload->spec().shape().classes;
    double row_bytes = static_cast<double>(any.size()) / classes * any.value_bytes;
    rec.detail("model_bytes_mean", row_bytes * static_cast<double>(held_rows_) / static_cast<double>(sites_.size()));
    rec.detail("model_bytes_full", any.wire_bytes());
    rec.detail("metadata_bytes", metadata_bytes_);
    rec.detail("slice_bytes", slice_bytes_);
    rec.detail("drifts_detected", drifts_);
    rec.detail("adaptations_abandoned", abandoned_);
    rec.detail("slices_missing", missing_slices_);
    json& merges = rec.detail_list("merges"); // the merges up to this report, the new ones added
    for (auto i = merges.size(); i < merges_.size(); ++i) {
      const Merge& m = merges_[i];
      merges.push_back({{"site", ctx_->platform.site_name(m.site)},
                        {"at_s", m.at_s},
                        {"classes", m.classes},
                        {"accuracy_before", m.before},
                        {"accuracy_after", m.after},
                        {"merged_classes_accuracy_before", m.new_before},
                        {"merged_classes_accuracy_after", m.new_after}});
    }
    rec.detail("adaptation", adaptation_->report(ctx_->platform));
  }

  CartelConfig c_;
  std::vector<int> sites_;
  int metadata_site_ = -1;
  RunContext* ctx_ = nullptr;
  std::map<int, SiteHost> hosts_;     ///< by site: its host's own state
  std::map<int, std::set<int>> held_; ///< the observer's: classes a site's model holds rows for
  long long held_rows_ = 0;           ///< their number, summed over the sites
  SiteMeans means_;
  std::optional<AdaptationTracker> adaptation_;
  std::vector<Merge> merges_;
  double metadata_bytes_ = 0, slice_bytes_ = 0;
  long long drifts_ = 0;
  long long abandoned_ = 0, missing_slices_ = 0; ///< adaptations given up, slices not received in time
};

const StrategyRegistration reg{
    {"cartel", "Cartel: a small model per site; on drift, slices of the closest peers' models (metadata service, JSD)",
     [](Field& p, const Scenario& sc) { return std::make_shared<Cartel>(p, sc); }}};

} // namespace
} // namespace geosim
