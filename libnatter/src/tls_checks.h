// The client side of a TLS handshake beyond what OpenSSL's chain check does:
// the name the certificate must carry (and SNI), public key pins, and a
// failure said in words an app developer can act on.
//
// Thread-safety: free functions over one SSL handle; use it from one thread.
#pragma once

#include <openssl/ssl.h>

#include <boost/system/error_code.hpp>
#include <string>
#include <vector>

namespace natter::client {

// Sends `host` as SNI (unless it is an IP address) and makes the handshake
// fail unless the certificate is for `host` (a DNS name or an IP address).
// False when OpenSSL would not take the name: the connection must not go on.
[[nodiscard]] bool ExpectServerName(SSL* ssl, const std::string& host);

// "" when a pin matches a public key in the verified chain; otherwise why not,
// listing the chain's pins so a pin can be corrected.
std::string CheckPins(SSL* ssl, const std::vector<std::string>& pins);

// Why the handshake failed: the certificate verdict when verification failed
// ("certificate verify failed: hostname mismatch"), else the error itself.
std::string HandshakeFailure(SSL* ssl, const boost::system::error_code& ec);

}  // namespace natter::client
