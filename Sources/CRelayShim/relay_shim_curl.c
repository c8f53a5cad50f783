#include "relay_shim_curl.h"

CURLcode relay_curl_global_init(void) { return curl_global_init(CURL_GLOBAL_DEFAULT); }

CURLcode relay_curl_setopt_long(CURL *easy, CURLoption option, long value) {
    return curl_easy_setopt(easy, option, value);
}

CURLcode relay_curl_setopt_offset(CURL *easy, CURLoption option, curl_off_t value) {
    return curl_easy_setopt(easy, option, value);
}

CURLcode relay_curl_setopt_pointer(CURL *easy, CURLoption option, void *value) {
    return curl_easy_setopt(easy, option, value);
}

CURLcode relay_curl_setopt_string(CURL *easy, CURLoption option, const char *value) {
    return curl_easy_setopt(easy, option, value);
}

CURLcode relay_curl_setopt_blob(CURL *easy, CURLoption option, const void *data, size_t length) {
    struct curl_blob blob;
    blob.data = (void *)data;
    blob.len = length;
    blob.flags = CURL_BLOB_COPY;
    return curl_easy_setopt(easy, option, &blob);
}

CURLcode relay_curl_setopt_data_callback(CURL *easy, CURLoption option, relay_curl_data_callback callback) {
    return curl_easy_setopt(easy, option, callback);
}

CURLcode relay_curl_setopt_xferinfo(CURL *easy, relay_curl_xferinfo_callback callback, void *user) {
    CURLcode rc = curl_easy_setopt(easy, CURLOPT_XFERINFOFUNCTION, callback);
    if (rc != CURLE_OK) return rc;
    rc = curl_easy_setopt(easy, CURLOPT_XFERINFODATA, user);
    if (rc != CURLE_OK) return rc;
    return curl_easy_setopt(easy, CURLOPT_NOPROGRESS, 0L);
}

CURLcode relay_curl_getinfo_long(CURL *easy, CURLINFO info, long *value) {
    return curl_easy_getinfo(easy, info, value);
}

int relay_curl_multi_next_done(CURLM *multi, CURL **easy, CURLcode *result) {
    int left = 0;
    CURLMsg *message;
    while ((message = curl_multi_info_read(multi, &left)) != NULL) {
        if (message->msg == CURLMSG_DONE) {
            *easy = message->easy_handle;
            *result = message->data.result;
            return 1;
        }
    }
    return 0;
}
