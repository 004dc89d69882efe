#include "api/http/http_types.h"

#include <gtest/gtest.h>

#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace dapr::http {
namespace {

using Pairs = std::vector<std::pair<std::string, std::string>>;

HttpRequest WithQuery(std::string query) {
  HttpRequest request;
  request.method = "GET";
  request.path = "/v1.0/state/s/k";
  request.query = std::move(query);
  return request;
}

TEST(UrlDecodeTest, PlainTextIsUnchanged) {
  EXPECT_EQ(UrlDecode("hello-world_1.0~", false), std::optional<std::string>("hello-world_1.0~"));
  EXPECT_EQ(UrlDecode("", true), std::optional<std::string>(""));
}

TEST(UrlDecodeTest, PercentEscapesEitherCase) {
  EXPECT_EQ(UrlDecode("a%20b", false), std::optional<std::string>("a b"));
  EXPECT_EQ(UrlDecode("%41%42", false), std::optional<std::string>("AB"));
  EXPECT_EQ(UrlDecode("a%2Fb%2fc", false), std::optional<std::string>("a/b/c"));
  EXPECT_EQ(UrlDecode("100%25", false), std::optional<std::string>("100%"));
  EXPECT_EQ(UrlDecode("%C3%A9", false), std::optional<std::string>("\xC3\xA9"));
  EXPECT_EQ(UrlDecode("%00", false), std::optional<std::string>(std::string(1, '\0')));
}

TEST(UrlDecodeTest, EscapeAtTheVeryEnd) {
  EXPECT_EQ(UrlDecode("x%41", false), std::optional<std::string>("xA"));
  EXPECT_EQ(UrlDecode("%41", false), std::optional<std::string>("A"));
}

TEST(UrlDecodeTest, PlusIsASpaceOnlyWhenAsked) {
  EXPECT_EQ(UrlDecode("a+b", true), std::optional<std::string>("a b"));
  EXPECT_EQ(UrlDecode("a+b", false), std::optional<std::string>("a+b"));
  EXPECT_EQ(UrlDecode("a%2Bb", true), std::optional<std::string>("a+b"));
}

TEST(UrlDecodeTest, BadEscapesFail) {
  for (const char* text : {"%", "%4", "abc%", "abc%4", "%zz", "%g1", "%1g", "%%", "% 1", "%-1"}) {
    EXPECT_EQ(UrlDecode(text, false), std::nullopt) << text;
    EXPECT_EQ(UrlDecode(text, true), std::nullopt) << text;
  }
}

TEST(HttpRequestTest, QueryParamsInOrderWithRepeats) {
  auto request = WithQuery("a=1&b=hello+world&a=2");
  EXPECT_EQ(request.QueryParams(), (Pairs{{"a", "1"}, {"b", "hello world"}, {"a", "2"}}));
}

TEST(HttpRequestTest, QueryParamsDecodeNamesAndValues) {
  auto request = WithQuery("first%20name=J%C3%B6rg&q=a%26b%3Dc&plus=1%2B1");
  EXPECT_EQ(request.QueryParams(),
            (Pairs{{"first name", "J\xC3\xB6rg"}, {"q", "a&b=c"}, {"plus", "1+1"}}));
}

TEST(HttpRequestTest, QueryParamsEdgeShapes) {
  EXPECT_EQ(WithQuery("").QueryParams(), Pairs{});
  EXPECT_EQ(WithQuery("&&x=1&").QueryParams(), (Pairs{{"x", "1"}}));
  EXPECT_EQ(WithQuery("flag").QueryParams(), (Pairs{{"flag", ""}}));
  EXPECT_EQ(WithQuery("flag=").QueryParams(), (Pairs{{"flag", ""}}));
  EXPECT_EQ(WithQuery("k=a=b").QueryParams(), (Pairs{{"k", "a=b"}}));
  EXPECT_EQ(WithQuery("=v").QueryParams(), (Pairs{{"", "v"}}));
}

TEST(HttpRequestTest, QueryParamWithABadEscapeIsDropped) {
  // As Go's url.ParseQuery: the bad pair is skipped, the others are kept.
  EXPECT_EQ(WithQuery("bad=%zz&ok=1&%g=2").QueryParams(), (Pairs{{"ok", "1"}}));
}

TEST(HttpRequestTest, QueryParamFirstValueWins) {
  auto request = WithQuery("consistency=strong&consistency=eventual&empty=&plus=a+b");
  EXPECT_EQ(request.QueryParam("consistency"), std::optional<std::string>("strong"));
  EXPECT_EQ(request.QueryParam("empty"), std::optional<std::string>(""));
  EXPECT_EQ(request.QueryParam("plus"), std::optional<std::string>("a b"));
  EXPECT_EQ(request.QueryParam("missing"), std::nullopt);
  EXPECT_EQ(request.QueryParam("Consistency"), std::nullopt);
}

TEST(HttpRequestTest, MetadataParams) {
  auto request = WithQuery(
      "metadata.ttlInSeconds=10&consistency=strong&metadata.partitionKey=p+1"
      "&metadata.ttlInSeconds=20&metadata&metadata.a%2Eb=c%2Bd&Metadata.upper=no");
  EXPECT_EQ(request.MetadataParams(),
            (std::map<std::string, std::string>{
                {"ttlInSeconds", "10"}, {"partitionKey", "p 1"}, {"a.b", "c+d"}}));
}

TEST(HttpRequestTest, MetadataParamsEmptyWithoutAny) {
  EXPECT_TRUE(WithQuery("a=1&metadata=2").MetadataParams().empty());
}

TEST(HttpRequestTest, HeaderLookup) {
  HttpRequest request;
  request.headers = {{"if-match", "3"}, {"content-type", "application/json"}, {"if-match", "4"}};
  EXPECT_EQ(request.Header("if-match"), std::optional<std::string_view>("3"));
  EXPECT_EQ(request.Header("content-type"), std::optional<std::string_view>("application/json"));
  EXPECT_EQ(request.Header("dapr-api-token"), std::nullopt);
}

TEST(HttpResponseTest, NoContent) {
  HttpResponse response = NoContent();
  EXPECT_EQ(response.status, 204);
  EXPECT_EQ(response.content_type, "");
  EXPECT_EQ(response.body, "");
  EXPECT_TRUE(response.headers.empty());
}

TEST(HttpResponseTest, JsonResponse) {
  HttpResponse response = JsonResponse(400, R"({"errorCode":"ERR_X"})");
  EXPECT_EQ(response.status, 400);
  EXPECT_EQ(response.content_type, "application/json");
  EXPECT_EQ(response.body, R"({"errorCode":"ERR_X"})");
  EXPECT_TRUE(response.headers.empty());
}

}  // namespace
}  // namespace dapr::http
