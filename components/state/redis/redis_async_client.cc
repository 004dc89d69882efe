#include "components/state/redis/redis_async_client.h"

#include <arpa/inet.h>
#include <hiredis/async.h>
#include <hiredis/read.h>
#include <netdb.h>

#include <array>

#include <boost/asio/bind_executor.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>

// hiredis 0.14 exports this from async.c but leaves it out of its headers: it hands each
// complete reply in the reader to its callback, and disconnects when the reader has failed.
// redisAsyncHandleRead is the same call after hiredis' own read into the reader.
extern "C" void redisProcessCallbacks(redisAsyncContext* ac);

namespace dapr::state {
namespace asio = boost::asio;
using SteadyClock = std::chrono::steady_clock;

// Follows hiredis' wishes for one socket: waits for readability or writability while hiredis
// wants it, and lets hiredis read or write when the socket is ready. hiredis owns the fd.
struct RedisAsyncClient::Watcher : std::enable_shared_from_this<Watcher> {
  using Descriptor = asio::posix::basic_stream_descriptor<Strand>;

  Watcher(Strand strand, int fd, redisAsyncContext* c) : descriptor(strand, fd), context(c) {}

  // Reads into the watcher's own buffer and hands the bytes to hiredis' reader. Asio's read
  // is tried at once and, when nothing is there yet, waits on the socket's edge with no
  // further system call; a wait for readability (async_wait) instead re-arms the socket with
  // an epoll_ctl every time, and each re-arm also reports the socket writable for nothing.
  // A short read means the socket is drained, so no FIONREAD is needed to ask.
  void WaitRead() {
    if (closed || read_waiting || !want_read) return;
    if (!(context->c.flags & REDIS_CONNECTED)) {  // hiredis settles the connect on a read event
      Wait(asio::posix::descriptor_base::wait_read, want_read, read_waiting,
           [](Watcher& w) { redisAsyncHandleRead(w.context); });
      return;
    }
    read_waiting = true;
    descriptor.async_read_some(
        asio::buffer(input), [self = shared_from_this()](boost::system::error_code ec, size_t n) {
          self->read_waiting = false;
          if (self->closed || ec == asio::error::operation_aborted) return;
          self->Received(ec, n);
          self->WaitRead();
        });
  }

  void Received(boost::system::error_code ec, size_t n) {
    if (ec || n == 0) {
      // End of stream or a socket error: hiredis reads it again itself and disconnects
      // (failing what is in flight), as it would have from its own read.
      redisAsyncHandleRead(context);
      return;
    }
    // A reader that fails (out of memory, a protocol error) makes the next call disconnect.
    redisReaderFeed(context->c.reader, input.data(), n);
    redisProcessCallbacks(context);  // may free the context (then closed is set)
  }

  void WaitWrite() {
    Wait(asio::posix::descriptor_base::wait_write, want_write, write_waiting,
         [](Watcher& w) { redisAsyncHandleWrite(w.context); });  // may free the context
  }

  // While hiredis wants this direction, waits for the socket and hands it to hiredis.
  template <class Handle>
  void Wait(asio::posix::descriptor_base::wait_type type, bool& wanted, bool& waiting,
            Handle handle) {
    if (closed || waiting || !wanted) return;
    waiting = true;
    descriptor.async_wait(type, [self = shared_from_this(), &wanted, &waiting, type,
                                 handle](boost::system::error_code ec) {
      waiting = false;
      if (ec || self->closed || !wanted) return;
      handle(*self);
      if (type == asio::posix::descriptor_base::wait_read) {
        self->WaitRead();  // connected now, or still connecting
      } else {
        self->Wait(type, wanted, waiting, handle);
      }
    });
  }

  // hiredis is freeing the context and will close the fd itself.
  void Close() {
    closed = true;
    want_read = want_write = false;
    descriptor.release();  // cancels the waits without closing the fd
  }

  static Watcher* Of(void* data) { return static_cast<Watcher*>(data); }
  static void AddRead(void* data) { Of(data)->want_read = true, Of(data)->WaitRead(); }
  static void DelRead(void* data) { Of(data)->want_read = false; }
  // While a Flush is due, a wait for writability is only started if its write leaves
  // something behind: each wait costs an epoll_ctl system call.
  static void AddWrite(void* data) {
    Of(data)->want_write = true;
    if (!Of(data)->sending) Of(data)->WaitWrite();
  }
  static void DelWrite(void* data) { Of(data)->want_write = false; }
  static void Cleanup(void* data) { Of(data)->Close(); }

  Descriptor descriptor;
  redisAsyncContext* context;
  bool want_read = false;
  bool want_write = false;
  bool read_waiting = false;
  bool write_waiting = false;
  bool closed = false;
  bool sending = false;
  std::array<char, 16 * 1024> input;  // as much as hiredis' own read takes at once  // a Flush is due and will write the queued commands itself
};

struct RedisAsyncClient::Request {
  RedisAsyncClient* client;
  Callback done;
};

namespace {

RedisAsyncClient* ClientOf(const redisAsyncContext* context) {
  return static_cast<RedisAsyncClient*>(context->data);
}

}  // namespace

RedisAsyncClient::RedisAsyncClient(asio::io_context& loop, RedisConnectOptions options)
    : strand_(asio::make_strand(loop)), options_(std::move(options)), watchdog_(strand_) {}

RedisAsyncClient::~RedisAsyncClient() { Close(); }

void RedisAsyncClient::Command(RedisArgs args, Callback done) {
  asio::dispatch(strand_, [self = shared_from_this(), args = std::move(args),
                           done = std::move(done)]() mutable {
    self->Send(std::move(args), std::move(done));
  });
}

void RedisAsyncClient::Send(RedisArgs args, Callback done) {
  if (!context_ && !Connect()) {
    done(nullptr, Unavailable(failure_));
    return;
  }
  std::vector<const char*> pointers;
  std::vector<size_t> lengths;
  pointers.reserve(args.size());
  lengths.reserve(args.size());
  for (const auto& arg : args) {
    pointers.push_back(arg.data());
    lengths.push_back(arg.size());
  }
  auto* request = new Request{this, std::move(done)};
  std::shared_ptr<Watcher> watcher = watcher_;
  watcher->sending = true;
  int queued = redisAsyncCommandArgv(context_, &RedisAsyncClient::OnReply, request,
                                     static_cast<int>(args.size()), pointers.data(),
                                     lengths.data());
  if (queued != REDIS_OK) {
    watcher->sending = false;
    std::unique_ptr<Request> failed(request);
    failed->done(nullptr, Unavailable("redis " + options_.Address() + ": connection is closing"));
    return;
  }
  in_flight_.push_back(SteadyClock::now());
  ArmWatchdog();
  if (flush_posted_) return;
  // Alone on the connection, the command goes out now. Not from inside a reply's callback:
  // a failed write frees the context, which hiredis must not do under its own callback.
  if (in_flight_.size() == 1 && !(context_->c.flags & REDIS_IN_CALLBACK)) {
    Flush();
    return;
  }
  // With others in flight the write waits for the handlers already queued on the loop: the
  // commands they send (the other requests that arrived with this one) go out in the same
  // write, and Redis wakes once for all of them instead of once each. Costs one pass through
  // the loop's queue, no system call.
  flush_posted_ = true;
  asio::post(strand_, [self = shared_from_this()] { self->Flush(); });
}

void RedisAsyncClient::Flush() {
  flush_posted_ = false;
  std::shared_ptr<Watcher> watcher = watcher_;
  if (!watcher) return;
  // The socket is almost always writable: send now rather than after a wait. A write error
  // frees the context and clears context_ (OnDisconnected) before this returns.
  if (context_ && (context_->c.flags & REDIS_CONNECTED)) redisAsyncHandleWrite(context_);
  watcher->sending = false;
  if (watcher->want_write) watcher->WaitWrite();  // still connecting, or a partial write
}

bool RedisAsyncClient::Connect() {
  redisAsyncContext* context = redisAsyncConnect(options_.host.c_str(), options_.port);
  if (!context || context->err) {
    failure_ = "redis " + options_.Address() + " unreachable: " +
               (context ? std::string(context->errstr) : std::string("out of memory"));
    if (context) redisAsyncFree(context);
    return false;
  }
  context->data = this;
  watcher_ = std::make_shared<Watcher>(strand_, context->c.fd, context);
  context->ev.data = watcher_.get();
  context->ev.addRead = &Watcher::AddRead;
  context->ev.delRead = &Watcher::DelRead;
  context->ev.addWrite = &Watcher::AddWrite;
  context->ev.delWrite = &Watcher::DelWrite;
  context->ev.cleanup = &Watcher::Cleanup;
  // A failed connect is reported here, then hiredis frees the context and fails what waits.
  redisAsyncSetConnectCallback(context, [](const redisAsyncContext* c, int status) {
    if (status != REDIS_OK) ClientOf(c)->OnDisconnected(c->errstr);
  });
  redisAsyncSetDisconnectCallback(context, [](const redisAsyncContext* c, int status) {
    ClientOf(c)->OnDisconnected(status == REDIS_OK ? "connection closed" : c->errstr);
  });
  context_ = context;
  // Pipelined ahead of the first command; a refusal surfaces as that command's error reply.
  auto ignore = [](const redisReply*, const Status&) {};
  if (!options_.password.empty()) {
    RedisArgs auth{"AUTH"};
    if (!options_.username.empty()) auth.push_back(options_.username);
    auth.push_back(options_.password);
    Send(std::move(auth), ignore);
  }
  if (options_.db != 0) Send({"SELECT", std::to_string(options_.db)}, ignore);
  return context_ != nullptr;
}

// The watcher stays with us until the next Connect: hiredis still calls its cleanup hook
// after this (it is freeing the context).
void RedisAsyncClient::OnDisconnected(const std::string& why) {
  failure_ = "redis " + options_.Address() + " unreachable: " + why;
  context_ = nullptr;
  in_flight_.clear();
}

void RedisAsyncClient::OnReply(redisAsyncContext* context, void* reply, void* privdata) {
  std::unique_ptr<Request> request(static_cast<Request*>(privdata));
  RedisAsyncClient* self = request->client;
  if (!self->in_flight_.empty()) self->in_flight_.pop_front();
  if (reply == nullptr) {
    std::string why = context && context->err
                          ? "redis " + self->options_.Address() + " unreachable: " + context->errstr
                          : self->failure_;
    if (why.empty()) why = "redis " + self->options_.Address() + " unreachable: connection lost";
    request->done(nullptr, Unavailable(why));
    return;
  }
  request->done(static_cast<const redisReply*>(reply), Status::Ok());
}

// One timer for the whole connection, armed while commands are in flight: no timer system
// call per command, and a hung server fails its callers within about one read timeout.
void RedisAsyncClient::ArmWatchdog() {
  if (watchdog_armed_ || in_flight_.empty()) return;
  watchdog_armed_ = true;
  watchdog_.expires_at(in_flight_.front() + options_.read_timeout);
  watchdog_.async_wait([weak = weak_from_this()](boost::system::error_code ec) {
    auto self = weak.lock();
    if (!self) return;
    self->watchdog_armed_ = false;
    if (!ec) self->CheckTimeouts();
  });
}

void RedisAsyncClient::CheckTimeouts() {
  if (in_flight_.empty()) return;
  if (SteadyClock::now() - in_flight_.front() < options_.read_timeout) {
    ArmWatchdog();
    return;
  }
  failure_ = "redis " + options_.Address() + ": i/o timeout after " +
             std::to_string(options_.read_timeout.count()) + "ms";
  redisAsyncContext* context = context_;
  context_ = nullptr;
  in_flight_.clear();
  if (context) redisAsyncFree(context);  // fails every command in flight
  watcher_.reset();
}

void RedisAsyncClient::Close() {
  watchdog_.cancel();
  if (context_) {
    failure_ = "redis " + options_.Address() + ": client closed";
    redisAsyncContext* context = context_;
    context_ = nullptr;
    redisAsyncFree(context);
  }
  watcher_.reset();
  in_flight_.clear();
}

std::shared_ptr<RedisAsyncClient> MakeRedisAsyncClient(boost::asio::io_context& loop,
                                                       const RedisConnectOptions& options) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  if (getaddrinfo(options.host.c_str(), nullptr, &hints, &found) != 0 || !found) return nullptr;
  char text[INET6_ADDRSTRLEN] = {};
  const void* address =
      found->ai_family == AF_INET6
          ? static_cast<const void*>(&reinterpret_cast<sockaddr_in6*>(found->ai_addr)->sin6_addr)
          : static_cast<const void*>(&reinterpret_cast<sockaddr_in*>(found->ai_addr)->sin_addr);
  bool ok = inet_ntop(found->ai_family, address, text, sizeof text) != nullptr;
  freeaddrinfo(found);
  if (!ok) return nullptr;
  RedisConnectOptions numeric = options;
  numeric.host = text;
  return std::make_shared<RedisAsyncClient>(loop, std::move(numeric));
}

}  // namespace dapr::state
