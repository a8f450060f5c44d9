// A parallel job runner for independent units of work: cross-validation folds, ensemble members, datasets.
//
//   std::vector<FoldResult> results(folds.size());
//   run_jobs(folds.size(), threads,
//            [&](std::size_t i) { results[i] = train_fold(folds[i]); },      // on a worker thread
//            [&](std::size_t i) { print(results[i]); progress.update(); });  // one at a time, in finishing order
//
// Jobs are handed out in index order to `threads` workers (threads = 1: all of them on the calling thread, in
// order). The first exception stops handing out jobs; the running ones finish, then it is rethrown on the
// calling thread (the others are dropped). Each job must write only its own result slot: results do not
// depend on the thread count or on which thread ran a job, as long as each job seeds its own generators.
#pragma once

#include <cstddef>
#include <functional>

namespace hf {

// job(i) for i in [0, n); done(i) (optional) right after job(i) returned, serialised under a lock: the
// place for printing, logging and checkpointing a finished unit.
void run_jobs(std::size_t n, std::size_t threads, const std::function<void(std::size_t)>& job,
              const std::function<void(std::size_t)>& done = {});

}  // namespace hf
