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

static inline CURLcode hallsync_curl_getinfo_long(CURL *handle, CURLINFO info, long *value) {
    return curl_easy_getinfo(handle, info, value);
}

#endif
