#include "tls_checks.h"

#include <arpa/inet.h>
#include <openssl/evp.h>
#include <openssl/x509v3.h>

#include <algorithm>

namespace natter::client {

namespace {

bool IsIpAddress(const std::string& host) {
  unsigned char buf[sizeof(in6_addr)];
  return inet_pton(AF_INET, host.c_str(), buf) == 1 || inet_pton(AF_INET6, host.c_str(), buf) == 1;
}

// "sha256/<base64>" of the certificate's DER SubjectPublicKeyInfo.
std::string SpkiPin(X509* cert) {
  unsigned char* der = nullptr;
  int len = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(cert), &der);
  if (len <= 0) return "";
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int digest_len = 0;
  EVP_Digest(der, static_cast<size_t>(len), digest, &digest_len, EVP_sha256(), nullptr);
  OPENSSL_free(der);
  unsigned char b64[4 * ((EVP_MAX_MD_SIZE + 2) / 3) + 1];
  int n = EVP_EncodeBlock(b64, digest, static_cast<int>(digest_len));
  return "sha256/" + std::string(reinterpret_cast<char*>(b64), static_cast<size_t>(n));
}

}  // namespace

bool ExpectServerName(SSL* ssl, const std::string& host) {
  X509_VERIFY_PARAM* param = SSL_get0_param(ssl);
  if (IsIpAddress(host)) return X509_VERIFY_PARAM_set1_ip_asc(param, host.c_str()) == 1;
  X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
  return SSL_set_tlsext_host_name(ssl, host.c_str()) == 1 &&
         X509_VERIFY_PARAM_set1_host(param, host.c_str(), host.size()) == 1;
}

std::string CheckPins(SSL* ssl, const std::vector<std::string>& pins) {
  if (pins.empty()) return "";
  STACK_OF(X509)* chain = SSL_get0_verified_chain(ssl);
  std::string seen;
  for (int i = 0; chain && i < sk_X509_num(chain); ++i) {
    std::string pin = SpkiPin(sk_X509_value(chain, i));
    if (std::find(pins.begin(), pins.end(), pin) != pins.end()) return "";
    seen += (seen.empty() ? "" : ", ") + pin;
  }
  return "no pinned public key in the server's certificate chain (it has " + seen + ")";
}

std::string HandshakeFailure(SSL* ssl, const boost::system::error_code& ec) {
  long verdict = SSL_get_verify_result(ssl);
  if (verdict != X509_V_OK) {
    return std::string("certificate verify failed: ") + X509_verify_cert_error_string(verdict);
  }
  return ec.message();
}

}  // namespace natter::client
