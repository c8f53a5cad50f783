#ifndef RELAY_SHIM_CURL_H
#define RELAY_SHIM_CURL_H
#include <stddef.h>
#include <curl/curl.h>

/// curl_global_init(CURL_GLOBAL_DEFAULT): the flag is a macro expression.
CURLcode relay_curl_global_init(void);

/// curl_easy_setopt / curl_easy_getinfo are variadic: one wrapper per argument type.
CURLcode relay_curl_setopt_long(CURL *easy, CURLoption option, long value);
CURLcode relay_curl_setopt_offset(CURL *easy, CURLoption option, curl_off_t value);
CURLcode relay_curl_setopt_pointer(CURL *easy, CURLoption option, void *value);
CURLcode relay_curl_setopt_string(CURL *easy, CURLoption option, const char *value);
/// CURLOPT_*_BLOB: curl copies the bytes (CURL_BLOB_COPY).
CURLcode relay_curl_setopt_blob(CURL *easy, CURLoption option, const void *data, size_t length);

typedef size_t (*relay_curl_data_callback)(char *data, size_t size, size_t count, void *user);
typedef int (*relay_curl_xferinfo_callback)(void *user, curl_off_t dltotal, curl_off_t dlnow,
                                            curl_off_t ultotal, curl_off_t ulnow);
/// CURLOPT_WRITEFUNCTION / CURLOPT_HEADERFUNCTION.
CURLcode relay_curl_setopt_data_callback(CURL *easy, CURLoption option, relay_curl_data_callback callback);
/// CURLOPT_XFERINFOFUNCTION (and turns CURLOPT_NOPROGRESS off).
CURLcode relay_curl_setopt_xferinfo(CURL *easy, relay_curl_xferinfo_callback callback, void *user);

CURLcode relay_curl_getinfo_long(CURL *easy, CURLINFO info, long *value);

/// Next CURLMSG_DONE message of a multi handle: returns 1 and fills `easy`/`result`, or 0
/// when none is left. (CURLMsg carries its result in an anonymous union.)
int relay_curl_multi_next_done(CURLM *multi, CURL **easy, CURLcode *result);
#endif
