// Default implementations of the optional parts of state::Store.
#include <charconv>

#include "dapr/state/store.h"

namespace dapr::state {

Result<std::vector<BulkGetItem>> Store::BulkGet(const std::vector<GetRequest>& requests) {
  std::vector<BulkGetItem> items;
  items.reserve(requests.size());
  for (const auto& request : requests) {
    BulkGetItem item{request.key, {}, {}};
    auto result = Get(request);
    if (result.ok()) {
      item.response = std::move(result).value();
    } else {
      item.error = result.error().message();
    }
    items.push_back(std::move(item));
  }
  return items;
}

Status Store::Multi(const std::vector<TransactionOperation>&) {
  return Unimplemented("state store does not support transactions");
}

Result<std::vector<StoredItem>> Store::Scan(const std::string&) {
  return Unimplemented("state store does not support querying");
}

Result<std::optional<std::chrono::seconds>> ParseTtl(const Metadata& metadata) {
  auto it = metadata.find("ttlInSeconds");
  if (it == metadata.end() || it->second.empty()) return std::optional<std::chrono::seconds>{};
  long long seconds = 0;
  const std::string& text = it->second;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), seconds);
  if (ec != std::errc() || end != text.data() + text.size()) {
    return InvalidArgument("incorrect value for metadata 'ttlInSeconds': " + text);
  }
  if (seconds <= 0) return std::optional<std::chrono::seconds>{};
  return std::optional<std::chrono::seconds>{std::chrono::seconds(seconds)};
}

}  // namespace dapr::state
