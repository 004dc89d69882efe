// The Configuration resource: name resolution and features parsed, the rest kept, bad input
// refused with the file named.
#include "runtime/configuration.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

namespace dapr::runtime {
namespace {

TEST(Configuration, ReadsNameResolutionWithItsSettings) {
  auto config = ParseConfiguration(R"(
apiVersion: dapr.io/v1alpha1
kind: Configuration
metadata:
  name: appconfig
spec:
  tracing:
    samplingRate: "1"
  nameResolution:
    component: mdns
    version: v2
    configuration:
      selfRegister: true
      nested: {a: 1}
)", "cfg.yaml");
  ASSERT_TRUE(config.ok()) << config.error().message();
  EXPECT_EQ(config->name, "appconfig");
  EXPECT_EQ(config->name_resolution.component, "mdns");
  EXPECT_EQ(config->name_resolution.version, "v2");
  EXPECT_EQ(config->name_resolution.configuration.at("selfRegister"), "true");
  EXPECT_EQ(config->name_resolution.configuration.at("nested"), "{a: 1}");
  EXPECT_NE(config->spec_yaml.find("samplingRate"), std::string::npos);
}

TEST(Configuration, WithoutNameResolutionLeavesTheDefault) {
  auto config = ParseConfiguration("kind: Configuration\nmetadata: {name: c}\nspec: {}\n", "c");
  ASSERT_TRUE(config.ok());
  EXPECT_EQ(config->name_resolution.component, "");
  EXPECT_EQ(config->name_resolution.version, "v1");
}

TEST(Configuration, ListsEnabledFeaturesOnly) {
  auto config = ParseConfiguration(R"(
kind: Configuration
spec:
  features:
    - {name: SchedulerReminders, enabled: true}
    - {name: Other, enabled: false}
)", "c");
  ASSERT_TRUE(config.ok());
  EXPECT_EQ(config->EnabledFeatures(), std::vector<std::string>{"SchedulerReminders"});
}

TEST(Configuration, FindsTheConfigurationAmongOtherDocuments) {
  auto config = ParseConfiguration(
      "kind: Component\nmetadata: {name: x}\n---\nkind: Configuration\nmetadata: {name: y}\n", "c");
  ASSERT_TRUE(config.ok());
  EXPECT_EQ(config->name, "y");
}

TEST(Configuration, RefusesBadInputNamingTheFile) {
  const char* bad[] = {
      "kind: Configuration\nspec: [1, 2]\n",
      "kind: Configuration\nspec:\n  nameResolution: mdns\n",
      "kind: Configuration\nspec:\n  nameResolution:\n    configuration: [a]\n",
      "kind: Configuration\nspec:\n  features:\n    - {enabled: true}\n",
      "kind: Configuration\nspec:\n  features:\n    - {name: X, enabled: maybe}\n",
      "kind: Component\nmetadata: {name: x}\n",
      "kind: Configuration\nspec: {a: [}\n",
  };
  for (const char* text : bad) {
    auto config = ParseConfiguration(text, "bad.yaml");
    ASSERT_FALSE(config.ok()) << text;
    EXPECT_NE(config.error().message().find("bad.yaml"), std::string::npos) << config.error().message();
  }
}

TEST(Configuration, LaterFilesReplaceEarlierSections) {
  auto dir = std::filesystem::temp_directory_path() / "dapr-config-test";
  std::filesystem::create_directories(dir);
  std::ofstream(dir / "a.yaml") << "kind: Configuration\nmetadata: {name: a}\nspec:\n"
                                   "  nameResolution: {component: mdns}\n"
                                   "  features: [{name: F, enabled: true}]\n";
  std::ofstream(dir / "b.yaml") << "kind: Configuration\nmetadata: {name: b}\nspec:\n"
                                   "  nameResolution: {component: kubernetes}\n";
  auto config = LoadConfigurations({(dir / "a.yaml").string(), (dir / "b.yaml").string()});
  ASSERT_TRUE(config.ok()) << config.error().message();
  EXPECT_EQ(config->name, "b");
  EXPECT_EQ(config->name_resolution.component, "kubernetes");
  EXPECT_EQ(config->EnabledFeatures(), std::vector<std::string>{"F"});
  auto missing = LoadConfigurations({(dir / "none.yaml").string()});
  EXPECT_FALSE(missing.ok());
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace dapr::runtime
