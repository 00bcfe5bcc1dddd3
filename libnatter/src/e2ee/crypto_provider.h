// The cryptography libsignal-protocol-c asks its host for, done with
// OpenSSL 3's EVP interfaces: random bytes, HMAC-SHA256, SHA-512 and AES
// (CBC with PKCS#7 padding for everything the protocol makes today; CTR for
// old session states). Every call makes its own EVP context: reentrant.
#pragma once

#include <signal/signal_protocol.h>

namespace natter::e2ee {

signal_crypto_provider OpenSslCryptoProvider();

}  // namespace natter::e2ee
