// How domain values look on the wire (docs/protocol.md, v1).
#pragma once

#include <boost/json/value.hpp>

#include "accounts/account_service.h"
#include "chat/conversations.h"
#include "chat/history_query.h"
#include "chat/receipts.h"
#include "chat/send_message.h"
#include "chat/sync.h"
#include "natter/model.h"

namespace natter::api {

boost::json::object ToJson(const Message& m);
boost::json::object ToJson(const Member& m);
boost::json::object ToJson(const Conversation& c);
boost::json::object ToJson(const chat::ConversationView& v);
boost::json::object ToJson(const ConversationSummary& s);
boost::json::object ToJson(const PendingInvitation& i);
boost::json::object ToJson(const chat::HistoryPage& p);
boost::json::object ToJson(const accounts::LoginResult& r);
boost::json::object ToJson(const User& u);  // public part only: never the password hash
boost::json::object ToJson(const Report& r);
boost::json::object ToJson(const AuditEntry& e);  // `detail` parsed back into JSON
boost::json::object ToJson(const chat::ConversationCatchUp& c);
boost::json::object ToJson(const chat::ReceiptChange& r);
boost::json::object ToJson(const chat::ReceiptCounts& r);
boost::json::object ErrorJson(const Error& e);

}  // namespace natter::api
