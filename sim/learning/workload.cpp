// Building a workload from its spec: the dataset pool, its partition over the data sites, the test sets,
// the drift banks and the model. Reading the spec from a scenario is workload_spec.cpp.
#include "sim/learning/workload.hpp"

#include <fmt/format.h>

#include "sim/learning/idx.hpp"

#include <algorithm>
#include <numeric>
#include <optional>

namespace geosim {

namespace {

std::vector<double> normalized(std::vector<double> v) {
  double sum = std::accumulate(v.begin(), v.end(), 0.0);
  for (auto& x : v)
    x = sum > 0 ? x / sum : 0;
  return v;
}

/// Sample positions per data site, following the partition.
std::vector<std::vector<int>> partition_rows(const PartitionSpec& pt, const Dataset& pool,
                                             const std::vector<int>& device, Rng& rng) {
  std::size_t S = pt.sites.size(), n = pool.size();
  std::vector<std::vector<int>> rows(S);
  std::vector<int> order(n);
  std::iota(order.begin(), order.end(), 0);
  std::shuffle(order.begin(), order.end(), rng);
  if (pt.kind == "natural") {
    for (int i : order)
      rows[static_cast<std::size_t>(device[i]) % S].push_back(i);
  } else if (pt.kind == "iid") {
    std::vector<double> w(S, 1.0);
    if (pt.sizes == "power_law") {
      for (std::size_t k = 0; k < S; ++k)
        w[k] = std::pow(static_cast<double>(k + 1), -pt.power);
      std::shuffle(w.begin(), w.end(), rng);
    }
    w = normalized(w);
    std::size_t at = 0;
    double cum = 0;
    for (std::size_t k = 0; k < S; ++k) {
      cum += w[k];
      std::size_t end = k + 1 == S ? n : static_cast<std::size_t>(cum * static_cast<double>(n));
      for (; at < end; ++at)
        rows[k].push_back(order[at]);
    }
  } else {
    // label_skew and dirichlet: a weight per (class, site); each sample goes to a site drawn by its class.
    int C = pool.classes;
    std::vector<std::vector<double>> weight(C, std::vector<double>(S, 0.0));
    if (pt.kind == "label_skew") {
      for (std::size_t k = 0; k < S; ++k)
        for (int j = 0; j < pt.classes_per_site; ++j)
          weight[(k * pt.classes_per_site + j) % C][k] = 1.0; // round robin: every class has a home
    } else {
      std::gamma_distribution<double> gamma(pt.alpha, 1.0);
      for (int c = 0; c < C; ++c)
        for (std::size_t k = 0; k < S; ++k)
          weight[c][k] = gamma(rng); // normalized gammas are a Dirichlet draw
    }
    // One distribution per class, built once (a draw reads one uniform number either way, so the
    // sites drawn are the same as building it per sample, which cost O(sites) a sample; issue 21).
    std::vector<std::optional<std::discrete_distribution<std::size_t>>> pick(static_cast<std::size_t>(C));
    for (int c = 0; c < C; ++c) {
      auto& w = weight[static_cast<std::size_t>(c)];
      if (std::accumulate(w.begin(), w.end(), 0.0) > 0) // else a class no site holds
        pick[static_cast<std::size_t>(c)].emplace(w.begin(), w.end());
    }
    for (int i : order)
      if (auto& p = pick[static_cast<std::size_t>(pool.y[i])])
        rows[(*p)(rng)].push_back(i);
  }
  for (auto& r : rows)
    std::sort(r.begin(), r.end());
  return rows;
}

} // namespace

namespace {

Dataset load_images(const ImagesSpec& s, const std::string& images, const std::string& labels, int samples) {
  Dataset d = load_idx_images(images, labels, static_cast<std::uint32_t>(samples));
  for (int label : d.y)
    if (label >= s.classes)
      throw InputError(
          fmt::format("{}: label {} is not below workload.dataset.classes ({})", labels, label, s.classes));
  d.classes = s.classes;
  return d;
}

} // namespace

Workload::Workload(const WorkloadSpec& spec, int site_count, std::uint64_t seed)
    : spec_(spec), seed_(seed), sites_(static_cast<std::size_t>(site_count)) {
  Rng rng(seed);
  Dataset pool;
  std::vector<int> device;
  if (spec.dataset == "synthetic") {
    pool = generate_synthetic(spec.synthetic, rng, device);
  } else if (spec.dataset == "images") {
    pool = load_images(spec.images, spec.images.images, spec.images.labels, spec.images.samples);
  } else if (spec.dataset == "mixture") {
    mixture_.emplace(spec.mixture, rng);
    pool = mixture_->sample(spec.mixture.samples, std::vector<double>(spec.mixture.classes, 1.0), rng);
  } else {
    pool = generate_ratings(spec.ratings, rng);
    // A user's ratings are made where the user lives: "natural" keeps each user at one site.
    for (const Rating& r : pool.ratings)
      device.push_back(r.user);
  }
  auto rows = partition_rows(spec.partition, pool, device, rng);
  std::vector<int> test_rows, train_rows;
  std::vector<std::size_t> n_test(rows.size());
  for (std::size_t k = 0; k < rows.size(); ++k) {
    // The first test_fraction of a site's (shuffled) rows is its test set; the rest it trains on.
    std::shuffle(rows[k].begin(), rows[k].end(), rng);
    n_test[k] = static_cast<std::size_t>(spec.test_fraction * static_cast<double>(rows[k].size()));
    test_rows.insert(test_rows.end(), rows[k].begin(), rows[k].begin() + static_cast<long>(n_test[k]));
    train_rows.insert(train_rows.end(), rows[k].begin() + static_cast<long>(n_test[k]), rows[k].end());
  }
  // One copy of the pool, every site's test rows then every site's training rows, site by site: each
  // site's sets, the global test set and the drift banks are views of it.
  std::vector<int> order = test_rows;
  order.insert(order.end(), train_rows.begin(), train_rows.end());
  Dataset arranged = pool.subset(order);
  pool = Dataset();
  std::size_t test_at = 0, train_at = test_rows.size();
  for (std::size_t k = 0; k < rows.size(); ++k) {
    SiteData& sd = sites_[static_cast<std::size_t>(spec.partition.sites[k])];
    sd.test = arranged.slice(test_at, n_test[k]);
    sd.train = arranged.slice(train_at, rows[k].size() - n_test[k]);
    test_at += n_test[k];
    train_at += rows[k].size() - n_test[k];
    if (!arranged.is_ratings())
      sd.class_share = normalized(sd.train.class_histogram());
  }
  global_test_ = arranged.slice(0, test_rows.size()); // every site's test rows, site by site
  if (spec.dataset == "images" && !spec.images.test_images.empty())
    global_test_ = load_images(spec.images, spec.images.test_images, spec.images.test_labels, spec.images.test_samples);
  if (spec.dataset == "images" && !spec.drift.empty()) {
    // A drifting site trains on images of its new mix that some site trains on, and is tested on
    // images of that mix that no site trains on: Fashion-MNIST's test set when the scenario has one,
    // else the sites' held-out images.
    test_bank_.emplace(spec.images.test_images.empty() ? arranged.slice(0, test_rows.size()) : global_test_);
    train_bank_.emplace(arranged.slice(test_rows.size(), train_rows.size()));
    check_banks(spec);
  }
}

void Workload::check_banks(const WorkloadSpec& spec) const {
  const std::string& test_file = spec.images.test_images.empty() ? spec.images.images : spec.images.test_images;
  for (const DriftEvent& e : spec.drift)
    for (int c : e.add_classes) {
      if (!train_bank_->holds(c))
        throw InputError(fmt::format("{}: workload.drift: no training image of class {}, which a drift adds",
                                     spec.images.images, c));
      if (!test_bank_->holds(c))
        throw InputError(fmt::format("{}: workload.drift: no test image of class {}, which a drift adds (raise "
                                     "workload.dataset.test_samples)", test_file, c));
    }
  for (int c = 0; c < spec.images.classes; ++c)
    if (train_bank_->holds(c) && !test_bank_->holds(c))
      throw InputError(fmt::format("{}: workload.drift: no test image of class {}, which drifting sites may see "
                                   "(raise workload.dataset.test_samples)", test_file, c));
}

ClassBank::ClassBank(Dataset data) : data_(std::move(data)), rows_(static_cast<std::size_t>(data_.classes)) {
  for (std::size_t i = 0; i < data_.y.size(); ++i)
    rows_[static_cast<std::size_t>(data_.y[i])].push_back(static_cast<int>(i));
}

Dataset ClassBank::draw(int n, std::vector<double> share, Rng& rng) const {
  for (std::size_t c = 0; c < share.size(); ++c)
    if (rows_[c].empty())
      share[c] = 0;
  std::vector<int> count(share.size(), 0);
  if (std::accumulate(share.begin(), share.end(), 0.0) <= 0)
    return data_.subset({}); // nothing to draw from (check_banks rules this out for scenarios)
  std::discrete_distribution<std::size_t> pick(share.begin(), share.end());
  for (int i = 0; i < n; ++i)
    count[pick(rng)]++;
  std::vector<int> rows;
  for (std::size_t c = 0; c < share.size(); ++c) {
    std::vector<int> order = rows_[c];
    std::shuffle(order.begin(), order.end(), rng);
    for (int i = 0; i < count[c]; ++i)
      rows.push_back(order[static_cast<std::size_t>(i) % order.size()]);
  }
  std::shuffle(rows.begin(), rows.end(), rng);
  return data_.subset(rows);
}

const SiteData& Workload::site(int s, double now) {
  while (next_drift_ < spec_.drift.size() && spec_.drift[next_drift_].at_s <= now) {
    apply_drift(spec_.drift[next_drift_], next_drift_);
    ++next_drift_;
  }
  return sites_[static_cast<std::size_t>(s)];
}

void Workload::apply_drift(const DriftEvent& e, std::size_t index) {
  SiteData& sd = sites_[static_cast<std::size_t>(e.site)];
  std::vector<double> share;
  if (e.like_site >= 0) {
    share = sites_[static_cast<std::size_t>(e.like_site)].class_share;
  } else {
    share = sd.class_share;
    for (auto& x : share)
      x *= 1 - e.share;
    for (int c : e.add_classes)
      share[static_cast<std::size_t>(c)] += e.share / static_cast<double>(e.add_classes.size());
  }
  sd.class_share = normalized(share);
  // Fresh samples from the new distribution, seeded by the event so runs stay reproducible.
  Rng rng(seed_ ^ (0x9e3779b97f4a7c15ULL * (index + 1)));
  int n_train = static_cast<int>(sd.train.size()), n_test = static_cast<int>(sd.test.size());
  if (mixture_) {
    sd.train = mixture_->sample(n_train, sd.class_share, rng);
    sd.test = mixture_->sample(n_test, sd.class_share, rng);
  } else {
    sd.train = train_bank_->draw(n_train, sd.class_share, rng);
    sd.test = test_bank_->draw(n_test, sd.class_share, rng);
  }
}

std::unique_ptr<Model> Workload::make_model(std::uint64_t seed) const {
  return geosim::make_model(spec_.model, spec_.shape(), seed);
}

} // namespace geosim
