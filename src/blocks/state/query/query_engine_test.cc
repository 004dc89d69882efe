#include "blocks/state/query/query_engine.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace dapr::state::query {
namespace {

// The employee records of Dapr's "How-To: Query state" page, trimmed.
std::vector<StoredItem> Employees() {
  return {
      {"app||1", R"({"person":{"org":"Dev Ops","id":1036},"city":"Seattle","state":"WA"})", "e1"},
      {"app||2", R"({"person":{"org":"Hardware","id":1028},"city":"Portland","state":"OR"})", "e2"},
      {"app||3", R"({"person":{"org":"Finance","id":1071},"city":"Sacramento","state":"CA"})",
       "e3"},
      {"app||4", R"({"person":{"org":"Dev Ops","id":1042},"city":"Spokane","state":"WA"})", "e4"},
      {"app||5", R"({"person":{"org":"Hardware","id":1007},"city":"Los Angeles","state":"CA"})",
       "e5"},
      {"app||6", R"({"person":{"org":"Finance","id":1094},"city":"Eugene","state":"OR"})", "e6"},
      {"app||7", R"({"person":{"org":"Dev Ops","id":1015},"city":"San Francisco","state":"CA"})",
       "e7"},
      {"app||8", R"({"person":{"org":"Hardware","id":1077},"city":"Redmond","state":"WA"})", "e8"},
      {"app||9", R"({"person":{"org":"Finance","id":1002},"city":"San Diego","state":"CA"})", "e9"},
      {"app||10", R"({"person":{"org":"Dev Ops","id":1054},"city":"New York","state":"NY"})",
       "e10"},
  };
}

Query MustParse(const std::string& text) {
  auto query = Query::Parse(text);
  EXPECT_TRUE(query.ok()) << text << " -> " << query.error().message();
  return std::move(query).value();
}

QueryResult MustRun(const std::string& text, std::vector<StoredItem> items) {
  auto result = Run(MustParse(text), std::move(items));
  EXPECT_TRUE(result.ok()) << result.error().message();
  return std::move(result).value();
}

std::vector<std::string> Keys(const QueryResult& result) {
  std::vector<std::string> keys;
  for (const auto& item : result.results) keys.push_back(item.key);
  return keys;
}

std::vector<std::string> KeysOf(const std::string& text, std::vector<StoredItem> items) {
  return Keys(MustRun(text, std::move(items)));
}

std::vector<std::string> KeysOf(const std::string& text) { return KeysOf(text, Employees()); }

// The message of a Parse failure; empty when the document parsed.
std::string ParseFailure(const std::string& text) {
  auto query = Query::Parse(text);
  if (query.ok()) return "";
  EXPECT_EQ(query.error().code(), StatusCode::kInvalidArgument);
  return query.error().message();
}

using Keys_ = std::vector<std::string>;

TEST(QueryEngine, EmptyDocumentReturnsEverythingInScanOrder) {
  QueryResult all = MustRun("{}", Employees());
  ASSERT_EQ(all.results.size(), 10u);
  EXPECT_EQ(all.results[0].key, "app||1");
  EXPECT_EQ(all.results[0].etag, "e1");
  EXPECT_EQ(all.results[0].data, Employees()[0].data);  // bytes untouched
  EXPECT_EQ(all.token, "");
  EXPECT_EQ(KeysOf(R"({"filter":{}})").size(), 10u);
  EXPECT_EQ(KeysOf("null").size(), 10u);
}

TEST(QueryEngine, EqOnNestedPath) {
  EXPECT_EQ(KeysOf(R"({"filter":{"EQ":{"person.org":"Finance"}}})"),
            (Keys_{"app||3", "app||6", "app||9"}));
  EXPECT_EQ(KeysOf(R"({"filter":{"EQ":{"person.id":1042}}})"), (Keys_{"app||4"}));
  EXPECT_EQ(KeysOf(R"({"filter":{"EQ":{"person.id":1042.0}}})"), (Keys_{"app||4"}));
  EXPECT_EQ(KeysOf(R"({"filter":{"EQ":{"person.id":"1042"}}})"), Keys_{});  // type mismatch
  EXPECT_EQ(KeysOf(R"({"filter":{"EQ":{"person.nope":"x"}}})"), Keys_{});
}

TEST(QueryEngine, LeadingValueSegmentIsNotStripped) {
  // Dapr's stores prepend "value." themselves; "value.state" names a field called "value".
  EXPECT_EQ(KeysOf(R"({"filter":{"EQ":{"value.state":"CA"}}})"), Keys_{});
  std::vector<StoredItem> items = {{"a", R"({"value":{"state":"CA"}})", ""}};
  EXPECT_EQ(KeysOf(R"({"filter":{"EQ":{"value.state":"CA"}}})", items), (Keys_{"a"}));
}

TEST(QueryEngine, NeqSkipsItemsWithoutTheField) {
  std::vector<StoredItem> items = Employees();
  items.push_back({"app||nostate", R"({"person":{"org":"Finance"}})", ""});
  items.push_back({"app||text", "not json", ""});
  EXPECT_EQ(KeysOf(R"({"filter":{"NEQ":{"state":"CA"}}})", items),
            (Keys_{"app||1", "app||2", "app||4", "app||6", "app||8", "app||10"}));
}

TEST(QueryEngine, ComparisonsOnNumbers) {
  EXPECT_EQ(KeysOf(R"({"filter":{"GT":{"person.id":1071}}})"), (Keys_{"app||6", "app||8"}));
  EXPECT_EQ(KeysOf(R"({"filter":{"GTE":{"person.id":1071}}})"),
            (Keys_{"app||3", "app||6", "app||8"}));
  EXPECT_EQ(KeysOf(R"({"filter":{"LT":{"person.id":1015}}})"), (Keys_{"app||5", "app||9"}));
  EXPECT_EQ(KeysOf(R"({"filter":{"LTE":{"person.id":1015}}})"),
            (Keys_{"app||5", "app||7", "app||9"}));
  EXPECT_EQ(KeysOf(R"({"filter":{"LT":{"person.id":1015.5}}})"),
            (Keys_{"app||5", "app||7", "app||9"}));
  // Strings never compare with numbers.
  EXPECT_EQ(KeysOf(R"({"filter":{"GT":{"person.org":0}}})"), Keys_{});
}

TEST(QueryEngine, ComparisonsOnNegativeAndLargeIntegers) {
  std::vector<StoredItem> items = {{"neg", R"({"n":-5})", ""},
                                   {"big", R"({"n":18446744073709551615})", ""},
                                   {"small", R"({"n":3})", ""}};
  EXPECT_EQ(KeysOf(R"({"filter":{"GT":{"n":-6}}})", items), (Keys_{"neg", "big", "small"}));
  EXPECT_EQ(KeysOf(R"({"filter":{"GT":{"n":9223372036854775807}}})", items), (Keys_{"big"}));
  EXPECT_EQ(KeysOf(R"({"filter":{"LT":{"n":0}}})", items), (Keys_{"neg"}));
}

TEST(QueryEngine, ComparisonsOnStringsAreLexicographic) {
  EXPECT_EQ(KeysOf(R"({"filter":{"GT":{"state":"OR"}}})"), (Keys_{"app||1", "app||4", "app||8"}));
  EXPECT_EQ(KeysOf(R"({"filter":{"GTE":{"state":"OR"}}})"),
            (Keys_{"app||1", "app||2", "app||4", "app||6", "app||8"}));
  EXPECT_EQ(KeysOf(R"({"filter":{"LT":{"state":"NY"}}})"),
            (Keys_{"app||3", "app||5", "app||7", "app||9"}));
  EXPECT_EQ(KeysOf(R"({"filter":{"LTE":{"state":"NY"}}})"),
            (Keys_{"app||3", "app||5", "app||7", "app||9", "app||10"}));
  EXPECT_EQ(KeysOf(R"({"filter":{"LT":{"person.id":"z"}}})"), Keys_{});  // numbers vs string
}

TEST(QueryEngine, In) {
  EXPECT_EQ(KeysOf(R"({"filter":{"IN":{"person.org":["Dev Ops","Hardware"]}}})"),
            (Keys_{"app||1", "app||2", "app||4", "app||5", "app||7", "app||8", "app||10"}));
  EXPECT_EQ(KeysOf(R"({"filter":{"IN":{"person.id":[1002,1054,"1036"]}}})"),
            (Keys_{"app||9", "app||10"}));
  EXPECT_EQ(KeysOf(R"({"filter":{"IN":{"state":["TX"]}}})"), Keys_{});
}

TEST(QueryEngine, And) {
  EXPECT_EQ(KeysOf(R"({"filter":{"AND":[{"EQ":{"state":"CA"}},{"GT":{"person.id":1010}}]}})"),
            (Keys_{"app||3", "app||7"}));
}

TEST(QueryEngine, Or) {
  EXPECT_EQ(KeysOf(R"({"filter":{"OR":[{"EQ":{"state":"NY"}},{"EQ":{"city":"Eugene"}}]}})"),
            (Keys_{"app||6", "app||10"}));
}

TEST(QueryEngine, NestedAndInsideOr) {
  // Example 3 of Dapr's "How-To: Query state", without its sort and page.
  const char* doc = R"({"filter":{"OR":[
      {"EQ":{"person.org":"Dev Ops"}},
      {"AND":[{"EQ":{"person.org":"Finance"}},{"IN":{"state":["CA","WA"]}}]}]}})";
  EXPECT_EQ(KeysOf(doc), (Keys_{"app||1", "app||3", "app||4", "app||7", "app||9", "app||10"}));
}

TEST(QueryEngine, SortDescending) {
  // Example 1 of Dapr's "How-To: Query state".
  EXPECT_EQ(KeysOf(R"({"filter":{"EQ":{"state":"CA"}},
                       "sort":[{"key":"person.id","order":"DESC"}]})"),
            (Keys_{"app||3", "app||7", "app||5", "app||9"}));
}

TEST(QueryEngine, SortMultiKeyAscDesc) {
  EXPECT_EQ(KeysOf(R"({"sort":[{"key":"state","order":"DESC"},{"key":"person.id"}]})"),
            (Keys_{"app||1", "app||4", "app||8", "app||2", "app||6", "app||10", "app||9", "app||5",
                   "app||7", "app||3"}));
  EXPECT_EQ(KeysOf(R"({"sort":[{"key":"person.org","order":"ASC"},
                                {"key":"person.id","order":"DESC"}]})"),
            (Keys_{"app||10", "app||4", "app||1", "app||7", "app||6", "app||3", "app||9", "app||8",
                   "app||2", "app||5"}));
}

TEST(QueryEngine, SortIsStableAndMissingKeysSortLast) {
  std::vector<StoredItem> items = {{"none1", R"({"a":1})", ""}, {"b2", R"({"a":2,"b":2})", ""},
                                   {"text", "plain text", ""},  {"b1", R"({"a":3,"b":1})", ""},
                                   {"none2", R"({"a":4})", ""}, {"b1bis", R"({"a":5,"b":1})", ""}};
  EXPECT_EQ(KeysOf(R"({"sort":[{"key":"b"}]})", items),
            (Keys_{"b1", "b1bis", "b2", "none1", "text", "none2"}));
  EXPECT_EQ(KeysOf(R"({"sort":[{"key":"b","order":"DESC"}]})", items),
            (Keys_{"b2", "b1", "b1bis", "none1", "text", "none2"}));
}

TEST(QueryEngine, SortIsStableOnManyTies) {
  // Enough items that an unstable sort (introsort) would reorder the ties.
  std::vector<StoredItem> items;
  Keys_ expected_a;
  Keys_ expected_b;
  for (int i = 0; i < 100; ++i) {
    const std::string key = std::to_string(i);
    const bool a = (i * 7) % 3 == 0;
    items.push_back({key, std::string(R"({"g":")") + (a ? "a" : "b") + "\"}", ""});
    (a ? expected_a : expected_b).push_back(key);
  }
  expected_a.insert(expected_a.end(), expected_b.begin(), expected_b.end());
  EXPECT_EQ(KeysOf(R"({"sort":[{"key":"g"}]})", items), expected_a);
}

TEST(QueryEngine, PagingAcrossThreePagesThenEmpty) {
  const std::string base = R"({"sort":[{"key":"person.id"}],"page":{"limit":4)";
  QueryResult first = MustRun(base + "}}", Employees());
  EXPECT_EQ(Keys(first), (Keys_{"app||9", "app||5", "app||7", "app||2"}));
  EXPECT_EQ(first.token, "4");

  QueryResult second = MustRun(base + R"(,"token":")" + first.token + "\"}}", Employees());
  EXPECT_EQ(Keys(second), (Keys_{"app||1", "app||4", "app||10", "app||3"}));
  EXPECT_EQ(second.token, "8");

  QueryResult third = MustRun(base + R"(,"token":")" + second.token + "\"}}", Employees());
  EXPECT_EQ(Keys(third), (Keys_{"app||8", "app||6"}));
  EXPECT_EQ(third.token, "10");  // Dapr: a non-empty page always carries the next offset

  QueryResult after = MustRun(base + R"(,"token":")" + third.token + "\"}}", Employees());
  EXPECT_TRUE(after.results.empty());
  EXPECT_EQ(after.token, "");  // the end: nothing returned, no token
}

TEST(QueryEngine, PagingWithFilterAndTokenPastTheEnd) {
  // Example 3 of Dapr's docs: 6 matches, limit 3 -> tokens "3" then "6".
  const std::string filter = R"("filter":{"OR":[{"EQ":{"person.org":"Dev Ops"}},
      {"AND":[{"EQ":{"person.org":"Finance"}},{"IN":{"state":["CA","WA"]}}]}]},
      "sort":[{"key":"state","order":"DESC"},{"key":"person.id"}])";
  QueryResult first = MustRun("{" + filter + R"(,"page":{"limit":3}})", Employees());
  EXPECT_EQ(Keys(first), (Keys_{"app||1", "app||4", "app||10"}));
  EXPECT_EQ(first.token, "3");
  QueryResult second = MustRun("{" + filter + R"(,"page":{"limit":3,"token":"3"}})", Employees());
  EXPECT_EQ(Keys(second), (Keys_{"app||9", "app||7", "app||3"}));
  EXPECT_EQ(second.token, "6");
  QueryResult past = MustRun(R"({"page":{"limit":3,"token":"99"}})", Employees());
  EXPECT_TRUE(past.results.empty());
  EXPECT_EQ(past.token, "");
}

TEST(QueryEngine, TokenWithoutLimitSkipsAndNoLimitMeansNoToken) {
  QueryResult rest = MustRun(R"({"page":{"token":"8"}})", Employees());
  EXPECT_EQ(Keys(rest), (Keys_{"app||9", "app||10"}));
  EXPECT_EQ(rest.token, "");
  EXPECT_EQ(MustRun(R"({"page":{"limit":0}})", Employees()).results.size(), 10u);
}

TEST(QueryEngine, BadToken) {
  for (const char* token : {"abc", "-1", "3x", " 3", "1.5", "99999999999999999999"}) {
    auto query = Query::Parse(std::string(R"({"page":{"limit":2,"token":")") + token + "\"}}");
    ASSERT_FALSE(query.ok()) << token;
    EXPECT_EQ(query.error().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(query.error().message().find("invalid page token"), std::string::npos);
  }
  EXPECT_NE(ParseFailure(R"({"page":{"token":3}})"), "");
}

TEST(QueryEngine, NotJson) {
  EXPECT_NE(ParseFailure("{\"filter\":").find("failed to parse JSON query body"),
            std::string::npos);
  EXPECT_NE(ParseFailure(""), "");
  EXPECT_NE(ParseFailure("[]"), "");
  EXPECT_NE(ParseFailure("\"filter\""), "");
}

TEST(QueryEngine, UnknownOperator) {
  EXPECT_NE(ParseFailure(R"({"filter":{"LIKE":{"a":"b"}}})").find("unsupported filter \"LIKE\""),
            std::string::npos);
  EXPECT_NE(ParseFailure(R"({"filter":{"eq":{"a":"b"}}})"), "");  // operators are case-sensitive
}

TEST(QueryEngine, MalformedFilterUnits) {
  EXPECT_NE(ParseFailure(R"({"filter":{"EQ":{"a":1},"NEQ":{"b":2}}})")
                .find("filter unit must have a single element"),
            std::string::npos);
  EXPECT_NE(ParseFailure(R"({"filter":{"EQ":{"a":1,"b":2}}})")
                .find("EQ filter must contain a single key/value pair"),
            std::string::npos);
  EXPECT_NE(ParseFailure(R"({"filter":{"EQ":"a"}})").find("EQ filter must be a map"),
            std::string::npos);
  EXPECT_NE(ParseFailure(R"({"filter":[{"EQ":{"a":1}}]})"), "");
  EXPECT_NE(ParseFailure(R"({"filter":{"GT":{"a":true}}})"), "");
  EXPECT_NE(ParseFailure(R"({"filter":{"EQ":{"a..b":1}}})"), "");
  EXPECT_NE(ParseFailure(R"({"filter":{"EQ":{"":1}}})"), "");
}

TEST(QueryEngine, InMustBeANonEmptyArray) {
  EXPECT_NE(
      ParseFailure(R"({"filter":{"IN":{"state":"CA"}}})").find("IN filter value must be an array"),
      std::string::npos);
  EXPECT_NE(ParseFailure(R"({"filter":{"IN":{"state":[]}}})").find("empty IN operator"),
            std::string::npos);
}

TEST(QueryEngine, AndOrNeedTwoEntries) {
  EXPECT_NE(ParseFailure(R"({"filter":{"AND":[{"EQ":{"a":1}}]}})")
                .find("AND filter must contain at least two entries"),
            std::string::npos);
  EXPECT_NE(ParseFailure(R"({"filter":{"OR":[]}})").find("at least two entries"),
            std::string::npos);
  EXPECT_NE(ParseFailure(R"({"filter":{"OR":{"EQ":{"a":1}}}})").find("OR filter must be an array"),
            std::string::npos);
  EXPECT_NE(ParseFailure(R"({"filter":{"AND":[{"EQ":{"a":1}},{"BAD":{"a":1}}]}})"), "");
}

TEST(QueryEngine, BadSort) {
  EXPECT_NE(ParseFailure(R"({"sort":[{"key":"a","order":"UP"}]})").find("invalid sort order"),
            std::string::npos);
  EXPECT_NE(ParseFailure(R"({"sort":[{"key":"a","order":"desc"}]})"), "");
  EXPECT_NE(ParseFailure(R"({"sort":{"key":"a"}})"), "");
  EXPECT_NE(ParseFailure(R"({"sort":[{"order":"ASC"}]})"), "");
  EXPECT_EQ(ParseFailure(R"({"sort":[{"key":"a","order":"ASC"},{"key":"b"}]})"), "");
}

TEST(QueryEngine, BadPage) {
  EXPECT_NE(ParseFailure(R"({"page":{"limit":-1}})").find("must not be negative"),
            std::string::npos);
  EXPECT_NE(ParseFailure(R"({"page":{"limit":2.5}})"), "");
  EXPECT_NE(ParseFailure(R"({"page":{"limit":"2"}})"), "");
  EXPECT_NE(ParseFailure(R"({"page":[2]})"), "");
}

TEST(QueryEngine, FieldNamesFollowGoDecoding) {
  // Go's encoding/json matches struct fields case-insensitively and ignores unknown ones.
  EXPECT_EQ(KeysOf(R"({"Filter":{"EQ":{"state":"NY"}},"extra":1})"), (Keys_{"app||10"}));
  QueryResult page = MustRun(R"({"PAGE":{"Limit":1}})", Employees());
  EXPECT_EQ(page.results.size(), 1u);
  EXPECT_EQ(page.token, "1");
}

TEST(QueryEngine, NonJsonValuesAreIgnoredByFilters) {
  std::vector<StoredItem> items = {{"text", "plain text", ""},
                                   {"quoted", R"("CA")", ""},
                                   {"number", "42", ""},
                                   {"ok", R"({"state":"CA"})", ""}};
  EXPECT_EQ(KeysOf(R"({"filter":{"EQ":{"state":"CA"}}})", items), (Keys_{"ok"}));
  EXPECT_EQ(KeysOf(R"({"filter":{"NEQ":{"state":"WA"}}})", items), (Keys_{"ok"}));
  EXPECT_EQ(KeysOf("{}", items).size(), 4u);  // no filter: everything, JSON or not
}

TEST(QueryEngine, ArrayIndexInPath) {
  std::vector<StoredItem> items = {{"a", R"({"tags":["x","y"]})", ""},
                                   {"b", R"({"tags":["y","x"]})", ""}};
  EXPECT_EQ(KeysOf(R"({"filter":{"EQ":{"tags.0":"y"}}})", items), (Keys_{"b"}));
}

TEST(QueryEngine, DeeplyNestedFilterIsRefusedNotCrashing) {
  std::string doc = R"({"EQ":{"a":1}})";
  for (int i = 0; i < 200; ++i) doc = R"({"OR":[)" + doc + R"(,{"EQ":{"a":2}}]})";
  EXPECT_NE(ParseFailure(R"({"filter":)" + doc + "}").find("nested"), std::string::npos);
}

TEST(QueryEngine, QueryIsReusable) {
  Query query = MustParse(R"({"filter":{"EQ":{"state":"WA"}},"page":{"limit":2,"token":"1"}})");
  EXPECT_EQ(query.limit(), 2);
  EXPECT_EQ(query.offset(), 1);
  EXPECT_TRUE(query.has_filter());
  EXPECT_FALSE(query.has_sort());
  Query copy = query;
  auto a = query::Run(query, Employees());
  auto b = query::Run(copy, Employees());
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(Keys(*a), (Keys_{"app||4", "app||8"}));
  EXPECT_EQ(Keys(*b), Keys(*a));
  EXPECT_EQ(a->token, "3");
}

}  // namespace
}  // namespace dapr::state::query
