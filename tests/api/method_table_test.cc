// The method table against docs/protocol.md and docs/admin.md: every HTTP
// route and WebSocket method the documents list is a row, with the same verb,
// path and who may call it, and every row is documented.
#include "api/method_table.h"

#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>

namespace natter::api {
namespace {

struct DocRow {
  std::string method;
  std::string access;  // the table's column: yes (a user), no, moderator or admin
};

std::string_view AccessColumn(Access access) {
  switch (access) {
    case Access::kPublic:
      return "no";
    case Access::kAuthenticated:
      return "yes";
    case Access::kModerator:
      return "moderator";
    case Access::kAdmin:
      return "admin";
  }
  return "?";
}

std::string Doc(const char* name) {
  std::ifstream in(std::string(NATTER_SOURCE_DIR) + "/docs/" + name);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

std::string Protocol() { return Doc("protocol.md"); }

// The rows of section 5's table: "VERB /path" (query dropped) -> method; and
// the WebSocket-only ones under the key "".
std::multimap<std::string, DocRow> DocumentedRoutes(const std::string& doc) {
  std::multimap<std::string, DocRow> out;
  std::regex row(
      R"(^\| (?:`([A-Z]+ /(?:admin/)?v1/[^`?]*)(?:\?[^`]*)?`|— \(WebSocket only\)) \| `([a-z_.]+)`[^|]*\| (yes|no|moderator|admin) \|)");
  std::istringstream lines(doc);
  for (std::string line; std::getline(lines, line);) {
    std::smatch m;
    if (std::regex_search(line, m, row)) out.emplace(m[1].str(), DocRow{m[2].str(), m[3].str()});
  }
  return out;
}

TEST(MethodTable, EveryDocumentedRouteIsARowAndEveryRowIsDocumented) {
  const std::string doc = Protocol();
  ASSERT_FALSE(doc.empty()) << "docs/protocol.md not found";
  const std::string admin = Doc("admin.md");
  ASSERT_FALSE(admin.empty()) << "docs/admin.md not found";
  auto documented = DocumentedRoutes(doc + admin);
  ASSERT_GE(documented.size(), 20u) << "the table of section 5 was not found";

  std::set<std::string> seen;
  for (const Method& m : Methods()) {
    for (const HttpRoute& r : m.routes) {
      std::string key = std::string(r.verb) + " " + std::string(r.pattern);
      auto [from, to] = documented.equal_range(key);
      bool found = false;
      for (auto it = from; it != to; ++it) {
        if (it->second.method != m.name) continue;
        found = true;
        EXPECT_EQ(it->second.access, AccessColumn(m.access)) << key;
      }
      EXPECT_TRUE(found) << key << " (" << m.name << ") is not in docs/protocol.md section 5 or docs/admin.md";
      seen.insert(key);
    }
    if (m.routes.empty() && m.on_socket == OnSocket::kAnswer && m.access == Access::kAuthenticated) {
      // WebSocket-only methods are listed as such.
      bool found = false;
      for (auto [it, end] = documented.equal_range(""); it != end; ++it) found |= it->second.method == m.name;
      EXPECT_TRUE(found) << m.name << " is not listed as WebSocket only";
    }
  }
  for (const auto& [key, row] : documented) {
    if (key.empty()) {
      const Method* m = FindMethod(row.method);
      ASSERT_NE(m, nullptr) << row.method;
      EXPECT_TRUE(m->routes.empty()) << row.method << " is documented as WebSocket only";
      continue;
    }
    EXPECT_TRUE(seen.count(key)) << key << " is documented but no row serves it";
  }
}

TEST(MethodTable, ConnectionMethodsAreDocumented) {
  const std::string doc = Protocol();
  EXPECT_NE(doc.find("(the method name, or `auth` or `ping`)"), std::string::npos);
  for (std::string_view name : {"auth", "ping"}) {
    const Method* m = FindMethod(name);
    ASSERT_NE(m, nullptr) << name;
    EXPECT_EQ(m->access, Access::kPublic);
    EXPECT_TRUE(m->routes.empty());
  }
  EXPECT_EQ(FindMethod("auth")->on_socket, OnSocket::kAuthenticate);
  EXPECT_EQ(FindMethod("sync")->on_socket, OnSocket::kHoldEvents);
  EXPECT_EQ(FindMethod("typing")->rate, RateClass::kTyping);
}

TEST(MethodTable, NamesAreUniqueAndEveryServedRowHasAHandler) {
  std::set<std::string_view> names;
  for (const Method& m : Methods()) {
    EXPECT_TRUE(names.insert(m.name).second) << m.name;
    if (m.on_socket != OnSocket::kAuthenticate) {
      EXPECT_NE(m.invoke, nullptr) << m.name;
    }
  }
  EXPECT_EQ(FindMethod("messages.bogus"), nullptr);
}

}  // namespace
}  // namespace natter::api
