// OpenEndToEnd in a libnatter built without NATTER_E2EE: encrypted
// conversations are refused, saying why (the Signal build is
// src/e2ee/signal_end_to_end.cc).
#include "end_to_end.h"

namespace natter::client {

#ifndef NATTER_E2EE
std::unique_ptr<EndToEnd> OpenEndToEnd(const std::string&, const std::string&, std::string& why) {
  why = "this libnatter was built without end-to-end encryption (NATTER_E2EE)";
  return nullptr;
}
#endif

}  // namespace natter::client
