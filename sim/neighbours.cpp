#include "sim/neighbours.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>
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
double kl_to_mixture(const std::vector<double>& p, const std::vector<double>& q) {
  double d = 0;
  for (std::size_t i = 0; i < p.size(); ++i)
    if (p[i] > 0)
      d += p[i] * std::log2(p[i] / ((p[i] + q[i]) / 2));
  return d;
}

/// Jensen-Shannon divergence of two normalized distributions.
double js_of_normalized(const std::vector<double>& a, const std::vector<double>& b) {
  if (a.size() != b.size())
    throw std::invalid_argument("jensen_shannon: distributions over different class counts");
  return std::max(0.0, (kl_to_mixture(a, b) + kl_to_mixture(b, a)) / 2);
}

} // namespace

double jensen_shannon(const std::vector<double>& p, const std::vector<double>& q) {
  return js_of_normalized(normalized(p), normalized(q));
}

void NeighbourIndex::update(int site, const std::vector<double>& class_share) {
  if (site < 0)
    throw std::invalid_argument("NeighbourIndex: a negative site number");
  if (static_cast<std::size_t>(site) >= sites_.size())
    sites_.resize(static_cast<std::size_t>(site) + 1);
  Shares& s = sites_[static_cast<std::size_t>(site)];
  s.known = true;
  s.share = normalized(class_share);
  s.js = normalized(s.share);
}

std::vector<int> NeighbourIndex::rank(int asking, const std::vector<double>& mine, const std::vector<int>& needed,
                                      int k, double min_share) const {
  std::vector<double> a = normalized(mine);
  std::vector<std::pair<double, int>> scored;
  for (std::size_t i = 0; i < sites_.size(); ++i) {
    const Shares& s = sites_[i];
    int site = static_cast<int>(i);
    if (!s.known || site == asking)
      continue;
    bool holds = std::all_of(needed.begin(), needed.end(), [&](int c) { return s.share.at(c) >= min_share; });
    if (holds)
      scored.emplace_back(js_of_normalized(a, s.js), site);
  }
  // The best k in order: (divergence, site) pairs are all distinct, so this is the full sort's head.
  auto head = scored.begin() + std::min<std::ptrdiff_t>(std::max(k, 0), static_cast<std::ptrdiff_t>(scored.size()));
  std::partial_sort(scored.begin(), head, scored.end());
  std::vector<int> out;
  for (auto it = scored.begin(); it != head; ++it)
    out.push_back(it->second);
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
