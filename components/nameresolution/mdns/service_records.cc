// Builds and reads the DNS-SD records described in service_records.h.
#include "components/nameresolution/mdns/service_records.h"

#include <arpa/inet.h>

#include <algorithm>

namespace dapr::nameresolution::mdns {
namespace {

constexpr size_t kMaxLabel = 63;
const std::string kDomain = "local";

std::string Label(std::string text) {
  if (text.size() > kMaxLabel) text.resize(kMaxLabel);
  return text;
}

Record Ptr(const Identity& self, uint32_t ttl) {
  Record r;
  r.name = ServiceName(self.app_id);
  r.type = kTypePtr;
  r.ttl = ttl;
  r.ptr = InstanceName(self);
  return r;
}

Record Srv(const Identity& self, uint32_t ttl) {
  Record r;
  r.name = InstanceName(self);
  r.type = kTypeSrv;
  r.cache_flush = true;
  r.ttl = ttl;
  r.srv.port = self.port;
  r.srv.target = HostName(self);
  return r;
}

Record Txt(const Identity& self, uint32_t ttl) {
  Record r;
  r.name = InstanceName(self);
  r.type = kTypeTxt;
  r.cache_flush = true;
  r.ttl = ttl;
  r.txt = {self.app_id};
  return r;
}

std::vector<Record> AllRecords(const Identity& self, const std::vector<uint32_t>& ipv4,
                               uint32_t ttl) {
  std::vector<Record> records = {Ptr(self, ttl), Srv(self, ttl), Txt(self, ttl)};
  for (uint32_t address : ipv4) {
    Record a;
    a.name = HostName(self);
    a.type = kTypeA;
    a.cache_flush = true;
    a.ttl = ttl;
    a.ipv4 = address;
    records.push_back(std::move(a));
  }
  return records;
}

bool Answers(const Question& q, const Record& r) {
  return SameName(q.name, r.name) && (q.type == r.type || q.type == kTypeAny);
}

bool IsPlainResponse(const Message& m) {
  return m.IsResponse() && (m.flags & kOpcodeMask) == 0 && (m.flags & kRcodeMask) == 0;
}

std::string Ipv4Text(uint32_t address) {
  in_addr in{htonl(address)};
  char text[INET_ADDRSTRLEN] = {};
  inet_ntop(AF_INET, &in, text, sizeof(text));
  return text;
}

const Record* Find(const std::vector<const Record*>& all, uint16_t type, const Name& name) {
  for (const Record* r : all) {
    if (r->type == type && r->ttl > 0 && SameName(r->name, name)) return r;
  }
  return nullptr;
}

// {instance}.{app}.local for the PTR {app}.local, or nothing.
std::optional<Sighting> FromPtr(const std::vector<const Record*>& all, const Record& ptr) {
  const Name& service = ptr.name;
  if (service.size() != 2 || !SameName({service[1]}, {kDomain})) return std::nullopt;
  if (ptr.ptr.size() != 3 || !SameName({ptr.ptr[1], ptr.ptr[2]}, service)) return std::nullopt;
  Sighting seen{service[0], ptr.ptr[0], "", 0};
  if (ptr.ttl == 0) return seen;
  const Record* srv = Find(all, kTypeSrv, ptr.ptr);
  if (!srv || srv->srv.port == 0) return std::nullopt;
  const Record* a = Find(all, kTypeA, srv->srv.target);
  if (!a) return std::nullopt;
  seen.address = Ipv4Text(a->ipv4) + ":" + std::to_string(srv->srv.port);
  seen.ttl = std::min({ptr.ttl, srv->ttl, a->ttl});
  return seen;
}

}  // namespace

Name ServiceName(const std::string& app_id) { return {app_id, kDomain}; }
Name InstanceName(const Identity& self) { return {self.instance, self.app_id, kDomain}; }
Name HostName(const Identity& self) { return {self.host_label, kDomain}; }

Identity MakeIdentity(const std::string& app_id, uint16_t port, std::string hostname, int64_t pid) {
  if (hostname.empty()) hostname = "localhost";
  std::string suffix = std::to_string(pid);
  std::string host = hostname.substr(0, std::min(hostname.size(), kMaxLabel - suffix.size() - 1));
  return {app_id, host + ":" + suffix, Label(host.substr(0, host.find('.')) + "-" + suffix), port};
}

Message Announcement(const Identity& self, const std::vector<uint32_t>& ipv4, uint32_t ttl) {
  Message m;
  m.flags = kFlagResponse | kFlagAuthoritative;
  m.answers = AllRecords(self, ipv4, ttl);
  return m;
}

std::optional<Message> AnswerTo(const Message& query, const Identity& self,
                                const std::vector<uint32_t>& ipv4, uint32_t ttl) {
  if (query.IsResponse() || (query.flags & kOpcodeMask) != 0) return std::nullopt;
  Message m;
  m.flags = kFlagResponse | kFlagAuthoritative;
  for (Record& r : AllRecords(self, ipv4, ttl)) {
    bool answers = std::any_of(query.questions.begin(), query.questions.end(),
                               [&](const Question& q) { return Answers(q, r); });
    (answers ? m.answers : m.additionals).push_back(std::move(r));
  }
  if (m.answers.empty()) return std::nullopt;
  return m;
}

Message Query(const std::string& app_id) {
  Message m;
  m.questions.push_back({ServiceName(app_id), kTypePtr, false});
  return m;
}

std::vector<Sighting> SightingsIn(const Message& response) {
  std::vector<Sighting> out;
  if (!IsPlainResponse(response)) return out;
  std::vector<const Record*> all;
  for (const auto* section : {&response.answers, &response.authorities, &response.additionals}) {
    for (const Record& r : *section) all.push_back(&r);
  }
  for (const Record* r : all) {
    if (r->type != kTypePtr) continue;
    if (auto seen = FromPtr(all, *r)) out.push_back(std::move(*seen));
  }
  return out;
}

}  // namespace dapr::nameresolution::mdns
