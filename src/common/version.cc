#include "common/version.h"

namespace natter {

// NATTER_VERSION is defined for this file alone (CMakeLists.txt): a new
// version rebuilds one file.
const char* Version() { return NATTER_VERSION; }

}  // namespace natter
