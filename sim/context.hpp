#pragma once
// What a strategy's actors see at run time. Passed explicitly; geosim keeps no hidden globals.
#include "sim/evaluation.hpp"
#include "sim/learning/workload.hpp"
#include "sim/platform.hpp"
#include "sim/recorder.hpp"
#include "sim/scenario.hpp"
#include "sim/transport.hpp"

namespace geosim {

struct RunContext {
  const Scenario& scenario;
  const StrategyEntry& entry;
  const Platform& platform;
  Transport& transport;
  Recorder& recorder;
  Workload* workload; ///< null when the scenario has none
  Evaluation& evaluation; ///< when and how the observer judges models
};

} // namespace geosim
