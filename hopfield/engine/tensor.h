// Tensor: a handle to dense, row-major N-d data on xtensor storage, plus its autograd state.
//
// A Tensor is cheap to copy (it shares one TensorImpl, like torch::Tensor). Data is always contiguous:
// shape ops that cannot be expressed as a view (permute, slice, ...) produce a contiguous copy, so every
// kernel can walk plain pointers. Storage is an xt::xarray<T> owned through a shared_ptr, so reshape,
// detach and squeeze share it without copying.
//
// This header stays free of xtensor so that most translation units compile fast; conversions to and from
// xtensor containers live in engine/tensor_xt.h.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <iosfwd>
#include <memory>
#include <string>
#include <vector>

namespace hf {

enum class Dtype { Float32, Float64, Bool, Int64 };

using Shape = std::vector<std::size_t>;

const char* dtype_name(Dtype dtype);
std::string shape_str(const Shape& shape);  // "(2, 3, 4)"
std::size_t shape_numel(const Shape& shape);
bool is_floating(Dtype dtype);

class Tensor;
struct Node;
struct TensorImpl;

// The reverse-mode autograd tape entry of one op output (see engine/tape.h).
using BackwardFn = std::function<void(const Tensor& grad_output)>;

class Tensor {
 public:
  Tensor() = default;
  explicit Tensor(std::shared_ptr<TensorImpl> impl);

  bool defined() const { return impl_ != nullptr; }
  const Shape& shape() const;
  std::size_t dim() const;
  std::size_t size(int axis) const;  // negative axes count from the end
  std::size_t numel() const;
  Dtype dtype() const;

  // Raw contiguous data; T must match the dtype (float, double, uint8_t for Bool, int64_t for Int64).
  template <class T> T* data();
  template <class T> const T* data() const;

  double item() const;                                  // a one-element tensor as double
  double at(std::initializer_list<std::size_t> index) const;  // one element as double
  double flat(std::size_t i) const;                      // element i in row-major order as double
  std::vector<double> to_vector() const;                 // all elements as double

  // Autograd.
  bool requires_grad() const;
  Tensor& requires_grad_(bool on = true);  // only on leaves
  bool is_leaf() const;
  Tensor grad() const;      // accumulated gradient of a leaf (undefined before any backward)
  void zero_grad();         // drops the accumulated gradient
  void set_grad(const Tensor& g);
  void backward() const;                       // from a one-element tensor
  void backward(const Tensor& grad_output) const;  // explicit output gradient of this tensor's shape
  Tensor detach() const;    // shares data, no history
  Tensor clone() const;     // differentiable copy with its own storage
  Tensor to(Dtype dtype) const;  // differentiable between float types
  const std::shared_ptr<Node>& grad_fn() const;

  // In-place helpers for optimizers and initialisers (no autograd; the storage is shared with views).
  void copy_(const Tensor& src);   // same shape; casts dtype
  void fill_(double value);

  const std::shared_ptr<TensorImpl>& impl() const { return impl_; }
  bool same(const Tensor& other) const { return impl_ == other.impl_; }

 private:
  std::shared_ptr<TensorImpl> impl_;
};

struct TensorImpl {
  Dtype dtype = Dtype::Float64;
  Shape shape;
  std::shared_ptr<void> owner;  // keeps the xt::xarray<T> alive
  void* ptr = nullptr;          // first element
  bool requires_grad = false;
  Tensor grad;                  // leaves only
  std::shared_ptr<Node> grad_fn;
};

std::ostream& operator<<(std::ostream& os, const Tensor& t);
std::string to_string(const Tensor& t, int precision = 6);

// ----- creation -----
Tensor empty(const Shape& shape, Dtype dtype = Dtype::Float32);
Tensor zeros(const Shape& shape, Dtype dtype = Dtype::Float32);
Tensor ones(const Shape& shape, Dtype dtype = Dtype::Float32);
Tensor full(const Shape& shape, double value, Dtype dtype = Dtype::Float32);
Tensor arange(double start, double stop, double step = 1.0, Dtype dtype = Dtype::Float32);
Tensor scalar_tensor(double value, Dtype dtype = Dtype::Float32);
Tensor zeros_like(const Tensor& t);
Tensor ones_like(const Tensor& t);
Tensor from_vector(const std::vector<double>& values, const Shape& shape, Dtype dtype = Dtype::Float32);
Tensor from_vector(const std::vector<float>& values, const Shape& shape);
// A braced list of numbers: from_vector({1.0, 2.0, 3.0}, {3}) or ({1, 0, 1}, {3}, Dtype::Float64). Without this
// overload the list converts equally well to either vector above and the call is ambiguous.
Tensor from_vector(std::initializer_list<double> values, const Shape& shape, Dtype dtype = Dtype::Float32);
Tensor from_indices(const std::vector<std::int64_t>& values, const Shape& shape);  // Int64
Tensor from_mask(const std::vector<bool>& values, const Shape& shape);              // Bool

// ----- .npy files (NumPy format 1.0, little endian) -----
Tensor load_npy(const std::string& path);  // f4, f8, u1/b1 (-> Bool), i8 (-> Int64)
void save_npy(const std::string& path, const Tensor& t);

}  // namespace hf
