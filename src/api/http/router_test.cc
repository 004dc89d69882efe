#include "api/http/router.h"

#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

namespace dapr::http {
namespace {

// A router whose handlers record their name, so a test can see which route matched.
class RouterTest : public ::testing::Test {
 protected:
  struct Outcome {
    std::string route;  // empty: no route matched
    bool bad_param = false;
    std::map<std::string, std::string> params;
  };

  void Add(std::vector<std::string> methods, std::string_view path_template, std::string name) {
    router_.Add(std::move(methods), path_template,
                [this, name](std::shared_ptr<HttpRequest>, Responder) { hit_ = name; });
  }

  Outcome Match(std::string method, std::string path) {
    HttpRequest request;
    request.method = std::move(method);
    request.path = std::move(path);
    Outcome out;
    hit_.clear();
    const Handler* handler = router_.Match(request, out.bad_param).handler;
    if (handler) {
      (*handler)(nullptr, [](HttpResponse) {});
      out.route = hit_;
      EXPECT_FALSE(out.route.empty()) << "matched handler did not run";
    }
    out.params = request.params;
    return out;
  }

  Router router_;
  std::string hit_;
};

TEST_F(RouterTest, LiteralRoute) {
  Add({"GET"}, "/v1.0/healthz", "healthz");
  auto out = Match("GET", "/v1.0/healthz");
  EXPECT_EQ(out.route, "healthz");
  EXPECT_FALSE(out.bad_param);
  EXPECT_TRUE(out.params.empty());
}

TEST_F(RouterTest, NoMatchIsNullWithoutBadParam) {
  Add({"GET"}, "/v1.0/healthz", "healthz");
  auto out = Match("GET", "/v1.0/healthz/extra");
  EXPECT_EQ(out.route, "");
  EXPECT_FALSE(out.bad_param);
  out = Match("GET", "/v1.0");
  EXPECT_EQ(out.route, "");
  EXPECT_FALSE(out.bad_param);
  out = Match("GET", "/");
  EXPECT_EQ(out.route, "");
}

TEST_F(RouterTest, LiteralsAreCaseSensitive) {
  Add({"GET"}, "/v1.0/healthz", "healthz");
  EXPECT_EQ(Match("GET", "/V1.0/healthz").route, "");
  EXPECT_EQ(Match("GET", "/v1.0/Healthz").route, "");
}

TEST_F(RouterTest, ParamsCaptureOneSegmentEach) {
  Add({"GET"}, "/v1.0/state/{storeName}/{key}", "get");
  auto out = Match("GET", "/v1.0/state/statestore/order-1");
  EXPECT_EQ(out.route, "get");
  EXPECT_EQ(out.params, (std::map<std::string, std::string>{{"storeName", "statestore"},
                                                             {"key", "order-1"}}));
  // A param never spans two segments, and never matches a missing one.
  EXPECT_EQ(Match("GET", "/v1.0/state/statestore/a/b").route, "");
  EXPECT_EQ(Match("GET", "/v1.0/state/statestore").route, "");
  EXPECT_EQ(Match("GET", "/v1.0/state/statestore/").route, "");
}

TEST_F(RouterTest, RoutesAreTriedInTheOrderAdded) {
  Add({"POST"}, "/v1.0/state/{storeName}/{key}", "param-first");
  Add({"POST"}, "/v1.0/state/{storeName}/bulk", "bulk");
  EXPECT_EQ(Match("POST", "/v1.0/state/s/bulk").route, "param-first");

  Router other;
  std::string hit;
  other.Add({"POST"}, "/v1.0/state/{storeName}/bulk",
            [&](std::shared_ptr<HttpRequest>, Responder) { hit = "bulk"; });
  other.Add({"POST"}, "/v1.0/state/{storeName}/{key}",
            [&](std::shared_ptr<HttpRequest>, Responder) { hit = "param"; });
  HttpRequest request;
  request.method = "POST";
  request.path = "/v1.0/state/s/bulk";
  bool bad = false;
  const Handler* handler = other.Match(request, bad).handler;
  ASSERT_NE(handler, nullptr);
  (*handler)(nullptr, [](HttpResponse) {});
  EXPECT_EQ(hit, "bulk");
  request.path = "/v1.0/state/s/k";
  handler = other.Match(request, bad).handler;
  ASSERT_NE(handler, nullptr);
  (*handler)(nullptr, [](HttpResponse) {});
  EXPECT_EQ(hit, "param");
}

TEST_F(RouterTest, ParamsOfARouteThatFailedLaterDoNotLeak) {
  Add({"GET"}, "/a/{first}/b", "b");
  Add({"GET"}, "/a/{second}/c", "c");
  auto out = Match("GET", "/a/1/c");
  EXPECT_EQ(out.route, "c");
  EXPECT_EQ(out.params, (std::map<std::string, std::string>{{"second", "1"}}));
}

TEST_F(RouterTest, RestParamTakesTheRemainingSegments) {
  Add({"GET", "POST"}, "/v1.0/invoke/{id}/method/{method*}", "invoke");
  auto out = Match("POST", "/v1.0/invoke/orders/method/api/v2/items");
  EXPECT_EQ(out.route, "invoke");
  EXPECT_EQ(out.params, (std::map<std::string, std::string>{{"id", "orders"},
                                                             {"method", "api/v2/items"}}));
  out = Match("GET", "/v1.0/invoke/orders/method/one");
  EXPECT_EQ(out.params.at("method"), "one");
}

TEST_F(RouterTest, RestParamNeedsAtLeastOneSegment) {
  Add({"GET"}, "/v1.0/invoke/{id}/method/{method*}", "invoke");
  EXPECT_EQ(Match("GET", "/v1.0/invoke/orders/method").route, "");
  EXPECT_EQ(Match("GET", "/v1.0/invoke/orders/method/").route, "");
}

TEST_F(RouterTest, RestParamCollapsesDuplicateSlashes) {
  Add({"GET"}, "/v1.0/invoke/{id}/method/{method*}", "invoke");
  auto out = Match("GET", "/v1.0/invoke/orders/method/a//b/");
  EXPECT_EQ(out.route, "invoke");
  EXPECT_EQ(out.params.at("method"), "a/b");
}

TEST_F(RouterTest, DuplicateAndTrailingSlashesAreIgnored) {
  Add({"GET"}, "/v1.0/state/{storeName}/{key}", "get");
  for (const char* path : {"/v1.0/state/s/k/", "//v1.0//state///s/k", "v1.0/state/s/k",
                           "/v1.0/state/s/k//"}) {
    auto out = Match("GET", path);
    EXPECT_EQ(out.route, "get") << path;
    EXPECT_EQ(out.params.at("key"), "k") << path;
  }
}

TEST_F(RouterTest, TemplateSlashesAreNormalisedToo) {
  Add({"GET"}, "v1.0//metadata/", "metadata");
  EXPECT_EQ(Match("GET", "/v1.0/metadata").route, "metadata");
}

TEST_F(RouterTest, ParamsAreUrlDecoded) {
  Add({"GET"}, "/v1.0/state/{storeName}/{key}", "get");
  auto out = Match("GET", "/v1.0/state/my%20store/caf%C3%A9");
  EXPECT_EQ(out.route, "get");
  EXPECT_EQ(out.params.at("storeName"), "my store");
  EXPECT_EQ(out.params.at("key"), "caf\xC3\xA9");
}

TEST_F(RouterTest, EncodedSlashStaysInsideOneParam) {
  Add({"GET"}, "/v1.0/state/{storeName}/{key}", "get");
  auto out = Match("GET", "/v1.0/state/s/a%2Fb%2fc");
  EXPECT_EQ(out.route, "get");
  EXPECT_EQ(out.params.at("key"), "a/b/c");
}

TEST_F(RouterTest, PlusInAPathParamIsNotASpace) {
  Add({"GET"}, "/v1.0/state/{storeName}/{key}", "get");
  EXPECT_EQ(Match("GET", "/v1.0/state/s/a+b").params.at("key"), "a+b");
}

TEST_F(RouterTest, BadEscapeInAParamSetsBadParam) {
  Add({"GET"}, "/v1.0/state/{storeName}/{key}", "get");
  for (const char* path : {"/v1.0/state/s/%zz", "/v1.0/state/s/abc%", "/v1.0/state/s/abc%4",
                           "/v1.0/state/%g0/k"}) {
    auto out = Match("GET", path);
    EXPECT_EQ(out.route, "") << path;
    EXPECT_TRUE(out.bad_param) << path;
  }
}

TEST_F(RouterTest, MethodsAreFiltered) {
  Add({"POST", "PUT"}, "/v1.0/state/{storeName}", "save");
  Add({"GET"}, "/v1.0/state/{storeName}", "not-a-real-route");
  EXPECT_EQ(Match("POST", "/v1.0/state/s").route, "save");
  EXPECT_EQ(Match("PUT", "/v1.0/state/s").route, "save");
  EXPECT_EQ(Match("GET", "/v1.0/state/s").route, "not-a-real-route");
  auto out = Match("DELETE", "/v1.0/state/s");
  EXPECT_EQ(out.route, "");
  EXPECT_FALSE(out.bad_param);
}

TEST_F(RouterTest, RouteOfAnotherMethodIsNotDecoded) {
  // A route skipped for its method must not report a bad escape.
  Add({"DELETE"}, "/v1.0/state/{storeName}/{key}", "delete");
  auto out = Match("GET", "/v1.0/state/s/%zz");
  EXPECT_EQ(out.route, "");
  EXPECT_FALSE(out.bad_param);
}

TEST_F(RouterTest, Fallback) {
  std::string hit;
  router_.SetFallback([&](std::shared_ptr<HttpRequest>, Responder) { hit = "fallback"; });
  (*router_.Fallback().handler)(nullptr, [](HttpResponse) {});
  EXPECT_EQ(hit, "fallback");
}

TEST_F(RouterTest, BodyModeComesWithTheMatch) {
  auto noop = [](std::shared_ptr<HttpRequest>, Responder) {};
  router_.Add({}, "/v1.0/invoke/{id}/method/{method*}", noop, BodyMode::kStream);
  router_.Add({"POST"}, "/v1.0/state/{store}", noop);
  router_.SetFallback(noop, BodyMode::kStream);
  auto request = [](std::string path) {
    HttpRequest out;
    out.method = "POST";
    out.path = std::move(path);
    return out;
  };
  HttpRequest invoke = request("/v1.0/invoke/a/method/b");
  HttpRequest state = request("/v1.0/state/s");
  HttpRequest other = request("/orders");
  bool bad = false;
  EXPECT_EQ(router_.Find(invoke, bad).body_mode, BodyMode::kStream);
  EXPECT_EQ(router_.Find(state, bad).body_mode, BodyMode::kWhole);
  auto fallback = router_.Find(other, bad);
  EXPECT_EQ(fallback.handler, router_.Fallback().handler);
  EXPECT_EQ(fallback.body_mode, BodyMode::kStream);
  EXPECT_FALSE(bad);
}

TEST(SplitPathTest, CollapsesAndDropsEmptySegments) {
  using V = std::vector<std::string_view>;
  EXPECT_EQ(SplitPath("/v1.0//state/"), (V{"v1.0", "state"}));
  EXPECT_EQ(SplitPath("a/b"), (V{"a", "b"}));
  EXPECT_EQ(SplitPath("///a///"), (V{"a"}));
  EXPECT_EQ(SplitPath("/"), V{});
  EXPECT_EQ(SplitPath(""), V{});
}

}  // namespace
}  // namespace dapr::http
