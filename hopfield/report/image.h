// Grayscale images as 2-D tensors (H, W) and their PGM files (Netpbm "P5", 8 bit, or "P2" text).
// PGM is the simplest image format every viewer and converter reads; with SVG image grids
// (engine/plot.h) it covers the pictures the examples write without an image library.
#pragma once

#include <string>

#include "hopfield/engine/tensor.h"

namespace hf {

// Writes image (H, W) mapping [lo, hi] to 0..255 (values outside are clamped, NaN becomes 0).
// Binary P5 format; parent directories are created. Throws hf::Error naming the path on failure.
void save_pgm(const std::string& path, const Tensor& image, double lo = 0.0, double hi = 1.0);

// Reads a P5 or P2 PGM (maxval 1..65535, comments allowed) into a float tensor (H, W) with values
// in [0, 1]. Throws hf::Error with the path and the problem for malformed or truncated files.
Tensor load_pgm(const std::string& path, Dtype dtype = Dtype::Float32);

}  // namespace hf
