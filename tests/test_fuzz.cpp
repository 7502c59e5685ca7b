// A seeded fuzz test of the exit contract: mutants of small scenarios and platforms go through `validate`
// and `run`. Whatever the input: validate exits 0 or 2 (2 with one line); run exits 0, 1 or 2 (or is
// stopped by the time limit below), a failed or stopped run leaves nothing in or beside its output
// folder, and a run that succeeds has a summary for every strategy.
#include "tests/helpers.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <random>

using namespace geosim::test;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

struct Base {
  const char* scenario;
  const char* platform;
};
const Base kBases[] = {{"one-flow.json", "two-sites.json"},
                       {"mf-iterstore.json", "ps-pair.json"},
                       {"gaia-small.json", "ps-pair.json"},
                       {"fedavg-small.json", "hub-3.json"}};

/// Every value in the document, by JSON pointer (the root included).
void pointers(const json& j, const json::json_pointer& at, std::vector<json::json_pointer>& out) {
  out.push_back(at);
  if (j.is_object())
    for (const auto& [k, v] : j.items())
      pointers(v, at / k, out);
  else if (j.is_array())
    for (std::size_t i = 0; i < j.size(); ++i)
      pointers(j[i], at / i, out);
}

json nasty(std::mt19937& rng) {
  static const std::vector<json> values = {-1,
                                           0,
                                           1,
                                           2.5,
                                           -1e308,
                                           1e308,
                                           1e-320,
                                           4294967296LL,
                                           -9223372036854775807LL,
                                           "",
                                           "x",
                                           "../x",
                                           "a b",
                                           "a\nb",
                                           "wan",
                                           json::array(),
                                           json::object(),
                                           nullptr,
                                           true,
                                           json::array({1, 2}),
                                           json{{"name", "x"}}};
  return values[std::uniform_int_distribution<std::size_t>(0, values.size() - 1)(rng)];
}

/// One or two changes to the document: a value replaced, a key removed or added, a number scaled.
void mutate(json& doc, std::mt19937& rng) {
  int changes = std::uniform_int_distribution<int>(1, 2)(rng);
  for (int c = 0; c < changes; ++c) {
    std::vector<json::json_pointer> all;
    pointers(doc, json::json_pointer(), all);
    auto at = all[std::uniform_int_distribution<std::size_t>(0, all.size() - 1)(rng)];
    json& node = doc[at];
    // Weighted so that a fair share of mutants stays valid and reaches the engine: 0 nasty value,
    // 1 key removed, 2 key added, 3-5 number scaled, 6 escape appended to a string.
    switch (std::uniform_int_distribution<int>(0, 6)(rng)) {
    case 0:
      node = nasty(rng);
      break;
    case 1:
      if (!at.empty() && doc[at.parent_pointer()].is_object())
        doc[at.parent_pointer()].erase(at.back());
      break;
    case 2:
      if (node.is_object())
        node["zz_unknown"] = 1;
      else
        node = nasty(rng);
      break;
    case 3:
    case 4:
    case 5:
      if (node.is_number()) {
        static const double factors[] = {2, 0.5, 1000, -1, 0};
        node = node.get<double>() * factors[std::uniform_int_distribution<int>(0, 4)(rng)];
      } else {
        node = nasty(rng);
      }
      break;
    default:
      if (node.is_string())
        node = node.get<std::string>() + "\x1b[0m";
      else
        node = nasty(rng);
    }
  }
}

#if defined(__SANITIZE_ADDRESS__)
const char* const kLimits = "timeout 30"; // AddressSanitizer reserves terabytes of address space
#else
const char* const kLimits = "ulimit -v 4000000; timeout 10";
#endif

} // namespace

TEST_CASE("fuzzed scenarios and platforms keep the exit contract", "[fuzz]") {
  std::mt19937 rng(20261126);
  const int kMutants = 300;
  int validated = 0, ran = 0;
  for (int m = 0; m < kMutants; ++m) {
    const Base& base = kBases[static_cast<std::size_t>(m) % std::size(kBases)];
    json scenario = read_json(fs::path(GEOSIM_SOURCE_DIR) / data(base.scenario));
    json platform = read_json(fs::path(GEOSIM_SOURCE_DIR) / data(base.platform));
    mutate(std::uniform_int_distribution<int>(0, 9)(rng) < 7 ? scenario : platform, rng);
    auto dir = temp_dir("fuzz");
    write_text(dir / base.platform, platform.dump());
    // A scenario whose "platform" the mutant changed still finds its (maybe mutated) platform file.
    auto file = write_text(dir / "scenario.json", scenario.dump());
    INFO("mutant " << m << " of " << base.scenario << ":\n" << scenario.dump() << "\n" << platform.dump());

    auto v = run_geosim("validate " + file);
    INFO("validate: " << v.status << " " << v.err);
    REQUIRE((v.status == 0 || v.status == 2));
    if (v.status == 2) {
      CHECK(line_count(v.err) == 1);
      continue;
    }
    ++validated;
    // Run it, stopped after 10 s of host time and refused more than 4 GB of memory: either way, a run
    // that does not finish writes nothing.
    auto out = dir / "out";
    auto r = run_geosim("run -q " + file + " -o " + out.string() + " --set stop.max_iterations=3", kLimits);
    INFO("run: " << r.status << " " << r.err);
    CHECK((r.status == 0 || r.status == 1 || r.status == 2 || r.status == 124));
    if (r.status == 2)
      CHECK(line_count(r.err) == 1);
    std::vector<std::string> beside;
    for (const auto& e : fs::directory_iterator(dir))
      if (e.path().filename().string().rfind("out.", 0) == 0)
        beside.push_back(e.path().filename().string());
    if (r.status != 0) {
      CHECK_FALSE(fs::exists(out));
      CHECK(beside.empty());
    } else {
      ++ran;
      CHECK(beside.empty());
      CHECK_FALSE(fs::is_empty(out));
    }
  }
  // The mutants are not all refused: a share of them reaches the engine (most mutations break a file).
  INFO(validated << " of " << kMutants << " mutants validated, " << ran << " ran to the end");
  CHECK(validated >= kMutants / 20);
  CHECK(ran >= kMutants / 40);
}
