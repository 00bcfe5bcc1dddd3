// ClientCore: invitations to groups and channels (the server's consent rule).
// They are not part of sync, so after each one the client asks for those
// waiting and hands the list to the app (`invitations`); new ones arrive
// live as `invitation`, answered ones on another device as `invitation_closed`.
#include "client_core.h"

namespace natter::client {

void ClientCore::RefreshInvitations() {
  Call({{"type", "invitations.list"}}, [this](const ReplyFrame& reply) {
    const auto* data = reply.ok ? reply.data.if_object() : nullptr;
    const auto* list = data ? data->if_contains("invitations") : nullptr;
    if (!list || !list->is_array()) return;  // the next sync asks again
    Emit({{"@type", "invitations"}, {"invitations", *list}});
  });
}

}  // namespace natter::client
