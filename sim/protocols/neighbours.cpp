#include "sim/protocols/neighbours.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <queue>
#include <stdexcept>

namespace geosim {
namespace {

std::vector<double> normalized(const std::vector<double>& v) {
  double sum = std::accumulate(v.begin(), v.end(), 0.0);
  std::vector<double> out(v);
  for (auto& x : out)
    x = sum > 0 ? x / sum : 0;
  return out;
}

/// Kullback-Leibler divergence of p from the mixture of p and q, in bits (terms with p = 0 vanish).
double kl_to_mixture(const double* p, const double* q, std::size_t n) {
  double d = 0;
  for (std::size_t i = 0; i < n; ++i)
    if (p[i] > 0)
      d += p[i] * std::log2(p[i] / ((p[i] + q[i]) / 2));
  return d;
}

/// Jensen-Shannon divergence of two normalized distributions over n classes.
double js_of_normalized(const double* a, const double* b, std::size_t n) {
  return std::max(0.0, (kl_to_mixture(a, b, n) + kl_to_mixture(b, a, n)) / 2);
}

void same_classes(std::size_t a, std::size_t b) {
  if (a != b)
    throw std::invalid_argument("jensen_shannon: distributions over different class counts");
}

/// A lower bound of the Jensen-Shannon divergence (bits) of two normalized distributions: with M their
/// mixture, Pinsker gives KL(a||M) >= ||a - M||_1^2 / (2 ln 2) and ||a - M||_1 = ||a - b||_1 / 2, so
/// JS >= ||a - b||_1^2 / (8 ln 2).
double divergence_floor(const double* a, const double* b, std::size_t n) {
  double l1 = 0;
  for (std::size_t i = 0; i < n; ++i)
    l1 += std::abs(a[i] - b[i]);
  return l1 * l1 / (8 * std::log(2.0));
}

} // namespace

double jensen_shannon(const std::vector<double>& p, const std::vector<double>& q) {
  same_classes(p.size(), q.size());
  return js_of_normalized(normalized(p).data(), normalized(q).data(), p.size());
}

void NeighbourIndex::update(int site, const std::vector<double>& class_share) {
  if (site < 0)
    throw std::invalid_argument("NeighbourIndex: a negative site number");
  if (classes_ < 0)
    classes_ = static_cast<int>(class_share.size());
  same_classes(class_share.size(), static_cast<std::size_t>(classes_));
  auto i = static_cast<std::size_t>(site);
  if (i >= known_.size()) {
    known_.resize(i + 1, 0);
    share_.resize((i + 1) * class_share.size());
    js_.resize(share_.size());
  }
  known_[i] = 1;
  std::vector<double> share = normalized(class_share), js = normalized(share);
  std::copy(share.begin(), share.end(), share_.begin() + static_cast<std::ptrdiff_t>(i * share.size()));
  std::copy(js.begin(), js.end(), js_.begin() + static_cast<std::ptrdiff_t>(i * js.size()));
}

std::vector<int> NeighbourIndex::rank(int asking, const std::vector<double>& mine, const std::vector<int>& needed,
                                      int k, double min_share) const {
  std::vector<double> a = normalized(mine);
  auto n = static_cast<std::size_t>(classes_);
  if (classes_ < 0)
    return {}; // no site has reported yet
  same_classes(a.size(), n);
  for (int c : needed)
    if (c < 0 || c >= classes_)
      throw std::out_of_range("NeighbourIndex: a needed class beyond the reported ones");
  // The best k (divergence, site) pairs so far, worst on top. Pairs are all distinct, so the k smallest
  // are the full sort's head whatever the order they are met in.
  std::priority_queue<std::pair<double, int>> best;
  for (std::size_t i = 0; i < known_.size() && k > 0; ++i) {
    int site = static_cast<int>(i);
    if (!known_[i] || site == asking)
      continue;
    const double* share = row(share_, i);
    if (!std::all_of(needed.begin(), needed.end(), [&](int c) { return share[c] >= min_share; }))
      continue;
    // Pinsker's inequality bounds the divergence from below by the L1 distance, with no logarithm: a site
    // whose bound is above the k-th best divergence cannot enter (margins for rounding in both figures).
    const double* js = row(js_, i);
    if (static_cast<int>(best.size()) == k && divergence_floor(a.data(), js, n) > best.top().first * (1 + 1e-9) + 1e-12)
      continue;
    std::pair<double, int> scored{js_of_normalized(a.data(), js, n), site};
    if (static_cast<int>(best.size()) < k) {
      best.push(scored);
    } else if (scored < best.top()) {
      best.pop();
      best.push(scored);
    }
  }
  std::vector<int> out(best.size());
  for (auto i = out.size(); i-- > 0; best.pop())
    out[i] = best.top().second;
  return out;
}

std::vector<int> rank_neighbours(const std::vector<double>& mine, const std::vector<int>& needed,
                                 const std::vector<SiteProfile>& peers, int k, double min_share) {
  NeighbourIndex index;
  for (const auto& p : peers)
    index.update(p.site, p.class_share);
  return index.rank(-1, mine, needed, k, min_share);
}

} // namespace geosim
