// Tests of state.redis against real Redis servers: the shared one at DAPR_TEST_REDIS_ADDR,
// and, for restarts, hangs, passwords and pool limits, a redis-server each test starts itself.
#include "components/state/redis/redis_store.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <future>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <ctime>
#include <mutex>
#include <regex>
#include <thread>

namespace dapr::state {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

std::optional<std::string> SharedRedisAddress() {
  const char* address = std::getenv("DAPR_TEST_REDIS_ADDR");
  if (address == nullptr || *address == '\0') return std::nullopt;
  return std::string(address);
}

ComponentMetadata RedisMetadata(ComponentMetadata::Properties properties) {
  return ComponentMetadata("statestore", "state.redis", std::move(properties));
}

RedisConnectOptions ConnectOptions(const std::string& address, std::string password = "",
                                   long long db = 0) {
  RedisConnectOptions options;
  const size_t colon = address.rfind(':');
  options.host = address.substr(0, colon);
  options.port = std::stoi(address.substr(colon + 1));
  options.password = std::move(password);
  options.db = db;
  return options;
}

// A command on a connection of its own, to look at what the store wrote.
ReplyPtr RawCommand(const RedisConnectOptions& options, const RedisArgs& args) {
  auto connection = RedisConnection::Open(options);
  if (!connection.ok()) {
    ADD_FAILURE() << connection.error().message();
    return nullptr;
  }
  auto reply = (*connection)->Command(args);
  if (!reply.ok()) {
    ADD_FAILURE() << reply.error().message();
    return nullptr;
  }
  return std::move(reply).value();
}

std::string Text(const ReplyPtr& reply) {
  return reply && reply->str ? std::string(reply->str, reply->len) : std::string();
}

long long Integer(const ReplyPtr& reply) { return reply ? reply->integer : -999; }

int FreePort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address));
  socklen_t length = sizeof(address);
  getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
  close(fd);
  return ntohs(address.sin_port);
}

// A redis-server child process on a free port, that a test can kill, restart and freeze.
class RedisServer {
 public:
  explicit RedisServer(std::vector<std::string> extra_args = {})
      : port_(FreePort()), extra_args_(std::move(extra_args)) {}
  ~RedisServer() { Stop(); }

  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }

  bool Start() {
    std::vector<std::string> args = {"redis-server", "--port", std::to_string(port_)};
    // Loopback only, nothing written to disk, in the foreground so the test owns the process.
    args.insert(args.end(), {"--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                             "--daemonize", "no", "--loglevel", "warning"});
    args.insert(args.end(), extra_args_.begin(), extra_args_.end());
    pid_ = fork();
    if (pid_ == 0) Exec(args);
    return pid_ > 0 && WaitUntilListening();
  }

  void Stop() {
    if (pid_ <= 0) return;
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }
  void Freeze() { kill(pid_, SIGSTOP); }
  void Thaw() { kill(pid_, SIGCONT); }

 private:
  [[noreturn]] static void Exec(const std::vector<std::string>& args) {
    int null_fd = open("/dev/null", O_WRONLY);
    dup2(null_fd, STDOUT_FILENO);
    dup2(null_fd, STDERR_FILENO);
    std::vector<char*> argv;
    for (const auto& arg : args) argv.push_back(const_cast<char*>(arg.c_str()));
    argv.push_back(nullptr);
    execvp(argv[0], argv.data());
    _exit(127);
  }

  bool WaitUntilListening() {
    for (auto deadline = Clock::now() + 10s; Clock::now() < deadline;) {
      if (waitpid(pid_, nullptr, WNOHANG) == pid_) {  // exited: not installed, port taken
        pid_ = -1;
        return false;
      }
      timeval timeout{1, 0};
      redisContext* context = redisConnectWithTimeout("127.0.0.1", port_, timeout);
      const bool up = context != nullptr && context->err == 0;
      if (context != nullptr) redisFree(context);
      if (up) return true;
      std::this_thread::sleep_for(20ms);
    }
    return false;
  }

  int port_;
  std::vector<std::string> extra_args_;
  pid_t pid_ = -1;
};

SetRequest Upsert(std::string key, std::string value, std::optional<std::string> etag = {},
                  Metadata metadata = {}) {
  SetRequest request;
  request.key = std::move(key);
  request.value = std::move(value);
  request.etag = std::move(etag);
  request.metadata = std::move(metadata);
  return request;
}

SetRequest FirstWrite(std::string key, std::string value, std::optional<std::string> etag = {}) {
  SetRequest request = Upsert(std::move(key), std::move(value), std::move(etag));
  request.options.concurrency = Concurrency::kFirstWrite;
  return request;
}

DeleteRequest Remove(std::string key, std::optional<std::string> etag = {}) {
  DeleteRequest request;
  request.key = std::move(key);
  request.etag = std::move(etag);
  return request;
}

GetRequest Lookup(std::string key) {
  GetRequest request;
  request.key = std::move(key);
  return request;
}

TransactionOperation TxUpsert(SetRequest request) {
  TransactionOperation operation;
  operation.kind = TransactionOperation::Kind::kUpsert;
  operation.upsert = std::move(request);
  return operation;
}

TransactionOperation TxDelete(DeleteRequest request) {
  TransactionOperation operation;
  operation.kind = TransactionOperation::Kind::kDelete;
  operation.remove = std::move(request);
  return operation;
}

GetResponse Read(Store& store, const std::string& key) {
  auto response = store.Get(Lookup(key));
  if (!response.ok()) {
    ADD_FAILURE() << "Get(" << key << "): " << response.error().message();
    return {};
  }
  return std::move(response).value();
}

// Parses the RFC 3339 instant this component writes (UTC, seconds).
std::optional<std::chrono::system_clock::time_point> ParseUtc(const std::string& text) {
  std::tm utc{};
  const char* end = strptime(text.c_str(), "%Y-%m-%dT%H:%M:%SZ", &utc);
  if (end == nullptr || *end != '\0') return std::nullopt;
  return std::chrono::system_clock::from_time_t(timegm(&utc));
}

// Each test gets the shared Redis and its own key prefix, and deletes its keys afterwards.
class RedisStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto address = SharedRedisAddress();
    if (!address) GTEST_SKIP() << "DAPR_TEST_REDIS_ADDR is not set (host:port of a Redis)";
    address_ = *address;
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    prefix_ =
        std::string("redis_store_test||") + info->name() + "||" + std::to_string(getpid()) + "||";
    ASSERT_TRUE(InitStore(store_).ok());
  }

  void TearDown() override {
    if (keys_.empty()) return;
    RedisArgs del = {"DEL"};
    del.insert(del.end(), keys_.begin(), keys_.end());
    RawCommand(ConnectOptions(address_), del);
  }

  Status InitStore(RedisStore& store, ComponentMetadata::Properties extra = {}) {
    extra["redisHost"] = address_;
    Status status = store.Init(RedisMetadata(std::move(extra)));
    EXPECT_TRUE(status.ok()) << status.message();
    return status;
  }

  std::string Key(const std::string& name) {
    keys_.push_back(prefix_ + name);
    return keys_.back();
  }

  ReplyPtr Raw(const RedisArgs& args) { return RawCommand(ConnectOptions(address_), args); }

  std::string address_;
  std::string prefix_;
  std::vector<std::string> keys_;
  RedisStore store_;
};

TEST_F(RedisStoreTest, SetGetDeleteRoundTrip) {
  const std::string key = Key("k");
  ASSERT_TRUE(store_.Set(Upsert(key, "hello")).ok());
  GetResponse got = Read(store_, key);
  EXPECT_TRUE(got.found);
  EXPECT_EQ(got.data, "hello");
  EXPECT_EQ(got.etag, "1");
  EXPECT_TRUE(got.metadata.empty());

  ASSERT_TRUE(store_.Delete(Remove(key)).ok());
  EXPECT_FALSE(Read(store_, key).found);
  EXPECT_TRUE(store_.Delete(Remove(key)).ok()) << "deleting a missing key is not an error";
}

TEST_F(RedisStoreTest, MissingKeyIsNotFound) {
  GetResponse got = Read(store_, Key("never-written"));
  EXPECT_FALSE(got.found);
  EXPECT_FALSE(got.etag.has_value());
}

TEST_F(RedisStoreTest, NonUtf8BytesRoundTripExactly) {
  std::string value("\0\xff\xfe\xc3(\x80\0", 7);
  for (int byte = 0; byte < 256; ++byte) value.push_back(static_cast<char>(byte));
  value.push_back('\0');
  const std::string key = Key("binary");
  ASSERT_TRUE(store_.Set(Upsert(key, value)).ok());
  GetResponse got = Read(store_, key);
  EXPECT_EQ(got.data.size(), value.size());
  EXPECT_EQ(got.data, value);
  EXPECT_EQ(Text(Raw({"HGET", key, "data"})), value);
}

TEST_F(RedisStoreTest, WritesAndReadsDaprHashLayout) {
  const std::string ours = Key("ours");
  ASSERT_TRUE(store_.Set(Upsert(ours, "v1")).ok());
  ASSERT_TRUE(store_.Set(Upsert(ours, "v2")).ok());
  EXPECT_EQ(Text(Raw({"TYPE", ours})), "hash");
  EXPECT_EQ(Text(Raw({"HGET", ours, "data"})), "v2");
  EXPECT_EQ(Text(Raw({"HGET", ours, "version"})), "2");

  // As Dapr's own state.redis leaves a key.
  const std::string theirs = Key("theirs");
  Raw({"HSET", theirs, "data", "{\"a\":1}"});
  Raw({"HSET", theirs, "version", "7"});
  GetResponse got = Read(store_, theirs);
  EXPECT_EQ(got.data, "{\"a\":1}");
  EXPECT_EQ(got.etag, "7");
  EXPECT_TRUE(store_.Set(Upsert(theirs, "next", "7")).ok());
  EXPECT_EQ(Read(store_, theirs).etag, "8");
}

TEST_F(RedisStoreTest, EtagIncrementsAndMismatchIsAborted) {
  const std::string key = Key("k");
  ASSERT_TRUE(store_.Set(Upsert(key, "a")).ok());
  EXPECT_EQ(Read(store_, key).etag, "1");
  ASSERT_TRUE(store_.Set(Upsert(key, "b", "1")).ok());
  EXPECT_EQ(Read(store_, key).etag, "2");

  Status stale = store_.Set(Upsert(key, "c", "1"));
  EXPECT_EQ(stale.code(), StatusCode::kAborted) << stale.message();
  GetResponse got = Read(store_, key);
  EXPECT_EQ(got.data, "b");
  EXPECT_EQ(got.etag, "2");

  const std::string missing = Key("missing");
  EXPECT_EQ(store_.Set(Upsert(missing, "x", "1")).code(), StatusCode::kAborted);
  EXPECT_FALSE(Read(store_, missing).found);
}

TEST_F(RedisStoreTest, MalformedEtagIsInvalidArgument) {
  const std::string key = Key("k");
  ASSERT_TRUE(store_.Set(Upsert(key, "a")).ok());
  for (const char* etag : {"abc", "1x", " 1", "1.0", "W/\"1\""}) {
    EXPECT_EQ(store_.Set(Upsert(key, "b", etag)).code(), StatusCode::kInvalidArgument) << etag;
    EXPECT_EQ(store_.Delete(Remove(key, etag)).code(), StatusCode::kInvalidArgument) << etag;
  }
  GetResponse got = Read(store_, key);
  EXPECT_EQ(got.data, "a");
  EXPECT_EQ(got.etag, "1");
}

TEST_F(RedisStoreTest, FirstWriteOnlyCreates) {
  const std::string key = Key("k");
  ASSERT_TRUE(store_.Set(FirstWrite(key, "first")).ok());
  Status again = store_.Set(FirstWrite(key, "second"));
  EXPECT_EQ(again.code(), StatusCode::kAborted) << again.message();
  EXPECT_EQ(Read(store_, key).data, "first");

  // With an ETag, first-write is an ordinary ETag check.
  EXPECT_TRUE(store_.Set(FirstWrite(key, "third", "1")).ok());
  EXPECT_EQ(store_.Set(FirstWrite(key, "fourth", "1")).code(), StatusCode::kAborted);
  GetResponse got = Read(store_, key);
  EXPECT_EQ(got.data, "third");
  EXPECT_EQ(got.etag, "2");
}

TEST_F(RedisStoreTest, DeleteWithEtag) {
  const std::string key = Key("k");
  ASSERT_TRUE(store_.Set(Upsert(key, "a")).ok());
  EXPECT_EQ(store_.Delete(Remove(key, "9")).code(), StatusCode::kAborted);
  EXPECT_TRUE(Read(store_, key).found);
  EXPECT_TRUE(store_.Delete(Remove(key, "1")).ok());
  EXPECT_FALSE(Read(store_, key).found);
  EXPECT_EQ(store_.Delete(Remove(key, "1")).code(), StatusCode::kAborted)
      << "an ETag on a missing key cannot match";
}

TEST_F(RedisStoreTest, TtlExpires) {
  const std::string key = Key("k");
  const auto before = std::chrono::system_clock::now();
  ASSERT_TRUE(store_.Set(Upsert(key, "short-lived", {}, {{"ttlInSeconds", "1"}})).ok());
  GetResponse got = Read(store_, key);
  ASSERT_TRUE(got.found);
  ASSERT_TRUE(got.metadata.contains("ttlExpireTime"));
  const std::string expire = got.metadata["ttlExpireTime"];
  EXPECT_TRUE(std::regex_match(expire, std::regex(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ)"))) << expire;
  auto instant = ParseUtc(expire);
  ASSERT_TRUE(instant.has_value()) << expire;
  EXPECT_GE(*instant, before - 1s);
  EXPECT_LE(*instant, before + 3s);

  std::this_thread::sleep_for(1500ms);
  EXPECT_FALSE(Read(store_, key).found);
}

TEST_F(RedisStoreTest, TtlExpireTimeUsesTheInjectedClock) {
  const auto pinned = *ParseUtc("2026-11-25T16:59:00Z");
  RedisStore store([pinned] { return pinned; });
  ASSERT_TRUE(InitStore(store).ok());
  const std::string key = Key("k");
  ASSERT_TRUE(store.Set(Upsert(key, "v", {}, {{"ttlInSeconds", "60"}})).ok());
  const std::string expire = Read(store, key).metadata["ttlExpireTime"];
  // PTTL may already be a few milliseconds under 60 s.
  EXPECT_TRUE(expire == "2026-11-25T17:00:00Z" || expire == "2026-11-25T16:59:59Z") << expire;
}

TEST_F(RedisStoreTest, SetWithoutTtlRemovesExpiry) {
  const std::string key = Key("k");
  ASSERT_TRUE(store_.Set(Upsert(key, "a", {}, {{"ttlInSeconds", "100"}})).ok());
  EXPECT_TRUE(Read(store_, key).metadata.contains("ttlExpireTime"));
  EXPECT_GT(Integer(Raw({"PTTL", key})), 90000);

  ASSERT_TRUE(store_.Set(Upsert(key, "b")).ok());
  EXPECT_FALSE(Read(store_, key).metadata.contains("ttlExpireTime"));
  EXPECT_EQ(Integer(Raw({"PTTL", key})), -1);

  ASSERT_TRUE(store_.Set(Upsert(key, "c", {}, {{"ttlInSeconds", "100"}})).ok());
  ASSERT_TRUE(store_.Set(Upsert(key, "d", {}, {{"ttlInSeconds", "-1"}})).ok());
  EXPECT_EQ(Integer(Raw({"PTTL", key})), -1);
}

TEST_F(RedisStoreTest, NonIntegerTtlIsInvalidArgument) {
  const std::string key = Key("k");
  Status status = store_.Set(Upsert(key, "a", {}, {{"ttlInSeconds", "soon"}}));
  EXPECT_EQ(status.code(), StatusCode::kInvalidArgument) << status.message();
  EXPECT_FALSE(Read(store_, key).found);
}

TEST_F(RedisStoreTest, ComponentTtlIsTheDefault) {
  RedisStore store;
  ASSERT_TRUE(InitStore(store, {{"ttlInSeconds", "100"}}).ok());
  const std::string key = Key("k");
  ASSERT_TRUE(store.Set(Upsert(key, "a")).ok());
  EXPECT_GT(Integer(Raw({"PTTL", key})), 90000);
  ASSERT_TRUE(store.Set(Upsert(key, "b", {}, {{"ttlInSeconds", "5"}})).ok());
  EXPECT_LE(Integer(Raw({"PTTL", key})), 5000);
  ASSERT_TRUE(store.Set(Upsert(key, "c", {}, {{"ttlInSeconds", "-1"}})).ok());
  EXPECT_EQ(Integer(Raw({"PTTL", key})), -1);
}

TEST_F(RedisStoreTest, BulkGetReportsMissingKeys) {
  const std::string a = Key("a"), missing = Key("missing"), b = Key("b");
  ASSERT_TRUE(store_.Set(Upsert(a, "A")).ok());
  ASSERT_TRUE(store_.Set(Upsert(b, "B")).ok());
  ASSERT_TRUE(store_.Set(Upsert(b, "BB")).ok());
  auto items = store_.BulkGet({Lookup(a), Lookup(missing), Lookup(b)});
  ASSERT_TRUE(items.ok()) << items.error().message();
  ASSERT_EQ(items->size(), 3u);
  const auto& got = items.value();
  EXPECT_EQ(got[0].key, a);
  EXPECT_TRUE(got[0].response.found);
  EXPECT_EQ(got[0].response.data, "A");
  EXPECT_EQ(got[1].key, missing);
  EXPECT_FALSE(got[1].response.found);
  EXPECT_TRUE(got[1].error.empty());
  EXPECT_EQ(got[2].response.data, "BB");
  EXPECT_EQ(got[2].response.etag, "2");
  EXPECT_TRUE(store_.BulkGet({})->empty());
}

TEST_F(RedisStoreTest, TransactionAppliesEveryOperation) {
  const std::string a = Key("a"), b = Key("b"), d = Key("d");
  ASSERT_TRUE(store_.Set(Upsert(a, "old")).ok());
  ASSERT_TRUE(store_.Set(Upsert(d, "doomed")).ok());
  Status status = store_.Multi({TxUpsert(Upsert(a, "new", "1")),
                                TxUpsert(Upsert(b, "fresh", {}, {{"ttlInSeconds", "100"}})),
                                TxDelete(Remove(d, "1"))});
  ASSERT_TRUE(status.ok()) << status.message();
  GetResponse got_a = Read(store_, a);
  EXPECT_EQ(got_a.data, "new");
  EXPECT_EQ(got_a.etag, "2");
  GetResponse got_b = Read(store_, b);
  EXPECT_EQ(got_b.data, "fresh");
  EXPECT_TRUE(got_b.metadata.contains("ttlExpireTime"));
  EXPECT_FALSE(Read(store_, d).found);
}

TEST_F(RedisStoreTest, TransactionWithOneBadEtagChangesNothing) {
  const std::string a = Key("a"), b = Key("b"), c = Key("c"), d = Key("d");
  ASSERT_TRUE(store_.Set(Upsert(a, "a1")).ok());
  ASSERT_TRUE(store_.Set(Upsert(b, "b1")).ok());
  ASSERT_TRUE(store_.Set(Upsert(d, "d1")).ok());
  Status status = store_.Multi({TxUpsert(Upsert(a, "a2")), TxUpsert(Upsert(c, "c1")),
                                TxDelete(Remove(d)), TxUpsert(Upsert(b, "b2", "7"))});
  EXPECT_EQ(status.code(), StatusCode::kAborted) << status.message();
  GetResponse got_a = Read(store_, a);
  EXPECT_EQ(got_a.data, "a1");
  EXPECT_EQ(got_a.etag, "1");
  EXPECT_EQ(Read(store_, b).data, "b1");
  EXPECT_FALSE(Read(store_, c).found);
  EXPECT_TRUE(Read(store_, d).found);

  EXPECT_EQ(store_.Multi({TxUpsert(Upsert(c, "c1")), TxUpsert(FirstWrite(a, "again"))}).code(),
            StatusCode::kAborted);
  EXPECT_FALSE(Read(store_, c).found);
}

TEST_F(RedisStoreTest, TransactionWithMalformedEtagIsInvalidArgument) {
  const std::string a = Key("a"), d = Key("d");
  ASSERT_TRUE(store_.Set(Upsert(d, "d1")).ok());
  Status status = store_.Multi({TxUpsert(Upsert(a, "a1")), TxDelete(Remove(d, "zz"))});
  EXPECT_EQ(status.code(), StatusCode::kInvalidArgument) << status.message();
  EXPECT_FALSE(Read(store_, a).found);
  EXPECT_TRUE(Read(store_, d).found);
}

TEST_F(RedisStoreTest, TransactionOperationsSeeEarlierOnesOnTheSameKey) {
  const std::string key = Key("k");
  Status status = store_.Multi({TxUpsert(FirstWrite(key, "one")), TxUpsert(Upsert(key, "two", "1")),
                                TxUpsert(Upsert(key, "three", "2"))});
  ASSERT_TRUE(status.ok()) << status.message();
  GetResponse got = Read(store_, key);
  EXPECT_EQ(got.data, "three");
  EXPECT_EQ(got.etag, "3");
  EXPECT_TRUE(store_.Multi({TxDelete(Remove(key, "3")), TxUpsert(FirstWrite(key, "reborn"))}).ok());
  EXPECT_EQ(Read(store_, key).etag, "1");
}

TEST_F(RedisStoreTest, ConcurrentSetsAndGets) {
  RedisStore store;
  ASSERT_TRUE(InitStore(store, {{"poolSize", "4"}}).ok());
  constexpr int kThreads = 8, kRounds = 200;
  std::vector<std::string> keys;
  for (int t = 0; t < kThreads; ++t) keys.push_back(Key("thread" + std::to_string(t)));
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kRounds; ++i) {
        const std::string value = std::to_string(t) + ":" + std::to_string(i);
        if (!store.Set(Upsert(keys[t], value)).ok()) ++failures;
        auto got = store.Get(Lookup(keys[t]));
        if (!got.ok() || got->data != value) ++failures;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(failures.load(), 0);
  for (const auto& key : keys) EXPECT_EQ(Read(store, key).etag, std::to_string(kRounds));
}

TEST_F(RedisStoreTest, AcceptsDaprMetadataCaseInsensitively) {
  RedisStore store;
  Status status = store.Init(RedisMetadata({{"REDISHOST", address_},
                                            {"redisdb", "0"},
                                            {"actorStateStore", "true"},
                                            {"keyPrefix", "none"},
                                            {"maxRetryBackoff", "2s"},
                                            {"somethingUnknown", "x"},
                                            {"DialTimeout", "2s"},
                                            {"readTimeout", "1500ms"}}));
  EXPECT_TRUE(status.ok()) << status.message();
  EXPECT_TRUE(store.Ping().ok());
}

TEST_F(RedisStoreTest, DeclaresFeaturesAndRefusesScan) {
  Features features = store_.GetFeatures();
  EXPECT_TRUE(features.etag);
  EXPECT_TRUE(features.transactional);
  EXPECT_TRUE(features.ttl);
  EXPECT_FALSE(features.query);
  EXPECT_EQ(store_.Scan(prefix_).error().code(), StatusCode::kUnimplemented);
}

TEST_F(RedisStoreTest, CloseEndsTheStoreCleanly) {
  RedisStore store;
  ASSERT_TRUE(InitStore(store).ok());
  EXPECT_TRUE(store.Ping().ok());
  store.Close();
  EXPECT_FALSE(store.Ping().ok());
  EXPECT_FALSE(store.Get(Lookup(Key("k"))).ok());
  store.Close();  // twice is harmless
}

TEST(RedisStoreInitTest, RejectsBadMetadataNamingTheField) {
  struct Case {
    ComponentMetadata::Properties properties;
    StatusCode code;
    std::string mentions;
  };
  const std::string host = "127.0.0.1:1";
  const std::vector<Case> cases = {
      {{}, StatusCode::kInvalidArgument, "redisHost"},
      {{{"redisHost", "no-port"}}, StatusCode::kInvalidArgument, "redisHost"},
      {{{"redisHost", "h:99999"}}, StatusCode::kInvalidArgument, "redisHost"},
      {{{"redisHost", "a:1,b:2"}}, StatusCode::kInvalidArgument, "redisHost"},
      {{{"redisHost", host}, {"redisDB", "x"}}, StatusCode::kInvalidArgument, "redisDB"},
      {{{"redisHost", host}, {"redisDB", "-1"}}, StatusCode::kInvalidArgument, "redisDB"},
      {{{"redisHost", host}, {"dialTimeout", "fast"}}, StatusCode::kInvalidArgument, "dialTimeout"},
      {{{"redisHost", host}, {"readTimeout", "3 s"}}, StatusCode::kInvalidArgument, "readTimeout"},
      {{{"redisHost", host}, {"poolSize", "0"}}, StatusCode::kInvalidArgument, "poolSize"},
      {{{"redisHost", host}, {"maxRetries", "many"}}, StatusCode::kInvalidArgument, "maxRetries"},
      {{{"redisHost", host}, {"ttlInSeconds", "soon"}},
       StatusCode::kInvalidArgument,
       "ttlInSeconds"},
      {{{"redisHost", host}, {"enableTLS", "maybe"}}, StatusCode::kInvalidArgument, "enableTLS"},
      {{{"redisHost", host}, {"enableTLS", "true"}}, StatusCode::kUnimplemented, "TLS"},
      {{{"redisHost", host}, {"redisType", "cluster"}}, StatusCode::kUnimplemented, "redisType"},
  };
  for (const auto& c : cases) {
    RedisStore store;
    Status status = store.Init(RedisMetadata(c.properties));
    EXPECT_EQ(status.code(), c.code) << status.message();
    EXPECT_NE(status.message().find(c.mentions), std::string::npos) << status.message();
  }
}

TEST(RedisStoreInitTest, FailsUnavailableWhenRedisIsDown) {
  const std::string address = "127.0.0.1:" + std::to_string(FreePort());
  RedisStore store;
  Status status = store.Init(RedisMetadata({{"redisHost", address}, {"dialTimeout", "1s"}}));
  EXPECT_EQ(status.code(), StatusCode::kUnavailable);
  EXPECT_NE(status.message().find("redis " + address + " unreachable"), std::string::npos)
      << status.message();
}

// The tests below start their own redis-server, to restart, freeze or configure it.
class OwnRedisServerTest : public ::testing::Test {
 protected:
  // DAPR_TEST_REDIS_ADDR doubles as the switch that says Redis tests may run here.
  void StartServer(std::vector<std::string> extra_args = {}) {
    if (!SharedRedisAddress()) GTEST_SKIP() << "DAPR_TEST_REDIS_ADDR is not set";
    server_ = std::make_unique<RedisServer>(std::move(extra_args));
    if (!server_->Start()) GTEST_SKIP() << "could not start redis-server from PATH";
  }
  std::unique_ptr<RedisServer> server_;
};

TEST_F(OwnRedisServerTest, ReconnectsAfterRedisRestarts) {
  StartServer();
  if (IsSkipped()) return;
  RedisStore store;
  ASSERT_TRUE(store
                  .Init(RedisMetadata({{"redisHost", server_->address()},
                                       {"dialTimeout", "1s"},
                                       {"readTimeout", "1s"},
                                       {"writeTimeout", "1s"}}))
                  .ok());
  ASSERT_TRUE(store.Set(Upsert("k", "before")).ok());

  server_->Stop();
  for (int i = 0; i < 3; ++i) {
    const auto start = Clock::now();
    Status status = store.Set(Upsert("k", "while-down"));
    EXPECT_EQ(status.code(), StatusCode::kUnavailable) << status.message();
    EXPECT_NE(status.message().find("redis " + server_->address() + " unreachable"),
              std::string::npos)
        << status.message();
    EXPECT_LT(Clock::now() - start, 3s);
  }
  EXPECT_EQ(store.Ping().code(), StatusCode::kUnavailable);
  EXPECT_EQ(store.Get(Lookup("k")).error().code(), StatusCode::kUnavailable);

  ASSERT_TRUE(server_->Start());
  Status status = store.Set(Upsert("k", "after"));
  EXPECT_TRUE(status.ok()) << status.message();
  EXPECT_EQ(Read(store, "k").data, "after");
  EXPECT_TRUE(store.Ping().ok());
}

// Redis restarts between two calls: the first call finds its pooled connection dead, and
// must succeed on a fresh one, even with several stale idle connections in the pool.
TEST_F(OwnRedisServerTest, FirstCallAfterRestartSucceeds) {
  StartServer();
  if (IsSkipped()) return;
  RedisStore store;
  ASSERT_TRUE(store
                  .Init(RedisMetadata({{"redisHost", server_->address()},
                                       {"maxRetries", "1"},
                                       {"dialTimeout", "1s"},
                                       {"readTimeout", "1s"}}))
                  .ok());
  std::vector<std::thread> threads;  // fills the pool with several connections
  for (int t = 0; t < 6; ++t) {
    threads.emplace_back([&store, t] {
      for (int i = 0; i < 50; ++i) store.Set(Upsert("k" + std::to_string(t), "v"));
    });
  }
  for (auto& thread : threads) thread.join();

  server_->Stop();
  ASSERT_TRUE(server_->Start());
  for (int i = 0; i < 3; ++i) {
    Status status = store.Set(Upsert("k", "after-restart"));
    EXPECT_TRUE(status.ok()) << status.message();
  }
  EXPECT_EQ(Read(store, "k").etag, "3");
}

TEST_F(OwnRedisServerTest, HungRedisTimesOut) {
  StartServer();
  if (IsSkipped()) return;
  RedisStore store;
  ASSERT_TRUE(store
                  .Init(RedisMetadata({{"redisHost", server_->address()},
                                       {"dialTimeout", "500ms"},
                                       {"readTimeout", "500ms"},
                                       {"writeTimeout", "500ms"}}))
                  .ok());
  ASSERT_TRUE(store.Set(Upsert("k", "v")).ok());

  server_->Freeze();
  // Without timeouts the call below would wait forever; thaw the server after 5 s so the
  // test then fails instead of hanging.
  std::jthread watchdog([this](std::stop_token stop) {
    std::mutex mutex;
    std::unique_lock lock(mutex);
    std::condition_variable_any().wait_for(lock, stop, 5s, [] { return false; });
    server_->Thaw();
  });
  const auto start = Clock::now();
  Status status = store.Set(Upsert("k", "frozen"));
  const auto elapsed = Clock::now() - start;
  watchdog.request_stop();
  watchdog.join();
  EXPECT_EQ(status.code(), StatusCode::kUnavailable) << status.message();
  EXPECT_LT(elapsed, 2s);
  EXPECT_GE(elapsed, 400ms);

  EXPECT_TRUE(store.Ping().ok());
  EXPECT_TRUE(store.Get(Lookup("k")).ok());
}

TEST_F(OwnRedisServerTest, LoadsScriptsAgainAfterScriptFlush) {
  StartServer();
  if (IsSkipped()) return;
  RedisStore store;
  ASSERT_TRUE(store.Init(RedisMetadata({{"redisHost", server_->address()}})).ok());
  ASSERT_TRUE(store.Set(Upsert("k", "v")).ok());
  const auto options = ConnectOptions(server_->address());
  RawCommand(options, {"SCRIPT", "FLUSH"});
  EXPECT_EQ(Read(store, "k").data, "v");
  RawCommand(options, {"SCRIPT", "FLUSH"});
  EXPECT_TRUE(store.Set(Upsert("k", "w", "1")).ok());
  RawCommand(options, {"SCRIPT", "FLUSH"});
  auto items = store.BulkGet({Lookup("k"), Lookup("none")});
  ASSERT_TRUE(items.ok()) << items.error().message();
  EXPECT_EQ(items.value()[0].response.data, "w");
  EXPECT_FALSE(items.value()[1].response.found);
}

TEST_F(OwnRedisServerTest, AuthenticatesAndSelectsDatabase) {
  const std::string secret = "s3cret-Pa55word";
  StartServer({"--requirepass", secret});
  if (IsSkipped()) return;
  const std::string address = server_->address();

  RedisStore no_password;
  EXPECT_FALSE(no_password.Init(RedisMetadata({{"redisHost", address}})).ok());

  RedisStore wrong;
  Status status =
      wrong.Init(RedisMetadata({{"redisHost", address}, {"redisPassword", "wrong-" + secret}}));
  EXPECT_FALSE(status.ok());
  EXPECT_EQ(status.message().find(secret), std::string::npos) << status.message();

  RedisStore bad_db;
  status = bad_db.Init(
      RedisMetadata({{"redisHost", address}, {"redisPassword", secret}, {"redisDB", "999"}}));
  EXPECT_EQ(status.code(), StatusCode::kInvalidArgument) << status.message();
  EXPECT_NE(status.message().find("redisDB"), std::string::npos) << status.message();

  RedisStore store;
  status = store.Init(RedisMetadata({{"redisHost", address},
                                     {"redisUsername", "default"},
                                     {"redisPassword", secret},
                                     {"redisDB", "2"}}));
  ASSERT_TRUE(status.ok()) << status.message();
  ASSERT_TRUE(store.Set(Upsert("k", "in-db-2")).ok());
  EXPECT_EQ(Integer(RawCommand(ConnectOptions(address, secret, 0), {"EXISTS", "k"})), 0);
  EXPECT_EQ(Integer(RawCommand(ConnectOptions(address, secret, 2), {"EXISTS", "k"})), 1);
}

// Reads connected_clients from INFO.
int ConnectedClients(const std::string& address) {
  const std::string info = Text(RawCommand(ConnectOptions(address), {"INFO", "clients"}));
  std::smatch match;
  if (!std::regex_search(info, match, std::regex(R"(connected_clients:(\d+))"))) return -1;
  return std::stoi(match[1]) - 1;  // not counting the connection that asked
}

TEST_F(OwnRedisServerTest, PoolNeverExceedsPoolSize) {
  StartServer();
  if (IsSkipped()) return;
  RedisStore store;
  ASSERT_TRUE(
      store.Init(RedisMetadata({{"redisHost", server_->address()}, {"poolSize", "3"}})).ok());
  std::atomic<bool> stop{false};
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      const std::string key = "k" + std::to_string(t);
      while (!stop) {
        if (!store.Set(Upsert(key, std::string(1000, 'x'))).ok()) ++failures;
      }
    });
  }
  int most = 0;
  for (int i = 0; i < 20; ++i) {
    most = std::max(most, ConnectedClients(server_->address()));
    std::this_thread::sleep_for(10ms);
  }
  stop = true;
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_GE(most, 1);
  EXPECT_LE(most, 3);
}

// The non-blocking path: the store drives one pipelined connection on an event loop that
// the test runs on its own thread, as daprd runs it on its HTTP I/O thread.
class AsyncRedisTest : public OwnRedisServerTest {
 protected:
  void SetUp() override { loop_thread_ = std::thread([this] { loop_.run(); }); }
  void TearDown() override {
    work_.reset();
    loop_.stop();
    loop_thread_.join();
    store_.Close();  // with the loop stopped, as daprd does at shutdown
  }
  Status InitAsync(const std::string& address, ComponentMetadata::Properties extra = {}) {
    extra["redisHost"] = address;
    store_.AttachEventLoop(loop_);
    return store_.Init(RedisMetadata(std::move(extra)));
  }
  Result<GetResponse> GetNow(const std::string& key) {
    std::promise<Result<GetResponse>> promise;
    store_.GetAsync(Lookup(key), [&](Result<GetResponse> r) { promise.set_value(std::move(r)); });
    return promise.get_future().get();
  }
  Status SetNow(SetRequest request) {
    std::promise<Status> promise;
    store_.SetAsync(std::move(request), [&](Status s) { promise.set_value(std::move(s)); });
    return promise.get_future().get();
  }

  boost::asio::io_context loop_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_{
      loop_.get_executor()};
  std::thread loop_thread_;
  RedisStore store_;
};

TEST_F(AsyncRedisTest, RoundTripsEtagsAndLargeValues) {
  StartServer();
  if (IsSkipped()) return;
  ASSERT_TRUE(InitAsync(server_->address()).ok());
  ASSERT_TRUE(store_.SupportsAsync());
  ASSERT_TRUE(SetNow(Upsert("k", "one")).ok());
  auto got = GetNow("k");
  ASSERT_TRUE(got.ok()) << got.error().message();
  EXPECT_EQ(got->data, "one");
  ASSERT_TRUE(got->etag.has_value());
  EXPECT_EQ(SetNow(Upsert("k", "two", std::string("999"))).code(), StatusCode::kAborted);
  EXPECT_EQ(SetNow(Upsert("k", "two", std::string("x"))).code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(SetNow(Upsert("k", "two", got->etag)).ok());
  EXPECT_FALSE(GetNow("missing")->found);
  // Several reads' worth of reply: the client must drain the socket, not wait for an edge.
  std::string large(3 << 20, 'v');
  for (size_t i = 0; i < large.size(); i += 997) large[i] = static_cast<char>(i % 251);
  ASSERT_TRUE(SetNow(Upsert("large", large)).ok());
  auto big = GetNow("large");
  ASSERT_TRUE(big.ok()) << big.error().message();
  EXPECT_EQ(big->data, large);
  // The blocking path sees what the non-blocking one wrote, and the other way round.
  EXPECT_EQ(Read(store_, "k").data, "two");
}

TEST_F(AsyncRedisTest, ManyCallsInFlightAnswerInOrder) {
  StartServer();
  if (IsSkipped()) return;
  ASSERT_TRUE(InitAsync(server_->address()).ok());
  constexpr int kCalls = 500;
  std::vector<std::promise<Status>> done(kCalls);
  for (int i = 0; i < kCalls; ++i) {
    store_.SetAsync(Upsert("p" + std::to_string(i), std::to_string(i)),
                    [&done, i](Status s) { done[i].set_value(std::move(s)); });
  }
  for (auto& d : done) ASSERT_TRUE(d.get_future().get().ok());
  for (int i = 0; i < kCalls; i += 50) EXPECT_EQ(GetNow("p" + std::to_string(i))->data, std::to_string(i));
}

TEST_F(AsyncRedisTest, FindsLostScriptsAgain) {
  StartServer();
  if (IsSkipped()) return;
  ASSERT_TRUE(InitAsync(server_->address()).ok());
  ASSERT_TRUE(SetNow(Upsert("s", "kept")).ok());
  auto admin = RedisConnection::Open(ConnectOptions(server_->address()));
  ASSERT_TRUE(admin.ok());
  ASSERT_TRUE((*admin)->Command({"SCRIPT", "FLUSH"}).ok());
  auto got = GetNow("s");
  ASSERT_TRUE(got.ok()) << got.error().message();
  EXPECT_EQ(got->data, "kept");
  EXPECT_TRUE(SetNow(Upsert("s", "again")).ok());
}

TEST_F(AsyncRedisTest, FailsWhileRedisIsDownAndRecoversAfter) {
  StartServer();
  if (IsSkipped()) return;
  ASSERT_TRUE(InitAsync(server_->address(), {{"readTimeout", "1s"}}).ok());
  ASSERT_TRUE(SetNow(Upsert("k", "before")).ok());
  server_->Stop();
  for (int i = 0; i < 3; ++i) {
    auto start = Clock::now();
    Status status = SetNow(Upsert("k", "down"));
    EXPECT_EQ(status.code(), StatusCode::kUnavailable) << status.message();
    EXPECT_NE(status.message().find(server_->address()), std::string::npos) << status.message();
    EXPECT_LT(Clock::now() - start, 2s);
  }
  ASSERT_TRUE(server_->Start());
  Status status = SetNow(Upsert("k", "after"));
  EXPECT_TRUE(status.ok()) << status.message();
  EXPECT_EQ(GetNow("k")->data, "after");
}

TEST_F(AsyncRedisTest, HungRedisFailsWithinTheReadTimeout) {
  StartServer();
  if (IsSkipped()) return;
  ASSERT_TRUE(InitAsync(server_->address(), {{"readTimeout", "500ms"}}).ok());
  ASSERT_TRUE(SetNow(Upsert("k", "v")).ok());
  server_->Freeze();
  auto start = Clock::now();
  auto got = GetNow("k");
  auto took = Clock::now() - start;
  server_->Thaw();
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.error().code(), StatusCode::kUnavailable);
  EXPECT_NE(got.error().message().find("timeout"), std::string::npos) << got.error().message();
  EXPECT_GE(took, 400ms);
  EXPECT_LT(took, 2s);
  auto again = GetNow("k");
  ASSERT_TRUE(again.ok()) << again.error().message();
  EXPECT_EQ(again->data, "v");
}

}  // namespace
}  // namespace dapr::state
