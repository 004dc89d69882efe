// The state save body: item fields, the stored form of values, and each malformed case.
#include "api/http/save_body.h"

#include <gtest/gtest.h>

namespace dapr::http {
namespace {

std::vector<blocks::StateItem> Items(std::string_view body, const state::Metadata& query = {}) {
  auto items = ParseSaveBody(body, query);
  EXPECT_TRUE(items.ok()) << (items.ok() ? "" : items.error().message);
  return items.ok() ? std::move(items).value() : std::vector<blocks::StateItem>{};
}

std::string ErrorOf(std::string_view body) {
  auto items = ParseSaveBody(body, {});
  EXPECT_FALSE(items.ok()) << body;
  if (items.ok()) return "";
  EXPECT_EQ(items.error().http_status, 400);
  EXPECT_EQ(items.error().error_code, "ERR_MALFORMED_REQUEST");
  return items.error().message;
}

TEST(SaveBody, ValuesAreStoredAsCompactJsonWithSortedKeys) {
  auto items = Items(R"([{"key":"a","value":{ "b" : [1, 2.5, true, null], "a" : "x\ny" }}])");
  ASSERT_EQ(items.size(), 1u);
  EXPECT_EQ(items[0].key, "a");
  EXPECT_EQ(items[0].value, R"({"a":"x\ny","b":[1,2.5,true,null]})");
}

TEST(SaveBody, NestedObjectsAreSortedToo) {
  auto items = Items(R"([{"key":"k","value":{"z":{"y":1,"x":2},"a":[{"d":1,"c":2}]}}])");
  EXPECT_EQ(items[0].value, R"({"a":[{"c":2,"d":1}],"z":{"x":2,"y":1}})");
}

TEST(SaveBody, ScalarValuesKeepTheirJsonForm) {
  auto items = Items(R"([{"key":"s","value":"text"},{"key":"n","value":42},
                         {"key":"big","value":18446744073709551615},{"key":"u","value":"h\u00e9"}])");
  ASSERT_EQ(items.size(), 4u);
  EXPECT_EQ(items[0].value, "\"text\"");
  EXPECT_EQ(items[1].value, "42");
  EXPECT_EQ(items[2].value, "18446744073709551615");
  EXPECT_EQ(items[3].value, "\"h\xc3\xa9\"");
}

TEST(SaveBody, AMissingValueIsNull) {
  EXPECT_EQ(Items(R"([{"key":"k"}])")[0].value, "null");
}

TEST(SaveBody, EtagMetadataAndOptionsAreRead) {
  auto items = Items(
      R"([{"key":"k","value":1,"etag":"7","metadata":{"ttlInSeconds":"5","n":3},
           "options":{"concurrency":"first-write","consistency":"strong"}}])");
  ASSERT_EQ(items.size(), 1u);
  EXPECT_EQ(items[0].etag, "7");
  EXPECT_EQ(items[0].metadata.at("ttlInSeconds"), "5");
  EXPECT_EQ(items[0].metadata.at("n"), "3");
  EXPECT_EQ(items[0].options.concurrency, state::Concurrency::kFirstWrite);
  EXPECT_EQ(items[0].options.consistency, state::Consistency::kStrong);
}

TEST(SaveBody, ANumericEtagIsItsText) {
  EXPECT_EQ(Items(R"([{"key":"k","etag":12}])")[0].etag, "12");
  EXPECT_FALSE(Items(R"([{"key":"k","etag":null}])")[0].etag.has_value());
}

TEST(SaveBody, QueryMetadataOverridesTheBody) {
  auto items = Items(R"([{"key":"k","metadata":{"a":"body","b":"body"}}])", {{"a", "query"}});
  EXPECT_EQ(items[0].metadata.at("a"), "query");
  EXPECT_EQ(items[0].metadata.at("b"), "body");
}

TEST(SaveBody, MalformedBodiesSayWhy) {
  EXPECT_EQ(ErrorOf("[{"), "failed deserializing HTTP body: invalid JSON");
  EXPECT_EQ(ErrorOf(""), "failed deserializing HTTP body: invalid JSON");
  EXPECT_EQ(ErrorOf("[\"\xff\"]"), "failed deserializing HTTP body: invalid JSON");
  EXPECT_EQ(ErrorOf(R"({"key":"k"})"), "failed deserializing HTTP body: expected an array of state items");
  EXPECT_EQ(ErrorOf(R"([1])"), "state item must be an object");
  EXPECT_EQ(ErrorOf(R"([{"value":1}])"), "\"key\" is a required field");
  EXPECT_EQ(ErrorOf(R"([{"key":1}])"), "\"key\" is a required field");
  EXPECT_EQ(ErrorOf(R"([{"key":"k","metadata":[]}])"), "metadata must be an object");
  EXPECT_EQ(ErrorOf(R"([{"key":"k","options":"x"}])"), "options must be an object");
  EXPECT_EQ(ErrorOf(R"([{"key":"k","options":{"concurrency":"most-write"}}])"), "invalid concurrency option");
  EXPECT_EQ(ErrorOf(R"([{"key":"k","options":{"concurrency":1}}])"), "invalid concurrency option");
  EXPECT_EQ(ErrorOf(R"([{"key":"k","options":{"consistency":"weak"}}])"), "invalid consistency option");
}

TEST(SaveBody, AnEmptyArrayHasNoItems) { EXPECT_TRUE(Items("[]").empty()); }

}  // namespace
}  // namespace dapr::http
