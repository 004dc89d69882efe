#include "components/state/postgresql/pg_query.h"

#include <cstdint>
#include <cstdlib>

namespace dapr::state {
namespace {

// Type OIDs from PostgreSQL's pg_type catalogue; stable across versions.
constexpr Oid kInt8Oid = 20;
constexpr Oid kTextOid = 25;
constexpr Oid kByteaOid = 17;
constexpr Oid kUuidOid = 2950;
constexpr Oid kTextArrayOid = 1009;

void AppendInt32(std::string& out, uint32_t value) {
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<char>(value >> shift));
}

StatusCode CodeForSqlState(std::string_view sqlstate) {
  if (sqlstate == "57014") return StatusCode::kDeadlineExceeded;  // statement_timeout
  // Class 08 is connection trouble; 57P01-03 is the server shutting down or starting up.
  if (sqlstate.starts_with("08") || sqlstate.starts_with("57P")) return StatusCode::kUnavailable;
  if (sqlstate.starts_with("22")) return StatusCode::kInvalidArgument;  // data exception
  return StatusCode::kInternal;
}

Status ErrorFrom(PGconn* conn, const PGresult* result) {
  if (PQstatus(conn) != CONNECTION_OK) {
    return Unavailable("postgresql: connection lost: " + PgOneLine(PQerrorMessage(conn)));
  }
  if (result == nullptr) return Internal("postgresql: " + PgOneLine(PQerrorMessage(conn)));
  const char* sqlstate = PQresultErrorField(result, PG_DIAG_SQLSTATE);
  const char* primary = PQresultErrorField(result, PG_DIAG_MESSAGE_PRIMARY);
  std::string message = primary ? primary : PgOneLine(PQresultErrorMessage(result));
  return Status(CodeForSqlState(sqlstate ? sqlstate : ""), "postgresql: " + message);
}

}  // namespace

PgParam PgText(std::string_view text) { return {kTextOid, std::string(text), 1}; }

PgParam PgBytea(std::string_view bytes) { return {kByteaOid, std::string(bytes), 1}; }

PgParam PgUuid(std::string_view canonical) { return {kUuidOid, std::string(canonical), 0}; }

PgParam PgInt8(std::optional<long long> number) {
  if (!number) return {kInt8Oid, std::nullopt, 0};
  return {kInt8Oid, std::to_string(*number), 0};
}

// Binary array layout (array_recv): ndim, has-nulls flag, element type, then per dimension
// its length and lower bound, then each element as a length-prefixed byte string.
PgParam PgTextArray(const std::vector<std::string>& items) {
  std::string out;
  AppendInt32(out, items.empty() ? 0 : 1);
  AppendInt32(out, 0);
  AppendInt32(out, kTextOid);
  if (!items.empty()) {
    AppendInt32(out, static_cast<uint32_t>(items.size()));
    AppendInt32(out, 1);
  }
  for (const auto& item : items) {
    AppendInt32(out, static_cast<uint32_t>(item.size()));
    out += item;
  }
  return {kTextArrayOid, std::move(out), 1};
}

Result<PgResult> PgExec(PGconn* conn, const std::string& sql, const std::vector<PgParam>& params) {
  std::vector<Oid> types;
  std::vector<const char*> values;
  std::vector<int> lengths;
  std::vector<int> formats;
  for (const auto& param : params) {
    types.push_back(param.type);
    values.push_back(param.value ? param.value->data() : nullptr);
    lengths.push_back(param.value ? static_cast<int>(param.value->size()) : 0);
    formats.push_back(param.format);
  }
  PgResult result(PQexecParams(conn, sql.c_str(), static_cast<int>(params.size()), types.data(),
                               values.data(), lengths.data(), formats.data(), /*resultFormat=*/1));
  ExecStatusType status = result ? PQresultStatus(result.get()) : PGRES_FATAL_ERROR;
  if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) return ErrorFrom(conn, result.get());
  return result;
}

Status PgRun(PGconn* conn, const std::string& sql, const std::vector<PgParam>& params) {
  auto result = PgExec(conn, sql, params);
  return result.ok() ? Status::Ok() : result.error();
}

std::string PgCell(const PGresult* result, int row, int column) {
  return std::string(PQgetvalue(result, row, column),
                     static_cast<size_t>(PQgetlength(result, row, column)));
}

std::string PgOneLine(std::string_view message) {
  std::string line;
  for (char c : message) {
    bool space = c == '\n' || c == '\t' || c == ' ';
    if (!space)
      line.push_back(c);
    else if (!line.empty() && line.back() != ' ')
      line.push_back(' ');
  }
  while (!line.empty() && line.back() == ' ') line.pop_back();
  return line;
}

long long PgAffectedRows(const PGresult* result) {
  return std::strtoll(PQcmdTuples(const_cast<PGresult*>(result)), nullptr, 10);
}

}  // namespace dapr::state
