#include "sim/protocols/training.hpp"

#include "sim/compute.hpp"
#include "sim/scenario.hpp"

#include <simgrid/s4u.hpp>

#include <algorithm>
#include <numeric>

namespace sg4 = simgrid::s4u;

namespace geosim {

void charge_flops(double flops) {
  if (flops <= 0)
    return;
  sg4::Host* host = sg4::this_actor::get_host();
  // thread_execute's amount is per thread: each core gets its share, so time = flops / (speed x cores).
  int cores = host->get_core_count();
  ComputeLedger* ledger = ComputeLedger::of(host);
  if (ledger) // booked when it starts, so that a sample taken meanwhile counts it (as it always has)
    ledger->charge(host, flops);
  double start = sg4::Engine::get_clock();
  try {
    sg4::this_actor::thread_execute(host, flops / cores, cores);
  } catch (const simgrid::ForcefulKillException&) {
    // The site crashed mid-computation: the part not done is taken back. SimGrid forgets a failed
    // execution's progress, so the part done is bounded by the host's full speed over the time it ran.
    double done = std::min(flops, (sg4::Engine::get_clock() - start) * host->get_speed() * cores);
    if (ledger)
      ledger->charge(host, done - flops);
    throw;
  }
}

long long train_epochs(Model& model, const Dataset& data, int epochs, int batch, double lr, Rng& rng) {
  std::size_t n = data.size();
  if (n == 0)
    return 0;
  std::size_t step = batch <= 0 ? n : static_cast<std::size_t>(batch);
  std::vector<int> order(n);
  std::iota(order.begin(), order.end(), 0);
  double flops = 0;
  long long steps = 0;
  for (int e = 0; e < epochs; ++e) {
    std::shuffle(order.begin(), order.end(), rng);
    for (std::size_t at = 0; at < n; at += step) {
      Dataset b = data.subset(
          {order.begin() + static_cast<long>(at), order.begin() + static_cast<long>(std::min(n, at + step))});
      Update g = model.gradient(b);
      model.apply(g, -lr);
      flops += model.training_flops(b) + model.apply_flops(g);
      ++steps;
    }
  }
  charge_flops(flops);
  return steps;
}

void MinibatchSgd::take(Model& model, int batches) {
  std::size_t n = data_.size();
  if (n == 0)
    return;
  std::size_t step = batch_ <= 0 ? n : std::min(n, static_cast<std::size_t>(batch_));
  if (pos_.velocity.size() == 0)
    pos_.velocity = Eigen::VectorXd::Zero(static_cast<Eigen::Index>(model.size()));
  double flops = 0;
  for (int k = 0; k < batches; ++k) {
    std::vector<int> rows;
    while (rows.size() < step) {
      if (pos_.at == pos_.order.size()) {
        pos_.order.resize(n);
        std::iota(pos_.order.begin(), pos_.order.end(), 0);
        std::shuffle(pos_.order.begin(), pos_.order.end(), rng_);
        pos_.at = 0;
      }
      rows.push_back(pos_.order[pos_.at++]);
    }
    Dataset b = data_.subset(rows);
    Update g = model.gradient(b);
    flops += model.training_flops(b);
    if (momentum_ == 0) {
      model.apply(g, -lr_);
      flops += model.apply_flops(g);
      continue;
    }
    // Caffe's momentum: v = momentum v - lr g; w += v.
    pos_.velocity *= momentum_;
    if (g.dense)
      pos_.velocity -= lr_ * g.values;
    else
      for (std::size_t i = 0; i < g.index.size(); ++i)
        pos_.velocity[g.index[i]] -= lr_ * g.values[static_cast<Eigen::Index>(i)];
    model.parameters() += pos_.velocity;
    flops += 4.0 * static_cast<double>(model.size());
  }
  charge_flops(flops);
}

std::vector<std::int64_t> local_keys_of(const Model& model, const Dataset& data) {
  auto local = static_cast<std::int64_t>(model.local_size());
  if (local == 0 || data.size() == 0)
    return {};
  Update g = model.gradient(data);
  std::vector<std::int64_t> keys(g.dense ? static_cast<std::size_t>(local) : 0);
  if (g.dense)
    std::iota(keys.begin(), keys.end(), 0);
  else
    keys.assign(g.index.begin(), std::lower_bound(g.index.begin(), g.index.end(), local));
  return keys;
}

void train_stream(Model& model, const Dataset& data, int batches, int batch, double lr, Rng& rng) {
  if (data.size() == 0)
    return;
  std::uniform_int_distribution<int> pick(0, static_cast<int>(data.size()) - 1);
  double flops = 0;
  for (int k = 0; k < batches; ++k) {
    std::vector<int> rows(static_cast<std::size_t>(std::max(batch, 1)));
    for (auto& r : rows)
      r = pick(rng);
    Dataset b = data.subset(rows);
    Update g = model.gradient(b);
    model.apply(g, -lr);
    flops += model.training_flops(b) + model.apply_flops(g);
  }
  charge_flops(flops);
}

StreamParams parse_stream(Field& f, StreamParams s) {
  s.period_s = f.number_or("period_s", s.period_s, 0);
  s.batches_per_period = static_cast<int>(f.integer_or("batches_per_period", s.batches_per_period, 1, 1000000));
  return s;
}

TrainingParams parse_training(Field& f, TrainingParams d) {
  d.lr = f.number_or("lr", d.lr, 0, std::numeric_limits<double>::infinity(), true);
  d.batch = static_cast<int>(f.integer_or("batch", d.batch, 0, 100000000));
  d.local_epochs = static_cast<int>(f.integer_or("local_epochs", d.local_epochs, 1, 100000));
  return d;
}

void require_learning_setup(const Field& params, const Scenario& sc, const std::string& strategy) {
  if (!sc.workload)
    input_error(params.file(), "workload", "a workload (strategy " + strategy + " learns a model)");
  if (!sc.stop.bounded())
    input_error(params.file(), "stop", "max_sim_time_s or max_iterations (a learning run needs a bound)");
}

} // namespace geosim
