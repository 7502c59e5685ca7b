#include "tests/helpers.hpp"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <sys/wait.h>
#include <unistd.h>

namespace fs = std::filesystem;

namespace geosim::test {

std::string read_text(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

nlohmann::json read_json(const fs::path& path) { return nlohmann::json::parse(read_text(path)); }

namespace {
fs::path temp_root() { return fs::temp_directory_path() / ("geosim-test-" + std::to_string(::getpid())); }
} // namespace

fs::path temp_dir(const std::string& name) {
  static int counter = 0;
  fs::path p = temp_root() / (name + "-" + std::to_string(counter++));
  fs::remove_all(p);
  fs::create_directories(p);
  return p;
}

std::string write_text(const fs::path& path, const std::string& text) {
  fs::create_directories(path.parent_path());
  std::ofstream(path) << text;
  return path.string();
}

CommandResult run_geosim(const std::string& args, const std::string& wrapper) {
  return run_program(GEOSIM_BIN, args, wrapper);
}

CommandResult run_program(const std::string& binary, const std::string& args, const std::string& wrapper) {
  fs::path dir = temp_dir("cmd");
  std::string cmd = "cd '" GEOSIM_SOURCE_DIR "' && " + wrapper + " '" + binary + "' " + args + " > '" +
                    (dir / "out").string() + "' 2> '" + (dir / "err").string() + "'";
  int raw = std::system(cmd.c_str());
  CommandResult r;
  r.status = WIFEXITED(raw) ? WEXITSTATUS(raw) : -1;
  r.out = read_text(dir / "out");
  r.err = read_text(dir / "err");
  return r;
}

std::size_t line_count(const std::string& text) {
  return static_cast<std::size_t>(std::count(text.begin(), text.end(), '\n'));
}

std::string data(const std::string& name) { return "tests/data/" + name; }

std::string seeded_crashes(const std::string& sync, const std::string& site) {
  return "--set stop.max_iterations=30 --set stop.max_sim_time_s=100 --set strategy.sync=" + sync +
         " --set 'network.faults={\"seed\": 2, \"horizon_s\": 3, \"site_failures\": "
         "{\"mtbf_s\": 0.4, \"mttr_s\": 0.1, \"sites\": [\"" +
         site + "\"]}}'";
}

void finish_temp_files(bool passed) {
  std::error_code ec;
  if (!fs::exists(temp_root(), ec))
    return;
  if (passed && std::getenv("GEOSIM_KEEP_TEST_FILES") == nullptr)
    fs::remove_all(temp_root(), ec);
  else
    std::fprintf(stderr, "test files kept in %s\n", temp_root().c_str());
}

} // namespace geosim::test
