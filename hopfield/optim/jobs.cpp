// Parallel job runner (see optim/jobs.h).
#include "hopfield/optim/jobs.h"

#include <algorithm>
#include <atomic>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

#include "hopfield/engine/check.h"

namespace hf {

void run_jobs(std::size_t n, std::size_t threads, const std::function<void(std::size_t)>& job,
              const std::function<void(std::size_t)>& done) {
  HF_CHECK(threads >= 1, "run_jobs", "threads must be >= 1, got " << threads);
  HF_CHECK(static_cast<bool>(job), "run_jobs", "no job function given");
  std::atomic<std::size_t> next{0};
  std::mutex lock;
  std::exception_ptr failure;
  auto worker = [&]() {
    for (std::size_t i; (i = next++) < n;) {
      try {
        job(i);
        std::lock_guard<std::mutex> guard(lock);
        if (failure) return;  // another job failed: its error is what the caller sees
        if (done) done(i);
      } catch (...) {
        std::lock_guard<std::mutex> guard(lock);
        if (!failure) failure = std::current_exception();
        next = n;
      }
    }
  };
  const std::size_t t = std::min(threads, n);
  if (t <= 1) {
    worker();
  } else {
    std::vector<std::thread> pool;
    for (std::size_t k = 0; k < t; ++k) pool.emplace_back(worker);
    for (auto& th : pool) th.join();
  }
  if (failure) std::rethrow_exception(failure);
}

}  // namespace hf
