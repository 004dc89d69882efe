// Wire format of DNS messages; see dns_message.h for what is checked and why.
#include "components/nameresolution/mdns/dns_message.h"

#include <map>

namespace dapr::nameresolution::mdns {
namespace {

constexpr size_t kHeaderSize = 12;
constexpr size_t kMaxLabel = 63;
constexpr size_t kMaxNameWire = 255;  // bytes on the wire, length octets and root included
constexpr uint16_t kTopBit = 0x8000;  // QU in a question's class, cache-flush in a record's
constexpr uint16_t kMaxPointerTarget = 0x3fff;

char Lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

Status Invalid(const std::string& what) { return InvalidArgument("dns message: " + what); }

// Builds a message; remembers where each name suffix was written so later names point to it.
class Writer {
 public:
  void U8(uint8_t v) { out_.push_back(v); }
  void U16(uint16_t v) {
    U8(static_cast<uint8_t>(v >> 8));
    U8(static_cast<uint8_t>(v));
  }
  void U32(uint32_t v) {
    U16(static_cast<uint16_t>(v >> 16));
    U16(static_cast<uint16_t>(v));
  }
  void Bytes(const void* data, size_t size) {
    auto* bytes = static_cast<const uint8_t*>(data);
    out_.insert(out_.end(), bytes, bytes + size);
  }
  size_t size() const { return out_.size(); }
  void PatchU16(size_t at, uint16_t v) {
    out_[at] = static_cast<uint8_t>(v >> 8);
    out_[at + 1] = static_cast<uint8_t>(v);
  }
  std::vector<uint8_t> Take() { return std::move(out_); }

  Status WriteName(const Name& name);

 private:
  // Length-prefixed lower-case labels: unambiguous whatever bytes a label holds.
  static std::string SuffixKey(const Name& name, size_t from);

  std::vector<uint8_t> out_;
  std::map<std::string, uint16_t> suffixes_;
};

std::string Writer::SuffixKey(const Name& name, size_t from) {
  std::string key;
  for (size_t i = from; i < name.size(); ++i) {
    key += static_cast<char>(name[i].size());
    for (char c : name[i]) key += Lower(c);
  }
  return key;
}

Status Writer::WriteName(const Name& name) {
  size_t wire = 1;
  for (const std::string& label : name) {
    if (label.empty() || label.size() > kMaxLabel) return Invalid("bad label length in a name");
    wire += label.size() + 1;
  }
  if (wire > kMaxNameWire) return Invalid("name longer than 255 bytes");
  for (size_t i = 0; i < name.size(); ++i) {
    std::string key = SuffixKey(name, i);
    auto known = suffixes_.find(key);
    if (known != suffixes_.end()) {
      U16(static_cast<uint16_t>(0xc000 | known->second));
      return Status::Ok();
    }
    if (size() <= kMaxPointerTarget)
      suffixes_.emplace(std::move(key), static_cast<uint16_t>(size()));
    U8(static_cast<uint8_t>(name[i].size()));
    Bytes(name[i].data(), name[i].size());
  }
  U8(0);
  return Status::Ok();
}

Status WriteData(Writer& w, const Record& record) {
  switch (record.type) {
    case kTypeA:
      w.U32(record.ipv4);
      return Status::Ok();
    case kTypePtr:
      return w.WriteName(record.ptr);
    case kTypeSrv:
      w.U16(record.srv.priority);
      w.U16(record.srv.weight);
      w.U16(record.srv.port);
      return w.WriteName(record.srv.target);
    case kTypeTxt:
      // An empty TXT record still holds one empty string (RFC 6763 §6.1).
      if (record.txt.empty()) w.U8(0);
      for (const std::string& text : record.txt) {
        if (text.size() > 255) return Invalid("TXT string longer than 255 bytes");
        w.U8(static_cast<uint8_t>(text.size()));
        w.Bytes(text.data(), text.size());
      }
      return Status::Ok();
    default:
      w.Bytes(record.raw.data(), record.raw.size());
      return Status::Ok();
  }
}

Status WriteRecord(Writer& w, const Record& record) {
  Status status = w.WriteName(record.name);
  if (!status.ok()) return status;
  w.U16(record.type);
  w.U16(static_cast<uint16_t>(kClassIn | (record.cache_flush ? kTopBit : 0)));
  w.U32(record.ttl);
  size_t length_at = w.size();
  w.U16(0);
  status = WriteData(w, record);
  if (!status.ok()) return status;
  size_t length = w.size() - length_at - 2;
  if (length > 0xffff) return Invalid("record data longer than 65535 bytes");
  w.PatchU16(length_at, static_cast<uint16_t>(length));
  return Status::Ok();
}

// Reads a packet from the network; every accessor fails instead of reading past the end.
class Reader {
 public:
  explicit Reader(std::span<const uint8_t> packet) : p_(packet) {}

  size_t pos() const { return pos_; }
  void Seek(size_t pos) { pos_ = pos; }
  bool U8(uint8_t& v) {
    if (pos_ + 1 > p_.size()) return false;
    v = p_[pos_++];
    return true;
  }
  bool U16(uint16_t& v) {
    if (pos_ + 2 > p_.size()) return false;
    v = static_cast<uint16_t>(p_[pos_] << 8 | p_[pos_ + 1]);
    pos_ += 2;
    return true;
  }
  bool U32(uint32_t& v) {
    uint16_t high, low;
    if (!U16(high) || !U16(low)) return false;
    v = uint32_t{high} << 16 | low;
    return true;
  }
  bool Bytes(size_t n, std::string& out) {
    if (n > p_.size() - pos_) return false;
    out.assign(reinterpret_cast<const char*>(p_.data() + pos_), n);
    pos_ += n;
    return true;
  }
  bool ReadName(Name& name);

 private:
  std::span<const uint8_t> p_;
  size_t pos_ = 0;
};

// Follows compression pointers, each to a place strictly before the run of labels that
// led to it: the runs move backwards, so a hostile packet cannot make this loop.
bool Reader::ReadName(Name& name) {
  name.clear();
  size_t at = pos_;
  size_t run_start = pos_;
  size_t resume = 0;  // where the caller continues: just past the first pointer
  size_t wire = 1;
  for (;;) {
    if (at >= p_.size()) return false;
    uint8_t length = p_[at];
    if ((length & 0xc0) == 0xc0) {
      if (at + 1 >= p_.size()) return false;
      size_t target = static_cast<size_t>(length & 0x3f) << 8 | p_[at + 1];
      if (target >= run_start) return false;
      if (resume == 0) resume = at + 2;
      at = run_start = target;
      continue;
    }
    if ((length & 0xc0) != 0) return false;  // 0x40 and 0x80 label types are obsolete
    if (length == 0) break;
    wire += length + 1u;
    if (wire > kMaxNameWire || at + 1 + length > p_.size()) return false;
    name.emplace_back(reinterpret_cast<const char*>(p_.data() + at + 1), length);
    at += 1 + length;
  }
  pos_ = resume != 0 ? resume : at + 1;
  return true;
}

bool ReadQuestion(Reader& r, Question& q) {
  uint16_t klass = 0;
  if (!r.ReadName(q.name) || !r.U16(q.type) || !r.U16(klass)) return false;
  q.unicast_response = (klass & kTopBit) != 0;
  return true;
}

bool ReadTxt(Reader& r, size_t end, std::vector<std::string>& txt) {
  while (r.pos() < end) {
    uint8_t length = 0;
    std::string text;
    if (!r.U8(length) || r.pos() + length > end || !r.Bytes(length, text)) return false;
    txt.push_back(std::move(text));
  }
  return true;
}

// The data of one record, which must end exactly at `end`.
bool ReadData(Reader& r, size_t end, Record& record) {
  bool ok = true;
  switch (record.type) {
    case kTypeA:
      ok = end - r.pos() == 4 && r.U32(record.ipv4);
      break;
    case kTypePtr:
      ok = r.ReadName(record.ptr);
      break;
    case kTypeSrv:
      ok = r.U16(record.srv.priority) && r.U16(record.srv.weight) && r.U16(record.srv.port) &&
           r.ReadName(record.srv.target);
      break;
    case kTypeTxt:
      ok = ReadTxt(r, end, record.txt);
      break;
    default: {
      std::string bytes;
      ok = r.Bytes(end - r.pos(), bytes);
      record.raw.assign(bytes.begin(), bytes.end());
    }
  }
  return ok && r.pos() == end;
}

bool ReadRecord(Reader& r, size_t packet_size, Record& record) {
  uint16_t klass = 0, length = 0;
  if (!r.ReadName(record.name) || !r.U16(record.type) || !r.U16(klass) || !r.U32(record.ttl) ||
      !r.U16(length)) {
    return false;
  }
  record.cache_flush = (klass & kTopBit) != 0;
  if (length > packet_size - r.pos()) return false;
  return ReadData(r, r.pos() + length, record);
}

bool ReadRecords(Reader& r, size_t packet_size, uint16_t count, std::vector<Record>& out) {
  for (uint16_t i = 0; i < count; ++i) {
    Record record;
    if (!ReadRecord(r, packet_size, record)) return false;
    out.push_back(std::move(record));
  }
  return true;
}

}  // namespace

Name NameFromDotted(std::string_view dotted) {
  Name name;
  while (!dotted.empty()) {
    size_t dot = dotted.find('.');
    if (dot != 0) name.emplace_back(dotted.substr(0, dot));
    if (dot == std::string_view::npos) break;
    dotted.remove_prefix(dot + 1);
  }
  return name;
}

std::string ToDotted(const Name& name) {
  std::string out;
  for (const std::string& label : name) out += (out.empty() ? "" : ".") + label;
  return out;
}

bool SameName(const Name& a, const Name& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i].size() != b[i].size()) return false;
    for (size_t j = 0; j < a[i].size(); ++j) {
      if (Lower(a[i][j]) != Lower(b[i][j])) return false;
    }
  }
  return true;
}

Result<std::vector<uint8_t>> Encode(const Message& message) {
  if (message.questions.size() > 0xffff || message.answers.size() > 0xffff ||
      message.authorities.size() > 0xffff || message.additionals.size() > 0xffff) {
    return Invalid("too many entries");
  }
  Writer w;
  w.U16(message.id);
  w.U16(message.flags);
  for (size_t count : {message.questions.size(), message.answers.size(), message.authorities.size(),
                       message.additionals.size()}) {
    w.U16(static_cast<uint16_t>(count));
  }
  for (const Question& q : message.questions) {
    Status status = w.WriteName(q.name);
    if (!status.ok()) return status;
    w.U16(q.type);
    w.U16(static_cast<uint16_t>(kClassIn | (q.unicast_response ? kTopBit : 0)));
  }
  for (const auto* section : {&message.answers, &message.authorities, &message.additionals}) {
    for (const Record& record : *section) {
      Status status = WriteRecord(w, record);
      if (!status.ok()) return status;
    }
  }
  return w.Take();
}

Result<Message> Decode(std::span<const uint8_t> packet) {
  if (packet.size() < kHeaderSize) return Invalid("shorter than a header");
  Reader r(packet);
  Message message;
  uint16_t counts[4];
  r.U16(message.id);
  r.U16(message.flags);
  for (uint16_t& count : counts) r.U16(count);
  for (uint16_t i = 0; i < counts[0]; ++i) {
    Question q;
    if (!ReadQuestion(r, q)) return Invalid("truncated or malformed question");
    message.questions.push_back(std::move(q));
  }
  if (!ReadRecords(r, packet.size(), counts[1], message.answers) ||
      !ReadRecords(r, packet.size(), counts[2], message.authorities) ||
      !ReadRecords(r, packet.size(), counts[3], message.additionals)) {
    return Invalid("truncated or malformed record");
  }
  return message;
}

}  // namespace dapr::nameresolution::mdns
