#include "components/pubsub/mqtt3/mqtt_pubsub.h"

#include <mosquitto.h>
#include <sys/socket.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <charconv>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <deque>
#include <exception>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <vector>

#include "dapr/registry.h"  // ToLower

namespace dapr::components::pubsub {
namespace {

using Clock = std::chrono::steady_clock;
using ::dapr::pubsub::DeliveryDone;
using ::dapr::pubsub::Message;
using ::dapr::pubsub::MessageHandler;
using std::chrono::milliseconds;

constexpr int kKeepAliveSeconds = 30;
// mosquitto_loop's select timeout: only a backstop, since Stop wakes the loop at once.
constexpr int kLoopTimeoutMs = 1000;
// Reconnection backoff of a network thread: doubles from the first to the last.
constexpr milliseconds kReconnectFirst{500};
constexpr milliseconds kReconnectMax{10000};
// How long Init and Subscribe wait for the broker (CONNACK, SUBACK), and Publish for its ack.
constexpr milliseconds kBrokerWait{10000};
// How long Close waits for a network thread, e.g. one stuck connecting to a silent host.
constexpr milliseconds kStopWait{2000};
constexpr size_t kMaxPayload = 268435455;  // MQTT's largest remaining length

constexpr std::string_view kScope = "dapr.pubsub.mqtt3";

// ---- logging ---------------------------------------------------------------------------

// One line on stderr in daprd's text format (see the header comment for why not spdlog).
void Log(const char* level, const std::string& text) {
  const auto now = std::chrono::system_clock::now();
  const std::time_t seconds = std::chrono::system_clock::to_time_t(now);
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  char stamp[32];
  std::strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &utc);
  const long long micros =
      std::chrono::duration_cast<std::chrono::microseconds>(now.time_since_epoch()).count() %
      1000000;
  std::string escaped;
  escaped.reserve(text.size());
  for (char c : text) {
    if (c == '"' || c == '\\') escaped += '\\';
    escaped += (c == '\n' ? ' ' : c);
  }
  std::fprintf(stderr, "time=\"%s.%06lld+0000\" level=%s msg=\"%s\" scope=%.*s\n", stamp, micros,
               level, escaped.c_str(), static_cast<int>(kScope.size()), kScope.data());
}

void LibraryInit() {
  static std::once_flag once;
  std::call_once(once, [] { mosquitto_lib_init(); });
}

// A libmosquitto error code as text; errno's text for MOSQ_ERR_ERRNO.
std::string ErrorText(int rc, int saved_errno) {
  if (rc == MOSQ_ERR_ERRNO && saved_errno != 0) return std::strerror(saved_errno);
  return mosquitto_strerror(rc);
}

// ---- options -----------------------------------------------------------------------------

Status BadUrl(const std::string& why) {
  // Never quotes the url: it may hold a password.
  return InvalidArgument("metadata url: " + why +
                         " (expected tcp://[user[:password]@]host[:port])");
}

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

Result<std::string> PercentDecode(std::string_view text) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '%') {
      out += text[i];
      continue;
    }
    const int high = i + 1 < text.size() ? HexDigit(text[i + 1]) : -1;
    const int low = i + 2 < text.size() ? HexDigit(text[i + 2]) : -1;
    if (high < 0 || low < 0) return BadUrl("bad %-escape in the user info");
    out += static_cast<char>(high * 16 + low);
    i += 2;
  }
  return out;
}

Status ParsePort(std::string_view text, int& port) {
  int value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size() || value <= 0 ||
      value > 65535) {
    return BadUrl("invalid port \"" + std::string(text) + "\"");
  }
  port = value;
  return Status::Ok();
}

// scheme://[user[:password]@]host[:port][/...]: as Dapr, only the authority is used.
Status ParseUrl(const std::string& url, MqttPubSubOptions& out) {
  const size_t separator = url.find("://");
  if (separator == std::string::npos) return BadUrl("no scheme");
  const std::string scheme = ToLower(url.substr(0, separator));
  if (scheme == "ssl" || scheme == "mqtts" || scheme == "tcps" || scheme == "tls") {
    return FailedPrecondition("metadata url: TLS (" + scheme +
                              "://) is not supported by this build of pubsub.mqtt3; use tcp://");
  }
  if (scheme != "tcp" && scheme != "mqtt") return BadUrl("unsupported scheme \"" + scheme + "\"");
  std::string_view rest = std::string_view(url).substr(separator + 3);
  rest = rest.substr(0, std::min(rest.size(), rest.find_first_of("/?#")));
  if (const size_t at = rest.rfind('@'); at != std::string_view::npos) {
    std::string_view userinfo = rest.substr(0, at);
    rest.remove_prefix(at + 1);
    const size_t colon = userinfo.find(':');
    auto user = PercentDecode(userinfo.substr(0, colon));
    if (!user.ok()) return user.error();
    out.username = std::move(user).value();
    if (colon != std::string_view::npos) {
      auto password = PercentDecode(userinfo.substr(colon + 1));
      if (!password.ok()) return password.error();
      out.password = std::move(password).value();
    }
  }
  std::optional<std::string_view> port;  // after a ':'
  if (!rest.empty() && rest.front() == '[') {
    const size_t close = rest.find(']');
    if (close == std::string_view::npos) return BadUrl("unclosed [ in the host");
    out.host = std::string(rest.substr(1, close - 1));
    rest.remove_prefix(close + 1);
    if (!rest.empty() && rest.front() != ':') return BadUrl("unexpected text after the host");
    if (!rest.empty()) port = rest.substr(1);
  } else {
    const size_t colon = rest.find(':');
    if (colon != rest.rfind(':')) return BadUrl("an IPv6 address needs brackets");
    out.host = std::string(rest.substr(0, colon));
    if (colon != std::string_view::npos) port = rest.substr(colon + 1);
  }
  if (out.host.empty()) return BadUrl("no host");
  out.port = 1883;
  if (port) return ParsePort(*port, out.port);
  return Status::Ok();
}

Status PositiveDuration(const ComponentMetadata& metadata, std::string_view key,
                        milliseconds& out) {
  auto value = metadata.GetDuration(key, out);
  if (!value.ok()) return value.error();
  if (value.value() <= milliseconds::zero()) {
    return InvalidArgument("metadata " + std::string(key) + ": must be positive");
  }
  out = value.value();
  return Status::Ok();
}

// ---- topics ------------------------------------------------------------------------------

// The filter a message topic is matched against: a shared subscription's without
// "$share/<group>/", which the broker does not send.
std::string MatchPart(const std::string& filter) {
  constexpr std::string_view kShare = "$share/";
  if (filter.compare(0, kShare.size(), kShare) != 0) return filter;
  const size_t slash = filter.find('/', kShare.size());
  return slash == std::string::npos ? filter : filter.substr(slash + 1);
}

bool Matches(const std::string& match, const std::string& topic) {
  bool result = false;
  return mosquitto_topic_matches_sub(match.c_str(), topic.c_str(), &result) == MOSQ_ERR_SUCCESS &&
         result;
}

}  // namespace

std::string MqttPubSubOptions::Address() const {
  const bool v6 = host.find(':') != std::string::npos;
  return (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

// Keys of Dapr's not listed in metadata.yaml are ignored.
Result<MqttPubSubOptions> ParseMqttPubSubOptions(const ComponentMetadata& metadata) {
  MqttPubSubOptions options;
  auto url = metadata.Get("url");
  if (!url || url->empty()) return InvalidArgument("metadata url is required (tcp://host:port)");
  if (Status status = ParseUrl(*url, options); !status.ok()) return status;
  for (const char* key : {"caCert", "clientCert", "clientKey"}) {
    if (!metadata.GetOr(key, "").empty()) {
      return FailedPrecondition(std::string("metadata ") + key +
                                ": TLS is not supported by this build of pubsub.mqtt3");
    }
  }
  auto consumer = metadata.Get("consumerID");
  if (!consumer || consumer->empty()) return InvalidArgument("metadata consumerID is required");
  options.consumer_id = *consumer;
  long long qos = options.qos;
  if (Status s = metadata.ReadIntInRange("qos", 0, 2, qos); !s.ok()) return s;
  options.qos = static_cast<int>(qos);
  auto retain = metadata.GetBool("retain", options.retain);
  if (!retain.ok()) return retain.error();
  options.retain = retain.value();
  auto clean = metadata.GetBool("cleanSession", options.clean_session);
  if (!clean.ok()) return clean.error();
  options.clean_session = clean.value();
  if (Status s = metadata.ReadIntInRange("backOffMaxRetries", -1, INT32_MAX, options.max_retries);
      !s.ok())
    return s;
  if (Status s = PositiveDuration(metadata, "backOffInitialInterval", options.backoff_initial);
      !s.ok())
    return s;
  if (Status s = PositiveDuration(metadata, "backOffMaxInterval", options.backoff_max); !s.ok())
    return s;
  if (options.backoff_max < options.backoff_initial) {
    return InvalidArgument(
        "metadata backOffMaxInterval: must not be less than backOffInitialInterval");
  }
  long long concurrency = static_cast<long long>(options.concurrency);
  if (Status s = metadata.ReadIntInRange("concurrency", 1, 100000, concurrency); !s.ok()) return s;
  options.concurrency = static_cast<size_t>(concurrency);
  long long depth = static_cast<long long>(options.queue_depth);
  if (Status s = metadata.ReadIntInRange("queueDepth", 1, 1000000, depth); !s.ok()) return s;
  options.queue_depth = static_cast<size_t>(depth);
  return options;
}

// ---- Connection ----------------------------------------------------------------------------

// One MQTT client and the network thread that alone drives it (mosquitto_loop, reconnects).
// Callbacks run on that thread. Publish and Subscribe run on the caller's thread and wait
// for the broker's answer, which the thread hands over through waiters_, keyed by packet id.
// The thread holds the object alive until it has left the broker.
class MqttPubSub::Connection : public std::enable_shared_from_this<Connection> {
 public:
  struct Hooks {
    std::function<void(Connection&)> connected;  // after each successful CONNACK
    // Each message received; false when it was not taken (the component is closing).
    std::function<bool(const mosquitto_message&)> message;
  };

  // `abortive`: leave by dropping the connection, never flushing what is queued for the
  // broker (the subscriber's: an unsent PUBACK keeps its message with the broker).
  Connection(std::string role, std::string client_id, bool clean_session, bool abortive,
             const MqttPubSubOptions& options, Hooks hooks)
      : role_(std::move(role)),
        client_id_(std::move(client_id)),
        clean_session_(clean_session),
        abortive_(abortive),
        options_(options),
        hooks_(std::move(hooks)) {}

  ~Connection() {
    if (thread_.joinable()) thread_.detach();  // only when destroyed by its own thread
    if (mosq_ != nullptr) mosquitto_destroy(mosq_);
  }

  // Starts the network thread and waits for the first CONNACK: an error when the broker
  // cannot be reached, refuses the client or says nothing within `timeout`.
  static Result<std::shared_ptr<Connection>> Open(std::string role, std::string client_id,
                                                  bool clean_session, bool abortive,
                                                  const MqttPubSubOptions& options, Hooks hooks,
                                                  milliseconds timeout) {
    auto connection = std::make_shared<Connection>(
        std::move(role), std::move(client_id), clean_session, abortive, options, std::move(hooks));
    if (Status status = connection->Create(); !status.ok()) return status;
    connection->thread_ = std::thread([connection] { connection->Run(); });
    Status outcome = connection->WaitFirstOutcome(Clock::now() + timeout);
    if (!outcome.ok()) {
      connection->Stop();
      connection->Join(Clock::now() + kStopWait);
      return outcome;
    }
    return connection;
  }

  // Blocks until the broker acknowledged the message (QoS 1 and 2), at most `timeout`.
  Status Publish(const std::string& topic, const std::string& data, int qos, bool retain,
                 milliseconds timeout) {
    if (data.size() > kMaxPayload)
      return InvalidArgument("pubsub.mqtt3: the message is larger than MQTT allows");
    if (topic.find('\0') != std::string::npos)
      return InvalidArgument("pubsub.mqtt3: the topic holds a NUL");
    std::unique_lock lock(mutex_);
    if (stopping_) return FailedPrecondition("pubsub.mqtt3 is closed");
    if (!connected_) {
      return Unavailable("pubsub.mqtt3: not connected to the MQTT broker at " + options_.Address() +
                         " (reconnecting)");
    }
    int mid = 0;
    const int rc = mosquitto_publish(mosq_, &mid, topic.c_str(), static_cast<int>(data.size()),
                                     data.data(), qos, retain);
    if (rc != MOSQ_ERR_SUCCESS) {
      const std::string what =
          "pubsub.mqtt3: publish to topic " + topic + ": " + ErrorText(rc, errno);
      if (rc == MOSQ_ERR_INVAL || rc == MOSQ_ERR_MALFORMED_UTF8) {
        return InvalidArgument(what + " (not a valid topic name: no wildcards, valid UTF-8)");
      }
      if (rc == MOSQ_ERR_PAYLOAD_SIZE || rc == MOSQ_ERR_OVERSIZE_PACKET)
        return InvalidArgument(what);
      return Unavailable(what);
    }
    if (qos == 0) return Status::Ok();
    Waiter waiter;
    waiters_[mid] = &waiter;
    const bool answered = changed_.wait_for(lock, timeout, [&] { return waiter.done; });
    waiters_.erase(mid);
    if (!answered) {
      return Status(StatusCode::kDeadlineExceeded,
                    "pubsub.mqtt3: publish to topic " + topic +
                        ": the broker did not acknowledge it within " +
                        std::to_string(timeout.count() / 1000) + "s");
    }
    if (!waiter.status.ok()) {
      return Status(waiter.status.code(),
                    "pubsub.mqtt3: publish to topic " + topic + ": " + waiter.status.message());
    }
    return Status::Ok();
  }

  // Subscribes and waits for the SUBACK; `acked` runs on the network thread when it comes,
  // before any later reconnection is handled. Tries again after a connection loss.
  Status Subscribe(const std::string& filter, int qos, Clock::time_point deadline,
                   std::function<void()> acked) {
    const std::string what = "pubsub.mqtt3: subscribe to " + filter + ": ";
    std::unique_lock lock(mutex_);
    while (true) {
      changed_.wait_until(lock, deadline, [&] { return stopping_ || connected_; });
      if (stopping_) return FailedPrecondition("pubsub.mqtt3 is closed");
      if (!connected_)
        return Unavailable(what + "not connected to the MQTT broker at " + options_.Address());
      int mid = 0;
      const int rc = mosquitto_subscribe(mosq_, &mid, filter.c_str(), qos);
      if (rc == MOSQ_ERR_INVAL || rc == MOSQ_ERR_MALFORMED_UTF8) {
        return InvalidArgument(what + "not a valid topic filter");
      }
      if (rc != MOSQ_ERR_SUCCESS) return Unavailable(what + ErrorText(rc, errno));
      Waiter waiter;
      waiter.filter = filter;
      waiter.acked = acked;
      waiters_[mid] = &waiter;
      const bool answered = changed_.wait_until(lock, deadline, [&] { return waiter.done; });
      waiters_.erase(mid);
      if (!answered) {
        return Status(StatusCode::kDeadlineExceeded, what + "no answer from the broker in time");
      }
      // The connection dropped before the SUBACK: once connected again, subscribe again.
      if (waiter.status.code() == StatusCode::kUnavailable && !stopping_ && Clock::now() < deadline)
        continue;
      if (!waiter.status.ok()) return Status(waiter.status.code(), what + waiter.status.message());
      return Status::Ok();
    }
  }

  // On the network thread (the `connected` hook): subscribes without waiting.
  void Resubscribe(const std::vector<std::string>& filters, int qos) {
    std::vector<char*> pointers;
    for (const auto& filter : filters) pointers.push_back(const_cast<char*>(filter.c_str()));
    std::lock_guard lock(mutex_);
    int mid = 0;
    const int rc = mosquitto_subscribe_multiple(mosq_, &mid, static_cast<int>(pointers.size()),
                                                pointers.data(), qos, 0, nullptr);
    if (rc != MOSQ_ERR_SUCCESS) {
      Log("warning",
          role_ + ": subscribing again after reconnecting failed: " + ErrorText(rc, errno));
      return;
    }
    resubscriptions_[mid] = filters;
  }

  // Sends UNSUBSCRIBE and waits for the UNSUBACK, at most until deadline. Not connected,
  // there is nothing to wait for: the filter is no longer subscribed again on reconnecting
  // (a session the broker keeps may still hold it; its messages then find no route here).
  Status Unsubscribe(const std::string& filter, Clock::time_point deadline) {
    std::unique_lock lock(mutex_);
    if (stopping_ || !connected_) return Status::Ok();
    int mid = 0;
    const int rc = mosquitto_unsubscribe(mosq_, &mid, filter.c_str());
    if (rc != MOSQ_ERR_SUCCESS) {
      return Unavailable("pubsub.mqtt3: unsubscribe from " + filter + ": " + ErrorText(rc, errno));
    }
    Waiter waiter;
    waiters_[mid] = &waiter;
    const bool answered = changed_.wait_until(lock, deadline, [&] { return waiter.done; });
    waiters_.erase(mid);
    if (!answered) {
      return Status(StatusCode::kDeadlineExceeded,
                    "pubsub.mqtt3: unsubscribe from " + filter + ": no answer from the broker in time");
    }
    return Status::Ok();  // a connection lost meanwhile ends the subscription as well
  }

  // Fails the waiting calls and has the thread leave the broker and end.
  void Stop() {
    {
      std::lock_guard lock(mutex_);
      if (stopping_) return;
      stopping_ = true;
      FailWaiters(FailedPrecondition("pubsub.mqtt3 is closed"));
    }
    changed_.notify_all();
    // Queues a DISCONNECT, which also wakes the thread from select; from here on a message
    // arriving is refused by the library, unacknowledged, so the broker keeps it.
    mosquitto_disconnect(mosq_);
  }

  // Called once Open succeeded: failures before that are Init's or Subscribe's to report,
  // later ones are logged.
  void MarkOpened() { opened_ = true; }

  // Waits for the thread; past the deadline leaves it to finish alone. True if it ended.
  bool Join(Clock::time_point deadline) {
    std::unique_lock lock(mutex_);
    const bool ended = changed_.wait_until(lock, deadline, [&] { return exited_; });
    lock.unlock();
    if (!thread_.joinable()) return ended;
    if (ended && thread_.get_id() != std::this_thread::get_id()) {
      thread_.join();
    } else {
      Log("warning", role_ + ": the network thread did not stop in time; leaving it behind");
      thread_.detach();
    }
    return ended;
  }

 private:
  struct Waiter {
    bool done = false;
    Status status;
    std::string filter;           // a subscription's
    std::function<void()> acked;  // a subscription's
  };

  Status WaitFirstOutcome(Clock::time_point deadline) {
    std::unique_lock lock(mutex_);
    changed_.wait_until(lock, deadline, [&] { return first_outcome_.has_value(); });
    if (first_outcome_) return *first_outcome_;
    return Status(StatusCode::kDeadlineExceeded,
                  "pubsub.mqtt3: no answer from the MQTT broker at " + options_.Address() +
                      " within " + std::to_string(kBrokerWait.count() / 1000) + "s");
  }
  Status Create() {
    LibraryInit();
    mosq_ = mosquitto_new(client_id_.c_str(), clean_session_, this);
    if (mosq_ == nullptr)
      return Internal("pubsub.mqtt3: mosquitto_new: " + std::string(std::strerror(errno)));
    mosquitto_int_option(mosq_, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V311);
    mosquitto_threaded_set(mosq_, true);  // our own thread runs the loop
    if (!options_.username.empty()) {
      const int rc = mosquitto_username_pw_set(
          mosq_, options_.username.c_str(),
          options_.password.empty() ? nullptr : options_.password.c_str());
      if (rc != MOSQ_ERR_SUCCESS)
        return InvalidArgument("metadata url: unusable user name: " + ErrorText(rc, 0));
    }
    mosquitto_connect_callback_set(mosq_, [](mosquitto*, void* self, int rc) {
      static_cast<Connection*>(self)->OnConnect(rc);
    });
    mosquitto_disconnect_callback_set(
        mosq_, [](mosquitto*, void* self, int) { static_cast<Connection*>(self)->OnDisconnect(); });
    mosquitto_publish_callback_set(mosq_, [](mosquitto*, void* self, int mid) {
      static_cast<Connection*>(self)->OnAck(mid);
    });
    mosquitto_subscribe_callback_set(
        mosq_, [](mosquitto*, void* self, int mid, int count, const int* granted) {
          static_cast<Connection*>(self)->OnSubscribe(mid, count, granted);
        });
    mosquitto_unsubscribe_callback_set(mosq_, [](mosquitto*, void* self, int mid) {
      static_cast<Connection*>(self)->OnAck(mid);
    });
    mosquitto_message_callback_set(mosq_,
                                   [](mosquitto*, void* self, const mosquitto_message* message) {
                                     static_cast<Connection*>(self)->OnMessage(message);
                                   });
    return Status::Ok();
  }

  // ---- network thread ----------------------------------------------------------------------

  void Run() {
    milliseconds backoff = kReconnectFirst;
    bool first = true;
    while (!Stopping()) {
      errno = 0;
      int rc =
          first ? mosquitto_connect(mosq_, options_.host.c_str(), options_.port, kKeepAliveSeconds)
                : mosquitto_reconnect(mosq_);
      int saved_errno = errno;
      first = false;
      if (rc == MOSQ_ERR_SUCCESS) {
        while (!Stopping() && (rc = mosquitto_loop(mosq_, kLoopTimeoutMs, 1)) == MOSQ_ERR_SUCCESS) {
        }
        saved_errno = errno;
      }
      if (Stopping()) break;
      Lost(ErrorText(rc, saved_errno));
      if (reset_backoff_.exchange(false)) backoff = kReconnectFirst;
      {
        std::unique_lock lock(mutex_);
        changed_.wait_for(lock, backoff, [&] { return stopping_; });
      }
      backoff = std::min(backoff * 2, kReconnectMax);
    }
    Leave();
    std::lock_guard lock(mutex_);
    connected_ = false;
    FailWaiters(FailedPrecondition("pubsub.mqtt3 is closed"));
    exited_ = true;
    changed_.notify_all();
  }

  // Sends the DISCONNECT that Stop queued (or queues it now) and closes the socket; or,
  // abortive, drops the connection with whatever is still queued.
  void Leave() {
    if (mosquitto_socket(mosq_) == -1) return;
    if (abortive_) return Abort();
    mosquitto_disconnect(mosq_);
    for (int i = 0; i < 10 && mosquitto_socket(mosq_) != -1; ++i) {
      if (mosquitto_loop(mosq_, 100, 1) != MOSQ_ERR_SUCCESS) break;
    }
  }

  bool Stopping() {
    std::lock_guard lock(mutex_);
    return stopping_;
  }

  // A connection that failed or broke. Logs the first of a run of failures only.
  void Lost(const std::string& why) {
    bool was_connected = false;
    bool report = false;
    {
      std::lock_guard lock(mutex_);
      was_connected = was_active_;
      connected_ = false;
      was_active_ = false;
      FailWaiters(Unavailable("the connection to the MQTT broker was lost"));
      if (!first_outcome_) {
        first_outcome_ = Unavailable("pubsub.mqtt3: cannot connect to the MQTT broker at " +
                                     options_.Address() + ": " + why);
      }
      report = was_connected || !failing_;
      failing_ = true;
      lost_once_ = true;
    }
    changed_.notify_all();
    if (!report || !opened_) return;
    if (was_connected) {
      Log("warning", role_ + " " + client_id_ + ": connection to " + options_.Address() +
                         " lost (" + why + "); reconnecting");
    } else {
      Log("warning", role_ + " " + client_id_ + ": cannot connect to " + options_.Address() + " (" +
                         why + "); retrying");
    }
  }

  void OnConnect(int rc) {
    if (rc != 0) {
      bool report = false;
      {
        std::lock_guard lock(mutex_);
        if (!first_outcome_) {
          StatusCode code = StatusCode::kFailedPrecondition;
          if (rc == 3) code = StatusCode::kUnavailable;       // server unavailable
          if (rc == 4) code = StatusCode::kUnauthenticated;   // bad user name or password
          if (rc == 5) code = StatusCode::kPermissionDenied;  // not authorized
          first_outcome_ = Status(code, "pubsub.mqtt3: the MQTT broker at " + options_.Address() +
                                            " refused client " + client_id_ + ": " +
                                            mosquitto_connack_string(rc));
        }
        report = opened_ && !failing_;
        failing_ = true;  // Lost, which follows, logs nothing more
      }
      changed_.notify_all();
      if (report) {
        Log("warning", role_ + " " + client_id_ + ": the broker refused the connection: " +
                           mosquitto_connack_string(rc) + "; retrying");
      }
      return;
    }
    bool recovered = false;
    {
      std::lock_guard lock(mutex_);
      connected_ = true;
      was_active_ = true;
      recovered = lost_once_ && opened_;
      failing_ = false;
      if (!first_outcome_) first_outcome_ = Status::Ok();
    }
    reset_backoff_ = true;
    changed_.notify_all();
    if (recovered)
      Log("info", role_ + " " + client_id_ + ": connected to " + options_.Address() + " again");
    if (hooks_.connected) hooks_.connected(*this);
  }

  // The library queued the PUBACK (QoS 1) before calling this, and writes it some time
  // after this returns. A message not taken must not be acknowledged: ending the connection here, on
  // the network thread that owns the socket, drops that PUBACK, so the broker keeps the
  // message (and resends it to the next session of a kept one).
  void OnMessage(const mosquitto_message* message) {
    if (!hooks_.message || message == nullptr) return;
    if (!hooks_.message(*message)) Abort();
  }

  // On the network thread only: shuts the socket down (the library closes it), so that
  // nothing more is written to it. A DISCONNECT is not needed: the broker keeps or drops the
  // session as cleanSession says either way.
  void Abort() {
    const int fd = mosquitto_socket(mosq_);
    if (fd >= 0) ::shutdown(fd, SHUT_RDWR);
  }

  void OnDisconnect() {
    {
      std::lock_guard lock(mutex_);
      connected_ = false;
      FailWaiters(Unavailable("the connection to the MQTT broker was lost"));
    }
    changed_.notify_all();
  }

  // A PUBACK/PUBCOMP or an UNSUBACK: wakes the call waiting for packet mid.
  void OnAck(int mid) {
    {
      std::lock_guard lock(mutex_);
      auto it = waiters_.find(mid);
      if (it == waiters_.end()) return;  // QoS 0, or a publish that stopped waiting
      it->second->done = true;
    }
    changed_.notify_all();
  }

  void OnSubscribe(int mid, int count, const int* granted) {
    bool refused = false;
    for (int i = 0; i < count; ++i) refused = refused || granted[i] == 0x80;
    std::function<void()> acked;
    {
      std::lock_guard lock(mutex_);
      if (auto again = resubscriptions_.find(mid); again != resubscriptions_.end()) {
        if (refused)
          Log("warning", role_ + ": the broker refused a subscription when subscribing again");
        resubscriptions_.erase(again);
        return;
      }
      auto it = waiters_.find(mid);
      if (it == waiters_.end()) return;
      Waiter& waiter = *it->second;
      waiter.done = true;
      if (refused) {
        waiter.status =
            Status(StatusCode::kPermissionDenied, "the broker refused the subscription");
      } else {
        acked = waiter.acked;
      }
    }
    changed_.notify_all();
    if (acked) acked();
  }

  // With mutex_ held.
  void FailWaiters(const Status& status) {
    for (auto& [mid, waiter] : waiters_) {
      if (waiter->done) continue;
      waiter->done = true;
      waiter->status = status;
    }
  }

  const std::string role_;
  const std::string client_id_;
  const bool clean_session_;
  const bool abortive_;
  const MqttPubSubOptions options_;
  const Hooks hooks_;
  mosquitto* mosq_ = nullptr;
  std::thread thread_;
  std::atomic<bool> reset_backoff_{false};
  std::atomic<bool> opened_{false};

  std::mutex mutex_;
  std::condition_variable changed_;
  std::map<int, Waiter*> waiters_;                           // by packet id
  std::map<int, std::vector<std::string>> resubscriptions_;  // by packet id
  std::optional<Status> first_outcome_;                      // of the first connection attempt
  bool connected_ = false;   // CONNACK accepted, no disconnection since
  bool was_active_ = false;  // CONNACK accepted on this connection (until Lost reports it)
  bool failing_ = false;     // the last attempt failed (logged once)
  bool lost_once_ = false;
  bool stopping_ = false;
  bool exited_ = false;
};

// ---- Inbox ---------------------------------------------------------------------------------

// The subscriptions and the messages received for them: one FIFO lane per concrete topic,
// delivered one at a time each, several lanes at once up to `concurrency`. Lanes whose
// topic matches no subscription are parked until one does. `done` callbacks hold the inbox,
// so an answer after Close is harmless.
class MqttPubSub::Inbox : public std::enable_shared_from_this<Inbox> {
 public:
  explicit Inbox(const MqttPubSubOptions& options) : options_(options) {}

  ~Inbox() {
    if (dispatcher_.joinable()) dispatcher_.detach();  // only when destroyed by its own thread
  }

  void Start() {
    dispatcher_ = std::thread([self = shared_from_this()] { self->DispatchLoop(); });
  }

  Status AddRoute(const std::string& filter, MessageHandler handler) {
    std::lock_guard lock(mutex_);
    if (stopping_) return FailedPrecondition("pubsub.mqtt3 is closed");
    for (const auto& route : routes_) {
      if (route->filter == filter)
        return Status(StatusCode::kAlreadyExists, "pubsub.mqtt3: already subscribed to " + filter);
    }
    auto route = std::make_shared<Route>();
    route->filter = filter;
    route->match = MatchPart(filter);
    route->handler = std::move(handler);
    routes_.push_back(route);
    for (auto& [topic, lane] : lanes_) {
      if (!lane.parked || !Matches(route->match, topic)) continue;
      lane.parked = false;
      parked_ -= lane.queue.size();
      queued_ += lane.queue.size();
      Schedule(topic, lane);
    }
    return Status::Ok();
  }

  // A Subscribe that failed, or an Unsubscribe: the route's messages wait (parked) for
  // another route, or Close. False when there was no such route.
  bool RemoveRoute(const std::string& filter) {
    std::lock_guard lock(mutex_);
    const size_t before = routes_.size();
    routes_.erase(std::remove_if(routes_.begin(), routes_.end(),
                                 [&](const auto& r) { return r->filter == filter; }),
                  routes_.end());
    return routes_.size() != before;
  }

  // The broker acknowledged the subscription: subscribe it again after each reconnection.
  void Activate(const std::string& filter) {
    std::lock_guard lock(mutex_);
    for (auto& route : routes_) {
      if (route->filter == filter) route->active = true;
    }
  }

  std::vector<std::string> ActiveFilters() {
    std::lock_guard lock(mutex_);
    std::vector<std::string> filters;
    for (const auto& route : routes_) {
      if (route->active) filters.push_back(route->filter);
    }
    return filters;
  }

  // On the network thread: queues a message, waiting for room when queueDepth are held.
  // False when it was not taken because the component is closing (a message for no
  // subscription that does not fit is dropped, and counts as taken).
  bool Accept(const mosquitto_message& raw) {
    Message message;
    message.topic = raw.topic != nullptr ? raw.topic : "";
    if (raw.payload != nullptr && raw.payloadlen > 0) {
      message.data.assign(static_cast<const char*>(raw.payload),
                          static_cast<size_t>(raw.payloadlen));
    }
    message.metadata["retained"] = raw.retain ? "true" : "false";
    std::unique_lock lock(mutex_);
    room_.wait(lock, [&] { return stopping_ || queued_ < options_.queue_depth; });
    if (stopping_) return false;
    auto [it, created] = lanes_.try_emplace(message.topic);
    Lane& lane = it->second;
    if (created) lane.parked = FindRoute(message.topic) == nullptr;
    if (lane.parked) {
      if (parked_ >= options_.queue_depth) {
        if (dropped_unrouted_++ % 100 == 0) {
          Log("warning", "dropping a message of topic " + message.topic +
                             ": no subscription matches it and " + std::to_string(parked_) +
                             " such messages are waiting already");
        }
        if (created) lanes_.erase(it);
        return true;
      }
      lane.queue.push_back(Queued{std::move(message), 0});
      ++parked_;
      return true;
    }
    lane.queue.push_back(Queued{std::move(message), 0});
    ++queued_;
    Schedule(it->first, lane);
    return true;
  }

  // No handler call starts after this returns (unless called from a handler, on the
  // dispatcher thread itself). The messages held are dropped.
  void Stop() {
    {
      std::lock_guard lock(mutex_);
      if (stopping_) return;
      stopping_ = true;
    }
    room_.notify_all();
    wake_.notify_all();
    if (dispatcher_.joinable()) {
      if (dispatcher_.get_id() == std::this_thread::get_id()) {
        dispatcher_.detach();
      } else {
        dispatcher_.join();
      }
    }
    std::lock_guard lock(mutex_);
    const size_t held = queued_ - in_flight_ + parked_;
    if (held > 0) {
      Log("warning",
          std::to_string(held) + " received message(s) not delivered yet are dropped on close");
    }
    lanes_.clear();
    ready_.clear();
    delayed_.clear();
    routes_.clear();
  }

 private:
  struct Route {
    std::string filter;  // as subscribed
    std::string match;   // what message topics are matched against
    MessageHandler handler;
    bool active = false;  // acknowledged by the broker
  };
  struct Queued {
    Message message;
    long long failures = 0;
  };
  struct Lane {
    std::deque<Queued> queue;  // the head is the one in flight or due next
    bool parked = false;       // no subscription matches the topic
    bool busy = false;         // the head is with a handler
    bool scheduled = false;    // in ready_ or delayed_
  };

  // With mutex_ held. An exact filter first, then the first matching one, as Dapr.
  std::shared_ptr<Route> FindRoute(const std::string& topic) const {
    for (const auto& route : routes_) {
      if (route->match == topic) return route;
    }
    for (const auto& route : routes_) {
      if (Matches(route->match, topic)) return route;
    }
    return nullptr;
  }

  // With mutex_ held.
  void Schedule(const std::string& topic, Lane& lane) {
    if (lane.busy || lane.scheduled || lane.parked || lane.queue.empty()) return;
    lane.scheduled = true;
    ready_.push_back(topic);
    wake_.notify_one();
  }

  milliseconds Backoff(long long failures) const {
    milliseconds delay = options_.backoff_initial;
    for (long long i = 1; i < failures && delay < options_.backoff_max; ++i) delay *= 2;
    return std::min(delay, options_.backoff_max);
  }

  void DispatchLoop() {
    std::unique_lock lock(mutex_);
    while (!stopping_) {
      const auto now = Clock::now();
      while (!delayed_.empty() && delayed_.begin()->first <= now) {
        ready_.push_back(std::move(delayed_.begin()->second));
        delayed_.erase(delayed_.begin());
      }
      if (in_flight_ < options_.concurrency && !ready_.empty()) {
        std::string topic = std::move(ready_.front());
        ready_.pop_front();
        auto it = lanes_.find(topic);
        if (it == lanes_.end()) continue;
        Lane& lane = it->second;
        lane.scheduled = false;
        if (lane.queue.empty()) {
          lanes_.erase(it);
          continue;
        }
        auto route = FindRoute(topic);
        if (!route) {  // its Subscribe failed meanwhile
          lane.parked = true;
          queued_ -= lane.queue.size();
          parked_ += lane.queue.size();
          room_.notify_all();
          continue;
        }
        lane.busy = true;
        ++in_flight_;
        Message message = lane.queue.front().message;  // kept for a redelivery
        lock.unlock();
        Deliver(route->handler, std::move(message), topic);
        lock.lock();
        continue;
      }
      if (!delayed_.empty()) {
        wake_.wait_until(lock, delayed_.begin()->first);
      } else {
        wake_.wait(lock);
      }
    }
  }

  void Deliver(const MessageHandler& handler, Message message, const std::string& topic) {
    auto answered = std::make_shared<std::atomic<bool>>(false);
    DeliveryDone done = [self = shared_from_this(), topic, answered](Status status) {
      if (answered->exchange(true)) return;  // "exactly once" is the caller's promise; be safe
      self->Finished(topic, status);
    };
    // An exception must not end the dispatcher (std::terminate); it counts as a failure.
    try {
      handler(std::move(message), done);
    } catch (const std::exception& error) {
      Log("error", "topic " + topic + ": the handler threw: " + error.what());
      done(Internal(error.what()));
    } catch (...) {
      Log("error", "topic " + topic + ": the handler threw");
      done(Internal("the handler threw"));
    }
  }

  void Finished(const std::string& topic, const Status& status) {
    std::lock_guard lock(mutex_);
    if (stopping_) return;
    auto it = lanes_.find(topic);
    if (it == lanes_.end() || !it->second.busy) return;
    Lane& lane = it->second;
    lane.busy = false;
    --in_flight_;
    Queued& head = lane.queue.front();
    bool remove = status.ok();
    if (!status.ok()) {
      ++head.failures;
      if (options_.max_retries > 0 && head.failures > options_.max_retries) {
        Log("error", "dropping a message of topic " + topic + " after " +
                         std::to_string(head.failures) +
                         " failed deliveries (backOffMaxRetries): " + status.message());
        remove = true;
      } else {
        lane.scheduled = true;
        delayed_.emplace(Clock::now() + Backoff(head.failures), topic);
      }
    }
    if (remove) {
      lane.queue.pop_front();
      --queued_;
      room_.notify_one();
    }
    if (lane.queue.empty() && !lane.scheduled) {
      lanes_.erase(it);
    } else {
      Schedule(topic, lane);
    }
    wake_.notify_one();
  }

  const MqttPubSubOptions options_;
  std::mutex mutex_;
  std::condition_variable wake_;  // the dispatcher: ready_, in_flight_ or delayed_ changed
  std::condition_variable room_;  // the network thread: queued_ went down
  std::vector<std::shared_ptr<Route>> routes_;
  std::unordered_map<std::string, Lane> lanes_;            // by concrete topic
  std::deque<std::string> ready_;                          // lanes due, in turn
  std::multimap<Clock::time_point, std::string> delayed_;  // lanes waiting to retry their head
  size_t queued_ = 0;     // messages in routed lanes, in flight included
  size_t parked_ = 0;     // messages in parked lanes
  size_t in_flight_ = 0;  // handler calls not answered
  size_t dropped_unrouted_ = 0;
  bool stopping_ = false;
  std::thread dispatcher_;
};

// ---- MqttPubSub ----------------------------------------------------------------------------

MqttPubSub::~MqttPubSub() { Close(); }

Status MqttPubSub::Init(const ComponentMetadata& metadata) {
  {
    std::lock_guard lock(mutex_);
    if (producer_ || closed_) return FailedPrecondition("pubsub.mqtt3: Init was called already");
  }
  auto options = ParseMqttPubSubOptions(metadata);
  if (!options.ok()) return options.error();
  auto producer = Connection::Open("publisher", options->ProducerId(), /*clean_session=*/true,
                                   /*abortive=*/false, options.value(), {}, kBrokerWait);
  if (!producer.ok()) return producer.error();
  (*producer)->MarkOpened();
  std::lock_guard lock(mutex_);
  options_ = std::move(options).value();
  producer_ = std::move(producer).value();
  return Status::Ok();
}

Status MqttPubSub::Publish(const ::dapr::pubsub::PublishRequest& request) {
  std::shared_ptr<Connection> producer;
  {
    std::lock_guard lock(mutex_);
    if (closed_) return FailedPrecondition("pubsub.mqtt3 is closed");
    producer = producer_;
  }
  if (!producer) return FailedPrecondition("pubsub.mqtt3 is not initialized");
  if (request.topic.empty()) return InvalidArgument("pubsub.mqtt3: the topic is empty");
  bool retain = options_.retain;
  if (auto it = request.metadata.find("retain");
      it != request.metadata.end() && !it->second.empty()) {
    auto parsed = ParseBool(it->second);
    if (!parsed)
      return InvalidArgument("pubsub.mqtt3: metadata retain: not a boolean: " + it->second);
    retain = *parsed;
  }
  return producer->Publish(request.topic, request.data, options_.qos, retain, kBrokerWait);
}

Status MqttPubSub::Subscribe(const ::dapr::pubsub::SubscribeRequest& request,
                             MessageHandler handler) {
  const std::string& filter = request.topic;
  if (filter.empty()) return InvalidArgument("pubsub.mqtt3: the topic is empty");
  if (filter.find('\0') != std::string::npos ||
      mosquitto_sub_topic_check(filter.c_str()) != MOSQ_ERR_SUCCESS) {
    return InvalidArgument("pubsub.mqtt3: \"" + filter + "\" is not a valid MQTT topic filter");
  }
  const auto deadline = Clock::now() + kBrokerWait;
  std::lock_guard serial(subscribe_mutex_);
  std::shared_ptr<Inbox> inbox;
  std::shared_ptr<Connection> consumer;
  {
    std::lock_guard lock(mutex_);
    if (closed_) return FailedPrecondition("pubsub.mqtt3 is closed");
    if (!producer_) return FailedPrecondition("pubsub.mqtt3 is not initialized");
    if (!inbox_) {
      inbox_ = std::make_shared<Inbox>(options_);
      inbox_->Start();
    }
    inbox = inbox_;
    consumer = consumer_;
  }
  if (Status status = inbox->AddRoute(filter, std::move(handler)); !status.ok()) return status;
  if (!consumer) {
    Connection::Hooks hooks;
    const int qos = options_.qos;
    std::weak_ptr<Inbox> weak = inbox;
    hooks.connected = [weak, qos](Connection& connection) {
      auto live = weak.lock();
      if (!live) return;
      auto filters = live->ActiveFilters();
      if (!filters.empty()) connection.Resubscribe(filters, qos);
    };
    hooks.message = [weak](const mosquitto_message& message) {
      auto live = weak.lock();
      return live && live->Accept(message);
    };
    auto opened = Connection::Open(
        "subscriber", options_.consumer_id, options_.clean_session,
        /*abortive=*/true, options_, std::move(hooks),
        std::max(milliseconds(1),
                 std::chrono::duration_cast<milliseconds>(deadline - Clock::now())));
    if (!opened.ok()) {
      inbox->RemoveRoute(filter);
      return opened.error();
    }
    (*opened)->MarkOpened();
    std::lock_guard lock(mutex_);
    if (closed_) {
      (*opened)->Stop();
      (*opened)->Join(Clock::now() + kStopWait);
      return FailedPrecondition("pubsub.mqtt3 is closed");
    }
    consumer_ = opened.value();
    consumer = consumer_;
  }
  Status status = consumer->Subscribe(filter, options_.qos, deadline,
                                      [inbox, filter] { inbox->Activate(filter); });
  if (!status.ok()) {
    inbox->RemoveRoute(filter);
    return status;
  }
  return Status::Ok();
}

// The route goes first, so that no delivery for it starts after this returns; the messages
// held for it wait (parked) for another subscription that matches them, or Close.
Status MqttPubSub::Unsubscribe(const std::string& topic) {
  std::lock_guard serial(subscribe_mutex_);
  std::shared_ptr<Inbox> inbox;
  std::shared_ptr<Connection> consumer;
  {
    std::lock_guard lock(mutex_);
    if (closed_) return FailedPrecondition("pubsub.mqtt3 is closed");
    inbox = inbox_;
    consumer = consumer_;
  }
  if (!inbox || !inbox->RemoveRoute(topic)) return Status::Ok();  // not subscribed
  if (!consumer) return Status::Ok();
  return consumer->Unsubscribe(topic, Clock::now() + kBrokerWait);
}

// The subscriber leaves first, so that nothing more is taken from the broker; then the
// publisher, which wakes publishes waiting for an ack (perhaps a handler's dead letter);
// then the dispatcher, after any handler call in progress.
void MqttPubSub::Close() {
  std::shared_ptr<Connection> producer;
  std::shared_ptr<Connection> consumer;
  std::shared_ptr<Inbox> inbox;
  {
    std::lock_guard lock(mutex_);
    if (closed_) return;
    closed_ = true;
    producer.swap(producer_);
    consumer.swap(consumer_);
    inbox.swap(inbox_);
  }
  const auto deadline = Clock::now() + kStopWait;
  if (consumer) consumer->Stop();
  if (producer) producer->Stop();
  if (inbox) inbox->Stop();
  if (consumer) consumer->Join(deadline);
  if (producer) producer->Join(deadline);
}

}  // namespace dapr::components::pubsub
