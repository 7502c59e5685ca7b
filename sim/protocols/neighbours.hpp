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

/// The metadata service's view of the sites: each one's last reported class distribution, normalized
/// once when it arrives, so that a query costs one divergence per site and no copies.
class NeighbourIndex {
public:
  void update(int site, const std::vector<double>& class_share);
  /// The sites but `asking` closest to `mine` (by Jensen-Shannon divergence, ties by site number), among
  /// those that hold every class in `needed` with a share of at least `min_share`; at most `k` of them.
  std::vector<int> rank(int asking, const std::vector<double>& mine, const std::vector<int>& needed, int k,
                        double min_share) const;

private:
  /// Row `site` of share_ and js_ (one row of `classes_` values per site, in one block each, so that a
  /// query streams through them).
  const double* row(const std::vector<double>& m, std::size_t site) const {
    return m.data() + site * static_cast<std::size_t>(classes_);
  }
  int classes_ = -1;
  std::vector<char> known_;   ///< by site number (a query walks them in order)
  std::vector<double> share_; ///< normalized: what `min_share` is checked against
  std::vector<double> js_;    ///< `share_` normalized again, as jensen_shannon reads it
};

/// The same ranking over a list of peers (none of them the asking site).
std::vector<int> rank_neighbours(const std::vector<double>& mine, const std::vector<int>& needed,
                                 const std::vector<SiteProfile>& peers, int k, double min_share);

} // namespace geosim
