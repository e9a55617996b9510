#pragma once

namespace jobgw::core {

// The CMake project version jobgw was built as ("0.1.0").
const char* build_version();
// The git revision the build was configured from (short hash, "-dirty" when the tree had
// uncommitted changes), or "unknown" when it was configured outside a git checkout.
const char* build_revision();

}  // namespace jobgw::core
