// One conformance suite for every registered state component, driven by the capabilities
// each declares (the negative ones too). Redis and PostgreSQL run against the real servers
// named by DAPR_TEST_REDIS_ADDR and DAPR_TEST_PG_CONN (scripts/services.sh starts them).
#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <random>
#include <thread>

#include "components/builtin.h"

namespace dapr::state {
namespace {

using namespace std::chrono_literals;

std::string Env(const char* name) {
  const char* value = std::getenv(name);
  return value ? value : "";
}

std::string UniqueSuffix() {
  static std::mt19937_64 random{std::random_device{}()};
  return std::to_string(random() % 1000000000);
}

// Metadata that points each registered type at a backend; a type missing here fails the
// suite, so a new component cannot skip conformance by accident.
std::optional<ComponentMetadata::Properties> ConfigFor(const std::string& type) {
  if (type == "state.in-memory") return ComponentMetadata::Properties{};
  if (type == "state.sqlite") {
    auto path = std::filesystem::temp_directory_path() / ("conformance-" + UniqueSuffix() + ".db");
    return ComponentMetadata::Properties{{"connectionString", path.string()}};
  }
  if (type == "state.redis") return ComponentMetadata::Properties{{"redisHost", Env("DAPR_TEST_REDIS_ADDR")}};
  if (type == "state.postgresql" || type == "state.postgres") {
    return ComponentMetadata::Properties{{"connectionString", Env("DAPR_TEST_PG_CONN")},
                                         {"tableName", "conformance_" + UniqueSuffix()}};
  }
  return std::nullopt;
}

std::vector<std::string> RegisteredTypes() {
  components::Registries registries;
  components::RegisterBuiltins(registries);
  return registries.state.Types();  // "state.redis/v1"
}

class StateConformance : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    const std::string& type_version = GetParam();
    type_ = type_version.substr(0, type_version.find('/'));
    std::string version = type_version.substr(type_version.find('/') + 1);
    auto config = ConfigFor(type_);
    ASSERT_TRUE(config) << "no conformance configuration for " << type_version;
    for (const auto& [key, value] : *config) {
      ASSERT_FALSE(value.empty()) << type_ << ": " << key << " is empty (is the backend started?)";
    }
    components::Registries registries;
    components::RegisterBuiltins(registries);
    auto created = registries.state.Create(type_, version);
    ASSERT_TRUE(created.ok()) << created.error().message();
    store_ = std::move(created).value();
    Status init = store_->Init(ComponentMetadata("conformance", type_, *config));
    ASSERT_TRUE(init.ok()) << init.message();
    features_ = store_->GetFeatures();
    prefix_ = "conf-" + UniqueSuffix() + "||";
  }
  void TearDown() override {
    if (store_) store_->Close();
  }

  std::string Key(const std::string& name) const { return prefix_ + name; }
  SetRequest Put(const std::string& name, std::string value) const {
    SetRequest request;
    request.key = Key(name);
    request.value = std::move(value);
    return request;
  }
  GetResponse MustGet(const std::string& name) {
    auto result = store_->Get({Key(name), {}, Consistency::kUnspecified});
    EXPECT_TRUE(result.ok()) << result.error().message();
    return result.ok() ? result.value() : GetResponse{};
  }

  std::string type_;
  std::unique_ptr<Store> store_;
  Features features_;
  std::string prefix_;
};

TEST_P(StateConformance, MissingKeyIsNotFound) {
  EXPECT_FALSE(MustGet("missing").found);
}

TEST_P(StateConformance, SetGetDeleteRoundTripsBytes) {
  std::string bytes("\x00\xff{\"a\":1}\n\x01", 11);
  ASSERT_TRUE(store_->Set(Put("k", bytes)).ok());
  auto got = MustGet("k");
  ASSERT_TRUE(got.found);
  EXPECT_EQ(got.data, bytes);
  ASSERT_TRUE(store_->Delete({Key("k"), std::nullopt, {}, {}}).ok());
  EXPECT_FALSE(MustGet("k").found);
  EXPECT_TRUE(store_->Delete({Key("k"), std::nullopt, {}, {}}).ok()) << "deleting a missing key";
}

TEST_P(StateConformance, EtagsGuardWrites) {
  if (!features_.etag) GTEST_SKIP() << type_ << " declares no ETAG";
  ASSERT_TRUE(store_->Set(Put("e", "1")).ok());
  auto first = MustGet("e");
  ASSERT_TRUE(first.etag.has_value());

  auto stale = Put("e", "2");
  ASSERT_TRUE(store_->Set(stale).ok());
  stale.etag = first.etag;  // now stale
  EXPECT_EQ(store_->Set(stale).code(), StatusCode::kAborted);

  auto current = Put("e", "3");
  current.etag = MustGet("e").etag;
  EXPECT_TRUE(store_->Set(current).ok());
  EXPECT_EQ(MustGet("e").data, "3");

  // Stores differ here as Dapr's do: a malformed ETag is either invalid (400) or a
  // mismatch (409), never a successful write.
  auto malformed = Put("e", "4");
  malformed.etag = "not-an-etag!";
  StatusCode code = store_->Set(malformed).code();
  EXPECT_TRUE(code == StatusCode::kInvalidArgument || code == StatusCode::kAborted)
      << static_cast<int>(code);
  EXPECT_EQ(MustGet("e").data, "3");

  EXPECT_EQ(store_->Delete({Key("e"), first.etag, {}, {}}).code(), StatusCode::kAborted);
  EXPECT_TRUE(store_->Delete({Key("e"), MustGet("e").etag, {}, {}}).ok());
  EXPECT_EQ(store_->Delete({Key("e"), first.etag, {}, {}}).code(), StatusCode::kAborted)
      << "an etag on a missing key is a mismatch";
}

TEST_P(StateConformance, FirstWriteWithoutEtagOnlyCreates) {
  if (!features_.etag) GTEST_SKIP() << type_ << " declares no ETAG";
  auto request = Put("fw", "a");
  request.options.concurrency = Concurrency::kFirstWrite;
  ASSERT_TRUE(store_->Set(request).ok());
  request.value = "b";
  EXPECT_EQ(store_->Set(request).code(), StatusCode::kAborted);
  EXPECT_EQ(MustGet("fw").data, "a");
}

TEST_P(StateConformance, TtlExpiresKeys) {
  if (!features_.ttl) GTEST_SKIP() << type_ << " declares no TTL";
  auto request = Put("ttl", "v");
  request.metadata["ttlInSeconds"] = "1";
  ASSERT_TRUE(store_->Set(request).ok());
  auto got = MustGet("ttl");
  ASSERT_TRUE(got.found);
  EXPECT_TRUE(got.metadata.count("ttlExpireTime")) << "ttlExpireTime reported";
  std::this_thread::sleep_for(1600ms);
  EXPECT_FALSE(MustGet("ttl").found);

  request.metadata["ttlInSeconds"] = "soon";
  EXPECT_EQ(store_->Set(request).code(), StatusCode::kInvalidArgument);
}

TEST_P(StateConformance, TransactionsAreAllOrNothing) {
  ASSERT_TRUE(store_->Set(Put("t1", "old")).ok());
  std::vector<TransactionOperation> ops(2);
  ops[0].kind = TransactionOperation::Kind::kUpsert;
  ops[0].upsert = Put("t2", "new");
  ops[1].kind = TransactionOperation::Kind::kDelete;
  ops[1].remove = {Key("t1"), std::nullopt, {}, {}};
  if (!features_.transactional) {
    EXPECT_FALSE(store_->Multi(ops).ok()) << "undeclared transactions must be refused";
    return;
  }
  // A stale etag on the second operation: nothing may be written.
  if (features_.etag) {
    auto stale = MustGet("t1").etag;
    ASSERT_TRUE(store_->Set(Put("t1", "old")).ok());
    ops[1].remove.etag = stale;
    EXPECT_EQ(store_->Multi(ops).code(), StatusCode::kAborted);
    EXPECT_FALSE(MustGet("t2").found);
    EXPECT_TRUE(MustGet("t1").found);
  }
  ops[1].remove.etag.reset();
  ASSERT_TRUE(store_->Multi(ops).ok());
  EXPECT_EQ(MustGet("t2").data, "new");
  EXPECT_FALSE(MustGet("t1").found);
}

TEST_P(StateConformance, ScanFollowsQueryCapability) {
  ASSERT_TRUE(store_->Set(Put("s1", R"({"n":1})")).ok());
  ASSERT_TRUE(store_->Set(Put("s2", R"({"n":2})")).ok());
  auto items = store_->Scan(prefix_);
  if (!features_.query) {
    EXPECT_FALSE(items.ok()) << "undeclared query must be refused";
    return;
  }
  ASSERT_TRUE(items.ok()) << items.error().message();
  EXPECT_EQ(items->size(), 2u);
  for (const auto& item : *items) EXPECT_EQ(item.key.rfind(prefix_, 0), 0u);
}

TEST_P(StateConformance, BulkGetKeepsOrderAndReportsMissing) {
  ASSERT_TRUE(store_->Set(Put("b1", "one")).ok());
  auto items = store_->BulkGet({{Key("b1"), {}, {}}, {Key("nope"), {}, {}}});
  ASSERT_TRUE(items.ok()) << items.error().message();
  ASSERT_EQ(items->size(), 2u);
  EXPECT_TRUE((*items)[0].response.found);
  EXPECT_EQ((*items)[0].response.data, "one");
  EXPECT_FALSE((*items)[1].response.found);
}

TEST_P(StateConformance, ConcurrentCallersDoNotInterfere) {
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 50; ++i) {
        std::string name = "c" + std::to_string(t);
        if (!store_->Set(Put(name, std::to_string(i))).ok()) ++failures;
        auto got = store_->Get({Key(name), {}, {}});
        if (!got.ok() || got->data != std::to_string(i)) ++failures;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(failures.load(), 0);
}

INSTANTIATE_TEST_SUITE_P(AllStateStores, StateConformance, ::testing::ValuesIn(RegisteredTypes()),
                         [](const auto& info) {
                           std::string name = info.param;
                           for (char& c : name) {
                             if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
                           }
                           return name;
                         });

}  // namespace
}  // namespace dapr::state
