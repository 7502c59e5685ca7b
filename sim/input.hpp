#pragma once
// Strict reading of JSON input files. Every accessor names the file and the JSON path in its error, so a
// bad scenario or platform fails with one line a user can act on ("file: path: expected X, got Y").
#include <nlohmann/json.hpp>

#include <functional>
#include <limits>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

namespace geosim {

using json = nlohmann::json;

/// Bad user input: the CLI prints what() on one line and exits with status 2.
class InputError : public std::runtime_error {
public:
  using std::runtime_error::runtime_error;
};

[[noreturn]] void input_error(const std::string& file, const std::string& path, const std::string& expected,
                              const std::string& got = "");

/// Names that become SimGrid names or folder names: letters, digits, '-' and '_' (no path, no control
/// characters, nothing a shell or a file system reads specially).
bool is_safe_name(const std::string& s);
inline const char* const kSafeName = "a name of letters, digits, '-' and '_' (at most 64)";

/// Reads a JSON file; malformed JSON or a missing file becomes an InputError.
json load_json_file(const std::string& path);

/// Reads a plain-text data file (link traces, offline intervals) line by line: `#` starts a comment and
/// lines without a word are skipped; `parse` gets every other line's number, its text without the
/// comment, and the line as written (for error messages). A file that cannot be read is an InputError
/// naming it as `what`.
void read_data_lines(const std::string& path, const std::string& what,
                     const std::function<void(int number, const std::string& data, const std::string& line)>& parse);

/// Short human description of a JSON value for error messages ("-5", "a string", "an object").
std::string describe(const json& value);

/// A view of one JSON value inside a file. Objects remember which keys were read so that finish()
/// can reject the ones nobody asked for (unknown keys are almost always typos).
class Field {
public:
  Field(std::string file, std::string path, const json& value);

  const std::string& file() const { return file_; }
  const std::string& path() const { return path_; }
  /// A file path given in this file: as it is when absolute, else relative to this file's folder.
  std::string beside_file(const std::string& path) const;
  const json& raw() const { return *value_; }
  bool is_object() const { return value_->is_object(); }
  bool is_array() const { return value_->is_array(); }
  bool is_string() const { return value_->is_string(); }
  bool has(const std::string& key) const;

  Field at(const std::string& key);                   ///< required member of an object
  std::optional<Field> maybe(const std::string& key); ///< optional member of an object
  Field at(std::size_t index) const;                  ///< element of an array
  std::size_t size() const;                           ///< array length (after checking it is an array)
  std::vector<Field> elements() const;                ///< the elements of an array
  std::vector<std::string> keys();                    ///< all keys of an object, each marked as read

  double number(double lo = -std::numeric_limits<double>::infinity(),
                double hi = std::numeric_limits<double>::infinity(), bool lo_open = false) const;
  long long integer(long long lo = std::numeric_limits<long long>::min(),
                    long long hi = std::numeric_limits<long long>::max()) const;
  bool boolean() const;
  std::string string() const;
  std::string choice(const std::vector<std::string>& allowed) const;

  // Shorthands for optional members with defaults.
  double number_or(const std::string& key, double dflt, double lo = -std::numeric_limits<double>::infinity(),
                   double hi = std::numeric_limits<double>::infinity(), bool lo_open = false);
  long long integer_or(const std::string& key, long long dflt, long long lo = std::numeric_limits<long long>::min(),
                       long long hi = std::numeric_limits<long long>::max());
  bool boolean_or(const std::string& key, bool dflt);
  std::string string_or(const std::string& key, const std::string& dflt);
  std::string choice_or(const std::string& key, const std::string& dflt, const std::vector<std::string>& allowed);

  /// Rejects any key of this object that was never read.
  void finish() const;

  [[noreturn]] void fail(const std::string& expected) const;

private:
  void require_object() const;
  std::string file_;
  std::string path_;
  const json* value_;
  std::set<std::string> read_;
};

} // namespace geosim
