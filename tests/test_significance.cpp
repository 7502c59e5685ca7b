// Gaia's Figure 5 count: per threshold, an accumulator per parameter, reset when it passes.
#include "sim/protocols/significance.hpp"

#include <catch2/catch.hpp>

using geosim::SignificanceCounter;

TEST_CASE("the significance counter follows a hand-built sequence of updates", "[significance]") {
  // Thresholds 10, 5, 1, 0.5, 0.1, 0.05, 0.01 %. Two parameters of value 100, a third never changed
  // (it counts as insignificant in every clock), three clocks.
  SignificanceCounter c(3);
  // Clock 1: key 0 moves by 0.6 (0.6%: significant at 0.5% and below), key 1 by 20 (20%: at every threshold).
  c.clock({0, 1}, {0.6, 20}, {100, 100}, 3);
  // Clock 2: key 0 moves by 0.6 again: its 10%, 5% and 1% accumulators now hold 1.2 (1.2%: significant at
  // 1%); the lower ones were reset and hold 0.6 (significant again). Key 1 does not move.
  c.clock({0}, {0.6}, {100}, 3);
  // Clock 3: key 0 moves by -0.02: at 10% and 5% the accumulator holds 1.18 (not significant); at every
  // lower threshold it was reset and holds -0.02, which is 0.02% of the value: significant at 0.01% only.
  c.clock({0}, {-0.02}, {100}, 3);
  // Significant counts per threshold: 10%: 1 (key 1), 5%: 1, 1%: 2, 0.5%: 3, 0.1%: 3, 0.05%: 3, 0.01%: 4.
  std::vector<double> significant = {1, 1, 2, 3, 3, 3, 4};
  auto share = c.insignificant_share();
  REQUIRE(share.size() == 7);
  CHECK(c.parameter_clocks() == 9);
  for (std::size_t t = 0; t < 7; ++t)
    CHECK(share[t] == Approx(1 - significant[t] / 9));
}

TEST_CASE("a change to a parameter whose value is 0 is significant at every threshold", "[significance]") {
  SignificanceCounter c(1);
  c.clock({0}, {1e-9}, {0.0}, 1);
  for (double s : c.insignificant_share())
    CHECK(s == 0);
}

TEST_CASE("merged counters add their counts", "[significance]") {
  SignificanceCounter a(1), b(1);
  a.clock({0}, {0.5}, {1.0}, 1); // significant everywhere
  b.clock({}, {}, {}, 1);        // nothing changed
  a.merge(b);
  CHECK(a.parameter_clocks() == 2);
  for (double s : a.insignificant_share())
    CHECK(s == Approx(0.5));
}
