// The JNI side of natter.client.NatterClient: each native method is one call
// of the C API (natter.h). Strings cross as UTF-8 byte arrays.
#include <jni.h>

#include <cstring>
#include <string>

#include "natter/natter.h"

namespace {

std::string Bytes(JNIEnv* env, jbyteArray array) {
  if (!array) return "";
  jsize n = env->GetArrayLength(array);
  std::string out(static_cast<size_t>(n), '\0');
  env->GetByteArrayRegion(array, 0, n, reinterpret_cast<jbyte*>(out.data()));
  return out;
}

jbyteArray ToBytes(JNIEnv* env, const char* text) {
  if (!text) return nullptr;
  auto n = static_cast<jsize>(std::strlen(text));
  jbyteArray out = env->NewByteArray(n);
  if (out) env->SetByteArrayRegion(out, 0, n, reinterpret_cast<const jbyte*>(text));
  return out;
}

natter_client* Client(jlong handle) { return reinterpret_cast<natter_client*>(handle); }

}  // namespace

extern "C" {

JNIEXPORT jlong JNICALL Java_natter_client_NatterClient_nativeCreate(JNIEnv* env, jclass, jbyteArray options) {
  return reinterpret_cast<jlong>(natter_client_create(Bytes(env, options).c_str()));
}

JNIEXPORT jbyteArray JNICALL Java_natter_client_NatterClient_nativeLastError(JNIEnv* env, jclass) {
  return ToBytes(env, natter_last_error());
}

JNIEXPORT void JNICALL Java_natter_client_NatterClient_nativeSend(JNIEnv* env, jclass, jlong handle,
                                                                  jbyteArray request) {
  natter_client_send(Client(handle), Bytes(env, request).c_str());
}

JNIEXPORT jbyteArray JNICALL Java_natter_client_NatterClient_nativeReceive(JNIEnv* env, jclass, jlong handle,
                                                                           jdouble timeout_seconds) {
  return ToBytes(env, natter_client_receive(Client(handle), timeout_seconds));
}

JNIEXPORT void JNICALL Java_natter_client_NatterClient_nativeDestroy(JNIEnv*, jclass, jlong handle) {
  natter_client_destroy(Client(handle));
}

}  // extern "C"
