// Tensor storage, creation, element access, printing and the autograd entry points.
#include "hopfield/engine/tensor.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <iomanip>
#include <mutex>
#include <new>
#include <ostream>
#include <sstream>
#include <unordered_map>

#include <xtensor/xarray.hpp>

#include "hopfield/engine/check.h"
#include "hopfield/engine/kernel.h"
#include "hopfield/engine/ops.h"
#include "hopfield/engine/tape.h"

namespace hf {

const char* dtype_name(Dtype dtype) {
  switch (dtype) {
    case Dtype::Float32: return "float32";
    case Dtype::Float64: return "float64";
    case Dtype::Bool: return "bool";
    case Dtype::Int64: return "int64";
  }
  return "?";
}

bool is_floating(Dtype dtype) { return dtype == Dtype::Float32 || dtype == Dtype::Float64; }

std::string shape_str(const Shape& shape) {
  std::ostringstream os;
  os << "(";
  for (std::size_t i = 0; i < shape.size(); ++i) os << (i ? ", " : "") << shape[i];
  if (shape.size() == 1) os << ",";
  os << ")";
  return os.str();
}

std::size_t shape_numel(const Shape& shape) {
  std::size_t n = 1;
  for (auto s : shape) n *= s;
  return n;
}

namespace {

// ----- storage cache -----
// A training step allocates and frees the same large buffers (activations, gradients) every step. glibc
// serves blocks of more than its mmap threshold with a fresh mmap and gives them back with munmap on free,
// so every step page-faults through all of its memory again (a third of the step time in the benchmarks).
// Freed buffers of at least kMinCachedBytes are therefore kept in per-size-class free lists and handed out
// again; size classes are 8 steps per power of two (at most 12.5% waste). The cache holds at most
// kMaxCachedBytes; beyond that buffers go back to the system. Under AddressSanitizer the cache is off, so
// a use after free is still reported.
#if defined(__SANITIZE_ADDRESS__)
#define HF_STORAGE_CACHE 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define HF_STORAGE_CACHE 0
#endif
#endif
#ifndef HF_STORAGE_CACHE
#define HF_STORAGE_CACHE 1
#endif

constexpr std::size_t kMinCachedBytes = std::size_t{1} << 16;
constexpr std::size_t kMaxCachedBytes = std::size_t{1} << 30;
constexpr std::size_t kStorageAlign = 64;  // a cache line: aligned rows for the vectorised kernels

class StorageCache {
 public:
  static StorageCache& instance() {
    static StorageCache* cache = new StorageCache();  // never destroyed: tensors may outlive static objects
    return *cache;
  }

  // Bytes actually allocated for a request (the size class).
  static std::size_t size_class(std::size_t bytes) {
    if (bytes < kMinCachedBytes) return (bytes + kStorageAlign - 1) / kStorageAlign * kStorageAlign;
    const std::size_t step = std::bit_floor(bytes) / 8;
    return (bytes + step - 1) / step * step;
  }

  void* get(std::size_t bytes) {
    const std::size_t c = size_class(bytes == 0 ? 1 : bytes);
    if (HF_STORAGE_CACHE && c >= kMinCachedBytes) {
      std::lock_guard<std::mutex> lock(mutex_);
      auto it = free_.find(c);
      if (it != free_.end() && !it->second.empty()) {
        void* p = it->second.back();
        it->second.pop_back();
        cached_ -= c;
        return p;
      }
    }
    void* p = std::aligned_alloc(kStorageAlign, c);
    if (!p) throw std::bad_alloc();
    return p;
  }

  void put(void* p, std::size_t bytes) noexcept {
    const std::size_t c = size_class(bytes == 0 ? 1 : bytes);
    if (HF_STORAGE_CACHE && c >= kMinCachedBytes) {
      std::lock_guard<std::mutex> lock(mutex_);
      if (cached_ + c <= kMaxCachedBytes) {
        try {
          free_[c].push_back(p);
          cached_ += c;
          return;
        } catch (const std::bad_alloc&) {  // no room for the list entry: release the buffer instead
        }
      }
    }
    std::free(p);
  }

 private:
  std::mutex mutex_;
  std::unordered_map<std::size_t, std::vector<void*>> free_;  // size class -> free buffers
  std::size_t cached_ = 0;
};

// The allocator of the xtensor storage: buffers come from and go back to the StorageCache.
template <class T>
struct CachedAllocator {
  using value_type = T;
  CachedAllocator() noexcept = default;
  template <class U>
  CachedAllocator(const CachedAllocator<U>&) noexcept {}
  T* allocate(std::size_t n) { return static_cast<T*>(StorageCache::instance().get(n * sizeof(T))); }
  void deallocate(T* p, std::size_t n) noexcept { StorageCache::instance().put(p, n * sizeof(T)); }
  template <class U>
  bool operator==(const CachedAllocator<U>&) const noexcept { return true; }
  template <class U>
  bool operator!=(const CachedAllocator<U>&) const noexcept { return false; }
};

template <class T>
using Storage = xt::xarray<T, xt::layout_type::row_major, CachedAllocator<T>>;

template <class T>
std::shared_ptr<TensorImpl> make_impl(const Shape& shape, Dtype dtype) {
  auto impl = std::make_shared<TensorImpl>();
  impl->dtype = dtype;
  impl->shape = shape;
  // 1-D xtensor storage of numel elements: the Tensor keeps the logical shape itself, so views
  // (reshape, squeeze, detach) share one buffer.
  auto storage = std::make_shared<Storage<T>>(Storage<T>::from_shape({shape_numel(shape)}));
  impl->ptr = storage->data();
  impl->owner = std::move(storage);
  return impl;
}

template <class F>
decltype(auto) dispatch_any(Dtype dtype, F&& f) {
  switch (dtype) {
    case Dtype::Float32: return f(float{});
    case Dtype::Float64: return f(double{});
    case Dtype::Bool: return f(std::uint8_t{});
    case Dtype::Int64: return f(std::int64_t{});
  }
  return f(double{});
}

std::size_t elem_size(Dtype d) {
  return dispatch_any(d, [](auto tag) { return sizeof(tag); });
}

}  // namespace

namespace detail {
Tensor alloc(const Shape& shape, Dtype dtype) {
  return Tensor(dispatch_any(dtype, [&](auto tag) { return make_impl<decltype(tag)>(shape, dtype); }));
}
}  // namespace detail

Tensor::Tensor(std::shared_ptr<TensorImpl> impl) : impl_(std::move(impl)) {}

static const TensorImpl& get(const std::shared_ptr<TensorImpl>& impl, const char* what) {
  HF_CHECK(impl != nullptr, what, "the tensor is undefined (default-constructed)");
  return *impl;
}

const Shape& Tensor::shape() const { return get(impl_, "Tensor::shape").shape; }
std::size_t Tensor::dim() const { return shape().size(); }
std::size_t Tensor::size(int axis) const {
  return shape()[detail::norm_axis(axis, dim(), "Tensor::size")];
}
std::size_t Tensor::numel() const { return shape_numel(shape()); }
Dtype Tensor::dtype() const { return get(impl_, "Tensor::dtype").dtype; }

template <class T>
static constexpr Dtype dtype_of() {
  if constexpr (std::is_same_v<T, float>) return Dtype::Float32;
  else if constexpr (std::is_same_v<T, double>) return Dtype::Float64;
  else if constexpr (std::is_same_v<T, std::uint8_t>) return Dtype::Bool;
  else return Dtype::Int64;
}

template <class T>
T* Tensor::data() {
  HF_CHECK(dtype() == dtype_of<T>(), "Tensor::data",
           "requested " << dtype_name(dtype_of<T>()) << " but the tensor is " << dtype_name(dtype()));
  return static_cast<T*>(impl_->ptr);
}
template <class T>
const T* Tensor::data() const {
  HF_CHECK(dtype() == dtype_of<T>(), "Tensor::data",
           "requested " << dtype_name(dtype_of<T>()) << " but the tensor is " << dtype_name(dtype()));
  return static_cast<const T*>(impl_->ptr);
}
template float* Tensor::data<float>();
template double* Tensor::data<double>();
template std::uint8_t* Tensor::data<std::uint8_t>();
template std::int64_t* Tensor::data<std::int64_t>();
template const float* Tensor::data<float>() const;
template const double* Tensor::data<double>() const;
template const std::uint8_t* Tensor::data<std::uint8_t>() const;
template const std::int64_t* Tensor::data<std::int64_t>() const;

double Tensor::flat(std::size_t i) const {
  HF_CHECK(i < numel(), "Tensor::flat", "index " << i << " out of range for shape " << shape_str(shape()));
  return dispatch_any(dtype(), [&](auto tag) {
    return static_cast<double>(static_cast<const decltype(tag)*>(impl_->ptr)[i]);
  });
}

double Tensor::item() const {
  HF_CHECK(numel() == 1, "Tensor::item", "needs a one-element tensor, got shape " << shape_str(shape()));
  return flat(0);
}

double Tensor::at(std::initializer_list<std::size_t> index) const {
  const Shape& s = shape();
  HF_CHECK(index.size() == s.size(), "Tensor::at",
           index.size() << " indices for a tensor of shape " << shape_str(s));
  std::size_t off = 0, k = 0;
  for (auto i : index) {
    HF_CHECK(i < s[k], "Tensor::at", "index " << i << " out of range on axis " << k << " of " << shape_str(s));
    off = off * s[k] + i;
    ++k;
  }
  return flat(off);
}

std::vector<double> Tensor::to_vector() const {
  std::vector<double> v(numel());
  dispatch_any(dtype(), [&](auto tag) {
    auto p = static_cast<const decltype(tag)*>(impl_->ptr);
    for (std::size_t i = 0; i < v.size(); ++i) v[i] = static_cast<double>(p[i]);
    return 0;
  });
  return v;
}

// ----- autograd -----
bool Tensor::requires_grad() const { return get(impl_, "Tensor::requires_grad").requires_grad; }

Tensor& Tensor::requires_grad_(bool on) {
  get(impl_, "Tensor::requires_grad_");
  HF_CHECK(impl_->grad_fn == nullptr, "Tensor::requires_grad_",
           "only leaf tensors can change requires_grad (this one is the output of "
               << impl_->grad_fn->op << ")");
  HF_CHECK(!on || is_floating(impl_->dtype), "Tensor::requires_grad_",
           "only float tensors can require gradients, this one is " << dtype_name(impl_->dtype));
  impl_->requires_grad = on;
  return *this;
}

bool Tensor::is_leaf() const { return get(impl_, "Tensor::is_leaf").grad_fn == nullptr; }
Tensor Tensor::grad() const { return get(impl_, "Tensor::grad").grad; }
void Tensor::zero_grad() {
  get(impl_, "Tensor::zero_grad");
  impl_->grad = Tensor();
}
void Tensor::set_grad(const Tensor& g) {
  get(impl_, "Tensor::set_grad");
  HF_CHECK(!g.defined() || (g.shape() == shape() && g.dtype() == dtype()), "Tensor::set_grad",
           "gradient " << shape_str(g.shape()) << " " << dtype_name(g.dtype()) << " does not match tensor "
                       << shape_str(shape()) << " " << dtype_name(dtype()));
  impl_->grad = g;
}
const std::shared_ptr<Node>& Tensor::grad_fn() const { return get(impl_, "Tensor::grad_fn").grad_fn; }

void Tensor::backward() const {
  HF_CHECK(numel() == 1, "backward",
           "backward() without a gradient needs a one-element output, got shape " << shape_str(shape())
                                                                                  << "; pass grad_output");
  run_backward(*this, ones(shape(), dtype()));
}

void Tensor::backward(const Tensor& grad_output) const {
  HF_CHECK(grad_output.defined() && grad_output.shape() == shape(), "backward",
           "grad_output of shape " << (grad_output.defined() ? shape_str(grad_output.shape()) : "undefined")
                                   << " for an output of shape " << shape_str(shape()));
  HF_CHECK(grad_output.dtype() == dtype(), "backward",
           "grad_output is " << dtype_name(grad_output.dtype()) << ", output is " << dtype_name(dtype()));
  run_backward(*this, grad_output);
}

Tensor Tensor::detach() const {
  auto impl = std::make_shared<TensorImpl>();
  const auto& src = get(impl_, "Tensor::detach");
  impl->dtype = src.dtype;
  impl->shape = src.shape;
  impl->owner = src.owner;
  impl->ptr = src.ptr;
  return Tensor(impl);
}

static Tensor copy_data(const Tensor& src, Dtype dtype) {
  Tensor out = detail::alloc(src.shape(), dtype);
  dispatch_any(dtype, [&](auto dst_tag) {
    using D = decltype(dst_tag);
    D* d = static_cast<D*>(out.impl()->ptr);
    return dispatch_any(src.dtype(), [&](auto src_tag) {
      using S = decltype(src_tag);
      const S* s = static_cast<const S*>(src.impl()->ptr);
      for (std::size_t i = 0, n = src.numel(); i < n; ++i) d[i] = static_cast<D>(s[i]);
      return 0;
    });
  });
  return out;
}

Tensor Tensor::clone() const {
  Tensor out = copy_data(*this, dtype());
  Tensor self = *this;
  return record(out, "clone", {self}, [self](const Tensor& g) { accumulate_grad(self, g); });
}

Tensor Tensor::to(Dtype target) const {
  if (target == dtype()) return *this;
  Tensor out = copy_data(*this, target);
  if (!is_floating(target) || !is_floating(dtype())) return out;  // no gradient through casts to masks
  Tensor self = *this;
  return record(out, "to", {self}, [self](const Tensor& g) { accumulate_grad(self, copy_data(g, self.dtype())); });
}

void Tensor::copy_(const Tensor& src) {
  HF_CHECK(src.shape() == shape(), "Tensor::copy_",
           "source " << shape_str(src.shape()) << " does not match destination " << shape_str(shape()));
  Tensor tmp = copy_data(src, dtype());
  std::memcpy(impl_->ptr, tmp.impl()->ptr, numel() * elem_size(dtype()));
}

void Tensor::fill_(double value) {
  dispatch_any(dtype(), [&](auto tag) {
    using T = decltype(tag);
    T* p = static_cast<T*>(impl_->ptr);
    std::fill(p, p + numel(), static_cast<T>(value));
    return 0;
  });
}

// ----- printing -----
std::string to_string(const Tensor& t, int precision) {
  if (!t.defined()) return "Tensor(undefined)";
  std::ostringstream os;
  os << std::setprecision(precision);
  const Shape& s = t.shape();
  auto strides = detail::strides_of(s);
  const std::size_t n = t.numel();
  const std::size_t limit = 1000;  // like torch, summarise big tensors
  os << "tensor(";
  if (s.empty()) {
    os << t.flat(0);
  } else if (n > limit) {
    os << "[" << t.flat(0) << ", " << t.flat(1) << ", ..., " << t.flat(n - 1) << "]";
  } else {
    for (std::size_t i = 0; i < n; ++i) {
      for (std::size_t d = 0; d < s.size(); ++d)
        if (i % strides[d] == 0 && (i / strides[d]) % s[d] == 0) os << "[";
      os << t.flat(i);
      std::size_t closed = 0;
      for (std::size_t d = s.size(); d-- > 0;) {
        if ((i + 1) % strides[d] == 0 && ((i + 1) / strides[d]) % s[d] == 0) {
          os << "]";
          ++closed;
        } else {
          break;
        }
      }
      if (i + 1 < n) os << (closed ? ",\n       " : ", ");
    }
  }
  os << ", shape=" << shape_str(s) << ", dtype=" << dtype_name(t.dtype());
  if (t.requires_grad()) os << (t.grad_fn() ? std::string(", grad_fn=") + t.grad_fn()->op : ", requires_grad=true");
  os << ")";
  return os.str();
}

std::ostream& operator<<(std::ostream& os, const Tensor& t) { return os << to_string(t); }

// ----- creation -----
Tensor empty(const Shape& shape, Dtype dtype) { return detail::alloc(shape, dtype); }

Tensor full(const Shape& shape, double value, Dtype dtype) {
  Tensor t = detail::alloc(shape, dtype);
  t.fill_(value);
  return t;
}
Tensor zeros(const Shape& shape, Dtype dtype) { return full(shape, 0.0, dtype); }
Tensor ones(const Shape& shape, Dtype dtype) { return full(shape, 1.0, dtype); }
Tensor scalar_tensor(double value, Dtype dtype) { return full({}, value, dtype); }
Tensor zeros_like(const Tensor& t) { return zeros(t.shape(), t.dtype()); }
Tensor ones_like(const Tensor& t) { return ones(t.shape(), t.dtype()); }

Tensor arange(double start, double stop, double step, Dtype dtype) {
  HF_CHECK(step != 0.0 && std::isfinite(start) && std::isfinite(stop) && std::isfinite(step), "arange",
           "start=" << start << " stop=" << stop << " step=" << step << ": step must be nonzero, all finite");
  double count = std::ceil((stop - start) / step);
  std::size_t n = count > 0 ? static_cast<std::size_t>(count) : 0;
  Tensor t = detail::alloc({n}, dtype);
  dispatch_any(dtype, [&](auto tag) {
    using T = decltype(tag);
    T* p = static_cast<T*>(t.impl()->ptr);
    for (std::size_t i = 0; i < n; ++i) p[i] = static_cast<T>(start + static_cast<double>(i) * step);
    return 0;
  });
  return t;
}

Tensor from_vector(const std::vector<double>& values, const Shape& shape, Dtype dtype) {
  HF_CHECK(values.size() == shape_numel(shape), "from_vector",
           values.size() << " values for shape " << shape_str(shape) << " (" << shape_numel(shape)
                         << " elements)");
  Tensor t = detail::alloc(shape, dtype);
  dispatch_any(dtype, [&](auto tag) {
    using T = decltype(tag);
    T* p = static_cast<T*>(t.impl()->ptr);
    for (std::size_t i = 0; i < values.size(); ++i) p[i] = static_cast<T>(values[i]);
    return 0;
  });
  return t;
}

Tensor from_vector(const std::vector<float>& values, const Shape& shape) {
  HF_CHECK(values.size() == shape_numel(shape), "from_vector",
           values.size() << " values for shape " << shape_str(shape));
  Tensor t = detail::alloc(shape, Dtype::Float32);
  std::copy(values.begin(), values.end(), static_cast<float*>(t.impl()->ptr));
  return t;
}

Tensor from_vector(std::initializer_list<double> values, const Shape& shape, Dtype dtype) {
  return from_vector(std::vector<double>(values), shape, dtype);
}

Tensor from_indices(const std::vector<std::int64_t>& values, const Shape& shape) {
  HF_CHECK(values.size() == shape_numel(shape), "from_indices",
           values.size() << " values for shape " << shape_str(shape));
  Tensor t = detail::alloc(shape, Dtype::Int64);
  std::copy(values.begin(), values.end(), static_cast<std::int64_t*>(t.impl()->ptr));
  return t;
}

Tensor from_mask(const std::vector<bool>& values, const Shape& shape) {
  HF_CHECK(values.size() == shape_numel(shape), "from_mask",
           values.size() << " values for shape " << shape_str(shape));
  Tensor t = detail::alloc(shape, Dtype::Bool);
  auto* p = static_cast<std::uint8_t*>(t.impl()->ptr);
  for (std::size_t i = 0; i < values.size(); ++i) p[i] = values[i] ? 1 : 0;
  return t;
}

}  // namespace hf
