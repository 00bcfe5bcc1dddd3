// A WebSocket request as a client may send it: the envelope, then the params
// of the method it names (and, to reach every params reader, of every other
// method too). Bad input is a typed error; nothing crashes.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "api/envelope.h"
#include "api/method_table.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  boost::json::value id;
  auto envelope = natter::api::ParseEnvelope(text, id);
  if (!envelope.ok()) {
    if (envelope.error().code != natter::ErrorCode::kBadRequest) __builtin_trap();
    return 0;
  }
  const auto& request = envelope->request.as_object();
  for (const natter::api::Method& method : natter::api::Methods()) {
    if (!method.read_params) continue;
    natter::Status st = method.read_params(request);
    if (!st.ok() && st.error().code != natter::ErrorCode::kBadRequest &&
        st.error().code != natter::ErrorCode::kTooLarge) {
      __builtin_trap();
    }
  }
  return 0;
}
