#include "sim/provenance.hpp"

#include <map>
#include <stdexcept>

namespace geosim {

ByteClass byte_class_of(const std::string& kind) {
  static const std::map<std::string, ByteClass, std::less<>> classes = {
      // raw data: centralized's shipped shards; traffic's flows and probe's bulk transfer stand for data
      {"raw-data", ByteClass::raw},     {"flow", ByteClass::raw},          {"bulk", ByteClass::raw},
      // model state
      {"push", ByteClass::model},       {"values", ByteClass::model},      {"mirror", ByteClass::model},
      {"model", ByteClass::model},      {"update", ByteClass::model},      {"slice", ByteClass::model},
      // control and metadata (a pull names keys; a barrier names keys without values)
      {"pull", ByteClass::control},     {"stop", ByteClass::control},      {"barrier", ByteClass::control},
      {"metadata", ByteClass::control}, {"neighbours", ByteClass::control}, {"slice?", ByteClass::control},
      {"ping", ByteClass::control},     {"pong", ByteClass::control},      {"restarted", ByteClass::control},
  };
  auto it = classes.find(kind);
  if (it == classes.end())
    throw std::logic_error("message kind \"" + kind + "\" has no byte class (sim/provenance.cpp)");
  return it->second;
}

const char* byte_class_name(ByteClass c) {
  switch (c) {
  case ByteClass::raw:
    return "raw";
  case ByteClass::model:
    return "model";
  case ByteClass::control:
    return "control";
  }
  return "?";
}

} // namespace geosim
