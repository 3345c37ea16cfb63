#ifndef HALLSYNC_CCURL_SHIM_H
#define HALLSYNC_CCURL_SHIM_H

#include <curl/curl.h>

/*
 * curl_easy_setopt and curl_easy_getinfo are variadic, and Swift cannot call C variadic
 * functions. These non-variadic helpers pass each argument with the type libcurl expects:
 * `long` for numeric options, `curl_off_t` for large sizes, pointers for strings, lists
 * and callbacks.
 */

typedef size_t (*hallsync_curl_write_callback)(char *ptr, size_t size, size_t nmemb, void *userdata);

static inline CURLcode hallsync_curl_setopt_long(CURL *handle, CURLoption option, long value) {
    return curl_easy_setopt(handle, option, value);
}

static inline CURLcode hallsync_curl_setopt_off_t(CURL *handle, CURLoption option, curl_off_t value) {
    return curl_easy_setopt(handle, option, value);
}

static inline CURLcode hallsync_curl_setopt_string(CURL *handle, CURLoption option, const char *value) {
    return curl_easy_setopt(handle, option, value);
}

static inline CURLcode hallsync_curl_setopt_pointer(CURL *handle, CURLoption option, void *value) {
    return curl_easy_setopt(handle, option, value);
}

static inline CURLcode hallsync_curl_setopt_slist(CURL *handle, CURLoption option, struct curl_slist *value) {
    return curl_easy_setopt(handle, option, value);
}

static inline CURLcode hallsync_curl_setopt_write_callback(CURL *handle, CURLoption option, hallsync_curl_write_callback value) {
    return curl_easy_setopt(handle, option, value);
}

/*
 * Abandoning requests in flight at shutdown: libcurl calls the transfer-info callback often
 * while data moves and about once a second while it waits; a non-zero answer makes it stop
 * with CURLE_ABORTED_BY_CALLBACK. The flag is an int owned by the caller, read atomically.
 */
static inline int hallsync_curl_abort_check(void *flag, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal, curl_off_t ulnow) {
    (void)dltotal; (void)dlnow; (void)ultotal; (void)ulnow;
    return __atomic_load_n((int *)flag, __ATOMIC_RELAXED) != 0 ? 1 : 0;
}

static inline CURLcode hallsync_curl_install_abort_flag(CURL *handle, int *flag) {
    CURLcode rc = curl_easy_setopt(handle, CURLOPT_XFERINFOFUNCTION, hallsync_curl_abort_check);
    if (rc != CURLE_OK) return rc;
    rc = curl_easy_setopt(handle, CURLOPT_XFERINFODATA, (void *)flag);
    if (rc != CURLE_OK) return rc;
    return curl_easy_setopt(handle, CURLOPT_NOPROGRESS, 0L);
}

static inline void hallsync_flag_store(int *flag, int value) {
    __atomic_store_n(flag, value, __ATOMIC_RELAXED);
}

static inline CURLcode hallsync_curl_getinfo_long(CURL *handle, CURLINFO info, long *value) {
    return curl_easy_getinfo(handle, info, value);
}

#endif
