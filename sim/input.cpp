#include "sim/input.hpp"

#include <fmt/format.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace geosim {

namespace {

/// User text as it may appear in a one-line message: control characters escaped, at most `limit` bytes.
std::string printable(const std::string& text, std::size_t limit = 200) {
  std::string out;
  for (unsigned char c : text) {
    if (out.size() >= limit)
      return out + fmt::format("... ({} bytes)", text.size());
    if (c == '\n')
      out += "\\n";
    else if (c < 0x20 || c == 0x7f)
      out += fmt::format("\\x{:02x}", c);
    else
      out += static_cast<char>(c);
  }
  return out;
}

} // namespace

void input_error(const std::string& file, const std::string& path, const std::string& expected,
                 const std::string& got) {
  std::string where = path.empty() ? printable(file) : fmt::format("{}: {}", printable(file), printable(path));
  if (got.empty())
    throw InputError(fmt::format("{}: {}", where, printable(expected, 400)));
  throw InputError(fmt::format("{}: expected {}, got {}", where, printable(expected, 400), printable(got)));
}

bool is_safe_name(const std::string& s) {
  if (s.empty() || s.size() > 64)
    return false;
  for (char c : s)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_'))
      return false;
  return true;
}

void read_data_lines(const std::string& path, const std::string& what,
                     const std::function<void(int number, const std::string& data, const std::string& line)>& parse) {
  std::ifstream in(path);
  if (!in)
    throw InputError(fmt::format("{}: cannot read this {}", path, what));
  std::string line;
  for (int n = 1; std::getline(in, line); ++n) {
    std::string data = line.substr(0, line.find('#'));
    std::string word;
    if (std::istringstream(data) >> word)
      parse(n, data, line);
  }
}

json load_json_file(const std::string& path) {
  std::ifstream in(path);
  if (!in)
    input_error(path, "", "cannot open file (does it exist?)");
  std::stringstream text;
  text << in.rdbuf();
  // Input files are a few levels deep; a deeper one is refused while parsing, before anything walks it
  // recursively (merging a site's defaults would overflow the stack).
  constexpr int kMaxDepth = 64;
  std::string last_key;
  auto watch = [&](int depth, json::parse_event_t event, json& value) {
    if (depth > kMaxDepth)
      input_error(path, last_key.empty() ? "" : "near \"" + last_key + "\"",
                  fmt::format("JSON nested at most {} levels deep", kMaxDepth));
    if (event == json::parse_event_t::key)
      last_key = value.get<std::string>();
    return true;
  };
  try {
    return json::parse(text.str(), watch);
  } catch (const json::parse_error& e) {
    // nlohmann's message carries line and column; strip its "[json.exception...]" prefix.
    std::string what = e.what();
    auto pos = what.find("] ");
    input_error(path, "", "malformed JSON: " + (pos == std::string::npos ? what : what.substr(pos + 2)));
  } catch (const json::out_of_range&) { // a number beyond double's range, such as 1e400
    input_error(path, last_key.empty() ? "" : "near \"" + last_key + "\"", "numbers within a double's range",
                "a number too large to represent");
  }
}

std::string describe(const json& value) {
  switch (value.type()) {
  case json::value_t::null:
    return "null";
  case json::value_t::object:
    return "an object";
  case json::value_t::array: { // a short one as it was written, e.g. an interval [3.2, 3.0]
    std::string s = value.dump();
    return s.size() > 40 ? "an array" : s;
  }
  case json::value_t::string: {
    std::string s = value.get<std::string>();
    return s.size() > 40 ? "a string" : "\"" + s + "\"";
  }
  default:
    return value.dump();
  }
}

Field::Field(std::string file, std::string path, const json& value)
    : file_(std::move(file)), path_(std::move(path)), value_(&value) {}

void Field::fail(const std::string& expected) const { input_error(file_, path_, expected, describe(*value_)); }

void Field::require_object() const {
  if (!value_->is_object())
    fail("an object");
}

bool Field::has(const std::string& key) const { return value_->is_object() && value_->contains(key); }

Field Field::at(const std::string& key) {
  require_object();
  std::string child = path_.empty() ? key : path_ + "." + key;
  if (!value_->contains(key))
    input_error(file_, child, "required field is missing");
  read_.insert(key);
  return Field(file_, child, (*value_)[key]);
}

std::optional<Field> Field::maybe(const std::string& key) {
  require_object();
  if (!value_->contains(key))
    return std::nullopt;
  return at(key);
}

Field Field::at(std::size_t index) const { return Field(file_, fmt::format("{}[{}]", path_, index), (*value_)[index]); }

std::size_t Field::size() const {
  if (!value_->is_array())
    fail("an array");
  return value_->size();
}

std::vector<Field> Field::elements() const {
  std::vector<Field> out;
  for (std::size_t i = 0; i < size(); ++i)
    out.push_back(at(i));
  return out;
}

std::vector<std::string> Field::keys() {
  require_object();
  std::vector<std::string> out;
  for (const auto& item : value_->items()) {
    out.push_back(item.key());
    read_.insert(item.key());
  }
  return out;
}

static std::string range_text(double lo, double hi, bool lo_open) {
  bool has_lo = std::isfinite(lo), has_hi = std::isfinite(hi);
  if (has_lo && has_hi)
    return fmt::format("a number in {}{}, {}]", lo_open ? "(" : "[", lo, hi);
  if (has_lo)
    return fmt::format("a number {} {}", lo_open ? ">" : ">=", lo);
  if (has_hi)
    return fmt::format("a number <= {}", hi);
  return "a number";
}

double Field::number(double lo, double hi, bool lo_open) const {
  std::string expected = range_text(lo, hi, lo_open);
  if (!value_->is_number())
    fail(expected);
  double v = value_->get<double>();
  if (!std::isfinite(v) || v < lo || v > hi || (lo_open && v == lo))
    fail(expected);
  return v;
}

long long Field::integer(long long lo, long long hi) const {
  std::string expected = "an integer";
  if (lo != std::numeric_limits<long long>::min() && hi != std::numeric_limits<long long>::max())
    expected = fmt::format("an integer in [{}, {}]", lo, hi);
  else if (lo != std::numeric_limits<long long>::min())
    expected = fmt::format("an integer >= {}", lo);
  if (!value_->is_number_integer())
    fail(expected);
  long long v = value_->get<long long>();
  if (v < lo || v > hi)
    fail(expected);
  return v;
}

bool Field::boolean() const {
  if (!value_->is_boolean())
    fail("true or false");
  return value_->get<bool>();
}

std::string Field::beside_file(const std::string& path) const {
  if (path.empty() || path[0] == '/')
    return path;
  return (std::filesystem::path(file_).parent_path() / path).string();
}

std::string Field::string() const {
  if (!value_->is_string())
    fail("a string");
  return value_->get<std::string>();
}

std::string Field::choice(const std::vector<std::string>& allowed) const {
  std::string expected = fmt::format("one of \"{}\"", fmt::join(allowed, "\", \""));
  if (!value_->is_string())
    fail(expected);
  std::string v = value_->get<std::string>();
  for (const auto& a : allowed)
    if (a == v)
      return v;
  fail(expected);
}

double Field::number_or(const std::string& key, double dflt, double lo, double hi, bool lo_open) {
  auto f = maybe(key);
  return f ? f->number(lo, hi, lo_open) : dflt;
}

long long Field::integer_or(const std::string& key, long long dflt, long long lo, long long hi) {
  auto f = maybe(key);
  return f ? f->integer(lo, hi) : dflt;
}

bool Field::boolean_or(const std::string& key, bool dflt) {
  auto f = maybe(key);
  return f ? f->boolean() : dflt;
}

std::string Field::string_or(const std::string& key, const std::string& dflt) {
  auto f = maybe(key);
  return f ? f->string() : dflt;
}

std::string Field::choice_or(const std::string& key, const std::string& dflt, const std::vector<std::string>& allowed) {
  auto f = maybe(key);
  return f ? f->choice(allowed) : dflt;
}

void Field::finish() const {
  if (!value_->is_object())
    return;
  for (const auto& item : value_->items())
    if (!read_.count(item.key()))
      input_error(file_, path_.empty() ? item.key() : path_ + "." + item.key(), "unknown field");
}

} // namespace geosim
