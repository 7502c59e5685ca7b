#include "sim/learning/idx.hpp"

#include <fmt/format.h>
#include <zlib.h>

#include <algorithm>
#include <memory>
#include <stdexcept>

namespace geosim {
namespace {

struct GzCloser {
  void operator()(gzFile f) const { gzclose(f); }
};
using GzFile = std::unique_ptr<std::remove_pointer_t<gzFile>, GzCloser>;

[[noreturn]] void bad(const std::string& path, const std::string& what) {
  throw std::runtime_error(fmt::format("{}: {}", path, what));
}

void read_exact(gzFile f, void* into, std::size_t n, const std::string& path, const char* what) {
  std::size_t got = 0;
  while (got < n) {
    unsigned chunk = static_cast<unsigned>(std::min<std::size_t>(n - got, 1u << 30));
    int r = gzread(f, static_cast<char*>(into) + got, chunk);
    if (r <= 0)
      bad(path, fmt::format("ends inside its {} (an IDX file cut short?)", what));
    got += static_cast<std::size_t>(r);
  }
}

/// Opens the file and reads its header; the dimensions come back as declared.
GzFile open_idx(const std::string& path, std::vector<std::uint32_t>& dims) {
  GzFile f(gzopen(path.c_str(), "rb")); // reads plain files as they are
  if (!f)
    bad(path, "cannot be opened");
  unsigned char magic[4];
  read_exact(f.get(), magic, 4, path, "header");
  if (magic[0] != 0 || magic[1] != 0 || magic[3] < 1 || magic[3] > 4)
    bad(path, "is not an IDX file (its first bytes are not 0, 0, type, rank 1-4)");
  if (magic[2] != 0x08)
    bad(path, fmt::format("holds values of IDX type 0x{:02x}; expected unsigned bytes (0x08)", magic[2]));
  std::size_t count = 1;
  for (int d = 0; d < magic[3]; ++d) {
    unsigned char b[4];
    read_exact(f.get(), b, 4, path, "header");
    std::uint32_t size = (std::uint32_t{b[0]} << 24) | (std::uint32_t{b[1]} << 16) | (std::uint32_t{b[2]} << 8) | b[3];
    if (size == 0 || size > (1u << 28))
      bad(path, fmt::format("declares dimension {} of size {}; expected 1 to 2^28", d, size));
    dims.push_back(size);
    count *= size;
    if (count > (std::size_t{1} << 32))
      bad(path, "declares more than 2^32 values");
  }
  return f;
}

} // namespace

std::vector<std::uint32_t> read_idx_dims(const std::string& path) {
  std::vector<std::uint32_t> dims;
  open_idx(path, dims);
  return dims;
}

IdxArray read_idx(const std::string& path, std::uint32_t limit) {
  IdxArray a;
  GzFile f = open_idx(path, a.dims);
  if (limit > 0)
    a.dims[0] = std::min(a.dims[0], limit);
  std::size_t count = 1;
  for (auto d : a.dims)
    count *= d;
  a.values.resize(count);
  read_exact(f.get(), a.values.data(), count, path, "values");
  return a;
}

Dataset load_idx_images(const std::string& images, const std::string& labels, std::uint32_t limit) {
  IdxArray x = read_idx(images, limit), y = read_idx(labels, limit);
  if (x.dims.size() < 2)
    bad(images, "holds no images (expected n x rows x cols)");
  if (y.dims.size() != 1 || y.dims[0] != x.dims[0])
    bad(labels, fmt::format("holds {} labels for {} images in {}", y.dims[0], x.dims[0], images));
  Eigen::Index n = x.dims[0], pixels = static_cast<Eigen::Index>(x.values.size()) / n;
  Dataset d;
  Eigen::MatrixXd X(pixels, n);
  for (Eigen::Index i = 0; i < X.size(); ++i)
    X.data()[i] = x.values[static_cast<std::size_t>(i)] / 255.0;
  d.set_features(std::move(X));
  int classes = 0;
  for (auto label : y.values) {
    d.y.push_back(label);
    classes = std::max(classes, label + 1);
  }
  d.classes = std::max(classes, 2);
  return d;
}

} // namespace geosim
