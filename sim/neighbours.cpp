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

/// Kullback-Leibler divergence of p from the mixture m, in bits (terms with p = 0 vanish).
double kl_to_mixture(const std::vector<double>& p, const std::vector<double>& m) {
  double d = 0;
  for (std::size_t i = 0; i < p.size(); ++i)
    if (p[i] > 0)
      d += p[i] * std::log2(p[i] / m[i]);
  return d;
}

} // namespace

double jensen_shannon(const std::vector<double>& p, const std::vector<double>& q) {
  if (p.size() != q.size())
    throw std::invalid_argument("jensen_shannon: distributions over different class counts");
  auto a = normalized(p), b = normalized(q);
  std::vector<double> m(a.size());
  for (std::size_t i = 0; i < m.size(); ++i)
    m[i] = (a[i] + b[i]) / 2;
  return std::max(0.0, (kl_to_mixture(a, m) + kl_to_mixture(b, m)) / 2);
}

std::vector<int> rank_neighbours(const std::vector<double>& mine, const std::vector<int>& needed,
                                 const std::vector<SiteProfile>& peers, int k, double min_share) {
  std::vector<std::pair<double, int>> scored;
  for (const auto& peer : peers) {
    auto share = normalized(peer.class_share);
    bool holds = std::all_of(needed.begin(), needed.end(), [&](int c) { return share.at(c) >= min_share; });
    if (holds)
      scored.emplace_back(jensen_shannon(mine, share), peer.site);
  }
  std::sort(scored.begin(), scored.end());
  std::vector<int> out;
  for (std::size_t i = 0; i < scored.size() && static_cast<int>(i) < k; ++i)
    out.push_back(scored[i].second);
  return out;
}

} // namespace geosim
