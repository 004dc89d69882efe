// Renders a catalogue error as Dapr's HTTP error body:
// {"errorCode": "...", "message": "...", "details": [...]} with the catalogue's status.
#pragma once

#include "api/http/http_types.h"
#include "blocks/errors.h"

namespace dapr::http {

HttpResponse ErrorResponse(const blocks::ApiError& error);

}  // namespace dapr::http
