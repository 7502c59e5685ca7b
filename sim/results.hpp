#pragma once
// Writing results files: always through a temporary file and a rename, so an interrupted run never
// leaves a half-written file behind.
#include <string>

namespace geosim {

void write_file_atomic(const std::string& path, const std::string& content);

/// Formats a double so that equal values always print identically (results must be byte-identical).
std::string fmt_num(double v);

} // namespace geosim
