#include "e2ee/memory_protocol_store.h"

namespace natter::e2ee {

std::vector<int32_t> MemoryProtocolStore::SessionDevices(const std::string& name) {
  std::vector<int32_t> out;
  for (const auto& [a, record] : sessions_) {
    if (a.name == name) out.push_back(a.device_id);
  }
  return out;
}

int MemoryProtocolStore::DeleteSessions(const std::string& name) {
  int n = 0;
  for (auto it = sessions_.begin(); it != sessions_.end();) {
    if (it->first.name == name) {
      it = sessions_.erase(it);
      ++n;
    } else {
      ++it;
    }
  }
  return n;
}

}  // namespace natter::e2ee
