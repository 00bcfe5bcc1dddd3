#include "common/guarded.h"

#include <spdlog/spdlog.h>

namespace natter {

void LogEscaped(std::string_view where, const std::exception* e) noexcept {
  try {
    spdlog::error("{}: unexpected exception: {}", where, e ? e->what() : "(not a std::exception)");
  } catch (...) {
    // Logging itself failed (out of memory): nothing more to do.
  }
}

}  // namespace natter
