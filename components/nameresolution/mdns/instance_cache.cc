// The mDNS answer cache; see instance_cache.h.
#include "components/nameresolution/mdns/instance_cache.h"

#include <algorithm>
#include <set>

namespace dapr::nameresolution::mdns {

std::string LowerAscii(std::string text) {
  for (char& c : text) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return text;
}

void InstanceCache::Apply(const Sighting& seen, Clock::time_point now) {
  std::string app_key = LowerAscii(seen.app_id);
  std::string instance_key = LowerAscii(seen.instance);
  if (seen.ttl == 0) {
    auto app = apps_.find(app_key);
    if (app == apps_.end()) return;
    app->second.instances.erase(instance_key);
    if (app->second.instances.empty()) apps_.erase(app);
    return;
  }
  App& app = apps_[app_key];
  if (!app.instances.contains(instance_key) && app.instances.size() >= kMaxInstancesPerApp) return;
  auto lifetime = std::min<std::chrono::seconds>(std::chrono::seconds(seen.ttl), max_lifetime_);
  app.instances[instance_key] = {seen.address, now, now + lifetime};
}

InstanceCache::App* InstanceCache::Live(const std::string& app_id, Clock::time_point now) {
  auto it = apps_.find(LowerAscii(app_id));
  if (it == apps_.end()) return nullptr;
  std::erase_if(it->second.instances,
                [now](const auto& item) { return item.second.expires <= now; });
  if (it->second.instances.empty()) {
    apps_.erase(it);
    return nullptr;
  }
  return &it->second;
}

std::optional<std::string> InstanceCache::Pick(const std::string& app_id, Clock::time_point now) {
  App* app = Live(app_id, now);
  if (!app) return std::nullopt;
  // Two instance names can share an address (a restart before the goodbye was heard).
  std::set<std::string> unique;
  for (const auto& [instance, entry] : app->instances) unique.insert(entry.address);
  std::vector<std::string> addresses(unique.begin(), unique.end());
  return addresses[app->next++ % addresses.size()];
}

bool InstanceCache::Has(const std::string& app_id, Clock::time_point now) {
  return Live(app_id, now) != nullptr;
}

bool InstanceCache::NeedsRefresh(const std::string& app_id, Clock::time_point now) const {
  auto it = apps_.find(LowerAscii(app_id));
  if (it == apps_.end()) return false;
  return std::any_of(it->second.instances.begin(), it->second.instances.end(),
                     [now](const auto& item) {
                       const Entry& e = item.second;
                       return now >= e.seen + (e.expires - e.seen) * 4 / 5;
                     });
}

void InstanceCache::Sweep(Clock::time_point now) {
  std::vector<std::string> apps;
  for (const auto& [app, unused] : apps_) apps.push_back(app);
  for (const std::string& app : apps) Live(app, now);
}

}  // namespace dapr::nameresolution::mdns
