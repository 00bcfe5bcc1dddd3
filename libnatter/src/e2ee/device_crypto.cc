#include "e2ee/device_crypto.h"

#include <signal/curve.h>
#include <signal/fingerprint.h>
#include <signal/group_cipher.h>
#include <signal/group_session_builder.h>
#include <signal/key_helper.h>
#include <signal/protocol.h>
#include <signal/ratchet.h>
#include <signal/sender_key_record.h>
#include <signal/session_builder.h>
#include <signal/session_cipher.h>
#include <signal/session_pre_key.h>

#include <openssl/crypto.h>

#include <stdexcept>

#include "e2ee/crypto_provider.h"
#include "e2ee/signal_handles.h"

namespace natter::e2ee {
namespace {

constexpr size_t kPadBlock = 160;
// Iterations of the safety number's hash: what Signal's apps use; every
// client must use the same.
constexpr int kFingerprintIterations = 5200;
constexpr uint32_t kMaxPreKeyId = 0xFFFFFE;  // 0xFFFFFF is the protocol's last-resort id

void Lock(void* user_data) { static_cast<std::recursive_mutex*>(user_data)->lock(); }
void Unlock(void* user_data) { static_cast<std::recursive_mutex*>(user_data)->unlock(); }

// The library logs what it refuses, at warning and error: an attacker could
// fill a log with it, so it goes nowhere; the failure itself is the answer.
void Quiet(int, const char*, size_t, void*) {}

signal_context* NewContext(std::recursive_mutex* mu) {
  signal_context* ctx = nullptr;
  if (signal_context_create(&ctx, mu) != 0) throw std::runtime_error("signal_context_create failed");
  signal_crypto_provider provider = OpenSslCryptoProvider();
  if (signal_context_set_crypto_provider(ctx, &provider) != 0 ||
      signal_context_set_locking_functions(ctx, Lock, Unlock) != 0 ||
      signal_context_set_log_function(ctx, Quiet) != 0) {
    signal_context_destroy(ctx);
    throw std::runtime_error("signal context setup failed");
  }
  return ctx;
}

// A context of its own for work that touches no store.
struct ScratchContext {
  std::recursive_mutex mu;
  signal_context* ctx = NewContext(&mu);
  ~ScratchContext() { signal_context_destroy(ctx); }
};

Error Failed(int code, const std::string& what) {
  switch (code) {
    case SG_ERR_NO_SESSION:
      return NotFound(what + ": no session with that device");
    case SG_ERR_DUPLICATE_MESSAGE:
      return Conflict(what + ": decrypted before");
    case SG_ERR_UNTRUSTED_IDENTITY:
      return Forbidden(what + ": that device has another identity key than before");
    case SG_ERR_NOMEM:
      return Internal(what + ": out of memory");
    case kStoreFailed:
      return Unavailable(what + ": the device store failed");
    case SG_ERR_UNKNOWN:
      return Internal(what + ": failed");
    default:
      return BadRequest(what + ": refused (" + std::to_string(code) + ")");
  }
}

Result<SignalRef<ec_public_key>> DecodeKey(signal_context* ctx, const std::string& bytes, const char* what) {
  ec_public_key* key = nullptr;
  if (curve_decode_point(&key, DataOf(bytes), bytes.size(), ctx) != 0) {
    return BadRequest(std::string(what) + " is not a public key");
  }
  return SignalRef<ec_public_key>(key);
}

std::string Serialized(const ec_public_key* key) {
  signal_buffer* raw = nullptr;
  if (ec_public_key_serialize(&raw, key) != 0) return {};
  Buffer b(raw);
  return BytesOf(b.get());
}

struct SessionCipherFree {
  void operator()(session_cipher* c) const { session_cipher_free(c); }
};
struct GroupCipherFree {
  void operator()(group_cipher* c) const { group_cipher_free(c); }
};
struct GroupBuilderFree {
  void operator()(group_session_builder* b) const { group_session_builder_free(b); }
};

signal_protocol_sender_key_name SenderKeyName(const std::string& group, const signal_protocol_address& sender) {
  return signal_protocol_sender_key_name{group.c_str(), group.size(), sender};
}

}  // namespace

std::string Pad(std::string_view plaintext) {
  std::string out(plaintext);
  out.push_back(static_cast<char>(0x80));
  out.resize((out.size() + kPadBlock - 1) / kPadBlock * kPadBlock, '\0');
  return out;
}

std::optional<std::string> Unpad(std::string_view padded) {
  size_t end = padded.find_last_not_of('\0');
  if (end == std::string_view::npos || static_cast<unsigned char>(padded[end]) != 0x80) return std::nullopt;
  return std::string(padded.substr(0, end));
}

IdentityKeyPair DeviceCrypto::NewIdentity() {
  ScratchContext scratch;
  ratchet_identity_key_pair* raw = nullptr;
  if (signal_protocol_key_helper_generate_identity_key_pair(&raw, scratch.ctx) != 0) {
    throw std::runtime_error("identity key generation failed");
  }
  SignalRef<ratchet_identity_key_pair> pair(raw);
  signal_buffer* priv = nullptr;
  if (ec_private_key_serialize(&priv, ratchet_identity_key_pair_get_private(pair.get())) != 0) {
    throw std::runtime_error("identity key serialisation failed");
  }
  SecretBuffer secret(priv);
  return IdentityKeyPair{Serialized(ratchet_identity_key_pair_get_public(pair.get())), BytesOf(secret.get())};
}

uint32_t DeviceCrypto::NewRegistrationId() {
  ScratchContext scratch;
  uint32_t id = 0;
  if (signal_protocol_key_helper_generate_registration_id(&id, 1, scratch.ctx) != 0) {
    throw std::runtime_error("registration id generation failed");
  }
  return id;
}

DeviceCrypto::DeviceCrypto(ProtocolStore& store) : context_(NewContext(&mu_)), protocol_store_(store) {
  store_ = MakeStoreContext(context_, store);
  if (!store_) {
    signal_context_destroy(context_);
    throw std::runtime_error("signal store context setup failed");
  }
}

DeviceCrypto::~DeviceCrypto() {
  store_.reset();  // before the context it was made in
  signal_context_destroy(context_);
}

Result<std::vector<PreKeyPublic>> DeviceCrypto::NewPreKeys(uint32_t first, uint32_t count) {
  if (first < 1 || count == 0 || first > kMaxPreKeyId || count > kMaxPreKeyId - first + 1) {
    return BadRequest("prekey ids must be 1 to 16777214");
  }
  std::lock_guard lock(mu_);
  signal_protocol_key_helper_pre_key_list_node* head = nullptr;
  if (int st = signal_protocol_key_helper_generate_pre_keys(&head, first, count, context_); st != 0) {
    return Failed(st, "prekey generation");
  }
  std::unique_ptr<signal_protocol_key_helper_pre_key_list_node, void (*)(signal_protocol_key_helper_pre_key_list_node*)>
      list(head, signal_protocol_key_helper_key_list_free);
  std::vector<PreKeyPublic> out;
  for (auto* n = head; n; n = signal_protocol_key_helper_key_list_next(n)) {
    session_pre_key* key = signal_protocol_key_helper_key_list_element(n);
    if (int st = signal_protocol_pre_key_store_key(store_.get(), key); st < 0) return Failed(st, "storing a prekey");
    out.push_back(PreKeyPublic{session_pre_key_get_id(key),
                               Serialized(ec_key_pair_get_public(session_pre_key_get_key_pair(key)))});
  }
  return out;
}

Result<SignedPreKeyPublic> DeviceCrypto::NewSignedPreKey(uint32_t id, uint64_t now_ms) {
  std::lock_guard lock(mu_);
  ratchet_identity_key_pair* raw_identity = nullptr;
  if (int st = signal_protocol_identity_get_key_pair(store_.get(), &raw_identity); st != 0) {
    return Failed(st, "reading the identity");
  }
  SignalRef<ratchet_identity_key_pair> identity(raw_identity);
  session_signed_pre_key* raw = nullptr;
  if (int st = signal_protocol_key_helper_generate_signed_pre_key(&raw, identity.get(), id, now_ms, context_);
      st != 0) {
    return Failed(st, "signed prekey generation");
  }
  SignalRef<session_signed_pre_key> key(raw);
  if (int st = signal_protocol_signed_pre_key_store_key(store_.get(), key.get()); st < 0) {
    return Failed(st, "storing the signed prekey");
  }
  const uint8_t* signature = session_signed_pre_key_get_signature(key.get());
  return SignedPreKeyPublic{
      id, Serialized(ec_key_pair_get_public(session_signed_pre_key_get_key_pair(key.get()))),
      std::string(reinterpret_cast<const char*>(signature), session_signed_pre_key_get_signature_len(key.get()))};
}

Status DeviceCrypto::StartSession(const Address& device, const Bundle& bundle) {
  // A bundle without a 64-byte signature would crash the library.
  if (bundle.signed_prekey.signature.size() != 64) return BadRequest("the signed prekey's signature is not 64 bytes");
  std::lock_guard lock(mu_);
  NATTER_TRY(auto identity, DecodeKey(context_, bundle.identity_key, "the identity key"));
  NATTER_TRY(auto signed_prekey, DecodeKey(context_, bundle.signed_prekey.key, "the signed prekey"));
  SignalRef<ec_public_key> prekey;
  if (bundle.prekey) {
    NATTER_TRY(prekey, DecodeKey(context_, bundle.prekey->key, "the one-time prekey"));
  }
  session_pre_key_bundle* raw_bundle = nullptr;
  int st = session_pre_key_bundle_create(&raw_bundle, bundle.registration_id, device.device_id,
                                         bundle.prekey ? bundle.prekey->id : 0, prekey.get(), bundle.signed_prekey.id,
                                         signed_prekey.get(), DataOf(bundle.signed_prekey.signature),
                                         bundle.signed_prekey.signature.size(), identity.get());
  if (st != 0) return Failed(st, "reading the bundle");
  SignalRef<session_pre_key_bundle> owned(raw_bundle);
  signal_protocol_address address = SignalAddress(device);
  session_builder* builder = nullptr;
  if (st = session_builder_create(&builder, store_.get(), &address, context_); st != 0) {
    return Failed(st, "starting a session");
  }
  st = session_builder_process_pre_key_bundle(builder, owned.get());
  session_builder_free(builder);
  // A bad signature on the signed prekey is SG_ERR_INVALID_KEY.
  if (st != 0) return Failed(st, "starting a session");
  return OkStatus();
}

bool DeviceCrypto::HasSession(const Address& device) {
  std::lock_guard lock(mu_);
  signal_protocol_address address = SignalAddress(device);
  return signal_protocol_session_contains_session(store_.get(), &address) == 1;
}

Status DeviceCrypto::EndSession(const Address& device) {
  std::lock_guard lock(mu_);
  signal_protocol_address address = SignalAddress(device);
  int rc = signal_protocol_session_delete_session(store_.get(), &address);
  return rc < 0 ? Result<Ok>(Failed(rc, "ending a session")) : OkStatus();
}

Result<Ciphertext> DeviceCrypto::Encrypt(const Address& device, std::string_view plaintext) {
  std::lock_guard lock(mu_);
  signal_protocol_address address = SignalAddress(device);
  // Without a session the library answers a bare "unknown"; a store that
  // failed is not "no session" (that would start a new one for nothing).
  if (int rc = signal_protocol_session_contains_session(store_.get(), &address); rc != 1) {
    return Failed(rc < 0 ? rc : SG_ERR_NO_SESSION, "encrypting");
  }
  session_cipher* raw = nullptr;
  if (int st = session_cipher_create(&raw, store_.get(), &address, context_); st != 0) return Failed(st, "encrypting");
  std::unique_ptr<session_cipher, SessionCipherFree> cipher(raw);
  std::string padded = Pad(plaintext);
  ciphertext_message* message = nullptr;
  int st = session_cipher_encrypt(cipher.get(), DataOf(padded), padded.size(), &message);
  OPENSSL_cleanse(padded.data(), padded.size());
  if (st != 0) return Failed(st, "encrypting");
  SignalRef<ciphertext_message> owned(message);
  return Ciphertext{ciphertext_message_get_type(message), BytesOf(ciphertext_message_get_serialized(message))};
}

Result<std::string> DeviceCrypto::Decrypt(const Address& device, const Ciphertext& ciphertext) {
  std::lock_guard lock(mu_);
  signal_protocol_address address = SignalAddress(device);
  session_cipher* raw = nullptr;
  if (int st = session_cipher_create(&raw, store_.get(), &address, context_); st != 0) return Failed(st, "decrypting");
  std::unique_ptr<session_cipher, SessionCipherFree> cipher(raw);
  signal_buffer* plain = nullptr;
  int st = 0;
  if (ciphertext.type == kPreKeyMessage) {
    pre_key_signal_message* m = nullptr;
    st = pre_key_signal_message_deserialize(&m, DataOf(ciphertext.bytes), ciphertext.bytes.size(), context_);
    if (st != 0) return Failed(st, "decrypting");
    SignalRef<pre_key_signal_message> owned(m);
    st = session_cipher_decrypt_pre_key_signal_message(cipher.get(), m, nullptr, &plain);
  } else if (ciphertext.type == kSignalMessage) {
    signal_message* m = nullptr;
    st = signal_message_deserialize(&m, DataOf(ciphertext.bytes), ciphertext.bytes.size(), context_);
    if (st != 0) return Failed(st, "decrypting");
    SignalRef<signal_message> owned(m);
    st = session_cipher_decrypt_signal_message(cipher.get(), m, nullptr, &plain);
  } else {
    return BadRequest("decrypting: not a message type of a session");
  }
  if (st != 0) return Failed(st, "decrypting");
  SecretBuffer owned_plain(plain);
  auto unpadded = Unpad(BytesOf(owned_plain.get()));
  if (!unpadded) return BadRequest("decrypting: the plaintext was not padded");
  return std::move(*unpadded);
}

Result<std::string> DeviceCrypto::OwnSenderKey(const std::string& group, const Address& self) {
  std::lock_guard lock(mu_);
  signal_protocol_sender_key_name name = SenderKeyName(group, SignalAddress(self));
  group_session_builder* raw = nullptr;
  if (int st = group_session_builder_create(&raw, store_.get(), context_); st != 0) return Failed(st, "sender key");
  std::unique_ptr<group_session_builder, GroupBuilderFree> builder(raw);
  sender_key_distribution_message* message = nullptr;
  if (int st = group_session_builder_create_session(builder.get(), &message, &name); st != 0) {
    return Failed(st, "sender key");
  }
  SignalRef<sender_key_distribution_message> owned(message);
  return BytesOf(ciphertext_message_get_serialized(reinterpret_cast<ciphertext_message*>(message)));
}

Status DeviceCrypto::ProcessSenderKey(const std::string& group, const Address& sender, std::string_view distribution) {
  std::lock_guard lock(mu_);
  sender_key_distribution_message* raw = nullptr;
  if (int st = sender_key_distribution_message_deserialize(&raw, DataOf(distribution), distribution.size(), context_);
      st != 0) {
    return Failed(st, "a sender key");
  }
  SignalRef<sender_key_distribution_message> message(raw);
  signal_protocol_sender_key_name name = SenderKeyName(group, SignalAddress(sender));
  // Processing one twice would add a state that decrypts old messages again.
  const uint32_t key_id = sender_key_distribution_message_get_id(message.get());
  try {
    if (protocol_store_.SenderKeySeen(group, sender, key_id)) return OkStatus();
  } catch (...) {
    return Failed(kStoreFailed, "a sender key");
  }
  group_session_builder* raw_builder = nullptr;
  if (int st = group_session_builder_create(&raw_builder, store_.get(), context_); st != 0) {
    return Failed(st, "a sender key");
  }
  std::unique_ptr<group_session_builder, GroupBuilderFree> builder(raw_builder);
  if (int st = group_session_builder_process_session(builder.get(), &name, message.get()); st != 0) {
    return Failed(st, "a sender key");
  }
  try {
    protocol_store_.MarkSenderKeySeen(group, sender, key_id);
  } catch (...) {
    return Failed(kStoreFailed, "a sender key");
  }
  return OkStatus();
}

Result<std::string> DeviceCrypto::GroupEncrypt(const std::string& group, const Address& self,
                                               std::string_view plaintext) {
  std::lock_guard lock(mu_);
  signal_protocol_sender_key_name name = SenderKeyName(group, SignalAddress(self));
  group_cipher* raw = nullptr;
  if (int st = group_cipher_create(&raw, store_.get(), &name, context_); st != 0) return Failed(st, "group encrypt");
  std::unique_ptr<group_cipher, GroupCipherFree> cipher(raw);
  std::string padded = Pad(plaintext);
  ciphertext_message* message = nullptr;
  int st = group_cipher_encrypt(cipher.get(), DataOf(padded), padded.size(), &message);
  OPENSSL_cleanse(padded.data(), padded.size());
  if (st != 0) return Failed(st, "group encrypt");
  SignalRef<ciphertext_message> owned(message);
  return BytesOf(ciphertext_message_get_serialized(message));
}

Result<std::string> DeviceCrypto::GroupDecrypt(const std::string& group, const Address& sender,
                                               std::string_view bytes) {
  std::lock_guard lock(mu_);
  sender_key_message* raw_message = nullptr;
  if (int st = sender_key_message_deserialize(&raw_message, DataOf(bytes), bytes.size(), context_); st != 0) {
    return Failed(st, "group decrypt");
  }
  SignalRef<sender_key_message> message(raw_message);
  signal_protocol_sender_key_name name = SenderKeyName(group, SignalAddress(sender));
  group_cipher* raw = nullptr;
  if (int st = group_cipher_create(&raw, store_.get(), &name, context_); st != 0) return Failed(st, "group decrypt");
  std::unique_ptr<group_cipher, GroupCipherFree> cipher(raw);
  signal_buffer* plain = nullptr;
  if (int st = group_cipher_decrypt(cipher.get(), message.get(), nullptr, &plain); st != 0) {
    return Failed(st, "group decrypt");
  }
  SecretBuffer owned(plain);
  auto unpadded = Unpad(BytesOf(owned.get()));
  if (!unpadded) return BadRequest("group decrypt: the plaintext was not padded");
  return std::move(*unpadded);
}

Result<std::string> DeviceCrypto::SafetyNumber(const std::string& local_id, const std::vector<std::string>& local_keys,
                                               const std::string& remote_id,
                                               const std::vector<std::string>& remote_keys) {
  std::lock_guard lock(mu_);
  auto to_list = [this](const std::vector<std::string>& keys) -> Result<std::shared_ptr<ec_public_key_list>> {
    std::shared_ptr<ec_public_key_list> list(ec_public_key_list_alloc(), ec_public_key_list_free);
    if (!list) return Internal("out of memory");
    for (const auto& k : keys) {
      NATTER_TRY(auto key, DecodeKey(context_, k, "an identity key"));
      if (ec_public_key_list_push_back(list.get(), key.get()) != 0) return Internal("out of memory");
    }
    return list;
  };
  NATTER_TRY(auto local, to_list(local_keys));
  NATTER_TRY(auto remote, to_list(remote_keys));
  fingerprint_generator* raw = nullptr;
  if (int st = fingerprint_generator_create(&raw, kFingerprintIterations, 1, context_); st != 0) {
    return Failed(st, "safety number");
  }
  std::unique_ptr<fingerprint_generator, void (*)(fingerprint_generator*)> generator(raw, fingerprint_generator_free);
  fingerprint* raw_fingerprint = nullptr;
  if (int st = fingerprint_generator_create_for_list(generator.get(), local_id.c_str(), local.get(), remote_id.c_str(),
                                                     remote.get(), &raw_fingerprint);
      st != 0) {
    return Failed(st, "safety number");
  }
  SignalRef<fingerprint> owned(raw_fingerprint);
  return std::string(displayable_fingerprint_text(fingerprint_get_displayable(raw_fingerprint)));
}

}  // namespace natter::e2ee
