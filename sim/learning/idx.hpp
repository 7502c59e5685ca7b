#pragma once
// IDX files (LeCun's MNIST format, which Fashion-MNIST keeps): a magic number (0, 0, type, rank), one
// big-endian 32-bit size per dimension, then the values. Read as written or gzip-compressed, as Debian's
// dataset-fashion-mnist ships them.
#include "sim/learning/dataset.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace geosim {

struct IdxArray {
  std::vector<std::uint32_t> dims;
  std::vector<std::uint8_t> values; ///< unsigned bytes (type 0x08), the only type images and labels use
};

/// Reads an IDX file of unsigned bytes, at most `limit` items (along the first dimension; 0: all).
/// Throws std::runtime_error saying what is wrong with the file.
IdxArray read_idx(const std::string& path, std::uint32_t limit = 0);
/// The dimensions an IDX file of unsigned bytes declares (its values are not read).
std::vector<std::uint32_t> read_idx_dims(const std::string& path);

/// Images (n x rows x cols, scaled to [0, 1]) and their labels (n) as a classification data set with
/// one column per image; at most `limit` images (0: all).
Dataset load_idx_images(const std::string& images, const std::string& labels, std::uint32_t limit = 0);

} // namespace geosim
