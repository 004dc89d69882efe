// Loads a component packaged as a shared module (lib<name>.so) on first use. Components
// whose client library drags in a large dependency chain (libpq: Kerberos, LDAP, GnuTLS...)
// live in modules, so a sidecar that does not use them never maps those libraries: it
// starts faster and stays smaller.
#pragma once

#include <string>

#include "dapr/status.h"

namespace dapr {

// The address of `symbol` in module `name` (file lib<name>.so), loaded once and kept for
// the life of the process. Searched in $DAPR_MODULES_DIR, then <dir of this executable>/../lib/dapr-cpp.
Result<void*> ModuleSymbol(const std::string& name, const std::string& symbol);

}  // namespace dapr
