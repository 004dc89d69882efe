#include "components/state/redis/redis_connection.h"

#include <pthread.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <cerrno>
#include <csignal>
#include <ctime>

namespace dapr::state {
namespace {

timeval ToTimeval(std::chrono::milliseconds duration) {
  const long long ms = duration.count();
  return timeval{static_cast<time_t>(ms / 1000), static_cast<suseconds_t>((ms % 1000) * 1000)};
}

// hiredis applies one timeout to both directions; Dapr has a separate writeTimeout.
bool SetSendTimeout(int fd, std::chrono::milliseconds duration) {
  timeval tv = ToTimeval(duration);
  return setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) == 0;
}

// hiredis writes with write(2), so a peer that closed the socket raises SIGPIPE, which would
// kill the whole sidecar. Blocking it for this thread, and swallowing one raised meanwhile,
// keeps the component safe without changing the process's signal handling.
// When the process already ignores SIGPIPE (daprd does, at start-up) the guard does nothing,
// which saves four system calls per command on the hot path.
bool SigpipeIgnored() {
  static const bool ignored = [] {
    struct sigaction current {};
    return sigaction(SIGPIPE, nullptr, &current) == 0 && current.sa_handler == SIG_IGN;
  }();
  return ignored;
}

class SigpipeGuard {
 public:
  SigpipeGuard() : active_(!SigpipeIgnored()) {
    if (!active_) return;
    sigemptyset(&pipe_);
    sigaddset(&pipe_, SIGPIPE);
    already_pending_ = IsPending();
    pthread_sigmask(SIG_BLOCK, &pipe_, &previous_mask_);
  }
  ~SigpipeGuard() {
    if (!active_) return;
    if (!already_pending_ && IsPending()) {
      timespec zero{0, 0};
      sigtimedwait(&pipe_, nullptr, &zero);
    }
    pthread_sigmask(SIG_SETMASK, &previous_mask_, nullptr);
  }
  SigpipeGuard(const SigpipeGuard&) = delete;
  SigpipeGuard& operator=(const SigpipeGuard&) = delete;

 private:
  static bool IsPending() {
    sigset_t pending;
    sigemptyset(&pending);
    sigpending(&pending);
    return sigismember(&pending, SIGPIPE) == 1;
  }
  bool active_;
  sigset_t pipe_;
  sigset_t previous_mask_;
  bool already_pending_ = false;
};

// hiredis wants parallel arrays of pointers and lengths; lengths make NUL bytes safe.
struct Argv {
  explicit Argv(const RedisArgs& args) {
    for (const auto& arg : args) {
      pointers.push_back(arg.data());
      lengths.push_back(arg.size());
    }
  }
  int count() const { return static_cast<int>(pointers.size()); }
  std::vector<const char*> pointers;
  std::vector<size_t> lengths;
};

std::string ReplyText(const redisReply& reply) {
  if (reply.str == nullptr) return "unexpected reply type " + std::to_string(reply.type);
  return std::string(reply.str, reply.len);
}

// A server message should never echo the password, but make sure of it.
std::string Redact(std::string text, const std::string& secret) {
  if (secret.empty()) return text;
  for (size_t at = text.find(secret); at != std::string::npos; at = text.find(secret, at)) {
    text.replace(at, secret.size(), "***");
  }
  return text;
}

}  // namespace

RedisConnection::RedisConnection(redisContext* context, std::string address)
    : context_(context), address_(std::move(address)) {}

RedisConnection::~RedisConnection() { redisFree(context_); }

Result<std::unique_ptr<RedisConnection>> RedisConnection::Open(const RedisConnectOptions& options) {
  const std::string address = options.Address();
  redisContext* context =
      redisConnectWithTimeout(options.host.c_str(), options.port, ToTimeval(options.dial_timeout));
  if (context == nullptr) return Unavailable("redis " + address + " unreachable: out of memory");
  std::unique_ptr<RedisConnection> connection(new RedisConnection(context, address));
  if (context->err != 0) {
    return Unavailable("redis " + address + " unreachable: " + context->errstr);
  }
  if (redisSetTimeout(context, ToTimeval(options.read_timeout)) != REDIS_OK ||
      !SetSendTimeout(context->fd, options.write_timeout)) {
    return Unavailable("redis " + address + ": cannot set socket timeouts");
  }
  redisEnableKeepAlive(context);
  Status status = connection->Handshake(options);
  if (!status.ok()) return status;
  return connection;
}

Status RedisConnection::Handshake(const RedisConnectOptions& options) {
  if (!options.password.empty()) {
    RedisArgs auth = {"AUTH"};
    if (!options.username.empty()) auth.push_back(options.username);
    auth.push_back(options.password);
    auto reply = Command(auth);
    if (!reply.ok()) return reply.error();
    if ((*reply)->type == REDIS_REPLY_ERROR) {
      return Status(StatusCode::kUnauthenticated,
                    "redis " + address_ +
                        ": authentication failed: " + Redact(ReplyText(**reply), options.password));
    }
  }
  if (options.db != 0) {
    auto reply = Command({"SELECT", std::to_string(options.db)});
    if (!reply.ok()) return reply.error();
    if ((*reply)->type == REDIS_REPLY_ERROR) {
      return InvalidArgument("metadata redisDB: redis " + address_ + " refused SELECT " +
                             std::to_string(options.db) + ": " + ReplyText(**reply));
    }
  }
  return Status::Ok();
}

Status RedisConnection::ConnectionError() {
  const int saved_errno = errno;
  failed_ = true;
  if (context_->err == 0) return Internal("redis " + address_ + ": out of memory");
  timed_out_ =
      context_->err == REDIS_ERR_IO && (saved_errno == EAGAIN || saved_errno == EWOULDBLOCK);
  std::string reason = timed_out_ ? "timed out waiting for the server" : context_->errstr;
  return Unavailable("redis " + address_ + " unreachable: " + reason);
}

Result<ReplyPtr> RedisConnection::Command(const RedisArgs& args) {
  if (broken()) return Unavailable("redis " + address_ + " unreachable: connection is broken");
  Argv argv(args);
  SigpipeGuard guard;
  errno = 0;
  void* reply = redisCommandArgv(context_, argv.count(), argv.pointers.data(), argv.lengths.data());
  if (reply == nullptr) return ConnectionError();
  return ReplyPtr(static_cast<redisReply*>(reply));
}

Result<std::vector<ReplyPtr>> RedisConnection::Pipeline(const std::vector<RedisArgs>& commands) {
  if (broken()) return Unavailable("redis " + address_ + " unreachable: connection is broken");
  for (const auto& args : commands) {
    Argv argv(args);
    if (redisAppendCommandArgv(context_, argv.count(), argv.pointers.data(), argv.lengths.data()) !=
        REDIS_OK) {
      return ConnectionError();
    }
  }
  SigpipeGuard guard;
  std::vector<ReplyPtr> replies;
  replies.reserve(commands.size());
  for (size_t i = 0; i < commands.size(); ++i) {
    errno = 0;
    void* reply = nullptr;
    if (redisGetReply(context_, &reply) != REDIS_OK || reply == nullptr) return ConnectionError();
    replies.emplace_back(static_cast<redisReply*>(reply));
  }
  return replies;
}

RedisConnectionPool::Lease::~Lease() {
  if (connection_) pool_->Release(std::move(connection_));
}

RedisConnectionPool::RedisConnectionPool(RedisConnectOptions options, int max_size)
    : options_(std::move(options)), max_size_(max_size) {}

RedisConnectionPool::~RedisConnectionPool() { Close(); }

Result<RedisConnectionPool::Lease> RedisConnectionPool::Acquire() {
  std::unique_lock lock(mutex_);
  available_.wait(lock, [&] { return closed_ || !idle_.empty() || open_count_ < max_size_; });
  if (closed_) return FailedPrecondition("redis state store is closed");
  if (!idle_.empty()) {
    auto connection = std::move(idle_.back());
    idle_.pop_back();
    return Lease(this, std::move(connection));
  }
  ++open_count_;
  lock.unlock();
  auto connection = RedisConnection::Open(options_);
  if (connection.ok()) return Lease(this, std::move(connection).value());
  lock.lock();
  --open_count_;
  lock.unlock();
  available_.notify_one();
  return connection.error();
}

void RedisConnectionPool::Release(std::unique_ptr<RedisConnection> connection) {
  std::unique_ptr<RedisConnection> discarded;  // freed after the lock is released
  {
    std::lock_guard lock(mutex_);
    if (closed_ || connection->broken()) {
      --open_count_;
      discarded = std::move(connection);
    } else {
      idle_.push_back(std::move(connection));
    }
  }
  available_.notify_one();
}

void RedisConnectionPool::DropIdle() {
  std::vector<std::unique_ptr<RedisConnection>> dropped;
  {
    std::lock_guard lock(mutex_);
    open_count_ -= static_cast<int>(idle_.size());
    dropped.swap(idle_);
  }
  available_.notify_all();
}

void RedisConnectionPool::Close() {
  {
    std::lock_guard lock(mutex_);
    closed_ = true;
  }
  DropIdle();
}

}  // namespace dapr::state
