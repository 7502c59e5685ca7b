// The parameter servers' tables (each shard's own, addressed by key) and their steps, as IterStore's
// tablet servers take them.
#include "sim/protocols/param_server.hpp"
#include "sim/protocols/server_step.hpp"

#include <catch2/catch.hpp>

#include <cmath>
#include <set>

using geosim::ServerOptimizer;
using geosim::ServerStep;

TEST_CASE("AdaGrad steps by lr g / sqrt(1 + sum of g^2), the 1 as in IterStore", "[ps][optimizer]") {
  ServerStep s(ServerOptimizer::adagrad, 0.5, 2);
  CHECK(s.change(0, 3) == Approx(-0.5 * 3 / std::sqrt(10)));
  CHECK(s.change(0, 4) == Approx(-0.5 * 4 / std::sqrt(26)));
  CHECK(s.change(1, 0.1) == Approx(-0.5 * 0.1 / std::sqrt(1.01))); // each key keeps its own sum
}

TEST_CASE("AdaRevision: a clock's pushes add up to one AdaGrad step with the clock's summed gradient",
          "[ps][optimizer]") {
  // Three workers push gradients 2, 1 and 3 of one key in clock 1, then 1 and 1 in clock 2. Each push is
  // weighed against what the server applied since the clock began, so the clock's changes sum to
  // -lr G / sqrt(1 + G^2) with G = 6, and the next clock's to -lr 2 / sqrt(1 + 36 + 4).
  const double lr = 0.1;
  ServerStep s(ServerOptimizer::adarevision, lr, 1);
  double clock1 = s.change(0, 2) + s.change(0, 1) + s.change(0, 3);
  CHECK(clock1 == Approx(-lr * 6 / std::sqrt(37)));
  s.clock_complete({0});
  double clock2 = s.change(0, 1) + s.change(0, 1);
  CHECK(clock2 == Approx(-lr * 2 / std::sqrt(41)));
  // AdaGrad with the same pushes steps each one alone, which takes larger steps the more workers push.
  ServerStep a(ServerOptimizer::adagrad, lr, 1);
  double adagrad1 = a.change(0, 2) + a.change(0, 1) + a.change(0, 3);
  CHECK(adagrad1 < clock1 - 0.05);
}

TEST_CASE("AdaRevision never raises its step size when a clock's gradients cancel", "[ps][optimizer]") {
  // 3 then -3 in one clock: the revised sum dips back to 0, but the step size keeps the maximum (9), so
  // the second push undoes the first at the first one's rate and the key ends where it started.
  ServerStep s(ServerOptimizer::adarevision, 1, 1);
  double first = s.change(0, 3);
  CHECK(first == Approx(-3 / std::sqrt(10)));
  CHECK(first + s.change(0, -3) == Approx(0).margin(1e-12));
  s.clock_complete({0});
  CHECK(s.change(0, 1) == Approx(-1 / std::sqrt(10)));
}

TEST_CASE("with \"add\" the push is the change", "[ps][optimizer]") {
  ServerStep s(ServerOptimizer::add, 0.1, 1);
  CHECK(s.change(0, -0.25) == -0.25);
}

TEST_CASE("each shard's tables give every key it holds a slot of its own, and together hold the model once", "[ps]") {
  for (std::size_t shards : {1, 2, 3, 5}) {
    for (std::size_t n : {1, 63, 64, 65, 200, 641}) {
      INFO(shards << " shards, " << n << " parameters");
      geosim::ShardMap map{shards};
      std::vector<std::set<std::size_t>> used(shards);
      for (std::int64_t key = 0; key < static_cast<std::int64_t>(n); ++key) {
        std::size_t k = map.shard_of(key), at = map.slot(key);
        CHECK(at < map.slots(k, n));
        CHECK(used[k].insert(at).second);
      }
      std::size_t total = 0;
      for (std::size_t k = 0; k < shards; ++k) {
        CHECK(used[k].size() == map.slots(k, n)); // no slot left unused: a shard's tables are its keys
        total += map.slots(k, n);
      }
      CHECK(total == n);
    }
  }
  // Values start from the model's and are read and written by key.
  Eigen::VectorXd initial = Eigen::VectorXd::LinSpaced(200, 0, 199);
  geosim::ShardMap map{3};
  geosim::ShardValues second(map, 1, initial);
  CHECK(second.slots() == 64);
  CHECK(second[64] == 64);
  CHECK(second[127] == 127);
  second[100] += 0.5;
  CHECK(second[100] == 100.5);
  geosim::ShardValues first(map, 0, initial);
  CHECK(first.slots() == 64 + 8); // keys 0-63 and 192-199
  CHECK(first[199] == 199);
}
