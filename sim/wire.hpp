#pragma once
// What protocols put on the wire beside model values: one set of sizes that every strategy uses, so two
// strategies' control traffic is counted alike. A model value is its own Model::value_bytes.
namespace geosim::wire {

/// In front of a protocol message: who sent it and which clock, round or query it belongs to (8 + 8).
inline constexpr double kHeaderBytes = 16;
/// One 64-bit number sent alone, such as a round number that means "no more rounds".
inline constexpr double kRoundBytes = 8;
/// A 32-bit field: a key or index beside a sparse value, a class or site number, a class share.
inline constexpr double kFieldBytes = 4;

} // namespace geosim::wire
