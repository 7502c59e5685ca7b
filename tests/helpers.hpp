#pragma once
// Helpers for tests that drive the geosim binary: SimGrid allows one engine per process, so every
// simulation a test needs runs as a child process.
#include <nlohmann/json.hpp>

#include <filesystem>
#include <string>

namespace geosim::test {

struct CommandResult {
  int status = -1;
  std::string out;
  std::string err;
};

/// Runs `build/geosim ARGS` from the source tree; ARGS is passed to the shell as written. `wrapper` goes
/// before the command (such as "timeout 10"), after any shell commands it ends with "; " (such as ulimit).
CommandResult run_geosim(const std::string& args, const std::string& wrapper = "");
/// The same with another geosim build (the guide's example, GEOSIM_GUIDE_BIN).
CommandResult run_program(const std::string& binary, const std::string& args, const std::string& wrapper = "");

/// A fresh, empty folder under the system temp dir, unique to this test run.
std::filesystem::path temp_dir(const std::string& name);
/// Called once the tests of this process have run: their temporary folder goes when they all passed
/// (and GEOSIM_KEEP_TEST_FILES is unset); otherwise it stays, and its path is printed.
void finish_temp_files(bool passed);

/// Writes text to a file (creating folders) and returns its path.
std::string write_text(const std::filesystem::path& path, const std::string& text);

nlohmann::json read_json(const std::filesystem::path& path);
std::string read_text(const std::filesystem::path& path);

/// How many lines a command wrote (an error is one line).
std::size_t line_count(const std::string& text);

/// Path of a file under tests/data.
std::string data(const std::string& name);

/// geosim arguments for a 30-clock run of a two-site test job (sites a and b) under consistency `sync`,
/// while `site` crashes about every 0.4 s for about 0.1 s over the first 3 s (seed 2), with a time
/// limit of 100 s.
std::string seeded_crashes(const std::string& sync, const std::string& site);

} // namespace geosim::test
