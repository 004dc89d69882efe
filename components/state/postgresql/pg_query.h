// Small helpers over libpq's PQexecParams so that the store's SQL reads plainly: parameters
// travel in binary form (arbitrary bytes round-trip with no escaping), results are owned by
// RAII, and a failed statement becomes a Status with a code the state block understands.
#pragma once

#include <libpq-fe.h>

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "dapr/status.h"

namespace dapr::state {

// One statement parameter: its type OID, its bytes (nullopt is SQL NULL) and wire format.
struct PgParam {
  Oid type = 0;
  std::optional<std::string> value;
  int format = 1;  // 1 = binary, 0 = text
};

PgParam PgText(std::string_view text);                       // text, sent as raw bytes
PgParam PgBytea(std::string_view bytes);                     // bytea, sent as raw bytes
PgParam PgUuid(std::string_view canonical);                  // uuid, sent as its text form
PgParam PgInt8(std::optional<long long> number);             // bigint, or NULL
PgParam PgTextArray(const std::vector<std::string>& items);  // text[], binary array format

struct PgResultDeleter {
  void operator()(PGresult* result) const { PQclear(result); }
};
using PgResult = std::unique_ptr<PGresult, PgResultDeleter>;

// Runs one statement and asks for binary results (text columns then arrive as their bytes).
// Failures map to: kUnavailable (connection lost), kDeadlineExceeded (statement_timeout),
// kInvalidArgument (bad data such as a key that is not valid UTF-8), kInternal otherwise.
Result<PgResult> PgExec(PGconn* conn, const std::string& sql,
                        const std::vector<PgParam>& params = {});

// Like PgExec, for statements whose rows are not needed.
Status PgRun(PGconn* conn, const std::string& sql, const std::vector<PgParam>& params = {});

// The bytes of one result cell (binary format, so embedded NULs survive).
std::string PgCell(const PGresult* result, int row, int column);

// A libpq error message on one line: libpq spreads hints over several ("\n\tIs the server
// running...?"), which reads badly inside a JSON error body or a log line.
std::string PgOneLine(std::string_view message);

// Rows touched by an INSERT/UPDATE/DELETE.
long long PgAffectedRows(const PGresult* result);

}  // namespace dapr::state
