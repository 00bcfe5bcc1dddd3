// Chat limits for tests that put users who never met into groups. Consent
// (invitations) is tested on its own, with the server's default, in
// tests/chat/consent_test.cc.
#pragma once

#include "chat/limits.h"

namespace natter::testing {

inline chat::ChatLimits EveryoneMayAdd() {
  chat::ChatLimits limits;
  limits.default_group_adds = GroupAdds::kEveryone;
  return limits;
}

}  // namespace natter::testing
