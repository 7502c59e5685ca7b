// The layers README's Layout section draws: strategies are built from protocol pieces (sim/protocols/),
// which use the engine (sim/) and the learning math (sim/learning/). The engine and the learning math
// include no protocol piece and no strategy, and nothing includes a file of strategies/ (a strategy is
// reachable only through its registration).
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <regex>
#include <string>
#include <vector>

namespace fs = std::filesystem;

namespace {

struct Include {
  std::string file, target;
};

/// Every `#include "..."` of the C++ files directly in `dir` (relative to the source tree).
std::vector<Include> includes_in(const std::string& dir) {
  static const std::regex line(R"(^\s*#\s*include\s+"([^"]+)\")");
  std::vector<Include> out;
  for (const auto& e : fs::directory_iterator(fs::path(GEOSIM_SOURCE_DIR) / dir)) {
    auto ext = e.path().extension();
    if (!e.is_regular_file() || (ext != ".cpp" && ext != ".hpp"))
      continue;
    std::ifstream in(e.path());
    std::smatch m;
    for (std::string text; std::getline(in, text);)
      if (std::regex_search(text, m, line))
        out.push_back({dir + "/" + e.path().filename().string(), m[1]});
  }
  return out;
}

bool starts_with(const std::string& s, const std::string& prefix) { return s.rfind(prefix, 0) == 0; }

} // namespace

TEST_CASE("the engine and the learning math include no protocol piece and no strategy", "[layout]") {
  for (const char* dir : {"sim", "sim/learning"}) {
    auto found = includes_in(dir);
    CHECK(found.size() > 10); // the scan reads the real files
    for (const auto& inc : found) {
      INFO(inc.file << " includes " << inc.target);
      CHECK_FALSE(starts_with(inc.target, "sim/protocols/"));
      CHECK_FALSE(starts_with(inc.target, "strategies/"));
    }
  }
}

TEST_CASE("no file includes a strategy", "[layout]") {
  for (const char* dir : {"sim", "sim/learning", "sim/protocols", "strategies", "tests"})
    for (const auto& inc : includes_in(dir)) {
      INFO(inc.file << " includes " << inc.target);
      CHECK_FALSE(starts_with(inc.target, "strategies/"));
    }
}

TEST_CASE("every strategy is built from the protocol pieces, not from another strategy", "[layout]") {
  auto found = includes_in("strategies");
  std::size_t pieces = 0;
  for (const auto& inc : found)
    pieces += starts_with(inc.target, "sim/protocols/");
  CHECK(pieces >= 5); // param_server, centralized, gaia, isolated, cartel, fedavg use them
}
