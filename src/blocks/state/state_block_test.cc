#include "blocks/state/state_block.h"

#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "components/state/in_memory/in_memory_store.h"

namespace dapr::blocks {
namespace {

using state::InMemoryStore;

constexpr char kStore[] = "statestore";

ComponentMetadata StoreMetadata(ComponentMetadata::Properties properties = {}) {
  return ComponentMetadata(kStore, "state.in-memory", std::move(properties));
}

StateItem Item(std::string key, std::string value = "", std::optional<std::string> etag = {},
               state::Metadata metadata = {}) {
  StateItem item;
  item.key = std::move(key);
  item.value = std::move(value);
  item.etag = std::move(etag);
  item.metadata = std::move(metadata);
  return item;
}

StateTransactionOp Op(std::string operation, StateItem item) {
  return {std::move(operation), std::move(item)};
}

// The bytes stored under the exact (already prefixed) key, read from the component itself.
std::optional<std::string> Raw(state::Store& store, const std::string& full_key) {
  auto response = store.Get({full_key, {}, state::Consistency::kUnspecified});
  EXPECT_TRUE(response.ok()) << response.error().message();
  if (!response.ok() || !response->found) return std::nullopt;
  return response->data;
}

// Checks the parts of an ApiError that apps observe.
void ExpectError(const ApiError& error, int http, StatusCode grpc, const std::string& tag) {
  EXPECT_EQ(error.http_status, http) << error.error_code << ": " << error.message;
  EXPECT_EQ(error.grpc_code, grpc) << error.error_code << ": " << error.message;
  EXPECT_EQ(error.error_code, tag) << error.message;
}

// A block for app "myapp" with one in-memory store named "statestore".
class StateBlockTest : public ::testing::Test {
 protected:
  std::shared_ptr<InMemoryStore> AddInMemory(StateBlock& block,
                                             ComponentMetadata::Properties properties = {},
                                             const std::string& name = kStore) {
    auto store = std::make_shared<InMemoryStore>();
    auto metadata = ComponentMetadata(name, "state.in-memory", std::move(properties));
    EXPECT_TRUE(store->Init(metadata).ok());
    Status added = block.AddStore(name, store, metadata);
    EXPECT_TRUE(added.ok()) << added.message();
    return store;
  }

  // Saves key "k" through a block with the given keyPrefix and returns the raw key it landed on.
  std::string StoredKeyFor(const std::string& app_id, const std::string& app_namespace,
                           std::optional<std::string> key_prefix) {
    StateBlock block(app_id, app_namespace);
    ComponentMetadata::Properties props;
    if (key_prefix) props["keyPrefix"] = *key_prefix;
    auto store = AddInMemory(block, props);
    auto saved = block.Save(kStore, {Item("k", "v")});
    EXPECT_TRUE(saved.ok()) << saved.error().message;
    auto items = store->Scan("");
    EXPECT_TRUE(items.ok());
    if (!items.ok() || items->size() != 1) {
      ADD_FAILURE() << "expected exactly one stored item";
      return "";
    }
    EXPECT_EQ((*items)[0].data, "v");
    return (*items)[0].key;
  }

  void SetUp() override { store_ = AddInMemory(block_); }

  StateBlock block_{"myapp", ""};
  std::shared_ptr<InMemoryStore> store_;
};

// --- key prefixing -----------------------------------------------------------------------

TEST_F(StateBlockTest, KeyPrefixDefaultsToAppId) {
  EXPECT_EQ(StoredKeyFor("myapp", "", std::nullopt), "myapp||k");
}

TEST_F(StateBlockTest, KeyPrefixAppIdAnyCase) {
  EXPECT_EQ(StoredKeyFor("myapp", "", "appid"), "myapp||k");
  EXPECT_EQ(StoredKeyFor("myapp", "", "AppID"), "myapp||k");
}

TEST_F(StateBlockTest, KeyPrefixAppIdWithoutAppIdIsTheBareKey) {
  EXPECT_EQ(StoredKeyFor("", "", std::nullopt), "k");
}

TEST_F(StateBlockTest, KeyPrefixName) {
  EXPECT_EQ(StoredKeyFor("myapp", "", "name"), "statestore||k");
  EXPECT_EQ(StoredKeyFor("myapp", "", "NAME"), "statestore||k");
}

TEST_F(StateBlockTest, KeyPrefixNamespaceWithNamespace) {
  EXPECT_EQ(StoredKeyFor("myapp", "prod", "namespace"), "prod.myapp||k");
}

TEST_F(StateBlockTest, KeyPrefixNamespaceWithoutNamespaceFallsBackToAppId) {
  EXPECT_EQ(StoredKeyFor("myapp", "", "namespace"), "myapp||k");
}

TEST_F(StateBlockTest, KeyPrefixNamespaceWithoutAppIdIsTheBareKey) {
  // Dapr GetModifiedStateKey, strategyNamespace: `if appID == "" { return key }`.
  EXPECT_EQ(StoredKeyFor("", "prod", "namespace"), "k");
}

TEST_F(StateBlockTest, KeyPrefixNone) {
  EXPECT_EQ(StoredKeyFor("myapp", "", "none"), "k");
  EXPECT_EQ(StoredKeyFor("myapp", "", "None"), "k");
}

TEST_F(StateBlockTest, KeyPrefixCustom) {
  EXPECT_EQ(StoredKeyFor("myapp", "", "shared"), "shared||k");
}

TEST_F(StateBlockTest, KeyPrefixCustomIsLowerCasedAsDapr) {
  // Dapr SaveStateConfiguration stores strings.ToLower(keyPrefix) and prefixes with that, so
  // data written by Dapr under keyPrefix "MyPrefix" lives at "myprefix||k".
  EXPECT_EQ(StoredKeyFor("myapp", "", "MyPrefix"), "myprefix||k");
}

TEST_F(StateBlockTest, KeyPrefixMetadataNameIsCaseInsensitive) {
  StateBlock block("myapp", "");
  auto store = AddInMemory(block, {{"KEYPREFIX", "none"}});
  ASSERT_TRUE(block.Save(kStore, {Item("k", "v")}).ok());
  EXPECT_EQ(Raw(*store, "k"), std::optional<std::string>("v"));
}

TEST_F(StateBlockTest, CustomPrefixWithSeparatorIsRejected) {
  StateBlock block("myapp", "");
  auto store = std::make_shared<InMemoryStore>();
  Status added = block.AddStore(kStore, store, StoreMetadata({{"keyPrefix", "a||b"}}));
  ASSERT_FALSE(added.ok());
  EXPECT_EQ(added.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(added.message().find("a||b"), std::string::npos) << added.message();
  // Not registered.
  EXPECT_TRUE(block.Capabilities(kStore).empty());
  auto get = block.Get(kStore, "k", state::Consistency::kUnspecified, {});
  ASSERT_FALSE(get.ok());
  EXPECT_EQ(get.error().error_code, "ERR_STATE_STORE_NOT_CONFIGURED");
}

TEST_F(StateBlockTest, BadActorStateStoreFlagIsRejected) {
  StateBlock block("myapp", "");
  Status added = block.AddStore(kStore, std::make_shared<InMemoryStore>(),
                                StoreMetadata({{"actorStateStore", "maybe"}}));
  ASSERT_FALSE(added.ok());
  EXPECT_EQ(added.code(), StatusCode::kInvalidArgument);
}

// --- key validation and store lookup -----------------------------------------------------

void ExpectIllegalKey(const ApiError& error, const std::string& key) {
  ExpectError(error, 400, StatusCode::kInvalidArgument, "ERR_MALFORMED_REQUEST");
  EXPECT_EQ(error.reason, "DAPR_STATE_ILLEGAL_KEY");
  EXPECT_EQ(error.message, "input key/keyPrefix '" + key + "' can't contain '||'");
  ASSERT_EQ(error.resources.size(), 1u);
  EXPECT_EQ(error.resources[0].resource_type, "state");
  EXPECT_EQ(error.resources[0].resource_name, kStore);
  ASSERT_EQ(error.field_violations.size(), 1u);
  EXPECT_EQ(error.field_violations[0].field, key);
}

TEST_F(StateBlockTest, KeyWithSeparatorIsIllegalEverywhere) {
  const std::string key = "other||k";
  auto get = block_.Get(kStore, key, state::Consistency::kUnspecified, {});
  ASSERT_FALSE(get.ok());
  ExpectIllegalKey(get.error(), key);

  auto save = block_.Save(kStore, {Item("fine", "1"), Item(key, "2")});
  ASSERT_FALSE(save.ok());
  ExpectIllegalKey(save.error(), key);
  EXPECT_EQ(Raw(*store_, "myapp||fine"), std::nullopt) << "nothing may be written";

  auto del = block_.Delete(kStore, Item(key));
  ASSERT_FALSE(del.ok());
  ExpectIllegalKey(del.error(), key);

  auto bulk = block_.BulkGet(kStore, {"fine", key}, {});
  ASSERT_FALSE(bulk.ok());
  ExpectIllegalKey(bulk.error(), key);

  auto bulk_delete = block_.BulkDelete(kStore, {Item(key)});
  ASSERT_FALSE(bulk_delete.ok());
  ExpectIllegalKey(bulk_delete.error(), key);

  auto tx = block_.Transact(kStore, {Op("upsert", Item("fine", "1")), Op("upsert", Item(key, "2"))},
                            {});
  ASSERT_FALSE(tx.ok());
  ExpectIllegalKey(tx.error(), key);
  EXPECT_EQ(Raw(*store_, "myapp||fine"), std::nullopt) << "nothing may be written";
}

TEST_F(StateBlockTest, EmptyKeyIsMalformed) {
  auto get = block_.Get(kStore, "", state::Consistency::kUnspecified, {});
  ASSERT_FALSE(get.ok());
  ExpectError(get.error(), 400, StatusCode::kInvalidArgument, "ERR_MALFORMED_REQUEST");

  auto save = block_.Save(kStore, {Item("", "v")});
  ASSERT_FALSE(save.ok());
  ExpectError(save.error(), 400, StatusCode::kInvalidArgument, "ERR_MALFORMED_REQUEST");
  auto all = store_->Scan("");
  ASSERT_TRUE(all.ok());
  EXPECT_TRUE(all->empty());

  auto del = block_.Delete(kStore, Item(""));
  ASSERT_FALSE(del.ok());
  ExpectError(del.error(), 400, StatusCode::kInvalidArgument, "ERR_MALFORMED_REQUEST");
}

void ExpectStoreNotFound(const ApiError& error) {
  ExpectError(error, 400, StatusCode::kInvalidArgument, "ERR_STATE_STORE_NOT_FOUND");
  EXPECT_EQ(error.reason, "DAPR_STATE_NOT_FOUND");
  EXPECT_EQ(error.message, "state store nope is not found");
  EXPECT_EQ(error.reason_metadata, (std::map<std::string, std::string>{{"appID", "myapp"}}));
}

TEST_F(StateBlockTest, UnknownStoreIs400NotFound) {
  auto get = block_.Get("nope", "k", state::Consistency::kUnspecified, {});
  ASSERT_FALSE(get.ok());
  ExpectStoreNotFound(get.error());
  auto save = block_.Save("nope", {Item("k", "v")});
  ASSERT_FALSE(save.ok());
  ExpectStoreNotFound(save.error());
  auto empty_save = block_.Save("nope", {});
  ASSERT_FALSE(empty_save.ok());
  ExpectStoreNotFound(empty_save.error());
  auto del = block_.Delete("nope", Item("k"));
  ASSERT_FALSE(del.ok());
  ExpectStoreNotFound(del.error());
  auto bulk = block_.BulkGet("nope", {"k"}, {});
  ASSERT_FALSE(bulk.ok());
  ExpectStoreNotFound(bulk.error());
  auto bulk_delete = block_.BulkDelete("nope", {Item("k")});
  ASSERT_FALSE(bulk_delete.ok());
  ExpectStoreNotFound(bulk_delete.error());
  auto tx = block_.Transact("nope", {}, {});
  ASSERT_FALSE(tx.ok());
  ExpectStoreNotFound(tx.error());
  auto query = block_.Query("nope", "{}", {});
  ASSERT_FALSE(query.ok());
  ExpectStoreNotFound(query.error());
}

TEST_F(StateBlockTest, NoStoresAtAllIs500NotConfigured) {
  StateBlock empty("myapp", "");
  auto expect = [](const ApiError& error) {
    ExpectError(error, 500, StatusCode::kFailedPrecondition, "ERR_STATE_STORE_NOT_CONFIGURED");
    EXPECT_EQ(error.reason, "DAPR_STATE_NOT_CONFIGURED");
    EXPECT_EQ(error.reason_metadata, (std::map<std::string, std::string>{{"appID", "myapp"}}));
  };
  auto get = empty.Get(kStore, "k", state::Consistency::kUnspecified, {});
  ASSERT_FALSE(get.ok());
  expect(get.error());
  auto save = empty.Save(kStore, {Item("k", "v")});
  ASSERT_FALSE(save.ok());
  expect(save.error());
  auto del = empty.Delete(kStore, Item("k"));
  ASSERT_FALSE(del.ok());
  expect(del.error());
  auto tx = empty.Transact(kStore, {}, {});
  ASSERT_FALSE(tx.ok());
  expect(tx.error());
  auto query = empty.Query(kStore, "{}", {});
  ASSERT_FALSE(query.ok());
  expect(query.error());
  EXPECT_TRUE(empty.Capabilities(kStore).empty());
}

// --- save, get, delete ---------------------------------------------------------------------

TEST_F(StateBlockTest, SaveGetDelete) {
  ASSERT_TRUE(block_.Save(kStore, {Item("order", R"({"id":1})")}).ok());
  EXPECT_EQ(Raw(*store_, "myapp||order"), std::optional<std::string>(R"({"id":1})"));

  auto got = block_.Get(kStore, "order", state::Consistency::kStrong, {});
  ASSERT_TRUE(got.ok()) << got.error().message;
  EXPECT_TRUE(got->found);
  EXPECT_EQ(got->data, R"({"id":1})");
  ASSERT_TRUE(got->etag.has_value());
  EXPECT_FALSE(got->etag->empty());

  ASSERT_TRUE(block_.Delete(kStore, Item("order")).ok());
  auto gone = block_.Get(kStore, "order", state::Consistency::kUnspecified, {});
  ASSERT_TRUE(gone.ok()) << gone.error().message;
  EXPECT_FALSE(gone->found);
  EXPECT_EQ(gone->data, "");
  EXPECT_EQ(gone->etag, std::nullopt);
  EXPECT_EQ(Raw(*store_, "myapp||order"), std::nullopt);
}

TEST_F(StateBlockTest, GetMissingKeyIsNotAnError) {
  auto got = block_.Get(kStore, "never-saved", state::Consistency::kUnspecified, {});
  ASSERT_TRUE(got.ok()) << got.error().message;
  EXPECT_FALSE(got->found);
  EXPECT_EQ(got->etag, std::nullopt);
}

TEST_F(StateBlockTest, DeleteMissingKeyWithoutEtagSucceeds) {
  EXPECT_TRUE(block_.Delete(kStore, Item("never-saved")).ok());
}

TEST_F(StateBlockTest, EmptySaveIsANoOp) {
  EXPECT_TRUE(block_.Save(kStore, {}).ok());
  auto all = store_->Scan("");
  ASSERT_TRUE(all.ok());
  EXPECT_TRUE(all->empty());
}

TEST_F(StateBlockTest, SaveSeveralItems) {
  ASSERT_TRUE(block_.Save(kStore, {Item("a", "1"), Item("b", "2"), Item("c", "3")}).ok());
  EXPECT_EQ(Raw(*store_, "myapp||a"), std::optional<std::string>("1"));
  EXPECT_EQ(Raw(*store_, "myapp||b"), std::optional<std::string>("2"));
  EXPECT_EQ(Raw(*store_, "myapp||c"), std::optional<std::string>("3"));
}

std::string EtagOf(StateBlock& block, const std::string& key) {
  auto got = block.Get(kStore, key, state::Consistency::kUnspecified, {});
  EXPECT_TRUE(got.ok());
  return got.ok() && got->etag ? *got->etag : "";
}

TEST_F(StateBlockTest, SaveWithMatchingEtag) {
  ASSERT_TRUE(block_.Save(kStore, {Item("k", "1")}).ok());
  std::string etag = EtagOf(block_, "k");
  ASSERT_FALSE(etag.empty());
  ASSERT_TRUE(block_.Save(kStore, {Item("k", "2", etag)}).ok());
  EXPECT_EQ(Raw(*store_, "myapp||k"), std::optional<std::string>("2"));
  EXPECT_NE(EtagOf(block_, "k"), etag);
}

TEST_F(StateBlockTest, SaveEtagMismatchIs409) {
  ASSERT_TRUE(block_.Save(kStore, {Item("k", "1")}).ok());
  auto saved = block_.Save(kStore, {Item("k", "2", "999999")});
  ASSERT_FALSE(saved.ok());
  ExpectError(saved.error(), 409, StatusCode::kAborted, "ERR_STATE_SAVE");
  EXPECT_EQ(saved.error().message.rfind("failed saving state in state store statestore: ", 0), 0u)
      << saved.error().message;
  EXPECT_EQ(Raw(*store_, "myapp||k"), std::optional<std::string>("1"));
}

TEST_F(StateBlockTest, FirstWriteOnAnExistingKeyWithoutEtagIs409) {
  ASSERT_TRUE(block_.Save(kStore, {Item("k", "1")}).ok());
  StateItem item = Item("k", "2");
  item.options.concurrency = state::Concurrency::kFirstWrite;
  auto saved = block_.Save(kStore, {item});
  ASSERT_FALSE(saved.ok());
  ExpectError(saved.error(), 409, StatusCode::kAborted, "ERR_STATE_SAVE");
  EXPECT_EQ(Raw(*store_, "myapp||k"), std::optional<std::string>("1"));
}

TEST_F(StateBlockTest, SeveralItemsAreAllOrNothing) {
  ASSERT_TRUE(block_.Save(kStore, {Item("b", "old")}).ok());
  auto saved = block_.Save(kStore, {Item("a", "new"), Item("b", "new", "999999")});
  ASSERT_FALSE(saved.ok());
  ExpectError(saved.error(), 409, StatusCode::kAborted, "ERR_STATE_SAVE");
  EXPECT_EQ(Raw(*store_, "myapp||a"), std::nullopt);
  EXPECT_EQ(Raw(*store_, "myapp||b"), std::optional<std::string>("old"));
}

TEST_F(StateBlockTest, DeleteEtagMismatchIs409) {
  ASSERT_TRUE(block_.Save(kStore, {Item("k", "1")}).ok());
  auto deleted = block_.Delete(kStore, Item("k", "", "999999"));
  ASSERT_FALSE(deleted.ok());
  ExpectError(deleted.error(), 409, StatusCode::kAborted, "ERR_STATE_DELETE");
  EXPECT_EQ(deleted.error().message.rfind("failed deleting state with key k: ", 0), 0u)
      << deleted.error().message;
  EXPECT_EQ(Raw(*store_, "myapp||k"), std::optional<std::string>("1"));
}

TEST_F(StateBlockTest, DeleteWithMatchingEtag) {
  ASSERT_TRUE(block_.Save(kStore, {Item("k", "1")}).ok());
  ASSERT_TRUE(block_.Delete(kStore, Item("k", "", EtagOf(block_, "k"))).ok());
  EXPECT_EQ(Raw(*store_, "myapp||k"), std::nullopt);
}

TEST_F(StateBlockTest, BadTtlIs400AndNothingIsWritten) {
  for (const char* ttl : {"ten", "1.5", "10s", " 10"}) {
    auto saved = block_.Save(kStore, {Item("a", "1"), Item("b", "2", {}, {{"ttlInSeconds", ttl}})});
    ASSERT_FALSE(saved.ok()) << ttl;
    ExpectError(saved.error(), 400, StatusCode::kInvalidArgument, "ERR_STATE_SAVE");
    EXPECT_NE(saved.error().message.find(ttl), std::string::npos) << saved.error().message;
    EXPECT_EQ(Raw(*store_, "myapp||a"), std::nullopt) << ttl;
    EXPECT_EQ(Raw(*store_, "myapp||b"), std::nullopt) << ttl;
  }
}

TEST_F(StateBlockTest, TtlIsPassedToTheStore) {
  ASSERT_TRUE(block_.Save(kStore, {Item("k", "v", {}, {{"ttlInSeconds", "100"}})}).ok());
  auto got = block_.Get(kStore, "k", state::Consistency::kUnspecified, {});
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->metadata.count("ttlExpireTime"), 1u);
  ASSERT_TRUE(block_.Save(kStore, {Item("forever", "v", {}, {{"ttlInSeconds", "-1"}})}).ok());
  got = block_.Get(kStore, "forever", state::Consistency::kUnspecified, {});
  ASSERT_TRUE(got.ok());
  EXPECT_TRUE(got->found);
  EXPECT_EQ(got->metadata.count("ttlExpireTime"), 0u);
}

// --- bulk ----------------------------------------------------------------------------------

TEST_F(StateBlockTest, BulkGetKeepsOrderAndReportsMissingKeys) {
  ASSERT_TRUE(block_.Save(kStore, {Item("a", "A"), Item("c", "C")}).ok());
  auto items = block_.BulkGet(kStore, {"c", "b", "a", "c"}, {});
  ASSERT_TRUE(items.ok()) << items.error().message;
  ASSERT_EQ(items->size(), 4u);
  const std::vector<std::string> keys = {"c", "b", "a", "c"};
  const std::vector<bool> found = {true, false, true, true};
  const std::vector<std::string> data = {"C", "", "A", "C"};
  for (size_t i = 0; i < 4; ++i) {
    const auto& item = (*items)[i];
    EXPECT_EQ(item.key, keys[i]) << i;
    EXPECT_EQ(item.response.found, found[i]) << i;
    EXPECT_EQ(item.response.data, data[i]) << i;
    EXPECT_EQ(item.response.etag.has_value(), found[i]) << i;
    EXPECT_EQ(item.error, "") << i;
  }
}

TEST_F(StateBlockTest, BulkGetOfNoKeysIsEmpty) {
  auto items = block_.BulkGet(kStore, {}, {});
  ASSERT_TRUE(items.ok());
  EXPECT_TRUE(items->empty());
}

TEST_F(StateBlockTest, BulkDelete) {
  ASSERT_TRUE(block_.Save(kStore, {Item("a", "A"), Item("b", "B"), Item("c", "C")}).ok());
  ASSERT_TRUE(block_.BulkDelete(kStore, {Item("a"), Item("c")}).ok());
  EXPECT_EQ(Raw(*store_, "myapp||a"), std::nullopt);
  EXPECT_EQ(Raw(*store_, "myapp||b"), std::optional<std::string>("B"));
  EXPECT_EQ(Raw(*store_, "myapp||c"), std::nullopt);
}

TEST_F(StateBlockTest, BulkDeleteEtagMismatchIs409AndDeletesNothing) {
  ASSERT_TRUE(block_.Save(kStore, {Item("a", "A"), Item("b", "B")}).ok());
  auto deleted = block_.BulkDelete(kStore, {Item("a"), Item("b", "", "999999")});
  ASSERT_FALSE(deleted.ok());
  ExpectError(deleted.error(), 409, StatusCode::kAborted, "ERR_STATE_BULK_DELETE");
  EXPECT_EQ(Raw(*store_, "myapp||a"), std::optional<std::string>("A"));
  EXPECT_EQ(Raw(*store_, "myapp||b"), std::optional<std::string>("B"));
}

// --- transactions --------------------------------------------------------------------------

TEST_F(StateBlockTest, TransactionUpsertsAndDeletes) {
  ASSERT_TRUE(block_.Save(kStore, {Item("old", "x")}).ok());
  auto tx = block_.Transact(kStore, {Op("upsert", Item("a", "1")), Op("delete", Item("old")),
                                     Op("upsert", Item("b", "2"))},
                            {});
  ASSERT_TRUE(tx.ok()) << tx.error().message;
  EXPECT_EQ(Raw(*store_, "myapp||a"), std::optional<std::string>("1"));
  EXPECT_EQ(Raw(*store_, "myapp||b"), std::optional<std::string>("2"));
  EXPECT_EQ(Raw(*store_, "myapp||old"), std::nullopt);
}

TEST_F(StateBlockTest, EmptyTransactionSucceeds) {
  EXPECT_TRUE(block_.Transact(kStore, {}, {}).ok());
}

TEST_F(StateBlockTest, TransactionUnknownOperationIs400AndWritesNothing) {
  auto tx = block_.Transact(kStore, {Op("upsert", Item("a", "1")), Op("merge", Item("b", "2"))},
                            {});
  ASSERT_FALSE(tx.ok());
  ExpectError(tx.error(), 400, StatusCode::kUnimplemented, "ERR_NOT_SUPPORTED_STATE_OPERATION");
  EXPECT_EQ(tx.error().message, "operation type merge not supported");
  EXPECT_EQ(Raw(*store_, "myapp||a"), std::nullopt);
  EXPECT_EQ(Raw(*store_, "myapp||b"), std::nullopt);
}

TEST_F(StateBlockTest, TransactionOperationNamesAreExact) {
  auto tx = block_.Transact(kStore, {Op("UPSERT", Item("a", "1"))}, {});
  ASSERT_FALSE(tx.ok());
  EXPECT_EQ(tx.error().error_code, "ERR_NOT_SUPPORTED_STATE_OPERATION");
  EXPECT_EQ(Raw(*store_, "myapp||a"), std::nullopt);
}

TEST_F(StateBlockTest, TransactionMetadataIsMergedIntoOperations) {
  // The request's ttlInSeconds applies to every operation that does not set its own.
  auto tx = block_.Transact(kStore,
                            {Op("upsert", Item("inherits", "1")),
                             Op("upsert", Item("own", "2", {}, {{"ttlInSeconds", "-1"}}))},
                            {{"ttlInSeconds", "100"}});
  ASSERT_TRUE(tx.ok()) << tx.error().message;
  auto inherits = block_.Get(kStore, "inherits", state::Consistency::kUnspecified, {});
  ASSERT_TRUE(inherits.ok());
  EXPECT_TRUE(inherits->found);
  EXPECT_EQ(inherits->metadata.count("ttlExpireTime"), 1u);
  auto own = block_.Get(kStore, "own", state::Consistency::kUnspecified, {});
  ASSERT_TRUE(own.ok());
  EXPECT_TRUE(own->found);
  EXPECT_EQ(own->metadata.count("ttlExpireTime"), 0u);
}

TEST_F(StateBlockTest, TransactionBadTtlFailsAndWritesNothing) {
  auto tx = block_.Transact(kStore, {Op("upsert", Item("a", "1")), Op("upsert", Item("b", "2"))},
                            {{"ttlInSeconds", "soon"}});
  ASSERT_FALSE(tx.ok());
  ExpectError(tx.error(), 400, StatusCode::kInvalidArgument, "ERR_STATE_TRANSACTION");
  EXPECT_EQ(Raw(*store_, "myapp||a"), std::nullopt);
  EXPECT_EQ(Raw(*store_, "myapp||b"), std::nullopt);
}

TEST_F(StateBlockTest, TransactionEtagMismatchIs500AndWritesNothing) {
  ASSERT_TRUE(block_.Save(kStore, {Item("b", "old")}).ok());
  auto tx = block_.Transact(
      kStore, {Op("upsert", Item("a", "1")), Op("upsert", Item("b", "new", "999999"))}, {});
  ASSERT_FALSE(tx.ok());
  ExpectError(tx.error(), 500, StatusCode::kInternal, "ERR_STATE_TRANSACTION");
  EXPECT_EQ(Raw(*store_, "myapp||a"), std::nullopt);
  EXPECT_EQ(Raw(*store_, "myapp||b"), std::optional<std::string>("old"));
}

// --- query ---------------------------------------------------------------------------------

TEST_F(StateBlockTest, QueryStripsThePrefixAndSeesOnlyThisAppsKeys) {
  ASSERT_TRUE(block_.Save(kStore, {Item("2", R"({"n":2})"), Item("1", R"({"n":1})")}).ok());
  // Keys of another app and unprefixed keys in the same backend.
  ASSERT_TRUE(store_->Set({"other||3", R"({"n":3})", {}, {}, {}}).ok());
  ASSERT_TRUE(store_->Set({"4", R"({"n":4})", {}, {}, {}}).ok());
  ASSERT_TRUE(store_->Set({"myapp2||5", R"({"n":5})", {}, {}, {}}).ok());

  auto result = block_.Query(kStore, R"({"sort":[{"key":"n"}]})", {});
  ASSERT_TRUE(result.ok()) << result.error().message;
  ASSERT_EQ(result->results.size(), 2u);
  EXPECT_EQ(result->results[0].key, "1");
  EXPECT_EQ(result->results[0].data, R"({"n":1})");
  EXPECT_EQ(result->results[0].etag, EtagOf(block_, "1"));
  EXPECT_EQ(result->results[1].key, "2");
  EXPECT_EQ(result->results[1].data, R"({"n":2})");
  EXPECT_EQ(result->token, "");
}

TEST_F(StateBlockTest, QueryWithNamePrefix) {
  StateBlock block("myapp", "");
  auto store = AddInMemory(block, {{"keyPrefix", "name"}});
  ASSERT_TRUE(block.Save(kStore, {Item("x", R"({"v":"x"})")}).ok());
  ASSERT_TRUE(store->Set({"myapp||y", R"({"v":"y"})", {}, {}, {}}).ok());
  auto result = block.Query(kStore, "{}", {});
  ASSERT_TRUE(result.ok()) << result.error().message;
  ASSERT_EQ(result->results.size(), 1u);
  EXPECT_EQ(result->results[0].key, "x");
}

TEST_F(StateBlockTest, QueryPaging) {
  ASSERT_TRUE(block_.Save(kStore, {Item("a", R"({"n":1})"), Item("b", R"({"n":2})"),
                                   Item("c", R"({"n":3})")})
                  .ok());
  auto page = block_.Query(kStore, R"({"sort":[{"key":"n"}],"page":{"limit":2}})", {});
  ASSERT_TRUE(page.ok()) << page.error().message;
  ASSERT_EQ(page->results.size(), 2u);
  EXPECT_EQ(page->results[0].key, "a");
  EXPECT_EQ(page->results[1].key, "b");
  EXPECT_FALSE(page->token.empty());
}

TEST_F(StateBlockTest, MalformedQueryIs500QueryFailed) {
  auto result = block_.Query(kStore, "{not json", {});
  ASSERT_FALSE(result.ok());
  ExpectError(result.error(), 500, StatusCode::kInternal, "ERR_STATE_QUERY");
  EXPECT_EQ(result.error().reason, "DAPR_STATE_QUERY_FAILED");
}

// --- capabilities --------------------------------------------------------------------------

TEST_F(StateBlockTest, CapabilitiesOfTheInMemoryStore) {
  EXPECT_EQ(block_.Capabilities(kStore),
            (std::vector<std::string>{"ETAG", "TRANSACTIONAL", "TTL", "QUERY_API", "ACTOR"}));
  EXPECT_TRUE(block_.Capabilities("nope").empty());
}

// --- a store that declares no optional features ----------------------------------------------

// Counts calls; answers Get/Set/Delete from a map, and fails the test if an optional part runs.
class PlainStore final : public state::Store {
 public:
  Status Init(const ComponentMetadata&) override { return Status::Ok(); }
  state::Features GetFeatures() const override { return {}; }
  Result<state::GetResponse> Get(const state::GetRequest& request) override {
    ++gets;
    if (!get_error.ok()) return get_error;
    auto it = data.find(request.key);
    if (it == data.end()) return state::GetResponse{};
    return state::GetResponse{true, it->second, std::nullopt, {}};
  }
  Status Set(const state::SetRequest& request) override {
    ++sets;
    if (!set_error.ok()) return set_error;
    data[request.key] = request.value;
    return Status::Ok();
  }
  Status Delete(const state::DeleteRequest& request) override {
    ++deletes;
    if (!set_error.ok()) return set_error;
    data.erase(request.key);
    return Status::Ok();
  }
  Status Multi(const std::vector<state::TransactionOperation>&) override {
    ++multis;
    return Internal("Multi must not be called on a store without transactions");
  }
  Result<std::vector<state::StoredItem>> Scan(const std::string&) override {
    ++scans;
    return Internal("Scan must not be called on a store without query");
  }

  std::map<std::string, std::string> data;
  Status get_error;
  Status set_error;
  int gets = 0, sets = 0, deletes = 0, multis = 0, scans = 0;
};

class PlainStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Status added = block_.AddStore(kStore, store_, StoreMetadata());
    ASSERT_TRUE(added.ok()) << added.message();
  }

  StateBlock block_{"myapp", ""};
  std::shared_ptr<PlainStore> store_ = std::make_shared<PlainStore>();
};

TEST_F(PlainStoreTest, NoCapabilities) { EXPECT_TRUE(block_.Capabilities(kStore).empty()); }

TEST_F(PlainStoreTest, TransactionIsNotSupported) {
  auto tx = block_.Transact(kStore, {Op("upsert", Item("a", "1"))}, {});
  ASSERT_FALSE(tx.ok());
  ExpectError(tx.error(), 500, StatusCode::kUnimplemented, "ERR_STATE_STORE_NOT_SUPPORTED");
  EXPECT_EQ(tx.error().reason, "DAPR_STATE_TRANSACTIONS_NOT_SUPPORTED");
  ASSERT_EQ(tx.error().resources.size(), 1u);
  EXPECT_EQ(tx.error().resources[0].resource_name, kStore);
  EXPECT_EQ(store_->multis, 0);
  EXPECT_EQ(store_->sets, 0);
  EXPECT_TRUE(store_->data.empty());
}

TEST_F(PlainStoreTest, QueryIsNotSupported) {
  auto query = block_.Query(kStore, "{}", {});
  ASSERT_FALSE(query.ok());
  ExpectError(query.error(), 500, StatusCode::kInternal, "ERR_STATE_STORE_NOT_SUPPORTED");
  EXPECT_EQ(query.error().reason, "DAPR_STATE_QUERYING_NOT_SUPPORTED");
  EXPECT_EQ(store_->scans, 0);
}

TEST_F(PlainStoreTest, SeveralItemsAreSavedOneByOne) {
  ASSERT_TRUE(block_.Save(kStore, {Item("a", "1"), Item("b", "2")}).ok());
  EXPECT_EQ(store_->sets, 2);
  EXPECT_EQ(store_->multis, 0);
  EXPECT_EQ(store_->data, (std::map<std::string, std::string>{{"myapp||a", "1"},
                                                               {"myapp||b", "2"}}));
  ASSERT_TRUE(block_.BulkDelete(kStore, {Item("a"), Item("b")}).ok());
  EXPECT_EQ(store_->deletes, 2);
  EXPECT_EQ(store_->multis, 0);
  EXPECT_TRUE(store_->data.empty());
}

TEST_F(PlainStoreTest, BulkGetFallsBackToSingleGets) {
  store_->data["myapp||a"] = "A";
  auto items = block_.BulkGet(kStore, {"a", "b"}, {});
  ASSERT_TRUE(items.ok());
  ASSERT_EQ(items->size(), 2u);
  EXPECT_EQ((*items)[0].key, "a");
  EXPECT_EQ((*items)[0].response.data, "A");
  EXPECT_EQ((*items)[1].key, "b");
  EXPECT_FALSE((*items)[1].response.found);
  EXPECT_EQ(store_->gets, 2);
}

TEST_F(PlainStoreTest, BulkGetReportsPerKeyErrors) {
  store_->get_error = Unavailable("backend down");
  auto items = block_.BulkGet(kStore, {"a"}, {});
  ASSERT_TRUE(items.ok());
  ASSERT_EQ(items->size(), 1u);
  EXPECT_EQ((*items)[0].key, "a");
  EXPECT_EQ((*items)[0].error, "backend down");
}

TEST_F(PlainStoreTest, StoreErrorsMapToDaprStatuses) {
  store_->get_error = Unavailable("backend down");
  auto got = block_.Get(kStore, "k", state::Consistency::kUnspecified, {});
  ASSERT_FALSE(got.ok());
  ExpectError(got.error(), 500, StatusCode::kInternal, "ERR_STATE_GET");
  EXPECT_EQ(got.error().message, "fail to get k from state store statestore: backend down");

  store_->set_error = Unavailable("backend down");
  auto saved = block_.Save(kStore, {Item("k", "v")});
  ASSERT_FALSE(saved.ok());
  ExpectError(saved.error(), 500, StatusCode::kInternal, "ERR_STATE_SAVE");

  store_->set_error = state::InvalidEtag();
  saved = block_.Save(kStore, {Item("k", "v", "not-an-etag")});
  ASSERT_FALSE(saved.ok());
  ExpectError(saved.error(), 400, StatusCode::kInvalidArgument, "ERR_STATE_SAVE");
  auto deleted = block_.Delete(kStore, Item("k", "", "not-an-etag"));
  ASSERT_FALSE(deleted.ok());
  ExpectError(deleted.error(), 400, StatusCode::kInvalidArgument, "ERR_STATE_DELETE");
}

TEST_F(PlainStoreTest, RequestFieldsReachTheStore) {
  // Options and metadata travel with the prefixed key.
  struct Spy final : public state::Store {
    Status Init(const ComponentMetadata&) override { return Status::Ok(); }
    state::Features GetFeatures() const override { return {}; }
    Result<state::GetResponse> Get(const state::GetRequest& r) override {
      get = r;
      return state::GetResponse{};
    }
    Status Set(const state::SetRequest& r) override {
      set = r;
      return Status::Ok();
    }
    Status Delete(const state::DeleteRequest& r) override {
      del = r;
      return Status::Ok();
    }
    state::GetRequest get;
    state::SetRequest set;
    state::DeleteRequest del;
  };
  auto spy = std::make_shared<Spy>();
  StateBlock block("myapp", "");
  ASSERT_TRUE(block.AddStore(kStore, spy, StoreMetadata()).ok());

  ASSERT_TRUE(block.Get(kStore, "k", state::Consistency::kStrong, {{"partitionKey", "p"}}).ok());
  EXPECT_EQ(spy->get.key, "myapp||k");
  EXPECT_EQ(spy->get.consistency, state::Consistency::kStrong);
  EXPECT_EQ(spy->get.metadata, (state::Metadata{{"partitionKey", "p"}}));

  StateItem item = Item("k", "v", "7", {{"contentType", "application/json"}});
  item.options = {state::Concurrency::kFirstWrite, state::Consistency::kEventual};
  ASSERT_TRUE(block.Save(kStore, {item}).ok());
  EXPECT_EQ(spy->set.key, "myapp||k");
  EXPECT_EQ(spy->set.value, "v");
  EXPECT_EQ(spy->set.etag, std::optional<std::string>("7"));
  EXPECT_EQ(spy->set.metadata, (state::Metadata{{"contentType", "application/json"}}));
  EXPECT_EQ(spy->set.options.concurrency, state::Concurrency::kFirstWrite);
  EXPECT_EQ(spy->set.options.consistency, state::Consistency::kEventual);

  ASSERT_TRUE(block.Delete(kStore, item).ok());
  EXPECT_EQ(spy->del.key, "myapp||k");
  EXPECT_EQ(spy->del.etag, std::optional<std::string>("7"));
  EXPECT_EQ(spy->del.options.concurrency, state::Concurrency::kFirstWrite);
}

}  // namespace
}  // namespace dapr::blocks
