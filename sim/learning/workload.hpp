#pragma once
// A workload: a dataset generator, its partition over the platform's sites, per-site drift schedules,
// a model, per-site and global test sets, and the size of a sample as raw data on the WAN.
#include "sim/input.hpp"
#include "sim/learning/generators.hpp"
#include "sim/learning/model.hpp"
#include "sim/platform.hpp"

#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace geosim {

struct PartitionSpec {
  std::string kind = "iid";    ///< iid, label_skew, dirichlet, natural
  int classes_per_site = 2;    ///< label_skew
  double alpha = 0.5;          ///< dirichlet concentration
  std::string sizes = "equal"; ///< iid: equal or power_law
  double power = 1.0;          ///< power_law: site k (in a seeded order) gets weight (k+1)^-power
  std::vector<int> sites;      ///< platform sites that hold data
};

/// A change of one site's class distribution at a simulated time (mixture and image datasets).
struct DriftEvent {
  double at_s = 0;
  int site = -1;
  std::vector<int> add_classes; ///< these classes appear, taking `share` of the data
  double share = 0.5;
  int like_site = -1; ///< or: the site takes this site's distribution
};

/// Real images from IDX files (Fashion-MNIST as Debian's dataset-fashion-mnist installs it).
struct ImagesSpec {
  std::string images = "/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz";
  std::string labels = "/usr/share/datasets/fashion-mnist/train-labels-idx1-ubyte.gz";
  int samples = 0; ///< the first this many images (0: all)
  /// The global test set: images of their own, the same on every platform (Fashion-MNIST's test set),
  /// or (empty) the union of the sites' held-out images as for other datasets.
  std::string test_images = "/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz";
  std::string test_labels = "/usr/share/datasets/fashion-mnist/t10k-labels-idx1-ubyte.gz";
  int test_samples = 0; ///< the first this many test images (0: all)
  int classes = 10;
  int pixels = 0; ///< read from the images file's header
  std::uint32_t available = 0, test_available = 0; ///< images the files hold (headers)
};

struct WorkloadSpec {
  std::string dataset = "mixture"; ///< synthetic, mixture, ratings, images
  SyntheticSpec synthetic;
  MixtureSpec mixture;
  RatingsSpec ratings;
  ImagesSpec images;
  PartitionSpec partition;
  std::vector<DriftEvent> drift; ///< sorted by time
  ModelSpec model;
  double test_fraction = 0.2;
  double raw_bytes_per_sample = 0;

  ModelShape shape() const;
};

/// Parses scenario.workload against the platform; throws InputError naming the field.
WorkloadSpec parse_workload(Field& f, const PlatformSpec& platform);
std::vector<std::string> dataset_kinds();
std::vector<std::string> model_kinds();

struct SiteData {
  Dataset train;
  Dataset test;                    ///< follows the site's current distribution
  std::vector<double> class_share; ///< current class distribution (classification)
};

/// A fixed set of samples seen by class: where a drifting site of an image workload gets fresh images of
/// its new class mix (a mixture workload draws them from its generator instead).
class ClassBank {
public:
  explicit ClassBank(Dataset data);
  /// n samples: a class per sample drawn from `share`, then distinct samples of each class in a random
  /// order (a class asked for more samples than the bank holds starts over). Classes the bank has no
  /// sample of are left out of `share`.
  Dataset draw(int n, std::vector<double> share, Rng& rng) const;
  bool holds(int c) const { return c >= 0 && c < static_cast<int>(rows_.size()) && !rows_[c].empty(); }

private:
  Dataset data_;
  std::vector<std::vector<int>> rows_; ///< per class, positions in data_
};

class Workload {
public:
  Workload(const WorkloadSpec& spec, int site_count, std::uint64_t seed);

  const WorkloadSpec& spec() const { return spec_; }
  /// The site's data as of simulated time `now`, drift applied. Sites without data have empty sets.
  const SiteData& site(int s, double now);
  bool holds_data(int s) const { return sites_[s].train.size() > 0; }
  const Dataset& global_test() const { return global_test_; }
  std::unique_ptr<Model> make_model(std::uint64_t seed) const;
  /// Bytes of a site's training data shipped raw over the WAN.
  double raw_bytes(int s) const { return spec_.raw_bytes_per_sample * static_cast<double>(sites_[s].train.size()); }

private:
  void apply_drift(const DriftEvent& e, std::size_t index);
  /// Image drift: every class a drifting site may see has training and test images to draw from.
  void check_banks(const WorkloadSpec& spec) const;

  WorkloadSpec spec_;
  std::uint64_t seed_;
  std::vector<SiteData> sites_;
  Dataset global_test_;
  std::optional<MixtureGenerator> mixture_;
  std::optional<ClassBank> train_bank_, test_bank_; ///< image workloads with drift
  std::size_t next_drift_ = 0;
};

} // namespace geosim
