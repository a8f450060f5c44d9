// Internal pieces shared by the dense association core (association.cpp) and the streaming one
// (association_streaming.cpp): the sizes, the masks read into flat per-element forms, and a vectorisable
// float exp. Not part of the public API.
#pragma once

#include <algorithm>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "hopfield/engine/association.h"
#include "hopfield/engine/kernel.h"
#include "hopfield/engine/tape.h"

namespace hf::detail {

// Sizes shared by the forward and backward of association_probs.
struct ProbsDims {
  std::size_t n = 1, nq = 1, nk = 1, h = 1, l = 0, s = 0, sp = 0, hd = 0;
};

// Validates q (Nq, L, H*hd) and k (Nk, S, H*hd) and returns the sizes: N is the largest leading size among
// q, k, the masks and `also_batch` (another operand's leading size, e.g. the values'); Nq and Nk must be 1
// or N. Throws naming op and the shapes.
inline ProbsDims association_dims(const Tensor& q, const Tensor& k, std::size_t num_heads, const AssociationMasks& masks,
                                  bool add_zero_association, const char* op, std::size_t also_batch = 1) {
  check_float(q, op, "q");
  check_same_dtype(q, k, op);
  HF_CHECK(q.dim() == 3 && k.dim() == 3, op,
           "q " << shape_str(q.shape()) << " and k " << shape_str(k.shape()) << " must be (N, L, H*hd) and (N, S, H*hd)");
  HF_CHECK(num_heads > 0 && q.size(2) % num_heads == 0 && q.size(2) == k.size(2), op,
           "q " << shape_str(q.shape()) << " and k " << shape_str(k.shape()) << " need equal feature sizes divisible by num_heads="
                << num_heads);
  ProbsDims d;
  d.nq = q.size(0);
  d.nk = k.size(0);
  d.h = num_heads;
  d.l = q.size(1);
  d.s = k.size(1);
  d.sp = d.s + (add_zero_association ? 1 : 0);
  d.hd = q.size(2) / num_heads;
  d.n = std::max({d.nq, d.nk, also_batch});
  if (masks.stored_pattern_padding_mask.defined() && masks.stored_pattern_padding_mask.dim() == 2)
    d.n = std::max(d.n, masks.stored_pattern_padding_mask.size(0));
  if (masks.association_mask.defined() && masks.association_mask.dim() == 3)
    d.n = std::max(d.n, masks.association_mask.size(0) / num_heads);
  HF_CHECK((d.nq == 1 || d.nq == d.n) && (d.nk == 1 || d.nk == d.n), op,
           "batch sizes of q " << shape_str(q.shape()) << " and k " << shape_str(k.shape()) << " must be 1 or N=" << d.n);
  return d;
}

// Masks read once into flat per-element forms. bool_mask / float_mask index: ((n*H + h)*L + l)*S + s for 3-D
// masks (per_entry), l*S + s for 2-D masks.
struct MaskView {
  std::vector<std::uint8_t> padding;  // (N, S) or empty
  std::vector<std::uint8_t> forbid;   // association mask as bytes, or empty
  Tensor additive;                    // float association mask converted to the data dtype, or undefined
  bool per_entry = false;             // association mask is (N*H, L, S)
};

inline MaskView read_masks(const AssociationMasks& masks, const ProbsDims& d, Dtype dtype, const char* op) {
  MaskView mv;
  if (masks.stored_pattern_padding_mask.defined()) {
    const Tensor& p = masks.stored_pattern_padding_mask;
    HF_CHECK(p.dim() == 2 && p.size(0) == d.n && p.size(1) == d.s, op,
             "stored_pattern_padding_mask " << shape_str(p.shape()) << " must be (N, S) = (" << d.n << ", " << d.s
                                            << ")");
    mv.padding = mask_as_bytes(p, p.shape(), op);
  }
  if (masks.association_mask.defined()) {
    const Tensor& a = masks.association_mask;
    const bool two = a.dim() == 2 && a.size(0) == d.l && a.size(1) == d.s;
    const bool three = a.dim() == 3 && a.size(0) == d.n * d.h && a.size(1) == d.l && a.size(2) == d.s;
    HF_CHECK(two || three, op,
             "association_mask " << shape_str(a.shape()) << " must be (L, S) = (" << d.l << ", " << d.s
                                 << ") or (N*H, L, S) = (" << d.n * d.h << ", " << d.l << ", " << d.s << ")");
    mv.per_entry = three;
    if (is_floating(a.dtype())) {
      NoGrad ng;
      mv.additive = a.detach().to(dtype);
    } else {
      mv.forbid = mask_as_bytes(a, a.shape(), op);
    }
  }
  return mv;
}

// e^x for finite float x <= 0 without a libm call, so that a loop over it vectorises (glibc's vector expf
// needs -ffast-math): x = n ln2 + r with |r| <= ln2/2 (Cody-Waite split of ln2), e^r from the Cephes expf
// polynomial, 2^n through the exponent bits. Relative error at most 2 ulp (checked against std::exp over
// every float in [-88, 0]); where e^x is no longer a normal float (about x < -87.3) the result is 0, as it
// is for -inf. Float comparisons would keep the loop scalar (-ftrapping-math), so x is clamped at -88 on
// its bit pattern: as unsigned integers, negative floats grow with their magnitude and sit above every
// positive one. A NaN input does not come out as NaN: the caller checks its inputs.
inline float fast_expf(float x) {
  const std::uint32_t lim = std::bit_cast<std::uint32_t>(-88.0f);
  const std::uint32_t ix = std::bit_cast<std::uint32_t>(x);
  x = std::bit_cast<float>(ix < lim ? ix : lim);
  const float big = 12582912.0f;  // 1.5 * 2^23: adding and subtracting it rounds to an integer
  const float n = (x * 1.44269504f + big) - big;
  const float r = (x - n * 0.693359375f) - n * -2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * r * r + r + 1.0f;
  std::int32_t ni = static_cast<std::int32_t>(n);
  ni = ni < -127 ? -127 : ni;  // 2^-127 -> a zero scale
  return p * std::bit_cast<float>(static_cast<std::uint32_t>(ni + 127) << 23);
}

// Four floats as one value (GCC/Clang vector extensions): the compiler emits SIMD code for the target (one
// SSE register in the portable build) without intrinsics. Used where plain loops did not vectorise: the
// reductions (max, sums) of a softmax row were compiled to scalar code. Loops take two per step (eight
// floats), as the partial results of the scalar code did.
using float4 = float __attribute__((vector_size(16)));
using int4x = std::int32_t __attribute__((vector_size(16)));

inline float4 load4(const float* p) {
  float4 v;
  __builtin_memcpy(&v, p, sizeof v);
  return v;
}
inline void store4(float* p, float4 v) { __builtin_memcpy(p, &v, sizeof v); }
inline float4 splat4(float x) { return float4{x, x, x, x}; }
inline float4 max4(float4 a, float4 b) { return a < b ? b : a; }
inline float hmax4(float4 v) {
  float m = v[0];
  for (int t = 1; t < 4; ++t) m = m < v[t] ? v[t] : m;
  return m;
}
inline float hsum4(float4 v) { return (v[0] + v[1]) + (v[2] + v[3]); }

// fast_expf on four lanes, the same steps (and results) lane by lane.
inline float4 fast_expf4(float4 x) {
  x = x < splat4(-88.0f) ? splat4(-88.0f) : x;  // NaN compares false and stays NaN, as in fast_expf
  const float4 big = splat4(12582912.0f);
  const float4 n = (x * 1.44269504f + big) - big;
  const float4 r = (x - n * 0.693359375f) - n * -2.12194440e-4f;
  float4 p = splat4(1.9875691500e-4f);
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * r * r + r + 1.0f;
  int4x ni = __builtin_convertvector(n, int4x);
  const int4x floor = int4x{-127, -127, -127, -127};
  ni = ni < floor ? floor : ni;
  const int4x bits = (ni + 127) << 23;
  float4 scale;
  __builtin_memcpy(&scale, &bits, sizeof scale);
  return p * scale;
}

}  // namespace hf::detail
