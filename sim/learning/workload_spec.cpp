// Reading a scenario's "workload" entry into a WorkloadSpec: every field checked against the platform,
// and every error one line naming the file and the field. Building the workload from it is workload.cpp.
#include "sim/learning/workload.hpp"

#include <fmt/format.h>

#include "sim/learning/idx.hpp"

#include <algorithm>
#include <numeric>

namespace geosim {

std::vector<std::string> dataset_kinds() { return {"synthetic", "mixture", "ratings", "images"}; }
std::vector<std::string> model_kinds() { return {"softmax", "mlp", "mf"}; }

ModelShape WorkloadSpec::shape() const {
  ModelShape s;
  if (dataset == "synthetic") {
    s.dims = synthetic.dims;
    s.classes = synthetic.classes;
  } else if (dataset == "mixture") {
    s.dims = mixture.dims;
    s.classes = mixture.classes;
  } else if (dataset == "images") {
    s.dims = images.pixels;
    s.classes = images.classes;
  } else {
    s.users = ratings.users;
    s.items = ratings.items;
    s.ratings = static_cast<double>(ratings.users) * ratings.items * ratings.density; // expected count
  }
  return s;
}

namespace {

int as_int(Field f, int lo, int hi) { return static_cast<int>(f.integer(lo, hi)); }

/// An IDX file named by member `key` (relative to the scenario's folder), checked by reading its header:
/// how many items it holds and how many values each has.
std::string idx_file(Field& f, const std::string& key, const std::string& dflt, std::uint32_t& items, int& per_item) {
  std::string path = f.beside_file(f.string_or(key, dflt));
  try {
    auto dims = read_idx_dims(path);
    items = dims[0];
    per_item = 1;
    for (std::size_t d = 1; d < dims.size(); ++d)
      per_item *= static_cast<int>(dims[d]);
  } catch (const std::runtime_error& e) {
    input_error(f.file(), f.path() + "." + key,
                "an IDX file of unsigned bytes (Debian's dataset-fashion-mnist installs Fashion-MNIST under "
                "/usr/share/datasets/fashion-mnist)",
                e.what());
  }
  return path;
}

/// A pair of IDX files, images and their labels; returns how many images they hold.
std::uint32_t image_pair(Field& f, const std::string& images_key, std::string& images, const std::string& labels_key,
                         std::string& labels, int& pixels) {
  std::uint32_t n_images = 0, n_labels = 0;
  int per_label = 0;
  images = idx_file(f, images_key, images, n_images, pixels);
  labels = idx_file(f, labels_key, labels, n_labels, per_label);
  if (per_label != 1 || n_labels != n_images)
    input_error(f.file(), f.path() + "." + labels_key, fmt::format("one label per image of {}", images),
                fmt::format("{} labels of {} values", n_labels, per_label));
  return n_images;
}

void parse_images(Field& f, ImagesSpec& s) {
  std::uint32_t n = image_pair(f, "images", s.images, "labels", s.labels, s.pixels);
  s.available = n;
  s.samples = static_cast<int>(f.integer_or("samples", s.samples, 0, static_cast<long long>(n)));
  s.classes = static_cast<int>(f.integer_or("classes", s.classes, 2, 256));
  // A test set of its own when one is named, or when the training images are the default Fashion-MNIST
  // (whose test set sits beside them); otherwise the sites' held-out images, as for other datasets.
  if (f.has("test_images") || f.has("test_labels") || s.images == ImagesSpec{}.images) {
    int pixels = 0;
    n = image_pair(f, "test_images", s.test_images, "test_labels", s.test_labels, pixels);
    s.test_available = n;
    if (pixels != s.pixels)
      input_error(f.file(), f.path() + ".test_images", fmt::format("images of {} values, as in {}", s.pixels, s.images),
                  fmt::format("{} values", pixels));
    s.test_samples = static_cast<int>(f.integer_or("test_samples", s.test_samples, 0, static_cast<long long>(n)));
  } else {
    s.test_images.clear();
    s.test_labels.clear();
  }
}

void parse_dataset(Field f, WorkloadSpec& w) {
  w.dataset = f.at("kind").choice(dataset_kinds());
  if (w.dataset == "synthetic") {
    auto& s = w.synthetic;
    s.alpha = f.number_or("alpha", s.alpha, 0);
    s.beta = f.number_or("beta", s.beta, 0);
    s.iid = f.boolean_or("iid", s.iid);
    s.devices = static_cast<int>(f.integer_or("devices", s.devices, 1, 100000));
    s.dims = static_cast<int>(f.integer_or("dims", s.dims, 1, 1000000));
    s.classes = static_cast<int>(f.integer_or("classes", s.classes, 2, 100000));
  } else if (w.dataset == "mixture") {
    auto& s = w.mixture;
    s.classes = static_cast<int>(f.integer_or("classes", s.classes, 2, 100000));
    s.dims = static_cast<int>(f.integer_or("dims", s.dims, 1, 1000000));
    s.clusters = static_cast<int>(f.integer_or("clusters_per_class", s.clusters, 1, 1000));
    s.separation = f.number_or("separation", s.separation, 0, std::numeric_limits<double>::infinity(), true);
    s.samples = static_cast<int>(f.integer_or("samples", s.samples, 10, 100000000));
  } else if (w.dataset == "images") {
    parse_images(f, w.images);
  } else {
    auto& s = w.ratings;
    s.users = static_cast<int>(f.integer_or("users", s.users, 1, 100000000));
    s.items = static_cast<int>(f.integer_or("items", s.items, 1, 100000000));
    s.rank = static_cast<int>(f.integer_or("rank", s.rank, 1, 10000));
    s.density = f.number_or("density", s.density, 0, 1, true);
    s.noise = f.number_or("noise", s.noise, 0);
    s.mean = f.number_or("mean", s.mean, -1e9, 1e9);
    s.stars = f.boolean_or("stars", s.stars);
  }
  f.finish();
}

void parse_model(Field f, WorkloadSpec& w) {
  auto& m = w.model;
  bool ratings = w.dataset == "ratings";
  Field kind = f.at("kind");
  m.kind = kind.choice(model_kinds());
  if (ratings != (m.kind == "mf"))
    kind.fail(ratings ? "\"mf\" (rating data needs matrix factorization)"
                      : "\"softmax\" or \"mlp\" (classification data)");
  m.l2 = f.number_or("l2", m.l2, 0);
  m.value_bytes = static_cast<int>(f.integer_or("value_bytes", m.value_bytes, 1, 8));
  m.train_flops_per_sample = f.number_or("train_flops_per_sample", 0, 0);
  if (m.kind == "mlp") {
    Field hidden = f.at("hidden");
    if (hidden.size() < 1 || hidden.size() > 2)
      hidden.fail("one or two hidden layer widths");
    for (Field h : hidden.elements())
      m.hidden.push_back(as_int(h, 1, 1000000));
  }
  if (m.kind == "mf") {
    m.rank = static_cast<int>(f.integer_or("rank", w.ratings.rank, 1, 10000));
    m.init_scale = f.number_or("init_scale", m.init_scale, 0, std::numeric_limits<double>::infinity(), true);
    m.local_users = f.boolean_or("local_users", m.local_users);
  }
  f.finish();
}

void parse_partition(Field f, WorkloadSpec& w, const PlatformSpec& p) {
  auto& pt = w.partition;
  Field kind = f.at("kind");
  pt.kind = kind.choice({"iid", "label_skew", "dirichlet", "natural"});
  if (pt.kind == "natural" && (w.dataset == "mixture" || w.dataset == "images"))
    kind.fail("\"iid\", \"label_skew\" or \"dirichlet\" (\"natural\" needs synthetic devices or rating users)");
  if ((pt.kind == "label_skew" || pt.kind == "dirichlet") && w.dataset == "ratings")
    kind.fail("\"iid\" (rating data has no labels to skew)");
  int classes = w.shape().classes;
  if (pt.kind == "label_skew")
    pt.classes_per_site = static_cast<int>(f.integer_or("classes_per_site", pt.classes_per_site, 1, classes));
  if (pt.kind == "dirichlet")
    pt.alpha = f.number_or("alpha", pt.alpha, 0, std::numeric_limits<double>::infinity(), true);
  if (pt.kind == "iid") {
    pt.sizes = f.choice_or("sizes", pt.sizes, {"equal", "power_law"});
    pt.power = f.number_or("power", pt.power, 0);
  }
  if (auto s = f.maybe("sites"))
    pt.sites = parse_site_selection(*s, p);
  else
    for (int s = 0; s < static_cast<int>(p.sites.size()); ++s)
      pt.sites.push_back(s);
  f.finish();
}

int site_ref(Field f, const PlatformSpec& p, const std::vector<int>& data_sites) {
  int s = p.site_index(f.string());
  if (s < 0 || std::find(data_sites.begin(), data_sites.end(), s) == data_sites.end())
    f.fail("a site that holds data (see workload.partition.sites)");
  return s;
}

std::vector<int> class_list(Field f, int classes) {
  std::vector<int> out;
  for (Field c : f.elements())
    out.push_back(as_int(c, 0, classes - 1));
  if (out.empty())
    f.fail("at least one class");
  return out;
}

/// One drift entry: a single event, or a trend that travels along a list of sites.
void parse_drift_entry(Field f, WorkloadSpec& w, const PlatformSpec& p) {
  int classes = w.shape().classes;
  if (auto trend = f.maybe("trend")) {
    std::vector<int> cls = class_list(trend->at("classes"), classes);
    double start = trend->at("start_s").number(0);
    double every = trend->at("every_s").number(0);
    double share = trend->number_or("share", 0.5, 0, 1, true);
    Field sites = trend->at("sites");
    for (std::size_t k = 0; k < sites.size(); ++k) {
      DriftEvent e;
      e.at_s = start + static_cast<double>(k) * every;
      e.site = site_ref(sites.at(k), p, w.partition.sites);
      e.add_classes = cls;
      e.share = share;
      w.drift.push_back(e);
    }
    trend->finish();
    f.finish();
    return;
  }
  DriftEvent e;
  e.at_s = f.at("at_s").number(0);
  e.site = site_ref(f.at("site"), p, w.partition.sites);
  if (auto like = f.maybe("like_site")) {
    e.like_site = site_ref(*like, p, w.partition.sites);
  } else {
    e.add_classes = class_list(f.at("add_classes"), classes);
    e.share = f.number_or("share", e.share, 0, 1, true);
  }
  f.finish();
  w.drift.push_back(e);
}

} // namespace

namespace {

/// The classes among the first `limit` labels of an IDX label file (0: all).
std::vector<bool> classes_in(const std::string& labels, int limit, int classes) {
  std::vector<bool> has(static_cast<std::size_t>(classes), false);
  for (std::uint8_t c : read_idx(labels, static_cast<std::uint32_t>(limit)).values)
    if (c < classes)
      has[c] = true;
  return has;
}

/// A drift on images draws its new classes from the training and test images, so a class that neither
/// holds is refused here, where `validate` sees it, from the label files alone. The sites' held-out
/// images are taken as holding every class of the pool when test_fraction > 0; the workload's own check
/// (Workload::check_banks) still catches the rare split that leaves a class none.
void check_drift_images(const Field& f, const WorkloadSpec& w) {
  const ImagesSpec& s = w.images;
  std::vector<bool> train = classes_in(s.labels, s.samples, s.classes);
  std::vector<bool> test = s.test_labels.empty() ? train : classes_in(s.test_labels, s.test_samples, s.classes);
  if (s.test_labels.empty() && w.test_fraction <= 0)
    test.assign(test.size(), false);
  const std::string& test_file = s.test_images.empty() ? s.images : s.test_images;
  auto refuse = [&](const std::string& what, int c, const std::string& file, const std::string& why) {
    throw InputError(
        fmt::format("{}: {}.drift: no {} image of class {} in {}, which {}", f.file(), f.path(), what, c, file, why));
  };
  for (const DriftEvent& e : w.drift)
    for (int c : e.add_classes)
      if (!train[static_cast<std::size_t>(c)])
        refuse("training", c, s.images, "a drift adds");
  for (int c = 0; c < s.classes; ++c)
    if (train[static_cast<std::size_t>(c)] && !test[static_cast<std::size_t>(c)])
      refuse("test", c, test_file, "drifting sites may see (raise workload.dataset.test_samples)");
}

} // namespace

WorkloadSpec parse_workload(Field& f, const PlatformSpec& p) {
  WorkloadSpec w;
  parse_dataset(f.at("dataset"), w);
  parse_model(f.at("model"), w);
  if (auto pt = f.maybe("partition"))
    parse_partition(*pt, w, p);
  else
    for (int s = 0; s < static_cast<int>(p.sites.size()); ++s)
      w.partition.sites.push_back(s);
  if (auto d = f.maybe("drift")) {
    if (w.dataset != "mixture" && w.dataset != "images")
      d->fail("no drift (drift schedules need a dataset with classes to draw from: mixture or images)");
    for (Field e : d->elements())
      parse_drift_entry(e, w, p);
    std::stable_sort(w.drift.begin(), w.drift.end(),
                     [](const DriftEvent& a, const DriftEvent& b) { return a.at_s < b.at_s; });
  }
  w.test_fraction = f.number_or("test_fraction", w.test_fraction, 0, 0.9, true);
  // (u, i, r), an image's own bytes, or float32 features
  double default_raw = w.dataset == "ratings" ? 12.0 : w.dataset == "images" ? w.images.pixels : 4.0 * w.shape().dims;
  w.raw_bytes_per_sample =
      f.number_or("raw_bytes_per_sample", default_raw, 0, std::numeric_limits<double>::infinity(), true);
  f.finish();
  if (w.dataset == "images" && !w.drift.empty())
    check_drift_images(f, w);
  return w;
}

} // namespace geosim
