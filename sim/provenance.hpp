#pragma once
// Byte provenance: what a message carries, so that a run can say which raw data crossed which borders
// (data sovereignty) apart from model state and control traffic. The class follows from the message's
// kind; every kind a strategy sends is listed in provenance.cpp.
#include <map>
#include <set>
#include <string>

namespace geosim {

enum class ByteClass {
  raw,     ///< training samples (a shard shipped to be trained on elsewhere; synthetic bulk flows)
  model,   ///< parameters, gradients, model slices
  control, ///< requests, stops, barriers, metadata, probes
};
inline constexpr int kByteClasses = 3;

/// A scenario's data-sovereignty policy: whose raw data must stay in its jurisdiction.
struct SovereigntySpec {
  bool all = false;              ///< "stay_in_jurisdiction": every jurisdiction's raw data stays in it
  std::set<std::string> stay_in; ///< or these jurisdictions' raw data stays in them
  /// or these jurisdictions' raw data may go only to the listed ones (and stay home)
  std::map<std::string, std::set<std::string>> allowed_destinations;
  bool enforce = false; ///< a strategy that would move such data is refused before it runs
  bool active() const { return all || !stay_in.empty() || !allowed_destinations.empty(); }
  bool forbids(const std::string& from, const std::string& to) const {
    if (from == to)
      return false;
    auto allowed = allowed_destinations.find(from);
    return all || stay_in.count(from) > 0 || (allowed != allowed_destinations.end() && !allowed->second.count(to));
  }
};

/// The class of a message kind; throws std::logic_error for a kind nobody listed (a programming error).
ByteClass byte_class_of(const std::string& kind);
const char* byte_class_name(ByteClass c);

} // namespace geosim
