#include "core/metrics/build_info.h"

// Both are set by core/CMakeLists.txt at configure time.
#ifndef JOBGW_VERSION
#error "JOBGW_VERSION must be defined by the build"
#endif
#ifndef JOBGW_REVISION
#error "JOBGW_REVISION must be defined by the build"
#endif

namespace jobgw::core {

const char* build_version() { return JOBGW_VERSION; }

const char* build_revision() { return JOBGW_REVISION; }

}  // namespace jobgw::core
