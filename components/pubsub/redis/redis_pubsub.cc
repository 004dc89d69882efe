#include "components/pubsub/redis/redis_pubsub.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <deque>
#include <iterator>
#include <optional>
#include <random>
#include <set>
#include <thread>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

namespace dapr::components::pubsub {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;
using ::dapr::pubsub::DeliveryDone;
using ::dapr::pubsub::Message;
using ::dapr::pubsub::MessageHandler;
using state::RedisArgs;
using state::RedisAsyncClient;
using state::RedisConnection;
using state::RedisConnectionPool;
using state::ReplyPtr;

// XREADGROUP blocks at most this long, so that a reader notices Close within it.
constexpr milliseconds kReadBlock{500};
// Reconnection backoff of a reader: doubles from the first to the last.
constexpr milliseconds kFirstBackoff{100};
constexpr milliseconds kMaxBackoff{1000};
// Close waits this long for a reader stuck on an unresponsive Redis, then leaves it behind.
constexpr milliseconds kCloseWait{1000};

// The fields of a stream entry: Dapr's, plus our content type.
constexpr std::string_view kDataField = "data";
constexpr std::string_view kMetadataField = "metadata";
constexpr std::string_view kContentTypeField = "contentType";

std::string_view Text(const redisReply* reply) {
  if (reply == nullptr || reply->str == nullptr) return {};
  return {reply->str, reply->len};
}

bool IsError(const redisReply* reply) { return reply->type == REDIS_REPLY_ERROR; }

bool ErrorStartsWith(const redisReply* reply, std::string_view prefix) {
  return IsError(reply) && Text(reply).substr(0, prefix.size()) == prefix;
}

bool IsString(const redisReply* reply) {
  return reply->type == REDIS_REPLY_STRING || reply->type == REDIS_REPLY_STATUS;
}

// Runs one command on a pooled connection. A connection opened before Redis restarted
// fails on first use, so a connection failure is retried once on a fresh connection
// (unless it timed out: a hung server would only make the caller wait twice).
Result<ReplyPtr> PoolCommand(RedisConnectionPool& pool, const RedisArgs& args) {
  for (int attempt = 0;; ++attempt) {
    auto lease = pool.Acquire();
    if (!lease.ok()) return lease.error();
    auto reply = (*lease)->Command(args);
    if (reply.ok()) return reply;
    const bool retry = attempt == 0 && !(*lease)->timed_out();
    pool.DropIdle();  // after one broke, the idle ones most likely did too
    if (!retry) return reply.error();
  }
}

// Dapr writes the publish metadata as a JSON object of strings; Go replaces invalid UTF-8.
std::string MetadataJson(const ::dapr::pubsub::Metadata& metadata) {
  nlohmann::json object = nlohmann::json::object();
  for (const auto& [key, value] : metadata) object[key] = value;
  return object.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

::dapr::pubsub::Metadata ParseMetadataJson(std::string_view text, std::string_view id) {
  ::dapr::pubsub::Metadata metadata;
  auto object = nlohmann::json::parse(text, nullptr, false);
  if (object.is_discarded() || !object.is_object()) {
    spdlog::warn("pubsub.redis: entry {} has a metadata field that is not a JSON object", id);
    return metadata;
  }
  for (const auto& [key, value] : object.items()) {
    metadata[key] = value.is_string() ? value.get<std::string>() : value.dump();
  }
  return metadata;
}

// An entry of a stream reply. `deleted`: the PEL still names it, the stream no longer has it.
struct StreamEntry {
  std::string id;
  bool deleted = false;
  Message message;
};

// [id, [field, value, ...]] or, for a deleted entry on some Redis versions, [id, nil].
std::optional<StreamEntry> ParseEntry(const redisReply* entry, const std::string& topic) {
  if (entry->type != REDIS_REPLY_ARRAY || entry->elements < 2 || !IsString(entry->element[0])) {
    return std::nullopt;
  }
  StreamEntry out;
  out.id = std::string(Text(entry->element[0]));
  out.message.topic = topic;
  const redisReply* fields = entry->element[1];
  if (fields->type != REDIS_REPLY_ARRAY) {
    out.deleted = true;
    return out;
  }
  for (size_t i = 0; i + 1 < fields->elements; i += 2) {
    std::string_view name = Text(fields->element[i]);
    std::string_view value = Text(fields->element[i + 1]);
    if (name == kDataField) out.message.data = std::string(value);
    if (name == kContentTypeField) out.message.content_type = std::string(value);
    if (name == kMetadataField) out.message.metadata = ParseMetadataJson(value, out.id);
  }
  return out;
}

std::vector<StreamEntry> ParseEntries(const redisReply* entries, const std::string& topic) {
  std::vector<StreamEntry> out;
  if (entries->type != REDIS_REPLY_ARRAY) return out;
  for (size_t i = 0; i < entries->elements; ++i) {
    if (auto entry = ParseEntry(entries->element[i], topic)) out.push_back(std::move(*entry));
  }
  return out;
}

// XREADGROUP's reply: nil on timeout, else [[stream, entries], ...].
std::vector<StreamEntry> ParseReadReply(const redisReply* reply, const std::string& topic) {
  std::vector<StreamEntry> out;
  if (reply->type != REDIS_REPLY_ARRAY) return out;
  for (size_t i = 0; i < reply->elements; ++i) {
    const redisReply* stream = reply->element[i];
    if (stream->type != REDIS_REPLY_ARRAY || stream->elements < 2) continue;
    auto entries = ParseEntries(stream->element[1], topic);
    std::move(entries.begin(), entries.end(), std::back_inserter(out));
  }
  return out;
}

// Start at "0", as Dapr does: a group created after its stream (or re-created after Redis
// lost both) still gets the entries published meanwhile.
RedisArgs GroupCreateArgs(const std::string& topic, const std::string& group) {
  return {"XGROUP", "CREATE", topic, group, "0", "MKSTREAM"};
}

// OK, or BUSYGROUP (the group exists): both leave a usable group.
bool GroupExists(const redisReply* reply) {
  return !IsError(reply) || ErrorStartsWith(reply, "BUSYGROUP");
}

// consumerID-hostname-pid-random: unique per instance, readable in XINFO CONSUMERS.
std::string ConsumerName(const std::string& group) {
  char host[256] = {};
  if (gethostname(host, sizeof(host) - 1) != 0) host[0] = '\0';
  std::random_device random;
  char suffix[16];
  std::snprintf(suffix, sizeof(suffix), "%08x", static_cast<unsigned>(random()));
  return group + "-" + host + "-" + std::to_string(getpid()) + "-" + suffix;
}

}  // namespace

// A subscription's state, shared by its two threads and the `done` callbacks it hands out,
// which may outlive the component. The reader thread owns the Redis connection and the
// claim state; mutex_ guards the queue and the delivery accounting.
class RedisPubSub::Subscription : public std::enable_shared_from_this<Subscription> {
 public:
  Subscription(std::string topic, MessageHandler handler, const RedisPubSubOptions& options,
               std::string consumer, std::shared_ptr<RedisConnectionPool> pool,
               std::shared_ptr<RedisAsyncClient> async, boost::asio::io_context* loop)
      : topic_(std::move(topic)),
        handler_(std::move(handler)),
        options_(options),
        consumer_(std::move(consumer)),
        pool_(std::move(pool)),
        async_(std::move(async)),
        loop_(loop) {
    // The socket must outwait XREADGROUP's BLOCK, or every idle read would be a timeout.
    reader_options_ = options_.connect;
    reader_options_.read_timeout += kReadBlock;
  }

  // With the event loop (and its client), the reader runs on the loop too (LoopStep), and
  // messages go from it straight to handler calls on the loop (Pump): no thread of its own,
  // no hand-off between threads. Without it, a reader thread and a dispatcher thread.
  void Start() {
    if (OnLoop()) reader_client_ = state::MakeRedisAsyncClient(*loop_, reader_options_);
    if (reader_client_) {
      retry_timer_.emplace(reader_client_->strand());
      boost::asio::post(reader_client_->strand(), [self = shared_from_this()] { self->LoopStep(); });
    } else {
      reader_ = std::thread([self = shared_from_this()] { self->ReadLoop(); });
    }
    if (!OnLoop()) dispatcher_ = std::thread([self = shared_from_this()] { self->DispatchLoop(); });
  }

  const std::string& topic() const { return topic_; }

  void RequestStop() {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    dispatch_wake_.notify_all();
    reader_wake_.notify_all();
    if (reader_client_) {
      // A read blocked in Redis ends at once with its connection (the entries it would
      // have taken stay with Redis); the step after it finds the stop.
      boost::asio::post(reader_client_->strand(), [self = shared_from_this()] {
        if (self->reader_ended_) return;
        self->retry_timer_->cancel();
        if (self->reader_busy_) self->reader_client_->Close();
        self->LoopStep();
      });
    }
  }

  bool OnLoop() const { return loop_ != nullptr && async_ != nullptr; }

  // The dispatcher is always joined: after that no handler call can start. A reader stuck
  // on a hung Redis past the deadline is detached; it holds this object alive, calls no
  // handler, and ends at its next socket timeout.
  void Join(Clock::time_point deadline) {
    {
      // A handler call the loop started before the stop finishes first (unless this is it).
      std::unique_lock lock(mutex_);
      if (pump_thread_ != std::this_thread::get_id()) {
        dispatch_wake_.wait(lock, [&] { return pump_thread_ == std::thread::id(); });
      }
    }
    if (dispatcher_.joinable()) {
      // Called from a handler, on the dispatcher itself: it ends once the handler returns.
      if (dispatcher_.get_id() == std::this_thread::get_id()) {
        dispatcher_.detach();
      } else {
        dispatcher_.join();
      }
    }
    // On the loop itself, a reader on the loop cannot end while this waits: it ends after.
    if (reader_client_ && loop_->get_executor().running_in_this_thread()) return;
    std::unique_lock lock(mutex_);
    const bool exited = reader_exited_.wait_until(lock, deadline, [&] { return reader_done_; });
    lock.unlock();
    if (!reader_.joinable()) return;
    if (exited) {
      reader_.join();
    } else {
      reader_.detach();
    }
  }

 private:
  // ---- reader thread ---------------------------------------------------------------------

  void ReadLoop() {
    // The first claim is at once: entries a previous run of this app left pending.
    auto next_claim = Clock::now();
    while (!Stopping()) {
      if (!Step(next_claim)) Backoff();
    }
    ForgetConsumerIfIdle();
    {
      std::lock_guard lock(mutex_);
      reader_done_ = true;
    }
    reader_exited_.notify_all();
  }

  // One round: connect if needed, claim when due, read what the queue has room for.
  // False when Redis failed, which calls for a backoff.
  bool Step(Clock::time_point& next_claim) {
    if (!connection_ && !Connect()) return false;
    size_t room = WaitForRoom(Clock::now() + kReadBlock);
    if (room == 0) return true;
    if (options_.redelivery() && Clock::now() >= next_claim) {
      if (!Claim(room)) return false;
      next_claim = Clock::now() + options_.redeliver_interval;
      room = Room();
      if (room == 0) return true;
    }
    milliseconds block = kReadBlock;
    if (options_.redelivery()) {
      auto until_claim = std::chrono::duration_cast<milliseconds>(next_claim - Clock::now());
      block = std::clamp(until_claim, milliseconds(1), kReadBlock);  // BLOCK 0 is forever
    }
    return Read(room, block);
  }

  bool Connect() {
    auto connection = RedisConnection::Open(reader_options_);
    if (!connection.ok()) {
      ReportFailure(connection.error().message());
      return false;
    }
    connection_ = std::move(connection).value();
    // The stream may be gone with a Redis restarted without persistence.
    return EnsureGroup();
  }

  bool EnsureGroup() {
    ReplyPtr reply = Call(GroupCreateArgs(topic_, options_.consumer_group));
    if (!reply) return false;
    if (!GroupExists(reply.get())) {
      ReportFailure("cannot create consumer group " + options_.consumer_group + ": " +
                    std::string(Text(reply.get())));
      return false;
    }
    return true;
  }

  bool Read(size_t room, milliseconds block) {
    ReplyPtr reply = Call({"XREADGROUP", "GROUP", options_.consumer_group, consumer_, "COUNT",
                           std::to_string(room), "BLOCK", std::to_string(block.count()),
                           "STREAMS", topic_, ">"});
    if (!reply) return false;
    if (IsError(reply.get())) return ErrorReply(reply.get(), "XREADGROUP");
    Recovered();
    Enqueue(ParseReadReply(reply.get(), topic_));
    return true;
  }

  // Entries pending for longer than processingTimeout are taken over by this consumer and
  // queued again: XPENDING lists them (with IDLE, Redis 6.2+, the server filters them),
  // XCLAIM takes them, its min-idle making a race with another instance's claim harmless.
  // Not XAUTOCLAIM: it cannot skip the entries this instance is still processing, and
  // claiming those would reset their idle time, hiding them from the other instances.
  bool Claim(size_t room) {
    ReplyPtr pending = ListPending();
    if (!pending) return false;
    if (IsError(pending.get())) return ErrorReply(pending.get(), "XPENDING");
    std::vector<std::string> ids = IdleEntries(pending.get(), room);
    if (ids.empty()) return true;
    RedisArgs claim = {"XCLAIM", topic_, options_.consumer_group, consumer_,
                       std::to_string(options_.processing_timeout.count())};
    claim.insert(claim.end(), ids.begin(), ids.end());
    ReplyPtr claimed = Call(claim);
    if (!claimed) return false;
    if (IsError(claimed.get())) return ErrorReply(claimed.get(), "XCLAIM");
    auto entries = ParseEntries(claimed.get(), topic_);
    for (const auto& entry : entries) ids.erase(std::remove(ids.begin(), ids.end(), entry.id), ids.end());
    Enqueue(std::move(entries));
    return AckIfDeleted(ids);
  }

  // The oldest pending entries of the group: enough to fill the queue after skipping the
  // ones held here. A Redis before 6.2 refuses IDLE; then the idle time is checked here.
  ReplyPtr ListPending() {
    const std::string count = std::to_string(options_.queue_depth + options_.concurrency);
    if (use_idle_filter_) {
      ReplyPtr reply = Call({"XPENDING", topic_, options_.consumer_group, "IDLE",
                             std::to_string(options_.processing_timeout.count()), "-", "+", count});
      // Before 6.2 "IDLE" reads as a bad start id: ERR; NOGROUP and WRONGTYPE are other stories.
      if (!reply || !ErrorStartsWith(reply.get(), "ERR")) return reply;
      use_idle_filter_ = false;
    }
    return Call({"XPENDING", topic_, options_.consumer_group, "-", "+", count});
  }

  // XPENDING's [id, consumer, idle ms, deliveries] rows worth claiming. An entry this
  // instance is still processing is left alone: it is not lost, only slow.
  std::vector<std::string> IdleEntries(const redisReply* rows, size_t room) {
    std::vector<std::string> ids;
    if (rows->type != REDIS_REPLY_ARRAY) return ids;
    for (size_t i = 0; i < rows->elements && ids.size() < room; ++i) {
      const redisReply* row = rows->element[i];
      if (row->type != REDIS_REPLY_ARRAY || row->elements < 3) continue;
      std::string id(Text(row->element[0]));
      const bool mine = Text(row->element[1]) == consumer_ && Owned(id);
      if (!mine && row->element[2]->integer >= options_.processing_timeout.count()) ids.push_back(id);
    }
    return ids;
  }

  // Claimed ids that XCLAIM did not return: either deleted from the stream (ack them, or
  // they stay pending forever) or taken by another consumer meanwhile (leave them).
  bool AckIfDeleted(const std::vector<std::string>& ids) {
    for (const auto& id : ids) {
      ReplyPtr range = Call({"XRANGE", topic_, id, id});
      if (!range) return false;
      if (range->type == REDIS_REPLY_ARRAY && range->elements == 0) {
        if (!Call({"XACK", topic_, options_.consumer_group, id})) return false;
      }
    }
    return true;
  }

  // Leaves the group tidy when this instance goes away with nothing pending: consumer
  // names are per instance, so they would otherwise pile up with every restart.
  void ForgetConsumerIfIdle() {
    if (!connection_) return;
    ReplyPtr pending = Call({"XPENDING", topic_, options_.consumer_group, "-", "+", "1", consumer_});
    if (pending && pending->type == REDIS_REPLY_ARRAY && pending->elements == 0) {
      Call({"XGROUP", "DELCONSUMER", topic_, options_.consumer_group, consumer_});
    }
  }

  // A command on the reader's connection; null when the connection failed (and is dropped).
  ReplyPtr Call(const RedisArgs& args) {
    if (!connection_) return nullptr;
    auto reply = connection_->Command(args);
    if (reply.ok()) return std::move(reply).value();
    connection_.reset();
    ReportFailure(reply.error().message());
    return nullptr;
  }

  // An error reply: NOGROUP means the group or the whole stream vanished (deleted, or a
  // Redis that lost its data): create it again, then back off like any other failure.
  bool ErrorReply(const redisReply* reply, std::string_view command) {
    ReportFailure(std::string(command) + ": " + std::string(Text(reply)));
    if (ErrorStartsWith(reply, "NOGROUP")) EnsureGroup();
    return false;
  }

  // Logs the first failure of a run of them, so a Redis that is down for an hour does not
  // fill the log.
  void ReportFailure(const std::string& what) {
    if (Stopping()) return;
    if (!failing_) {
      spdlog::warn("pubsub.redis: topic {}: {}; retrying", topic_, what);
    } else {
      spdlog::debug("pubsub.redis: topic {}: {}", topic_, what);
    }
    failing_ = true;
  }

  void Recovered() {
    backoff_ = kFirstBackoff;
    if (!failing_) return;
    failing_ = false;
    spdlog::info("pubsub.redis: topic {}: reading again", topic_);
  }

  void Backoff() {
    std::unique_lock lock(mutex_);
    reader_wake_.wait_for(lock, backoff_, [&] { return stopping_; });
    backoff_ = std::min(backoff_ * 2, kMaxBackoff);
  }

  // Waits until the local queue has room (or `until`); the room, 0 when stopping.
  size_t WaitForRoom(Clock::time_point until) {
    std::unique_lock lock(mutex_);
    reader_wake_.wait_until(lock, until,
                            [&] { return stopping_ || queue_.size() < options_.queue_depth; });
    return stopping_ ? 0 : options_.queue_depth - std::min(queue_.size(), options_.queue_depth);
  }

  size_t Room() {
    std::lock_guard lock(mutex_);
    return options_.queue_depth - std::min(queue_.size(), options_.queue_depth);
  }

  // Queues entries for the dispatcher, skipping any this instance already holds (a claim
  // of an entry still being processed here); acks deleted ones. Returns how many it queued.
  size_t Enqueue(std::vector<StreamEntry> entries) {
    size_t queued = 0;
    std::vector<std::string> deleted;
    {
      std::lock_guard lock(mutex_);
      for (auto& entry : entries) {
        if (entry.deleted) {
          deleted.push_back(entry.id);
        } else if (!stopping_ && owned_.insert(entry.id).second) {
          queue_.push_back(std::move(entry));
          ++queued;
        }
      }
    }
    if (queued > 0) Wake();
    for (const auto& id : deleted) {
      RedisArgs ack{"XACK", topic_, options_.consumer_group, id};
      if (reader_client_) {
        reader_client_->Command(std::move(ack), [](const redisReply*, const Status&) {});
      } else {
        Call(ack);
      }
    }
    return queued;
  }

  bool Owned(const std::string& id) {
    std::lock_guard lock(mutex_);
    return owned_.count(id) > 0;
  }

  bool Stopping() {
    std::lock_guard lock(mutex_);
    return stopping_;
  }

  // ---- reader on the loop (OnLoop) ---------------------------------------------------------
  // ReadLoop's rounds with the same commands, each reply going on to the next step, over a
  // connection of the reader's own (XREADGROUP ... BLOCK holds it). Its state (reader_busy_,
  // group_ready_, next_claim_, and the reader-only fields above) is only touched on that
  // connection's strand.

  void LoopStep() {
    if (reader_busy_ || reader_ended_) return;
    if (Stopping()) return LoopEnd();
    if (!group_ready_) return LoopEnsureGroup();
    const size_t room = RoomOrWait();
    if (room == 0) return;  // Pump calls again when it takes from the queue
    if (options_.redelivery() && Clock::now() >= next_claim_) return LoopClaim(room);
    milliseconds block = kReadBlock;
    if (options_.redelivery()) {
      auto until_claim = std::chrono::duration_cast<milliseconds>(next_claim_ - Clock::now());
      block = std::clamp(until_claim, milliseconds(1), kReadBlock);  // BLOCK 0 is forever
    }
    LoopRead(room, block);
  }

  // The room in the queue; when there is none, Pump is asked to wake the reader.
  size_t RoomOrWait() {
    std::lock_guard lock(mutex_);
    const size_t room = options_.queue_depth - std::min(queue_.size(), options_.queue_depth);
    reader_waits_for_room_ = room == 0;
    return room;
  }

  void WakeLoopReader() {
    if (!reader_client_) return;
    {
      std::lock_guard lock(mutex_);
      if (!reader_waits_for_room_) return;
      reader_waits_for_room_ = false;
    }
    boost::asio::post(reader_client_->strand(), [self = shared_from_this()] { self->LoopStep(); });
  }

  // One command on the reader's connection. on_reply gets the reply (valid during the call
  // only); a lost connection backs off, then the next step reconnects.
  template <class OnReply>
  void LoopCall(RedisArgs args, OnReply on_reply) {
    reader_busy_ = true;
    reader_client_->Command(std::move(args), [self = shared_from_this(), on_reply = std::move(on_reply)](
                                                 const redisReply* reply, const Status& status) mutable {
      self->reader_busy_ = false;
      if (!reply) return self->LoopFailed(status.message());
      on_reply(reply);
    });
  }

  void LoopFailed(const std::string& why) {
    if (Stopping()) {  // most likely the stop's own Close: LoopEnd still tidies up
      // Posted: this may run inside the client's Close, which must finish first.
      boost::asio::post(reader_client_->strand(), [self = shared_from_this()] { self->LoopStep(); });
      return;
    }
    group_ready_ = false;  // the next connection may find a Redis that lost the group
    ReportFailure(why);
    LoopBackoff();
  }

  // ErrorReply's counterpart: NOGROUP has the group created again before the next read.
  void LoopErrorReply(const redisReply* reply, std::string_view command) {
    ReportFailure(std::string(command) + ": " + std::string(Text(reply)));
    if (ErrorStartsWith(reply, "NOGROUP")) group_ready_ = false;
    LoopBackoff();
  }

  void LoopBackoff() {
    reader_busy_ = true;
    retry_timer_->expires_after(backoff_);
    backoff_ = std::min(backoff_ * 2, kMaxBackoff);
    retry_timer_->async_wait([self = shared_from_this()](boost::system::error_code) {
      self->reader_busy_ = false;
      self->LoopStep();
    });
  }

  void LoopEnsureGroup() {
    LoopCall(GroupCreateArgs(topic_, options_.consumer_group), [this](const redisReply* reply) {
      if (!GroupExists(reply)) {
        ReportFailure("cannot create consumer group " + options_.consumer_group + ": " +
                      std::string(Text(reply)));
        return LoopBackoff();
      }
      group_ready_ = true;
      LoopStep();
    });
  }

  void LoopRead(size_t room, milliseconds block) {
    LoopCall({"XREADGROUP", "GROUP", options_.consumer_group, consumer_, "COUNT", std::to_string(room),
              "BLOCK", std::to_string(block.count()), "STREAMS", topic_, ">"},
             [this](const redisReply* reply) {
               if (IsError(reply)) return LoopErrorReply(reply, "XREADGROUP");
               Recovered();
               Enqueue(ParseReadReply(reply, topic_));
               LoopStep();
             });
  }

  // Claim's steps: XPENDING (IDLE where Redis has it), XCLAIM of the idle ones, then a look
  // at the claimed ids XCLAIM did not return.
  void LoopClaim(size_t room) {
    const std::string count = std::to_string(options_.queue_depth + options_.concurrency);
    RedisArgs list = use_idle_filter_
                         ? RedisArgs{"XPENDING", topic_, options_.consumer_group, "IDLE",
                                     std::to_string(options_.processing_timeout.count()), "-", "+", count}
                         : RedisArgs{"XPENDING", topic_, options_.consumer_group, "-", "+", count};
    LoopCall(std::move(list), [this, room](const redisReply* pending) {
      if (use_idle_filter_ && ErrorStartsWith(pending, "ERR")) {  // before 6.2
        use_idle_filter_ = false;
        return LoopClaim(room);
      }
      if (IsError(pending)) return LoopErrorReply(pending, "XPENDING");
      std::vector<std::string> ids = IdleEntries(pending, room);
      if (ids.empty()) return LoopClaimed();
      RedisArgs claim = {"XCLAIM", topic_, options_.consumer_group, consumer_,
                         std::to_string(options_.processing_timeout.count())};
      claim.insert(claim.end(), ids.begin(), ids.end());
      LoopCall(std::move(claim), [this, ids = std::move(ids)](const redisReply* claimed) mutable {
        if (IsError(claimed)) return LoopErrorReply(claimed, "XCLAIM");
        auto entries = ParseEntries(claimed, topic_);
        for (const auto& entry : entries) ids.erase(std::remove(ids.begin(), ids.end(), entry.id), ids.end());
        Enqueue(std::move(entries));
        LoopAckIfDeleted(std::move(ids));
      });
    });
  }

  // AckIfDeleted one id at a time: a rare path, and each answer decides its own XACK.
  void LoopAckIfDeleted(std::vector<std::string> ids) {
    if (ids.empty()) return LoopClaimed();
    std::string id = std::move(ids.back());
    ids.pop_back();
    LoopCall({"XRANGE", topic_, id, id}, [this, id, ids = std::move(ids)](const redisReply* range) mutable {
      if (range->type == REDIS_REPLY_ARRAY && range->elements == 0) {
        reader_client_->Command({"XACK", topic_, options_.consumer_group, id},
                                [](const redisReply*, const Status&) {});
      }
      LoopAckIfDeleted(std::move(ids));
    });
  }

  void LoopClaimed() {
    next_claim_ = Clock::now() + options_.redeliver_interval;
    LoopStep();
  }

  // ForgetConsumerIfIdle, then the reader is done and its connection closed.
  void LoopEnd() {
    reader_ended_ = true;
    if (!group_ready_) return LoopDone();  // no working connection to tidy up with
    reader_client_->Command(
        {"XPENDING", topic_, options_.consumer_group, "-", "+", "1", consumer_},
        [self = shared_from_this()](const redisReply* pending, const Status&) {
          if (pending && pending->type == REDIS_REPLY_ARRAY && pending->elements == 0) {
            self->reader_client_->Command(
                {"XGROUP", "DELCONSUMER", self->topic_, self->options_.consumer_group, self->consumer_},
                [self](const redisReply*, const Status&) { self->LoopDone(); });
            return;
          }
          self->LoopDone();
        });
  }

  void LoopDone() {
    {
      std::lock_guard lock(mutex_);
      reader_done_ = true;
    }
    reader_exited_.notify_all();
    // Posted: this runs inside a reply's callback, where the client must not be closed.
    boost::asio::post(reader_client_->strand(), [client = reader_client_] { client->Close(); });
  }

  // ---- dispatcher thread -----------------------------------------------------------------

  void DispatchLoop() {
    std::unique_lock lock(mutex_);
    while (true) {
      dispatch_wake_.wait(lock, [&] {
        return stopping_ || (!queue_.empty() && in_flight_ < options_.concurrency);
      });
      if (stopping_) return;
      StreamEntry entry = std::move(queue_.front());
      queue_.pop_front();
      ++in_flight_;
      lock.unlock();
      reader_wake_.notify_one();  // room in the queue
      Deliver(std::move(entry));
      lock.lock();
    }
  }

  void Deliver(StreamEntry entry) {
    auto answered = std::make_shared<std::atomic<bool>>(false);
    DeliveryDone done = [self = shared_from_this(), id = entry.id, answered](Status status) {
      if (answered->exchange(true)) return;  // "exactly once" is the caller's promise; be safe
      self->Finished(id, status.ok());
    };
    // An exception must not end the dispatcher (std::terminate); the entry stays pending.
    try {
      handler_(std::move(entry.message), done);
    } catch (const std::exception& error) {
      spdlog::error("pubsub.redis: topic {}: the handler threw: {}", topic_, error.what());
      done(Internal(error.what()));
    } catch (...) {
      spdlog::error("pubsub.redis: topic {}: the handler threw", topic_);
      done(Internal("the handler threw"));
    }
  }

  // Acked before the entry stops counting as held here, so that no claim round in
  // between takes it for a lost one and delivers it again.
  void Finished(const std::string& id, bool delivered) {
    if (delivered && async_ && loop_) return QueueAck(id);
    if (delivered) Ack(id);
    Release({id});
  }

  // The acks answered within one turn of the event loop go out as one XACK of all their ids:
  // one write, one reply and one command for Redis instead of one each. The flush is posted
  // behind the handlers already queued (the other answers that arrived with this one). And
  // one XACK at a time: the acks answered while one is in flight wait for its reply and go
  // out together, so under load the batches grow by themselves, with no timer; alone, an
  // ack goes at once.
  void QueueAck(const std::string& id) {
    bool flush = false;
    {
      std::lock_guard lock(mutex_);
      flush = acks_.empty() && !ack_in_flight_;
      acks_.push_back(id);
    }
    if (flush) boost::asio::post(*loop_, [self = shared_from_this()] { self->FlushAcks(); });
  }

  void FlushAcks() {
    std::vector<std::string> ids;
    {
      std::lock_guard lock(mutex_);
      if (ack_in_flight_) return;
      ids.swap(acks_);
      ack_in_flight_ = !ids.empty();
    }
    if (ids.empty()) return;
    RedisArgs command{"XACK", topic_, options_.consumer_group};
    command.insert(command.end(), ids.begin(), ids.end());
    async_->Command(std::move(command), [self = shared_from_this(), ids = std::move(ids)](const redisReply* reply,
                                                                                         const Status& status) {
      // Not acked: the entries stay pending and come again after processingTimeout.
      if (!reply) {
        spdlog::warn("pubsub.redis: topic {}: ack of {} entries failed: {}", self->topic_, ids.size(), status.message());
      } else if (reply->type == REDIS_REPLY_ERROR) {
        spdlog::warn("pubsub.redis: topic {}: ack of {} entries failed: {}", self->topic_, ids.size(),
                     std::string_view(reply->str, reply->len));
      }
      self->Release(ids);
      bool more = false;
      {
        std::lock_guard lock(self->mutex_);
        self->ack_in_flight_ = false;
        more = !self->acks_.empty();
      }
      if (more) boost::asio::post(*self->loop_, [self] { self->FlushAcks(); });
    });
  }

  void Release(const std::vector<std::string>& ids) {
    {
      std::lock_guard lock(mutex_);
      for (const auto& id : ids) owned_.erase(id);
      in_flight_ -= std::min(in_flight_, ids.size());
    }
    Wake();
  }

  // Room for a delivery, or something to deliver: the dispatcher is told, or a Pump posted
  // to the loop unless one is due already.
  void Wake() {
    if (!OnLoop()) return dispatch_wake_.notify_one();
    {
      std::lock_guard lock(mutex_);
      if (pump_posted_ || stopping_ || queue_.empty() || in_flight_ >= options_.concurrency) return;
      pump_posted_ = true;
    }
    boost::asio::post(*loop_, [self = shared_from_this()] { self->Pump(); });
  }

  // On the loop: hands out what is queued, up to concurrency deliveries in flight.
  void Pump() {
    std::unique_lock lock(mutex_);
    pump_posted_ = false;
    bool took = false;
    while (!stopping_ && !queue_.empty() && in_flight_ < options_.concurrency) {
      StreamEntry entry = std::move(queue_.front());
      queue_.pop_front();
      ++in_flight_;
      took = true;
      pump_thread_ = std::this_thread::get_id();
      lock.unlock();
      Deliver(std::move(entry));
      lock.lock();
      pump_thread_ = std::thread::id();
    }
    lock.unlock();
    dispatch_wake_.notify_all();  // a Join waiting for this call to end
    if (took) {  // room in the queue
      reader_wake_.notify_one();
      WakeLoopReader();
    }
  }

  // On the caller's thread (the sidecar's workers); a failed ack only means one more
  // delivery later.
  void Ack(const std::string& id) {
    auto reply = PoolCommand(*pool_, {"XACK", topic_, options_.consumer_group, id});
    if (!reply.ok()) {
      spdlog::warn("pubsub.redis: topic {}: ack of {} failed: {}", topic_, id, reply.error().message());
    } else if (IsError(reply->get())) {
      spdlog::warn("pubsub.redis: topic {}: ack of {} failed: {}", topic_, id, Text(reply->get()));
    }
  }

  const std::string topic_;
  const MessageHandler handler_;
  const RedisPubSubOptions options_;
  const std::string consumer_;
  const std::shared_ptr<RedisConnectionPool> pool_;
  const std::shared_ptr<RedisAsyncClient> async_;  // acks without blocking, when set
  boost::asio::io_context* const loop_;             // where the acks are gathered, with async_
  state::RedisConnectOptions reader_options_;

  // Reader on the loop (OnLoop; null when it runs on a thread): its own connection, and a
  // timer for its backoff; the flags below are only touched on that connection's strand.
  std::shared_ptr<RedisAsyncClient> reader_client_;
  std::optional<::dapr::loop::Timer> retry_timer_;
  Clock::time_point next_claim_;  // the first claim is at once: entries a previous run left
  bool group_ready_ = false;      // XGROUP CREATE answered on the current connection
  bool reader_busy_ = false;      // a command or a backoff in flight
  bool reader_ended_ = false;

  // The reader's, on its thread or on the loop.
  std::unique_ptr<RedisConnection> connection_;
  bool use_idle_filter_ = true;  // XPENDING ... IDLE (Redis 6.2+)
  bool failing_ = false;
  milliseconds backoff_ = kFirstBackoff;

  std::mutex mutex_;
  std::condition_variable dispatch_wake_;  // queue or in_flight_ changed, or stopping
  std::condition_variable reader_wake_;    // room in the queue, or stopping
  std::condition_variable reader_exited_;
  std::deque<StreamEntry> queue_;
  std::set<std::string> owned_;  // ids queued or in flight here
  std::vector<std::string> acks_;  // delivered, for the next XACK (QueueAck)
  bool ack_in_flight_ = false;     // an XACK waits for its reply
  size_t in_flight_ = 0;
  bool pump_posted_ = false;        // a Pump is queued on the loop
  bool reader_waits_for_room_ = false;  // the reader on the loop waits for Pump to take
  std::thread::id pump_thread_;     // the loop's thread while Pump is in a handler call
  bool stopping_ = false;
  bool reader_done_ = false;
  std::thread reader_;
  std::thread dispatcher_;
};

RedisPubSub::~RedisPubSub() { Close(); }

Status RedisPubSub::Init(const ComponentMetadata& metadata) {
  auto options = ParseRedisPubSubOptions(metadata);
  if (!options.ok()) return options.error();
  options_ = std::move(options).value();
  if (options_.max_len_approx > 0 && options_.stream_ttl.count() > 0) {
    spdlog::warn("pubsub.redis {}: maxLenApprox and streamTTL are both set; only maxLenApprox trims",
                 metadata.name());
  }
  consumer_name_ = ConsumerName(options_.consumer_group);
  pool_ = std::make_shared<RedisConnectionPool>(options_.connect, options_.pool_size);
  auto pong = PoolCommand(*pool_, {"PING"});
  const std::string where = "pubsub.redis: redis at " + options_.connect.Address();
  if (!pong.ok()) return Status(pong.error().code(), where + ": " + pong.error().message());
  if (ErrorStartsWith(pong->get(), "NOAUTH")) {
    return Status(StatusCode::kUnauthenticated, where + " wants a password (redisPassword)");
  }
  if (IsError(pong->get())) return Unavailable(where + ": " + std::string(Text(pong->get())));
  if (loop_) async_ = state::MakeRedisAsyncClient(*loop_, options_.connect);
  return Status::Ok();
}

bool RedisPubSub::AttachEventLoop(boost::asio::io_context& loop) {
  loop_ = &loop;
  return true;
}

void RedisPubSub::PublishAsync(::dapr::pubsub::PublishRequest request, std::function<void(Status)> done) {
  if (closed_.load()) return done(FailedPrecondition("pubsub.redis is closed"));
  if (request.topic.empty()) return done(InvalidArgument("pubsub.redis: the topic is empty"));
  // Built before the callback takes the topic: argument evaluation order is unspecified.
  std::string data = std::move(request.data);
  RedisArgs command = XaddCommand(request, std::move(data));
  async_->Command(std::move(command),
                  [topic = std::move(request.topic), done = std::move(done)](const redisReply* reply, const Status& status) {
                    const std::string what = "pubsub.redis: publish to topic " + topic;
                    if (!reply) return done(Status(StatusCode::kUnavailable, what + ": " + status.message()));
                    if (reply->type == REDIS_REPLY_ERROR) {
                      return done(Internal(what + " failed: " + std::string(reply->str, reply->len)));
                    }
                    done(Status::Ok());
                  });
}

// XADD <topic> [MAXLEN ~ n | MINID ~ id] * data <bytes> [contentType <t>] [metadata <json>].
// With both limits set, MAXLEN wins, as in go-redis.
std::vector<std::string> RedisPubSub::XaddCommand(const ::dapr::pubsub::PublishRequest& request,
                                                  std::string data) const {
  RedisArgs args = {"XADD", request.topic};
  if (options_.max_len_approx > 0) {
    args.insert(args.end(), {"MAXLEN", "~", std::to_string(options_.max_len_approx)});
  } else if (options_.stream_ttl.count() > 0) {
    // Stream ids start with the wall clock in milliseconds.
    auto now = std::chrono::duration_cast<milliseconds>(
        std::chrono::system_clock::now().time_since_epoch());
    args.insert(args.end(), {"MINID", "~", std::to_string((now - options_.stream_ttl).count())});
  }
  args.insert(args.end(), {"*", std::string(kDataField)});
  args.push_back(std::move(data));
  if (!request.content_type.empty()) {
    args.insert(args.end(), {std::string(kContentTypeField), request.content_type});
  }
  if (!request.metadata.empty()) {
    args.insert(args.end(), {std::string(kMetadataField), MetadataJson(request.metadata)});
  }
  return args;
}

Status RedisPubSub::Publish(const ::dapr::pubsub::PublishRequest& request) {
  if (!pool_) return FailedPrecondition("pubsub.redis is not initialized");
  if (closed_.load()) return FailedPrecondition("pubsub.redis is closed");
  if (request.topic.empty()) return InvalidArgument("pubsub.redis: the topic is empty");
  auto reply = PoolCommand(*pool_, XaddCommand(request, request.data));
  const std::string what = "pubsub.redis: publish to topic " + request.topic;
  if (!reply.ok()) return Status(StatusCode::kUnavailable, what + ": " + reply.error().message());
  if (IsError(reply->get())) return Internal(what + " failed: " + std::string(Text(reply->get())));
  return Status::Ok();
}

Status RedisPubSub::Subscribe(const ::dapr::pubsub::SubscribeRequest& request,
                              MessageHandler handler) {
  if (!pool_) return FailedPrecondition("pubsub.redis is not initialized");
  if (closed_.load()) return FailedPrecondition("pubsub.redis is closed");
  if (request.topic.empty()) return InvalidArgument("pubsub.redis: the topic is empty");
  auto created = PoolCommand(*pool_, GroupCreateArgs(request.topic, options_.consumer_group));
  const std::string what = "pubsub.redis: consumer group " + options_.consumer_group +
                           " on topic " + request.topic;
  if (!created.ok()) return Status(StatusCode::kUnavailable, what + ": " + created.error().message());
  if (!GroupExists(created->get())) {
    return FailedPrecondition(what + ": " + std::string(Text(created->get())));
  }
  RedisPubSubOptions options = options_;
  options.concurrency = std::max(options.concurrency, request.min_concurrency);
  auto subscription = std::make_shared<Subscription>(request.topic, std::move(handler), options,
                                                     consumer_name_, pool_, async_, loop_);
  std::lock_guard lock(mutex_);
  if (closed_.load()) return FailedPrecondition("pubsub.redis is closed");
  subscription->Start();
  subscriptions_.push_back(std::move(subscription));
  return Status::Ok();
}

Status RedisPubSub::Unsubscribe(const std::string& topic) {
  std::vector<std::shared_ptr<Subscription>> ended;
  {
    std::lock_guard lock(mutex_);
    auto of_topic = [&topic](const auto& s) { return s->topic() == topic; };
    std::copy_if(subscriptions_.begin(), subscriptions_.end(), std::back_inserter(ended), of_topic);
    std::erase_if(subscriptions_, of_topic);
  }
  const auto deadline = Clock::now() + kCloseWait;
  for (auto& subscription : ended) subscription->RequestStop();
  for (auto& subscription : ended) subscription->Join(deadline);
  return Status::Ok();
}

// Stops every subscription at once, then waits for them under one shared deadline.
// The pool stays until destruction: a `done` after Close still acks.
void RedisPubSub::Close() {
  std::vector<std::shared_ptr<Subscription>> subscriptions;
  {
    std::lock_guard lock(mutex_);
    if (closed_.exchange(true)) return;
    subscriptions.swap(subscriptions_);
  }
  const auto deadline = Clock::now() + kCloseWait;
  for (auto& subscription : subscriptions) subscription->RequestStop();
  for (auto& subscription : subscriptions) subscription->Join(deadline);
}

}  // namespace dapr::components::pubsub
