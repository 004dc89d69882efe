// Up to a fixed number of threads, started as work needs them, that run blocking work (component calls on synchronous client
// libraries) so that the I/O threads of the HTTP and gRPC servers never block.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace dapr {

class WorkerPool {
 public:
  // threads: the most that may run at once.
  explicit WorkerPool(size_t threads);
  ~WorkerPool();
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  void Post(std::function<void()> task);
  // Runs what is queued, then joins the threads; Post after Stop is ignored.
  void Stop();
  // Threads started so far.
  size_t Threads() const;

 private:
  void Run();

  const size_t max_threads_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  size_t idle_ = 0;  // threads waiting for a task
  std::deque<std::function<void()>> tasks_;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace dapr
