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

// Eight consecutive floats for the vectorised row kernels (GCC/Clang vector extensions: the compiler emits
// SIMD code without intrinsics). Used where plain loops did not vectorise: the reductions (max, sums) of a
// softmax row were compiled to scalar code. An Oct holds them as two 4-lane vectors (SSE2, every x86-64:
// the portable build) or as one 8-lane vector, used inside functions compiled for AVX2 and chosen at run
// time (use_avx2). Either way a kernel keeps eight partial results, lane t for the elements j = t mod 8,
// and combines them in one fixed order: both widths give the same bits (AVX2 without FMA, so that no
// multiply-add is contracted).
using float4 = float __attribute__((vector_size(16)));
using float8 = float __attribute__((vector_size(32)));
template <class V>
struct IntLanes;
template <>
struct IntLanes<float4> {
  using type = std::int32_t __attribute__((vector_size(16)));
};
template <>
struct IntLanes<float8> {
  using type = std::int32_t __attribute__((vector_size(32)));
};

// Whether the row kernels run their AVX2 build: whether this CPU has AVX2 (checked once), unless switched
// off (a test compares the two builds; set it only while no kernel runs).
#if defined(__x86_64__)
#define HF_HAVE_AVX2_KERNELS 1
inline bool& use_avx2() {
  static bool on = __builtin_cpu_supports("avx2");
  return on;
}
#else
inline bool& use_avx2() {  // other CPUs: the 4-lane build only
  static bool on = false;
  return on;
}
#endif

// The helpers pass vectors by value; with 8 lanes that would change the calling convention outside AVX2
// code (GCC's -Wpsabi), but they are always inlined into functions built for AVX2, so no such call exists.
// GCC reports the instantiations at the end of the including file, hence no pop.
#pragma GCC diagnostic ignored "-Wpsabi"
template <class V>
struct Oct {
  static constexpr int k = static_cast<int>(32 / sizeof(V));  // vectors per eight floats
  V v[k];
};

#define HF_OCT_INLINE [[gnu::always_inline]] inline

// Unaligned vector access: one load or store per vector (a memcpy into the Oct went through the stack).
template <class V>
HF_OCT_INLINE Oct<V> load8(const float* p) {
  using U [[gnu::aligned(4), gnu::may_alias]] = V;
  Oct<V> o;
  for (int i = 0; i < Oct<V>::k; ++i) o.v[i] = reinterpret_cast<const U*>(p)[i];
  return o;
}
template <class V>
HF_OCT_INLINE void store8(float* p, const Oct<V>& o) {
  using U [[gnu::aligned(4), gnu::may_alias]] = V;
  for (int i = 0; i < Oct<V>::k; ++i) reinterpret_cast<U*>(p)[i] = o.v[i];
}
template <class V>
HF_OCT_INLINE Oct<V> splat8(float x) {
  Oct<V> o;
  for (int i = 0; i < Oct<V>::k; ++i) o.v[i] = V{} + x;
  return o;
}
// Lane-wise a op b for the arithmetic the kernels need.
template <class V, class F>
HF_OCT_INLINE Oct<V> map8(const Oct<V>& a, const Oct<V>& b, F f) {
  Oct<V> o;
  for (int i = 0; i < Oct<V>::k; ++i) o.v[i] = f(a.v[i], b.v[i]);
  return o;
}
template <class V>
HF_OCT_INLINE Oct<V> operator+(const Oct<V>& a, const Oct<V>& b) {
  return map8(a, b, [](V x, V y) { return x + y; });
}
template <class V>
HF_OCT_INLINE Oct<V> operator-(const Oct<V>& a, const Oct<V>& b) {
  return map8(a, b, [](V x, V y) { return x - y; });
}
template <class V>
HF_OCT_INLINE Oct<V> operator*(const Oct<V>& a, const Oct<V>& b) {
  return map8(a, b, [](V x, V y) { return x * y; });
}
template <class V>
HF_OCT_INLINE Oct<V> max8(const Oct<V>& a, const Oct<V>& b) {
  return map8(a, b, [](V x, V y) { return x < y ? y : x; });
}
// The eight partial results p0..p7 combined as ((p0 + p4) + (p1 + p5)) + ((p2 + p6) + (p3 + p7)).
template <class V>
HF_OCT_INLINE float hsum8(const Oct<V>& o) {
  float p[8];
  __builtin_memcpy(p, &o.v, sizeof p);
  return ((p[0] + p[4]) + (p[1] + p[5])) + ((p[2] + p[6]) + (p[3] + p[7]));
}
template <class V>
HF_OCT_INLINE float hmax8(const Oct<V>& o) {
  float p[8];
  __builtin_memcpy(p, &o.v, sizeof p);
  float m = p[0];
  for (int t = 1; t < 8; ++t) m = m < p[t] ? p[t] : m;
  return m;
}

// fast_expf on each lane, the same steps (and results) lane by lane.
template <class V>
HF_OCT_INLINE V fast_expf_lanes(V x) {
  using I = typename IntLanes<V>::type;
  x = x < V{} - 88.0f ? V{} - 88.0f : x;  // NaN compares false and stays NaN, as in fast_expf
  const V big = V{} + 12582912.0f;
  const V n = (x * 1.44269504f + big) - big;
  const V r = (x - n * 0.693359375f) - n * -2.12194440e-4f;
  V p = V{} + 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * r * r + r + 1.0f;
  I ni = __builtin_convertvector(n, I);
  ni = ni < I{} - 127 ? I{} - 127 : ni;
  const I bits = (ni + 127) << 23;
  V scale;
  __builtin_memcpy(&scale, &bits, sizeof scale);
  return p * scale;
}
template <class V>
HF_OCT_INLINE Oct<V> fast_expf8(const Oct<V>& x) {
  Oct<V> o;
  for (int i = 0; i < Oct<V>::k; ++i) o.v[i] = fast_expf_lanes(x.v[i]);
  return o;
}

#undef HF_OCT_INLINE

}  // namespace hf::detail
