#include "blocks/pubsub/routing_rule.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

namespace dapr::blocks::pubsub {
namespace {

using Json = nlohmann::json;

// A CloudEvent as the runtime hands it to the rules.
Json Event() {
  return Json::parse(R"({
    "id": "5929aaac-a5e2-4ca1-859c-edfe73f11565",
    "source": "checkout",
    "type": "widget",
    "specversion": "1.0",
    "datacontenttype": "application/json",
    "topic": "orders",
    "pubsubname": "pubsub",
    "traceid": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
    "data": {
      "amount": 150,
      "price": 9.5,
      "customer": {"name": "Ann", "tier": "gold", "address": {"city": "Oslo"}},
      "tags": ["new", "sale"],
      "items": [{"sku": "a1"}, {"sku": "b2"}],
      "note": "say \"hi\"\n",
      "flag": true,
      "nothing": null
    }
  })");
}

Json EventOfType(const std::string& type) {
  Json event = Event();
  event["type"] = type;
  return event;
}

Json EventWithAmount(const Json& amount) {
  Json event = Event();
  event["data"]["amount"] = amount;
  return event;
}

RoutingRule MustCompile(std::string_view expression) {
  auto rule = RoutingRule::Compile(expression);
  EXPECT_TRUE(rule.ok()) << expression << " -> " << rule.error().message();
  if (!rule.ok()) return RoutingRule::Compile("false").value();
  return std::move(rule).value();
}

// Whether the rule matches; a compile or evaluation error fails the test.
bool Matches(std::string_view expression, const Json& event = Event()) {
  auto result = MustCompile(expression).Matches(event);
  EXPECT_TRUE(result.ok()) << expression << " -> " << result.error().message();
  return result.ok() && result.value();
}

// The message of a Compile failure; empty when the expression compiled.
std::string CompileError(std::string_view expression) {
  auto rule = RoutingRule::Compile(expression);
  if (rule.ok()) return "";
  EXPECT_EQ(rule.error().code(), StatusCode::kInvalidArgument);
  return rule.error().message();
}

// The message of an evaluation failure; empty when the rule evaluated to a bool.
std::string EvalError(std::string_view expression, const Json& event = Event()) {
  auto result = MustCompile(expression).Matches(event);
  if (result.ok()) return "";
  EXPECT_EQ(result.error().code(), StatusCode::kInvalidArgument);
  return result.error().message();
}

// --- Dapr's documented examples ---------------------------------------------------------------

TEST(RoutingRule, DaprExampleTypeIsWidget) {
  EXPECT_TRUE(Matches(R"(event.type == "widget")"));
  EXPECT_FALSE(Matches(R"(event.type == "widget")", EventOfType("gadget")));
}

TEST(RoutingRule, DaprExampleTypeIsGadget) {
  EXPECT_TRUE(Matches(R"(event.type == "gadget")", EventOfType("gadget")));
  EXPECT_FALSE(Matches(R"(event.type == "gadget")"));
}

TEST(RoutingRule, DaprExampleAmountAbove100) {
  EXPECT_TRUE(Matches("event.data.amount > 100"));
  EXPECT_FALSE(Matches("event.data.amount > 100", EventWithAmount(100)));
  EXPECT_TRUE(Matches("event.data.amount > 100", EventWithAmount(100.5)));
}

TEST(RoutingRule, DaprExampleTypeStartsWith) {
  EXPECT_TRUE(Matches(R"(event.type.startsWith("com."))", EventOfType("com.example.order")));
  EXPECT_FALSE(Matches(R"(event.type.startsWith("com."))"));
}

TEST(RoutingRule, KeepsTheExpressionAsWritten) {
  EXPECT_EQ(MustCompile(R"( event.type == 'a' )").expression(), R"( event.type == 'a' )");
}

// --- Comparisons --------------------------------------------------------------------------------

TEST(RoutingRule, EqualityAndInequalityOfStrings) {
  EXPECT_TRUE(Matches(R"(event.topic == "orders")"));
  EXPECT_FALSE(Matches(R"(event.topic != "orders")"));
  EXPECT_TRUE(Matches(R"(event.source != "billing")"));
}

TEST(RoutingRule, OrderingOfIntegers) {
  EXPECT_TRUE(Matches("event.data.amount < 151"));
  EXPECT_FALSE(Matches("event.data.amount < 150"));
  EXPECT_TRUE(Matches("event.data.amount <= 150"));
  EXPECT_TRUE(Matches("event.data.amount >= 150"));
  EXPECT_FALSE(Matches("event.data.amount >= 151"));
  EXPECT_TRUE(Matches("-5 < 3 && 3 > -5"));
}

TEST(RoutingRule, IntsAndDoublesCompareNumerically) {
  EXPECT_TRUE(Matches("event.data.price > 9"));
  EXPECT_TRUE(Matches("event.data.price < 10"));
  EXPECT_TRUE(Matches("event.data.amount == 150.0"));
  EXPECT_TRUE(Matches("1 == 1.0 && 2.5 != 2"));
  EXPECT_TRUE(Matches("event.data.amount > 149.99"));
  EXPECT_TRUE(Matches("18446744073709551615u > 9223372036854775807"));
  EXPECT_TRUE(Matches("-1 < 0u"));
}

TEST(RoutingRule, StringsCompareLexicographically) {
  EXPECT_TRUE(Matches(R"("abc" < "abd")"));
  EXPECT_TRUE(Matches(R"("ab" < "abc")"));
  EXPECT_TRUE(Matches(R"("B" < "a")"));  // byte-wise: upper case sorts first
  EXPECT_TRUE(Matches(R"(event.data.customer.name >= "Ann")"));
}

TEST(RoutingRule, EqualityBetweenDifferentKindsIsFalseNotAnError) {
  EXPECT_FALSE(Matches(R"(event.data.amount == "150")"));
  EXPECT_TRUE(Matches(R"(event.data.amount != "150")"));
  EXPECT_FALSE(Matches("event.data.flag == 1"));
  EXPECT_FALSE(Matches("null == false"));
  EXPECT_TRUE(Matches("event.data.nothing == null"));
  EXPECT_TRUE(Matches("event.data.flag == true"));
}

TEST(RoutingRule, ListsAndMapsCompareElementByElement) {
  EXPECT_TRUE(Matches(R"(event.data.tags == ["new", "sale"])"));
  EXPECT_FALSE(Matches(R"(event.data.tags == ["sale", "new"])"));
  EXPECT_TRUE(Matches(R"(event.data.customer.address == event.data.customer.address)"));
  EXPECT_TRUE(Matches(R"([event.type, 1] == ["widget", 1.0])"));
}

TEST(RoutingRule, OrderingAStringWithANumberIsAnError) {
  EXPECT_EQ(EvalError(R"(event.type < 5)"),
            R"(match "event.type < 5": cannot compare string with int using '<' at column 12)");
}

TEST(RoutingRule, BoolsAndNullHaveNoOrder) {
  EXPECT_NE(EvalError("true < false"), "");
  EXPECT_NE(EvalError("event.data.nothing >= null"), "");
}

// --- Logic --------------------------------------------------------------------------------------

TEST(RoutingRule, AndOrNot) {
  EXPECT_TRUE(Matches("true && true"));
  EXPECT_FALSE(Matches("true && false"));
  EXPECT_TRUE(Matches("false || true"));
  EXPECT_FALSE(Matches("false || false"));
  EXPECT_TRUE(Matches("!false"));
  EXPECT_TRUE(Matches("!!true"));
  EXPECT_FALSE(Matches(R"(!(event.type == "widget"))"));
}

TEST(RoutingRule, AndBindsTighterThanOr) {
  // (true || false) && false would be false.
  EXPECT_TRUE(Matches("true || false && false"));
  EXPECT_TRUE(Matches("false && false || true"));
  EXPECT_TRUE(Matches(R"(event.type == "gadget" || event.topic == "orders" && event.data.flag)"));
}

TEST(RoutingRule, ParenthesesOverridePrecedence) {
  EXPECT_FALSE(Matches("(true || false) && false"));
  EXPECT_TRUE(Matches("((((event.data.flag))))"));
}

TEST(RoutingRule, ComparisonsBindTighterThanLogic) {
  EXPECT_TRUE(Matches(R"(event.data.amount > 100 && event.type == "widget")"));
  EXPECT_TRUE(Matches(R"(!(event.data.amount > 200) && "sale" in event.data.tags)"));
}

TEST(RoutingRule, ShortCircuitAndSkipsAMissingField) {
  auto result = MustCompile("has(event.data.x) && event.data.x > 1").Matches(Event());
  ASSERT_TRUE(result.ok()) << result.error().message();
  EXPECT_FALSE(result.value());
}

TEST(RoutingRule, ShortCircuitOrSkipsAMissingField) {
  EXPECT_TRUE(Matches(R"(event.type == "widget" || event.data.x > 1)"));
}

TEST(RoutingRule, DecidingOperandWinsOverAnErrorInEitherOrder) {
  // As in CEL, && and || are commutative: an error is absorbed by a false (&&) or a true (||).
  EXPECT_FALSE(Matches("event.data.x > 1 && false"));
  EXPECT_TRUE(Matches("event.data.x > 1 || true"));
}

TEST(RoutingRule, ErrorWithoutADecidingOperandIsAnError) {
  EXPECT_NE(EvalError("event.data.x > 1 && true"), "");
  EXPECT_NE(EvalError("false || event.data.x > 1"), "");
}

TEST(RoutingRule, LogicOnANonBoolIsAnError) {
  EXPECT_EQ(EvalError("!event.type"),
            R"(match "!event.type": '!' needs a bool, not string at column 1)");
  EXPECT_NE(EvalError("event.data.amount && true"), "");
}

TEST(RoutingRule, LongAndChainsAreNotNesting) {
  std::string expression = "true";
  for (int i = 0; i < 300; ++i) expression += " && true";
  EXPECT_TRUE(Matches(expression));
}

// --- Fields -------------------------------------------------------------------------------------

TEST(RoutingRule, NestedFields) {
  EXPECT_TRUE(Matches(R"(event.data.customer.address.city == "Oslo")"));
  EXPECT_TRUE(Matches(R"(event.data.customer.tier == "gold")"));
}

TEST(RoutingRule, IndexAccessIntoMapsAndLists) {
  EXPECT_TRUE(Matches(R"(event.data["customer"]["name"] == "Ann")"));
  EXPECT_TRUE(Matches(R"(event.data.items[1].sku == "b2")"));
  EXPECT_TRUE(Matches(R"(event.data.tags[0] == "new")"));
  EXPECT_TRUE(Matches(R"(["x", "y"][1] == "y")"));
}

TEST(RoutingRule, IndexOutOfRangeIsAnError) {
  EXPECT_EQ(EvalError("event.data.items[2].sku == 1"),
            R"(match "event.data.items[2].sku == 1": event.data.items[2] is out of range )"
            R"((event.data.items has 2 elements) at column 17)");
  EXPECT_NE(EvalError(R"(event.data.items["a"] == 1)"), "");
}

TEST(RoutingRule, MissingFieldIsAnErrorOutsideHas) {
  EXPECT_EQ(EvalError("event.data.x > 1"),
            R"(match "event.data.x > 1": no such field 'x' in event.data at column 12)");
  EXPECT_EQ(EvalError(R"(event.data["k"] == 1)"),
            R"(match "event.data["k"] == 1": no such key "k" in event.data at column 11)");
}

TEST(RoutingRule, SelectingFromANonMapIsAnError) {
  EXPECT_EQ(EvalError("event.type.x == 1"),
            R"(match "event.type.x == 1": cannot select field 'x' from event.type, a string, )"
            R"(at column 12)");
}

TEST(RoutingRule, NonBoolResultIsAnError) {
  EXPECT_EQ(EvalError("event.type"), R"(match "event.type": the result is a string, not a bool)");
  EXPECT_NE(EvalError("event.data"), "");
  EXPECT_NE(EvalError("size(event.data.tags)"), "");
}

// --- in -----------------------------------------------------------------------------------------

TEST(RoutingRule, InAListLiteral) {
  EXPECT_TRUE(Matches(R"(event.type in ["widget", "gadget"])"));
  EXPECT_FALSE(Matches(R"(event.type in ["gadget", 'gizmo',])"));
  EXPECT_TRUE(Matches("event.data.amount in [1, 150.0, null]"));
  EXPECT_FALSE(Matches("event.type in []"));
}

TEST(RoutingRule, InAListValuedField) {
  EXPECT_TRUE(Matches(R"("sale" in event.data.tags)"));
  EXPECT_FALSE(Matches(R"("old" in event.data.tags)"));
  EXPECT_TRUE(Matches(R"("widget" in [event.source, event.type])"));
}

TEST(RoutingRule, InAMapTestsItsKeys) {
  EXPECT_TRUE(Matches(R"("amount" in event.data)"));
  EXPECT_FALSE(Matches(R"("missing" in event.data)"));
  EXPECT_NE(EvalError("1 in event.data"), "");
}

TEST(RoutingRule, InNeedsAListOrAMap) {
  EXPECT_EQ(EvalError(R"("w" in event.type)"),
            R"(match ""w" in event.type": 'in' needs a list or a map on its right, not string )"
            R"(at column 5)");
}

// --- Functions ----------------------------------------------------------------------------------

TEST(RoutingRule, HasIsTrueForPresentFields) {
  EXPECT_TRUE(Matches("has(event.data.amount)"));
  EXPECT_TRUE(Matches("has(event.data.nothing)"));  // present, though null
  EXPECT_TRUE(Matches("has(event.data.items[0].sku)"));
  EXPECT_TRUE(Matches("has(event.subject) || !has(event.subject)"));
}

TEST(RoutingRule, HasIsFalseForMissingFieldsAtAnyDepth) {
  EXPECT_FALSE(Matches("has(event.data.x)"));
  EXPECT_FALSE(Matches("has(event.subject)"));
  EXPECT_FALSE(Matches("has(event.data.customer.missing.deeper)"));
  EXPECT_FALSE(Matches("has(event.type.x)"));  // event.type is a string
  EXPECT_FALSE(Matches("has(event.data.items[7].sku)"));
}

TEST(RoutingRule, StringMethods) {
  EXPECT_TRUE(Matches(R"(event.source.startsWith("check"))"));
  EXPECT_FALSE(Matches(R"(event.source.startsWith("out"))"));
  EXPECT_TRUE(Matches(R"(event.source.endsWith("out"))"));
  EXPECT_FALSE(Matches(R"(event.source.endsWith("check"))"));
  EXPECT_TRUE(Matches(R"(event.source.contains("ecko"))"));
  EXPECT_FALSE(Matches(R"(event.source.contains("x"))"));
  EXPECT_TRUE(Matches(R"("".startsWith(""))"));
}

TEST(RoutingRule, StringMethodsNeedStrings) {
  EXPECT_NE(EvalError(R"(event.data.amount.startsWith("1"))"), "");
  EXPECT_NE(EvalError("event.type.contains(1)"), "");
}

TEST(RoutingRule, SizeOfStringsListsAndMaps) {
  EXPECT_TRUE(Matches("size(event.type) == 6"));
  EXPECT_TRUE(Matches("event.type.size() == 6"));
  EXPECT_TRUE(Matches("size(event.data.tags) == 2 && event.data.items.size() == 2"));
  EXPECT_TRUE(Matches("size(event.data.customer) == 3"));
  EXPECT_TRUE(Matches(R"(size("héllo") == 5)"));  // code points, not bytes
  EXPECT_NE(EvalError("size(event.data.amount) == 1"), "");
}

// --- Literals -----------------------------------------------------------------------------------

TEST(RoutingRule, StringsWithEscapes) {
  EXPECT_TRUE(Matches(R"(event.data.note == "say \"hi\"\n")"));
  EXPECT_TRUE(Matches(R"(event.data.note == 'say "hi"\n')"));
  EXPECT_TRUE(Matches(R"('it\'s' == "it's")"));
  EXPECT_TRUE(Matches(R"(size("a\\b\t") == 4)"));
  EXPECT_TRUE(Matches(R"("\u00e9" == "é" && "\x41" == "A" && "\101" == "A")"));
}

TEST(RoutingRule, NumberLiterals) {
  EXPECT_TRUE(Matches("2e3 == 2000 && 1.5e-1 == 0.15 && 0x10 == 16"));
  EXPECT_TRUE(Matches("-1.5 < -1 && -9223372036854775808 < 0"));
  EXPECT_TRUE(Matches("9223372036854775807 > 0"));
}

TEST(RoutingRule, WhitespaceAndCommentsAreIgnored) {
  EXPECT_TRUE(Matches("\n  event.type ==\t\"widget\"  // widgets go to /widgets\n"));
}

// --- Compile errors -----------------------------------------------------------------------------

TEST(RoutingRule, SingleEqualsIsACompileErrorSuggestingDoubleEquals) {
  EXPECT_EQ(CompileError("event.type = 1"),
            R"(match "event.type = 1": unexpected '=' at column 12 (use ==))");
}

TEST(RoutingRule, UnknownIdentifierIsACompileError) {
  EXPECT_EQ(CompileError("foo.bar == 1"),
            R"(match "foo.bar == 1": unknown identifier 'foo' at column 1 )"
            R"((the only variable is 'event'))");
}

TEST(RoutingRule, UnknownFunctionIsACompileError) {
  EXPECT_NE(
      CompileError(R"(event.type.matches("^w"))").find("unknown function matches() at column 12"),
      std::string::npos);
  EXPECT_NE(CompileError("int(event.data.amount) > 1").find("unknown function int() at column 1"),
            std::string::npos);
}

TEST(RoutingRule, MacrosAreACompileError) {
  EXPECT_EQ(CompileError(R"(event.data.tags.exists(t, t == "sale"))"),
            R"x(match "event.data.tags.exists(t, t == "sale")": the macro exists() is not )x"
            R"(supported at column 17)");
}

TEST(RoutingRule, ArithmeticIsACompileError) {
  EXPECT_EQ(CompileError("event.data.amount + 1 > 2"),
            R"(match "event.data.amount + 1 > 2": unexpected '+' at column 19 )"
            R"((arithmetic is not supported))");
  for (const char* expression :
       {"event.data.amount * 2 > 1", "event.data.amount / 2 > 1", "event.data.amount % 2 == 0",
        "1 - 1 == 0", "-event.data.amount < 0", "(event.data.amount - 1) > 0"}) {
    EXPECT_NE(CompileError(expression).find("arithmetic is not supported"), std::string::npos)
        << expression;
  }
}

TEST(RoutingRule, ConditionalIsACompileError) {
  EXPECT_NE(
      CompileError(R"(event.data.flag ? true : false)").find("?: conditional is not supported"),
      std::string::npos);
}

TEST(RoutingRule, UnterminatedStringIsACompileError) {
  EXPECT_EQ(CompileError(R"(event.type == "widget)"),
            R"(match "event.type == "widget": unterminated string at column 15)");
  EXPECT_NE(CompileError(R"(event.type == 'a\)"), "");
}

TEST(RoutingRule, UnknownEscapeIsACompileError) {
  EXPECT_EQ(CompileError(R"(event.type == "a\qb")"),
            R"(match "event.type == "a\qb"": unknown escape sequence '\q' at column 17)");
}

TEST(RoutingRule, TrailingGarbageIsACompileError) {
  EXPECT_EQ(CompileError(R"(event.type == "a" extra)"),
            R"(match "event.type == "a" extra": unexpected 'extra' at column 19)");
  EXPECT_NE(CompileError(R"(event.type == "a" and event.topic == "b")").find("(use &&)"),
            std::string::npos);
  EXPECT_NE(CompileError("event.type == #").find("unexpected character '#' at column 15"),
            std::string::npos);
}

TEST(RoutingRule, MissingClosingParenthesisIsACompileError) {
  EXPECT_EQ(CompileError(R"((event.type == "a")"),
            R"(match "(event.type == "a"": expected ')' but found the end of the expression )"
            R"(at column 19)");
}

TEST(RoutingRule, EmptyExpressionIsACompileError) {
  EXPECT_EQ(CompileError(""), R"(match "": the expression is empty)");
  EXPECT_EQ(CompileError("   "), R"(match "   ": the expression is empty)");
}

TEST(RoutingRule, HasNeedsAFieldSelection) {
  for (const char* expression :
       {"has(event)", R"(has(event.data["x"]))", "has(1)", "has()", "has(event.a, event.b)"}) {
    EXPECT_NE(CompileError(expression), "") << expression;
  }
  EXPECT_NE(CompileError("has(event)").find("needs a field selection"), std::string::npos);
}

TEST(RoutingRule, WrongNumberOfArgumentsIsACompileError) {
  EXPECT_NE(CompileError("event.type.startsWith()").find("startsWith() takes 1 argument, not 0"),
            std::string::npos);
  EXPECT_NE(CompileError("event.type.size(1) == 1"), "");
  EXPECT_NE(CompileError("size() == 0"), "");
}

TEST(RoutingRule, MapLiteralsAreACompileError) {
  EXPECT_NE(CompileError(R"(event.data == {"a": 1})").find("map literals are not supported"),
            std::string::npos);
}

TEST(RoutingRule, IntegerOutOfRangeIsACompileError) {
  EXPECT_NE(CompileError("event.data.amount < 9223372036854775808").find("out of range"),
            std::string::npos);
  EXPECT_NE(CompileError("event.data.amount < 99999999999999999999").find("64 bits"),
            std::string::npos);
}

TEST(RoutingRule, TooDeepNestingIsACompileError) {
  const std::string parens = std::string(100, '(') + "true" + std::string(100, ')');
  EXPECT_NE(CompileError(parens).find("nested more than 64 levels deep"), std::string::npos);
  EXPECT_NE(CompileError(std::string(1000, '!') + "true").find("nested more than 64 levels"),
            std::string::npos);
  std::string brackets = std::string(200, '[') + std::string(200, ']') + " == []";
  EXPECT_NE(CompileError(brackets).find("nested more than 64 levels"), std::string::npos);
  std::string chain = "true";
  for (int i = 0; i < 100; ++i) chain += " == true";
  EXPECT_NE(CompileError(chain).find("nested more than 64 levels"), std::string::npos);
  // A little nesting is fine.
  EXPECT_TRUE(Matches(std::string(30, '(') + "true" + std::string(30, ')')));
}

TEST(RoutingRule, OverlongExpressionIsACompileError) {
  std::string expression = "event.type == \"" + std::string(5000, 'a') + "\"";
  EXPECT_NE(CompileError(expression).find("longer than 4096 characters"), std::string::npos);
}

TEST(RoutingRule, LongFieldPathsAreNotNesting) {
  Json event = Json::object();
  Json* at = &event;
  std::string expression = "event";
  for (int i = 0; i < 200; ++i) {
    at = &(*at)["f"];
    expression += ".f";
  }
  *at = true;
  EXPECT_TRUE(Matches(expression, event));
}

// --- Use
// ------------------------------------------------------------------------------------------

TEST(RoutingRule, CopiesShareTheCompiledRuleAndEvaluateManyEvents) {
  RoutingRule rule =
      MustCompile(R"(event.type in ["widget", "gadget"] && event.data.amount > 100)");
  RoutingRule copy = rule;
  std::vector<RoutingRule> rules{rule, copy};
  EXPECT_EQ(copy.expression(), rule.expression());
  for (const RoutingRule& r : rules) {
    EXPECT_TRUE(r.Matches(Event()).value());
    EXPECT_FALSE(r.Matches(EventOfType("gizmo")).value());
    EXPECT_FALSE(r.Matches(EventWithAmount(5)).value());
  }
}

TEST(RoutingRule, DataThatIsNotAMapIsAnErrorNotACrash) {
  Json event = Event();
  event["data"] = "plain text";
  EXPECT_NE(EvalError("event.data.amount > 1", event), "");
  EXPECT_FALSE(Matches("has(event.data.amount)", event));
  EXPECT_TRUE(Matches(R"(event.data == "plain text")", event));
}

}  // namespace
}  // namespace dapr::blocks::pubsub
