#include "e2ee/store_bridge.h"

#include <exception>
#include <string>

#include "e2ee/signal_handles.h"

namespace natter::e2ee {
namespace {

ProtocolStore& StoreOf(void* user_data) { return *static_cast<ProtocolStore*>(user_data); }

Address AddressOf(const signal_protocol_address* a) { return Address{std::string(a->name, a->name_len), a->device_id}; }

std::string Bytes(const uint8_t* data, size_t len) { return std::string(reinterpret_cast<const char*>(data), len); }

// Runs a store call; a throw (a storage failure) is a failed call, and
// nothing may cross the library's C frames.
template <class Fn>
int Guarded(Fn fn) {
  try {
    return fn();
  } catch (...) {
    return kStoreFailed;
  }
}

int Output(signal_buffer** out, const std::string& bytes) {
  *out = signal_buffer_create(DataOf(bytes), bytes.size());
  return *out ? 0 : SG_ERR_NOMEM;
}

// Sessions.
int LoadSession(signal_buffer** record, signal_buffer**, const signal_protocol_address* a, void* user_data) {
  return Guarded([&] {
    auto found = StoreOf(user_data).LoadSession(AddressOf(a));
    if (!found) return 0;
    int st = Output(record, *found);
    return st < 0 ? st : 1;
  });
}

int SessionDevices(signal_int_list** sessions, const char* name, size_t name_len, void* user_data) {
  return Guarded([&] {
    auto devices = StoreOf(user_data).SessionDevices(std::string(name, name_len));
    signal_int_list* list = signal_int_list_alloc();
    if (!list) return SG_ERR_NOMEM;
    for (int32_t d : devices) {
      if (signal_int_list_push_back(list, d) < 0) {
        signal_int_list_free(list);
        return SG_ERR_NOMEM;
      }
    }
    *sessions = list;
    return static_cast<int>(devices.size());
  });
}

int StoreSession(const signal_protocol_address* a, uint8_t* record, size_t len, uint8_t*, size_t, void* user_data) {
  return Guarded([&] {
    StoreOf(user_data).StoreSession(AddressOf(a), Bytes(record, len));
    return 0;
  });
}

int ContainsSession(const signal_protocol_address* a, void* user_data) {
  return Guarded([&] { return StoreOf(user_data).LoadSession(AddressOf(a)) ? 1 : 0; });
}

int DeleteSession(const signal_protocol_address* a, void* user_data) {
  return Guarded([&] { return StoreOf(user_data).DeleteSession(AddressOf(a)) ? 1 : 0; });
}

int DeleteSessions(const char* name, size_t name_len, void* user_data) {
  return Guarded([&] { return StoreOf(user_data).DeleteSessions(std::string(name, name_len)); });
}

// One-time and signed prekeys: a missing one is SG_ERR_INVALID_KEY_ID.
int LoadPreKey(signal_buffer** record, uint32_t id, void* user_data) {
  return Guarded([&] {
    auto found = StoreOf(user_data).LoadPreKey(id);
    return found ? Output(record, *found) : SG_ERR_INVALID_KEY_ID;
  });
}

int StorePreKey(uint32_t id, uint8_t* record, size_t len, void* user_data) {
  return Guarded([&] {
    StoreOf(user_data).StorePreKey(id, Bytes(record, len));
    return 0;
  });
}

int ContainsPreKey(uint32_t id, void* user_data) {
  return Guarded([&] { return StoreOf(user_data).LoadPreKey(id) ? 1 : 0; });
}

int RemovePreKey(uint32_t id, void* user_data) {
  return Guarded([&] {
    StoreOf(user_data).RemovePreKey(id);
    return 0;
  });
}

int LoadSignedPreKey(signal_buffer** record, uint32_t id, void* user_data) {
  return Guarded([&] {
    auto found = StoreOf(user_data).LoadSignedPreKey(id);
    return found ? Output(record, *found) : SG_ERR_INVALID_KEY_ID;
  });
}

int StoreSignedPreKey(uint32_t id, uint8_t* record, size_t len, void* user_data) {
  return Guarded([&] {
    StoreOf(user_data).StoreSignedPreKey(id, Bytes(record, len));
    return 0;
  });
}

int ContainsSignedPreKey(uint32_t id, void* user_data) {
  return Guarded([&] { return StoreOf(user_data).LoadSignedPreKey(id) ? 1 : 0; });
}

int RemoveSignedPreKey(uint32_t id, void* user_data) {
  return Guarded([&] {
    StoreOf(user_data).RemoveSignedPreKey(id);
    return 0;
  });
}

// Identity: both halves, or an error (a half left unset crashes the library).
int LoadIdentityKeyPair(signal_buffer** public_data, signal_buffer** private_data, void* user_data) {
  return Guarded([&] {
    auto identity = StoreOf(user_data).Identity();
    if (!identity) return kStoreFailed;
    Buffer pub(signal_buffer_create(DataOf(identity->public_key), identity->public_key.size()));
    SecretBuffer priv(signal_buffer_create(DataOf(identity->private_key), identity->private_key.size()));
    if (!pub || !priv) return SG_ERR_NOMEM;
    *public_data = pub.release();
    *private_data = priv.release();
    return 0;
  });
}

int RegistrationId(void* user_data, uint32_t* registration_id) {
  return Guarded([&] {
    *registration_id = StoreOf(user_data).RegistrationId();
    return 0;
  });
}

int SaveIdentity(const signal_protocol_address* a, uint8_t* key, size_t len, void* user_data) {
  return Guarded([&] {
    if (key) StoreOf(user_data).SaveRemoteIdentity(AddressOf(a), Bytes(key, len));
    return 0;
  });
}

// Trust on first use, per device: a device id is never given twice, so a
// known device with another identity key is someone else (the server lying).
int IsTrustedIdentity(const signal_protocol_address* a, uint8_t* key, size_t len, void* user_data) {
  return Guarded([&] {
    auto known = StoreOf(user_data).RemoteIdentity(AddressOf(a));
    return !known || *known == Bytes(key, len) ? 1 : 0;
  });
}

// Sender keys.
int StoreSenderKey(const signal_protocol_sender_key_name* n, uint8_t* record, size_t len, uint8_t*, size_t,
                   void* user_data) {
  return Guarded([&] {
    StoreOf(user_data).StoreSenderKey(std::string(n->group_id, n->group_id_len), AddressOf(&n->sender),
                                      Bytes(record, len));
    return 0;
  });
}

int LoadSenderKey(signal_buffer** record, signal_buffer**, const signal_protocol_sender_key_name* n, void* user_data) {
  return Guarded([&] {
    auto found = StoreOf(user_data).LoadSenderKey(std::string(n->group_id, n->group_id_len), AddressOf(&n->sender));
    if (!found) return 0;
    int st = Output(record, *found);
    return st < 0 ? st : 1;
  });
}

}  // namespace

signal_protocol_address SignalAddress(const Address& a) {
  return signal_protocol_address{a.name.c_str(), a.name.size(), a.device_id};
}

StoreContext MakeStoreContext(signal_context* context, ProtocolStore& store) {
  signal_protocol_store_context* raw = nullptr;
  if (signal_protocol_store_context_create(&raw, context) != 0) return nullptr;
  StoreContext out(raw);
  void* user = &store;
  signal_protocol_session_store sessions{LoadSession,   SessionDevices, StoreSession, ContainsSession,
                                         DeleteSession, DeleteSessions, nullptr,      user};
  signal_protocol_pre_key_store prekeys{LoadPreKey, StorePreKey, ContainsPreKey, RemovePreKey, nullptr, user};
  signal_protocol_signed_pre_key_store signed_prekeys{LoadSignedPreKey,   StoreSignedPreKey, ContainsSignedPreKey,
                                                      RemoveSignedPreKey, nullptr,           user};
  signal_protocol_identity_key_store identity{LoadIdentityKeyPair, RegistrationId, SaveIdentity,
                                              IsTrustedIdentity,   nullptr,        user};
  signal_protocol_sender_key_store sender_keys{StoreSenderKey, LoadSenderKey, nullptr, user};
  if (signal_protocol_store_context_set_session_store(raw, &sessions) != 0 ||
      signal_protocol_store_context_set_pre_key_store(raw, &prekeys) != 0 ||
      signal_protocol_store_context_set_signed_pre_key_store(raw, &signed_prekeys) != 0 ||
      signal_protocol_store_context_set_identity_key_store(raw, &identity) != 0 ||
      signal_protocol_store_context_set_sender_key_store(raw, &sender_keys) != 0) {
    return nullptr;
  }
  return out;
}

}  // namespace natter::e2ee
