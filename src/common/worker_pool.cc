#include "common/worker_pool.h"

namespace dapr {

WorkerPool::WorkerPool(size_t threads) : max_threads_(threads == 0 ? 1 : threads) {}

WorkerPool::~WorkerPool() { Stop(); }

// A thread starts only when a task finds every started thread busy: an idle sidecar (or
// one whose stores never block) keeps no threads, stacks or allocator arenas for them.
void WorkerPool::Post(std::function<void()> task) {
  {
    std::lock_guard lock(mutex_);
    if (stopping_) return;
    tasks_.push_back(std::move(task));
    if (idle_ < tasks_.size() && threads_.size() < max_threads_) {
      threads_.emplace_back([this] { Run(); });
      return;  // the new thread takes a task without being woken
    }
  }
  wake_.notify_one();
}

void WorkerPool::Stop() {
  {
    std::lock_guard lock(mutex_);
    if (stopping_ && threads_.empty()) return;
    stopping_ = true;
  }
  wake_.notify_all();
  // No thread starts once stopping_ is set, so threads_ no longer changes.
  for (auto& thread : threads_) {
    if (thread.joinable()) thread.join();
  }
  threads_.clear();
}

size_t WorkerPool::Threads() const {
  std::lock_guard lock(mutex_);
  return threads_.size();
}

void WorkerPool::Run() {
  for (;;) {
    std::function<void()> task;
    {
      std::unique_lock lock(mutex_);
      ++idle_;
      wake_.wait(lock, [this] { return stopping_ || !tasks_.empty(); });
      --idle_;
      if (tasks_.empty()) return;
      task = std::move(tasks_.front());
      tasks_.pop_front();
    }
    task();
  }
}

}  // namespace dapr
