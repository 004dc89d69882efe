// Each state component folder describes itself in metadata.yaml; this keeps that
// description honest: the capabilities it lists are exactly the features the registered
// component declares, and every metadata field has a name, a type and a description.
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <filesystem>
#include <set>

#include "components/builtin.h"

namespace dapr::state {
namespace {

namespace fs = std::filesystem;

// "state.in-memory" lives in components/state/in_memory, "state.postgres" is an alias.
fs::path FolderOf(std::string type) {
  std::string name = type.substr(type.find('.') + 1);
  if (name == "postgres") name = "postgresql";
  for (char& c : name) {
    if (c == '-') c = '_';
  }
  return fs::path(DAPR_SOURCE_DIR) / "components" / "state" / name;
}

std::set<std::string> DeclaredCapabilities(const Features& f) {
  std::set<std::string> out;
  if (f.etag) out.insert("etag");
  if (f.transactional) out.insert("transactional");
  if (f.ttl) out.insert("ttl");
  if (f.query) out.insert("query");
  return out;
}

TEST(MetadataYamlTest, EveryStateComponentDescribesItselfTruthfully) {
  components::Registries registries;
  components::RegisterBuiltins(registries);
  for (const std::string& type_version : registries.state.Types()) {
    std::string type = type_version.substr(0, type_version.find('/'));
    std::string version = type_version.substr(type_version.find('/') + 1);
    SCOPED_TRACE(type_version);
    fs::path file = FolderOf(type) / "metadata.yaml";
    ASSERT_TRUE(fs::exists(file)) << file;
    YAML::Node doc = YAML::LoadFile(file.string());

    std::set<std::string> listed;
    for (const auto& capability : doc["capabilities"]) listed.insert(capability.as<std::string>());
    // Only the capabilities a feature flag stands for are compared; crud, firstWrite and
    // actorStateStore are descriptive.
    for (const char* descriptive : {"crud", "firstWrite", "actorStateStore"}) listed.erase(descriptive);

    auto created = registries.state.Create(type, version);
    ASSERT_TRUE(created.ok()) << created.error().message();
    EXPECT_EQ(listed, DeclaredCapabilities((*created)->GetFeatures())) << file;

    ASSERT_TRUE(doc["metadata"] && doc["metadata"].IsSequence()) << file;
    for (const auto& field : doc["metadata"]) {
      EXPECT_FALSE(field["name"].as<std::string>("").empty()) << file;
      EXPECT_FALSE(field["type"].as<std::string>("").empty()) << field["name"];
      EXPECT_FALSE(field["description"].as<std::string>("").empty()) << field["name"];
    }
  }
}

// Name resolution components are described the same way: a metadata.yaml beside the code,
// whose type and name match the registered type, with named, typed, described fields.
TEST(MetadataYamlTest, EveryNameResolutionComponentHasAMetadataYaml) {
  components::Registries registries;
  components::RegisterBuiltins(registries);
  ASSERT_FALSE(registries.name_resolution.Types().empty());
  for (const std::string& type_version : registries.name_resolution.Types()) {
    SCOPED_TRACE(type_version);
    std::string name = type_version.substr(0, type_version.find('/'));
    name = name.substr(name.find('.') + 1);
    fs::path file =
        fs::path(DAPR_SOURCE_DIR) / "components" / "nameresolution" / name / "metadata.yaml";
    ASSERT_TRUE(fs::exists(file)) << file;
    YAML::Node doc = YAML::LoadFile(file.string());
    EXPECT_EQ(doc["type"].as<std::string>(""), "nameresolution") << file;
    EXPECT_EQ(doc["name"].as<std::string>(""), name) << file;
    ASSERT_TRUE(doc["metadata"] && doc["metadata"].IsSequence()) << file;
    for (const auto& field : doc["metadata"]) {
      EXPECT_FALSE(field["name"].as<std::string>("").empty()) << file;
      EXPECT_FALSE(field["type"].as<std::string>("").empty()) << field["name"];
      EXPECT_FALSE(field["description"].as<std::string>("").empty()) << field["name"];
    }
  }
}

}  // namespace
}  // namespace dapr::state
