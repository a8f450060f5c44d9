// The pool behind parallel_for: workers sleep on a condition variable between regions (no spinning, so
// they never compete with OpenBLAS's own threads for the cores), a region hands out chunks through an
// atomic counter, and the caller works on chunks too, then waits until every claimed chunk is finished.
#include "hopfield/engine/parallel.h"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

#include "hopfield/engine/blas.h"

namespace hf {

namespace {

thread_local bool in_region = false;

class Pool {
 public:
  ~Pool() {
    {
      std::lock_guard<std::mutex> lk(m_);
      stop_ = true;
    }
    wake_.notify_all();
    for (std::thread& t : workers_) t.join();
  }

  // Tries to run a region; false when another thread owns the pool (the caller then runs inline).
  bool run(std::size_t n, std::size_t grain, std::size_t threads, const std::function<void(std::size_t, std::size_t)>& f) {
    std::unique_lock<std::mutex> owner(owner_, std::try_to_lock);
    if (!owner.owns_lock()) return false;
    while (workers_.size() + 1 < threads) workers_.emplace_back([this] { work(); });
    {
      std::lock_guard<std::mutex> lk(m_);
      f_ = &f;
      n_ = n;
      chunk_ = std::max(grain, (n + threads * 4 - 1) / (threads * 4));  // a few chunks per thread: balance
      next_.store(0);
      pending_ = (n + chunk_ - 1) / chunk_;
      error_ = nullptr;
      slots_ = threads - 1;  // how many workers may join this region
      ++generation_;
    }
    wake_.notify_all();
    chunks();
    std::unique_lock<std::mutex> lk(m_);
    done_.wait(lk, [this] { return pending_ == 0 && joined_ == 0; });
    slots_ = 0;  // a worker waking late sits this region out
    f_ = nullptr;
    if (error_) std::rethrow_exception(error_);
    return true;
  }

 private:
  void chunks() {
    in_region = true;
    for (;;) {
      const std::size_t b = next_.fetch_add(chunk_);
      if (b >= n_) break;
      std::exception_ptr err;
      try {
        (*f_)(b, std::min(n_, b + chunk_));
      } catch (...) {
        err = std::current_exception();
      }
      std::lock_guard<std::mutex> lk(m_);
      if (err && !error_) error_ = err;
      if (--pending_ == 0) done_.notify_all();
    }
    in_region = false;
  }

  void work() {
    std::size_t seen = 0;
    for (;;) {
      {
        std::unique_lock<std::mutex> lk(m_);
        wake_.wait(lk, [&] { return stop_ || (generation_ != seen && slots_ > 0); });
        if (stop_) return;
        seen = generation_;
        --slots_;
        ++joined_;
      }
      chunks();
      std::lock_guard<std::mutex> lk(m_);
      if (--joined_ == 0) done_.notify_all();
    }
  }

  std::mutex owner_;  // held by the thread whose region is running
  std::mutex m_;
  std::condition_variable wake_, done_;
  std::vector<std::thread> workers_;
  const std::function<void(std::size_t, std::size_t)>* f_ = nullptr;
  std::size_t n_ = 0, chunk_ = 1, pending_ = 0, slots_ = 0, joined_ = 0, generation_ = 0;
  std::atomic<std::size_t> next_{0};
  std::exception_ptr error_;
  bool stop_ = false;
};

Pool& pool() {
  static Pool p;
  return p;
}

}  // namespace

namespace {

void run_region(std::size_t n, std::size_t grain, int want, const std::function<void(std::size_t, std::size_t)>& f) {
  if (n == 0) return;
  grain = std::max<std::size_t>(grain, 1);
  const std::size_t threads = std::min<std::size_t>(want > 1 ? static_cast<std::size_t>(want) : 1, n / grain);
  if (threads < 2 || in_region || !pool().run(n, grain, threads, f)) f(0, n);
}

}  // namespace

void parallel_for(std::size_t n, std::size_t grain, const std::function<void(std::size_t, std::size_t)>& f) {
  run_region(n, grain, blas::num_threads(), f);
}

void parallel_gemm_for(std::size_t n, const std::function<void(std::size_t, std::size_t)>& f) {
  const int want = blas::num_threads();
  if (want < 2 || n < 2 || in_region) {
    f(0, n);
    return;
  }
  blas::set_num_threads(1);
  try {
    run_region(n, 1, want, f);
  } catch (...) {
    blas::set_num_threads(want);
    throw;
  }
  blas::set_num_threads(want);
}

}  // namespace hf
