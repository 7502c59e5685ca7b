#pragma once
// Logical neighbours for Cartel's metadata service: sites ranked by how alike their class
// distributions are (Jensen-Shannon divergence).
#include <vector>

namespace geosim {

/// Jensen-Shannon divergence of two distributions over the same classes, in bits (0: equal, 1: disjoint).
/// Inputs need not sum to one; they are normalized first.
double jensen_shannon(const std::vector<double>& p, const std::vector<double>& q);

/// A site's last known class distribution, as the metadata service holds it.
struct SiteProfile {
  int site;
  std::vector<double> class_share;
};

/// The peers closest to `mine` (by Jensen-Shannon divergence, ties by site number), among those that
/// hold every class in `needed` with a share of at least `min_share`; at most `k` of them.
std::vector<int> rank_neighbours(const std::vector<double>& mine, const std::vector<int>& needed,
                                 const std::vector<SiteProfile>& peers, int k, double min_share);

} // namespace geosim
