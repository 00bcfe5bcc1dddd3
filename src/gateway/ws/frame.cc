#include "gateway/ws/frame.h"

namespace natter::ws {

bool IsValidCloseCodeOnWire(uint16_t code) {
  // 1004 is reserved, and 1005/1006/1015 only exist to be reported locally:
  // RFC 6455 7.4.1 forbids putting them in a Close frame. 1012-1014 were
  // registered with IANA after the RFC (restart, try again later, bad
  // gateway) and are sent by real servers, natter included (kTryAgainLater).
  if (code >= 1000 && code <= 1003) return true;
  if (code >= 1007 && code <= 1014) return true;
  // 3000-3999 are registered by libraries and frameworks, 4000-4999 are
  // private to applications; everything else is unassigned or reserved.
  return code >= 3000 && code <= 4999;
}

}  // namespace natter::ws
