#include "runtime/resource_loader.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace dapr::runtime {
namespace {

namespace fs = std::filesystem;
using std::chrono::milliseconds;

const LoadContext kApp{"myapp", ""};

std::vector<ComponentSpec> MustParse(const std::string& yaml, const LoadContext& context = kApp,
                                     const std::string& source = "components.yaml") {
  auto specs = ParseResources(yaml, source, context);
  EXPECT_TRUE(specs.ok()) << (specs.ok() ? "" : specs.error().message());
  if (!specs.ok()) return {};
  return std::move(specs).value();
}

// The error of a parse that must fail.
Status ParseError(const std::string& yaml, const std::string& source = "bad.yaml") {
  auto specs = ParseResources(yaml, source, kApp);
  EXPECT_FALSE(specs.ok()) << "parsed " << (specs.ok() ? specs->size() : 0) << " components";
  if (specs.ok()) return Status::Ok();
  return specs.error();
}

std::vector<std::string> Names(const std::vector<ComponentSpec>& specs) {
  std::vector<std::string> names;
  for (const auto& spec : specs) names.push_back(spec.name);
  return names;
}

std::string Component(const std::string& name, const std::string& extra = "",
                      const std::string& type = "state.in-memory") {
  return "apiVersion: dapr.io/v1alpha1\n"
         "kind: Component\n"
         "metadata:\n"
         "  name: " + name + "\n" + extra +
         "spec:\n"
         "  type: " + type + "\n"
         "  version: v1\n";
}

bool Contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

TEST(ResourceLoaderTest, FullComponent) {
  auto specs = MustParse(R"(
apiVersion: dapr.io/v1alpha1
kind: Component
metadata:
  name: statestore
  namespace: default
spec:
  type: state.redis
  version: v1
  initTimeout: 1m30s
  ignoreErrors: true
  metadata:
  - name: redisHost
    value: localhost:6379
  - name: redisPassword
    value: ""
scopes:
- myapp
- other
)", kApp, "dir/statestore.yaml");
  ASSERT_EQ(specs.size(), 1u);
  const auto& spec = specs[0];
  EXPECT_EQ(spec.name, "statestore");
  EXPECT_EQ(spec.namespace_, "default");
  EXPECT_EQ(spec.type, "state.redis");
  EXPECT_EQ(spec.version, "v1");
  EXPECT_EQ(spec.init_timeout, milliseconds(90'000));
  EXPECT_TRUE(spec.ignore_errors);
  EXPECT_EQ(spec.metadata, (ComponentMetadata::Properties{{"redisHost", "localhost:6379"},
                                                          {"redisPassword", ""}}));
  EXPECT_EQ(spec.scopes, (std::vector<std::string>{"myapp", "other"}));
  EXPECT_EQ(spec.source, "dir/statestore.yaml");
}

TEST(ResourceLoaderTest, Defaults) {
  auto specs = MustParse(Component("plain"));
  ASSERT_EQ(specs.size(), 1u);
  EXPECT_EQ(specs[0].init_timeout, milliseconds(5'000));
  EXPECT_FALSE(specs[0].ignore_errors);
  EXPECT_EQ(specs[0].namespace_, "");
  EXPECT_TRUE(specs[0].metadata.empty());
  EXPECT_TRUE(specs[0].scopes.empty());
}

TEST(ResourceLoaderTest, VersionIsOptional) {
  auto specs = MustParse("kind: Component\nmetadata: {name: a}\nspec: {type: state.redis}\n");
  ASSERT_EQ(specs.size(), 1u);
  EXPECT_EQ(specs[0].type, "state.redis");
  EXPECT_EQ(specs[0].version, "");
}

TEST(ResourceLoaderTest, MultiDocumentFileKeepsOrder) {
  auto specs = MustParse(Component("first") + "---\n" + Component("second", "", "state.redis") +
                         "---\n" + Component("third"));
  EXPECT_EQ(Names(specs), (std::vector<std::string>{"first", "second", "third"}));
  ASSERT_EQ(specs.size(), 3u);
  EXPECT_EQ(specs[1].type, "state.redis");
}

TEST(ResourceLoaderTest, OtherKindsAndEmptyDocumentsAreSkipped) {
  auto specs = MustParse(
      "apiVersion: dapr.io/v1alpha1\nkind: Configuration\nmetadata: {name: config}\n"
      "spec: {tracing: {samplingRate: \"1\"}}\n"
      "---\n" + Component("kept") +
      "---\n"
      "---\n"
      "apiVersion: dapr.io/v1alpha1\nkind: HTTPEndpoint\nmetadata: {name: ep}\n"
      "spec: {baseUrl: \"http://127.0.0.1:1\"}\n"
      "---\n"
      "metadata: {name: nokind}\nspec: {type: state.redis}\n"
      "---\n"
      "- just\n- a list\n"
      "---\n"
      "kind: component\nmetadata: {name: lowercase-kind}\nspec: {type: state.redis}\n");
  EXPECT_EQ(Names(specs), (std::vector<std::string>{"kept"}));
}

TEST(ResourceLoaderTest, SubscriptionsScopedToThisAppAreReturned) {
  std::string yaml =
      "apiVersion: dapr.io/v2alpha1\nkind: Subscription\nmetadata: {name: mine}\n"
      "spec: {pubsubname: pubsub, topic: orders, routes: {default: /orders}}\nscopes: [app1]\n"
      "---\n"
      "apiVersion: dapr.io/v2alpha1\nkind: Subscription\nmetadata: {name: theirs}\n"
      "spec: {pubsubname: pubsub, topic: orders, routes: {default: /orders}}\nscopes: [app2]\n";
  auto resources = ParseResourceDocuments(yaml, "subs.yaml", {"app1", ""});
  ASSERT_TRUE(resources.ok()) << resources.error().message();
  ASSERT_EQ(resources->subscriptions.size(), 1u);
  EXPECT_EQ(resources->subscriptions[0].name, "mine");
}

TEST(ResourceLoaderTest, ASubscriptionWithABadMatchIsALoadError) {
  std::string yaml =
      "apiVersion: dapr.io/v2alpha1\nkind: Subscription\nmetadata: {name: bad}\n"
      "spec: {pubsubname: pubsub, topic: orders, routes: {rules: [{match: 'event.type = 1', path: /x}]}}\n";
  auto resources = ParseResourceDocuments(yaml, "subs.yaml", {"app1", ""});
  ASSERT_FALSE(resources.ok());
  EXPECT_NE(resources.error().message().find("event.type = 1"), std::string::npos) << resources.error().message();
}

TEST(ResourceLoaderTest, ResiliencyDocumentsAreReturnedBesideComponents) {
  std::string yaml = Component("kept") +
                     "---\n"
                     "apiVersion: dapr.io/v1alpha1\nkind: Resiliency\nmetadata: {name: res}\n"
                     "spec:\n  policies:\n    timeouts: {short: 1s}\n"
                     "  targets:\n    apps:\n      app1: {timeout: short}\n";
  auto resources = ParseResourceDocuments(yaml, "res.yaml", {"app1", ""});
  ASSERT_TRUE(resources.ok()) << resources.error().message();
  EXPECT_EQ(Names(resources->components), (std::vector<std::string>{"kept"}));
  ASSERT_EQ(resources->resiliency.size(), 1u);
  EXPECT_EQ(resources->resiliency[0].name, "res");
}

TEST(ResourceLoaderTest, AMalformedResiliencyDocumentIsAnErrorNamingTheFile) {
  std::string yaml =
      "apiVersion: dapr.io/v1alpha1\nkind: Resiliency\nmetadata: {name: res}\n"
      "spec:\n  policies:\n    timeouts: {short: soon}\n";
  auto resources = ParseResourceDocuments(yaml, "bad.yaml", {"app1", ""});
  ASSERT_FALSE(resources.ok());
  EXPECT_NE(resources.error().message().find("bad.yaml"), std::string::npos)
      << resources.error().message();
}

TEST(ResourceLoaderTest, EmptyTextHasNoComponents) {
  EXPECT_TRUE(MustParse("").empty());
  EXPECT_TRUE(MustParse("# only a comment\n").empty());
}

TEST(ResourceLoaderTest, ScopesHonouredAgainstAppId) {
  std::string yaml = Component("scoped", "") + "scopes: [app1, app2]\n";
  EXPECT_EQ(Names(MustParse(yaml, {"app1", ""})), (std::vector<std::string>{"scoped"}));
  EXPECT_EQ(Names(MustParse(yaml, {"app2", ""})), (std::vector<std::string>{"scoped"}));
  EXPECT_TRUE(MustParse(yaml, {"app3", ""}).empty());
  EXPECT_TRUE(MustParse(yaml, {"App1", ""}).empty());
  EXPECT_TRUE(MustParse(yaml, {"", ""}).empty());
}

TEST(ResourceLoaderTest, EmptyScopesMeanEveryApp) {
  std::string yaml = Component("open") + "scopes: []\n";
  EXPECT_EQ(Names(MustParse(yaml, {"anyapp", ""})), (std::vector<std::string>{"open"}));
}

TEST(ResourceLoaderTest, ScopesFilterWithinAMultiDocumentFile) {
  std::string yaml = Component("mine") + "scopes: [myapp]\n---\n" + Component("theirs") +
                     "scopes: [other]\n---\n" + Component("shared");
  EXPECT_EQ(Names(MustParse(yaml)), (std::vector<std::string>{"mine", "shared"}));
}

TEST(ResourceLoaderTest, NamespaceSkipsOnlyWhenBothSetAndDifferent) {
  std::string in_prod = Component("c", "  namespace: prod\n");
  std::string no_ns = Component("c");
  // NAMESPACE unset: a manifest's namespace is ignored (quickstarts' "namespace: quickstarts").
  EXPECT_EQ(MustParse(in_prod, {"myapp", ""}).size(), 1u);
  // Manifest without a namespace loads anywhere.
  EXPECT_EQ(MustParse(no_ns, {"myapp", "prod"}).size(), 1u);
  // Same namespace loads.
  EXPECT_EQ(MustParse(in_prod, {"myapp", "prod"}).size(), 1u);
  // Both set and different: skipped.
  EXPECT_TRUE(MustParse(in_prod, {"myapp", "dev"}).empty());
}

TEST(ResourceLoaderTest, IgnoreErrorsValues) {
  auto value_of = [](const std::string& v) {
    auto specs = MustParse(Component("c").append("  ignoreErrors: " + v + "\n"));
    EXPECT_EQ(specs.size(), 1u) << v;
    return !specs.empty() && specs[0].ignore_errors;
  };
  EXPECT_TRUE(value_of("true"));
  EXPECT_TRUE(value_of("True"));
  EXPECT_FALSE(value_of("false"));
  EXPECT_FALSE(value_of("\"\""));
}

TEST(ResourceLoaderTest, InitTimeoutParsing) {
  auto timeout_of = [](const std::string& v) {
    auto specs = MustParse(Component("c").append("  initTimeout: " + v + "\n"));
    EXPECT_EQ(specs.size(), 1u) << v;
    return specs.empty() ? milliseconds(-1) : specs[0].init_timeout;
  };
  EXPECT_EQ(timeout_of("10s"), milliseconds(10'000));
  EXPECT_EQ(timeout_of("500ms"), milliseconds(500));
  EXPECT_EQ(timeout_of("1m"), milliseconds(60'000));
  EXPECT_EQ(timeout_of("\"2m30s\""), milliseconds(150'000));
}

TEST(ResourceLoaderTest, BadInitTimeoutNamesTheComponent) {
  Status error = ParseError(Component("slowstore").append("  initTimeout: soon\n"), "dir/x.yaml");
  EXPECT_EQ(error.code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(Contains(error.message(), "dir/x.yaml")) << error.message();
  EXPECT_TRUE(Contains(error.message(), "slowstore")) << error.message();
  EXPECT_TRUE(Contains(error.message(), "initTimeout")) << error.message();
  EXPECT_TRUE(Contains(error.message(), "soon")) << error.message();
}

TEST(ResourceLoaderTest, MetadataScalarsOfEveryKindAreStrings) {
  auto specs = MustParse(R"(
kind: Component
metadata: {name: c}
spec:
  type: state.redis
  metadata:
  - name: port
    value: 6379
  - name: negative
    value: -1
  - name: ratio
    value: 0.5
  - name: enabled
    value: true
  - name: disabled
    value: false
  - name: quotedNumber
    value: "0123"
  - name: text
    value: hello world
  - name: empty
    value: ""
  - name: nullValue
    value: null
  - name: missingValue
)");
  ASSERT_EQ(specs.size(), 1u);
  EXPECT_EQ(specs[0].metadata, (ComponentMetadata::Properties{{"port", "6379"},
                                                              {"negative", "-1"},
                                                              {"ratio", "0.5"},
                                                              {"enabled", "true"},
                                                              {"disabled", "false"},
                                                              {"quotedNumber", "0123"},
                                                              {"text", "hello world"},
                                                              {"empty", ""},
                                                              {"nullValue", ""},
                                                              {"missingValue", ""}}));
}

TEST(ResourceLoaderTest, MetadataNamesAreCaseInsensitive) {
  auto specs = MustParse(R"(
kind: Component
metadata: {name: c}
spec:
  type: state.redis
  metadata:
  - name: KeyPrefix
    value: name
)");
  ASSERT_EQ(specs.size(), 1u);
  EXPECT_EQ(specs[0].metadata.count("keyprefix"), 1u);
  EXPECT_EQ(specs[0].metadata.at("KEYPREFIX"), "name");
}

TEST(ResourceLoaderTest, EnvRefReadsTheEnvironment) {
  ::setenv("DAPR_CPP_TEST_REDIS_HOST", "redis.example:6380", 1);
  ::unsetenv("DAPR_CPP_TEST_UNSET_VAR");
  auto specs = MustParse(R"(
kind: Component
metadata: {name: c}
spec:
  type: state.redis
  metadata:
  - name: redisHost
    envRef: DAPR_CPP_TEST_REDIS_HOST
  - name: missing
    envRef: DAPR_CPP_TEST_UNSET_VAR
)");
  ::unsetenv("DAPR_CPP_TEST_REDIS_HOST");
  ASSERT_EQ(specs.size(), 1u);
  EXPECT_EQ(specs[0].metadata.at("redisHost"), "redis.example:6380");
  EXPECT_EQ(specs[0].metadata.at("missing"), "");
}

TEST(ResourceLoaderTest, SecretKeyRefIsAClearError) {
  Status error = ParseError(R"(
kind: Component
metadata: {name: securestore}
spec:
  type: state.redis
  metadata:
  - name: redisPassword
    secretKeyRef:
      name: redis-secret
      key: password
)", "dir/secure.yaml");
  EXPECT_EQ(error.code(), StatusCode::kUnimplemented);
  EXPECT_TRUE(Contains(error.message(), "dir/secure.yaml")) << error.message();
  EXPECT_TRUE(Contains(error.message(), "securestore")) << error.message();
  EXPECT_TRUE(Contains(error.message(), "redisPassword")) << error.message();
  EXPECT_TRUE(Contains(error.message(), "secretKeyRef")) << error.message();
}

TEST(ResourceLoaderTest, MissingNameNamesTheFile) {
  Status error = ParseError("kind: Component\nmetadata: {}\nspec: {type: state.redis}\n",
                            "dir/noname.yaml");
  EXPECT_EQ(error.code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(Contains(error.message(), "dir/noname.yaml")) << error.message();
  EXPECT_TRUE(Contains(error.message(), "metadata.name")) << error.message();
}

TEST(ResourceLoaderTest, MissingMetadataBlockNamesTheFile) {
  Status error = ParseError("kind: Component\nspec: {type: state.redis}\n", "dir/nometa.yaml");
  EXPECT_EQ(error.code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(Contains(error.message(), "dir/nometa.yaml")) << error.message();
}

TEST(ResourceLoaderTest, MissingTypeNamesFileAndComponent) {
  Status error = ParseError("kind: Component\nmetadata: {name: typeless}\nspec: {version: v1}\n",
                            "dir/notype.yaml");
  EXPECT_EQ(error.code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(Contains(error.message(), "dir/notype.yaml")) << error.message();
  EXPECT_TRUE(Contains(error.message(), "typeless")) << error.message();
  EXPECT_TRUE(Contains(error.message(), "spec.type")) << error.message();
}

TEST(ResourceLoaderTest, MissingSpecNamesFileAndComponent) {
  Status error = ParseError("kind: Component\nmetadata: {name: specless}\n", "dir/nospec.yaml");
  EXPECT_EQ(error.code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(Contains(error.message(), "dir/nospec.yaml")) << error.message();
  EXPECT_TRUE(Contains(error.message(), "specless")) << error.message();
}

TEST(ResourceLoaderTest, MetadataEntryWithoutNameIsAnError) {
  Status error = ParseError(
      "kind: Component\nmetadata: {name: c}\nspec:\n  type: state.redis\n  metadata:\n"
      "  - value: orphan\n",
      "dir/entry.yaml");
  EXPECT_EQ(error.code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(Contains(error.message(), "dir/entry.yaml")) << error.message();
}

TEST(ResourceLoaderTest, ScalarMetadataBlockIsAnErrorNotACrash) {
  Status error = ParseError("kind: Component\nmetadata: oops\nspec: {type: state.redis}\n",
                            "dir/scalar.yaml");
  EXPECT_EQ(error.code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(Contains(error.message(), "dir/scalar.yaml")) << error.message();
}

TEST(ResourceLoaderTest, MalformedYamlNamesTheFile) {
  Status error = ParseError("kind: Component\nmetadata: {name: [unclosed\n", "dir/broken.yaml");
  EXPECT_EQ(error.code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(Contains(error.message(), "dir/broken.yaml")) << error.message();
  EXPECT_TRUE(Contains(error.message(), "invalid YAML")) << error.message();
}

TEST(ResourceLoaderTest, ErrorInALaterDocumentFailsTheFile) {
  Status error = ParseError(Component("good") + "---\nkind: Component\nmetadata: {name: bad}\n",
                            "dir/mixed.yaml");
  EXPECT_EQ(error.code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(Contains(error.message(), "bad")) << error.message();
}

// A fresh directory under the system temp dir, removed at the end of the test.
class ResourceDirTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "dapr-resource-loader-XXXXXX").string();
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  void Write(const std::string& name, const std::string& text) {
    std::ofstream out(dir_ / name);
    out << text;
  }

  fs::path dir_;
};

TEST_F(ResourceDirTest, ReadsYamlAndYmlInNameOrder) {
  Write("b.yaml", Component("from-b"));
  Write("a.yml", Component("from-a") + "---\n" + Component("from-a-2"));
  Write("c.txt", Component("from-txt"));
  Write("d.yaml.bak", Component("from-bak"));
  Write("0-config.yaml", "kind: Configuration\nmetadata: {name: cfg}\n");
  fs::create_directory(dir_ / "e.yaml");
  Write("f.yaml", Component("from-f"));
  auto specs = LoadResources({dir_.string()}, kApp);
  ASSERT_TRUE(specs.ok()) << specs.error().message();
  EXPECT_EQ(Names(*specs), (std::vector<std::string>{"from-a", "from-a-2", "from-b", "from-f"}));
  ASSERT_EQ(specs->size(), 4u);
  EXPECT_EQ((*specs)[0].source, (dir_ / "a.yml").string());
  EXPECT_EQ((*specs)[2].source, (dir_ / "b.yaml").string());
}

TEST_F(ResourceDirTest, SeveralPathsInTheGivenOrder) {
  fs::create_directory(dir_ / "one");
  fs::create_directory(dir_ / "two");
  Write("two/a.yaml", Component("in-two"));
  Write("one/z.yaml", Component("in-one"));
  auto specs = LoadResources({(dir_ / "one").string(), (dir_ / "two").string()}, kApp);
  ASSERT_TRUE(specs.ok()) << specs.error().message();
  EXPECT_EQ(Names(*specs), (std::vector<std::string>{"in-one", "in-two"}));
}

TEST_F(ResourceDirTest, EmptyDirectoryHasNoComponents) {
  auto specs = LoadResources({dir_.string()}, kApp);
  ASSERT_TRUE(specs.ok()) << specs.error().message();
  EXPECT_TRUE(specs->empty());
}

TEST_F(ResourceDirTest, ScopesApplyWhenLoadingFromDisk) {
  Write("a.yaml", Component("mine") + "scopes: [myapp]\n");
  Write("b.yaml", Component("theirs") + "scopes: [other]\n");
  auto specs = LoadResources({dir_.string()}, kApp);
  ASSERT_TRUE(specs.ok()) << specs.error().message();
  EXPECT_EQ(Names(*specs), (std::vector<std::string>{"mine"}));
}

TEST_F(ResourceDirTest, ABadFileFailsTheLoadNamingIt) {
  Write("a.yaml", Component("fine"));
  Write("b.yaml", "kind: Component\nmetadata: {name: broken}\nspec: {}\n");
  auto specs = LoadResources({dir_.string()}, kApp);
  ASSERT_FALSE(specs.ok());
  EXPECT_EQ(specs.error().code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(Contains(specs.error().message(), (dir_ / "b.yaml").string()))
      << specs.error().message();
}

TEST_F(ResourceDirTest, NonDirectoryPathIsAnError) {
  Write("file.yaml", Component("x"));
  std::string file = (dir_ / "file.yaml").string();
  auto specs = LoadResources({file}, kApp);
  ASSERT_FALSE(specs.ok());
  EXPECT_EQ(specs.error().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(specs.error().message(), "resources path " + file + " is not a directory");

  std::string missing = (dir_ / "does-not-exist").string();
  specs = LoadResources({missing}, kApp);
  ASSERT_FALSE(specs.ok());
  EXPECT_EQ(specs.error().message(), "resources path " + missing + " is not a directory");
}

TEST(ResourceLoaderTest, HttpEndpointsAreReturnedWithHeadersTlsAndScopes) {
  auto resources = ParseResourceDocuments(R"(
apiVersion: dapr.io/v1alpha1
kind: HTTPEndpoint
metadata:
  name: github
spec:
  baseUrl: https://api.github.com/v3
  headers:
  - name: Accept-Language
    value: en-US
  clientTLS:
    rootCA:
      value: "-----BEGIN CERTIFICATE-----"
    certificate:
      value: cert
    privateKey:
      value: key
---
kind: HTTPEndpoint
metadata: {name: other-app-only}
spec: {baseUrl: "http://x"}
scopes: [someone-else]
)", "ep.yaml", kApp);
  ASSERT_TRUE(resources.ok()) << resources.error().message();
  ASSERT_EQ(resources->http_endpoints.size(), 1u);
  const auto& ep = resources->http_endpoints[0];
  EXPECT_EQ(ep.name, "github");
  EXPECT_EQ(ep.base_url, "https://api.github.com/v3");
  EXPECT_EQ(ep.headers, (std::vector<std::pair<std::string, std::string>>{{"Accept-Language", "en-US"}}));
  EXPECT_EQ(ep.root_ca_pem, "-----BEGIN CERTIFICATE-----");
  EXPECT_EQ(ep.certificate_pem, "cert");
  EXPECT_EQ(ep.private_key_pem, "key");
}

TEST(ResourceLoaderTest, UnusableHttpEndpointsAreRefusedNamingThem) {
  const char* bad[] = {
      "kind: HTTPEndpoint\nmetadata: {name: e}\n",
      "kind: HTTPEndpoint\nmetadata: {name: e}\nspec: {baseUrl: ftp://x}\n",
      "kind: HTTPEndpoint\nmetadata: {name: e}\nspec:\n  baseUrl: http://x\n  headers:\n  - {value: v}\n",
      "kind: HTTPEndpoint\nmetadata: {name: e}\nspec:\n  baseUrl: http://x\n  headers:\n"
      "  - {name: h, secretKeyRef: {name: s, key: k}}\n",
      "kind: HTTPEndpoint\nspec: {baseUrl: http://x}\n",
  };
  for (const char* yaml : bad) {
    auto resources = ParseResourceDocuments(yaml, "ep.yaml", kApp);
    ASSERT_FALSE(resources.ok()) << yaml;
    EXPECT_TRUE(Contains(resources.error().message(), "ep.yaml")) << resources.error().message();
  }
}

}  // namespace
}  // namespace dapr::runtime
