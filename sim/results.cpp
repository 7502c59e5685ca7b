#include "sim/results.hpp"

#include "sim/input.hpp"

#include <fmt/format.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <unistd.h>

namespace geosim {

void write_file_atomic(const std::string& path, const std::string& content) {
  namespace fs = std::filesystem;
  fs::path target(path);
  if (target.has_parent_path())
    fs::create_directories(target.parent_path());
  std::string tmp = fmt::format("{}.tmp.{}", path, ::getpid());
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out << content;
    out.flush();
    if (!out)
      throw std::runtime_error(fmt::format("{}: cannot write results file", path));
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    std::remove(tmp.c_str());
    throw std::runtime_error(fmt::format("{}: cannot move results file into place", path));
  }
}

std::string fmt_num(double v) {
  if (std::isnan(v))
    return "nan";
  return fmt::format("{:.10g}", v);
}

} // namespace geosim
