/* libnatter's C API: one client object, JSON requests in, JSON events out
 * (the TDLib model), so Swift, Kotlin/JNI, Dart FFI or anything with a C FFI
 * can bind it. See docs/client.md for every request and event.
 *
 * Thread-safety: every function may be called from any thread. The client
 * does its work on a thread of its own; no call blocks on the network or disk
 * except natter_client_receive, which waits at most `timeout_seconds`.
 */
#ifndef NATTER_NATTER_H_
#define NATTER_NATTER_H_

#ifdef __cplusplus
extern "C" {
#endif

typedef struct natter_client natter_client;

/* Creates a client. options_json: {"server":"https://chat.example:443",
 * "database_directory":"/path", "device":"name"}, and optionally "ca_file"
 * (PEM: the only CAs trusted; default the system's store), "pins" (an array
 * of "sha256/<base64>" public key hashes, one of which must be in the
 * server's chain), "timeout_seconds" (for each connection attempt and HTTP
 * call; default 10), "keep_messages" (per conversation in the local store;
 * default 1000, 0: all), "keep_days" (default 0: no age limit) and
 * "upload_chunk_bytes" (bytes of a file per upload request; default 1 MiB) and "device_key" (64 hex digits:
 * the 32-byte key from the platform keystore that seals this device's end-to-end encryption keys; without it the
 * device takes no part in encrypted conversations). Returns NULL (and nothing else happens)
 * when the options are not valid JSON, lack a field, or name a server, directory, CA file or pin that cannot be used;
 * natter_last_error() says which. */
natter_client* natter_client_create(const char* options_json);

/* Why the last natter_client_create on this thread returned NULL: a sentence
 * naming what was wrong ("" after one that succeeded). Valid until the next
 * natter_client_create on this thread. */
const char* natter_last_error(void);

/* Queues a request: {"@type":"send_message", ..., "@extra": anything}. Its
 * answer comes back as an event carrying the same "@extra". Malformed JSON
 * produces an "error" event, never a crash. */
void natter_client_send(natter_client* client, const char* request_json);

/* The next event as JSON, waiting up to timeout_seconds; NULL when none came.
 * The string stays valid until the calling thread's next call of
 * natter_client_receive (on any client); receiving on several threads at once
 * is safe. */
const char* natter_client_receive(natter_client* client, double timeout_seconds);

/* Stops the client's thread and frees it. Pending sends stay in the local
 * store and go out after the next start. */
void natter_client_destroy(natter_client* client);

/* What a push notification from natterd names, so the app opens the right
 * chat; needs no client (a notification extension may call it). payload_json:
 * the APNs payload (the notification's userInfo), or the FCM message or its
 * data map. Returns {"conversation_id", "seq", "kind", "badge"} as JSON
 * ("kind": "message", "badge" or "clear"), valid until this thread's next
 * call; NULL when it is not natterd's, and natter_last_error() says why. */
const char* natter_read_push(const char* payload_json);

#ifdef __cplusplus
}
#endif

#endif /* NATTER_NATTER_H_ */
