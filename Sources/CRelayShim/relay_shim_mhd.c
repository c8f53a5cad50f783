#include "relay_shim_mhd.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static void relay_mhd_log_trampoline(void *cls, const char *format, va_list args) {
    struct relay_mhd_log_sink *sink = cls;
    if (sink == NULL || sink->log == NULL) return;
    char line[512];
    vsnprintf(line, sizeof line, format, args);
    size_t n = strlen(line);
    while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r')) line[--n] = '\0';
    sink->log(sink->cls, line);
}

static int relay_hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/// Percent-decodes URLs and query arguments in place like MHD's own unescaper, except that
/// %00 stays as the three characters "%00": MHD hands the result to us as a C string, so a
/// decoded NUL would silently cut "/whip/guest1%00evil" down to "/whip/guest1".
static size_t relay_mhd_unescape(void *cls, struct MHD_Connection *connection, char *text) {
    (void)cls;
    (void)connection;
    char *read = text, *write = text;
    while (*read != '\0') {
        if (read[0] == '%' && read[1] != '\0' && read[2] != '\0') {
            int high = relay_hex_value(read[1]), low = relay_hex_value(read[2]);
            if (high >= 0 && low >= 0 && (high | low) != 0) {
                *write++ = (char)(high * 16 + low);
                read += 3;
                continue;
            }
        }
        *write++ = *read++;
    }
    *write = '\0';
    return (size_t)(write - text);
}

struct MHD_Daemon *relay_mhd_start(const char *host, uint16_t port,
                                   unsigned int connection_limit,
                                   unsigned int connection_timeout_seconds,
                                   const char *tls_cert_pem, const char *tls_key_pem,
                                   MHD_AccessHandlerCallback access_handler, void *access_cls,
                                   MHD_RequestCompletedCallback completed, void *completed_cls,
                                   struct relay_mhd_log_sink *log_sink,
                                   enum relay_mhd_start_failure *failure) {
    *failure = RELAY_MHD_START_OK;

    struct addrinfo hints;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE;
    struct addrinfo *found = NULL;
    if (host == NULL || getaddrinfo(host, NULL, &hints, &found) != 0 || found == NULL) {
        *failure = RELAY_MHD_START_BAD_HOST;
        return NULL;
    }
    struct sockaddr_storage address;
    memset(&address, 0, sizeof address);
    unsigned int flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG;
    if (found->ai_family == AF_INET6) {
        struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&address;
        memcpy(v6, found->ai_addr, sizeof *v6);
        v6->sin6_port = htons(port);
        flags |= MHD_USE_IPv6;
    } else {
        struct sockaddr_in *v4 = (struct sockaddr_in *)&address;
        memcpy(v4, found->ai_addr, sizeof *v4);
        v4->sin_port = htons(port);
    }
    freeaddrinfo(found);

    flags |= (MHD_is_feature_supported(MHD_FEATURE_EPOLL) == MHD_YES) ? MHD_USE_EPOLL : MHD_USE_POLL;
    int tls = tls_cert_pem != NULL && tls_key_pem != NULL;
    if (tls) {
        if (MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES) {
            *failure = RELAY_MHD_START_NO_TLS;
            return NULL;
        }
        flags |= MHD_USE_TLS;
    }

    // Two spelled-out calls rather than an option array: each va_arg type is then exactly the
    // one MHD reads (unsigned int for limits, pointers for callbacks, cls and PEM strings).
    // The logger option comes first so that MHD routes messages about later options through it.
    struct MHD_Daemon *daemon;
    if (tls) {
        daemon = MHD_start_daemon(flags, port, NULL, NULL, access_handler, access_cls,
                                  MHD_OPTION_EXTERNAL_LOGGER, relay_mhd_log_trampoline, (void *)log_sink,
                                  MHD_OPTION_UNESCAPE_CALLBACK, relay_mhd_unescape, NULL,
                                  MHD_OPTION_SOCK_ADDR, (const struct sockaddr *)&address,
                                  MHD_OPTION_CONNECTION_LIMIT, connection_limit,
                                  MHD_OPTION_CONNECTION_TIMEOUT, connection_timeout_seconds,
                                  MHD_OPTION_NOTIFY_COMPLETED, completed, completed_cls,
                                  MHD_OPTION_HTTPS_MEM_CERT, tls_cert_pem,
                                  MHD_OPTION_HTTPS_MEM_KEY, tls_key_pem,
                                  MHD_OPTION_END);
    } else {
        daemon = MHD_start_daemon(flags, port, NULL, NULL, access_handler, access_cls,
                                  MHD_OPTION_EXTERNAL_LOGGER, relay_mhd_log_trampoline, (void *)log_sink,
                                  MHD_OPTION_UNESCAPE_CALLBACK, relay_mhd_unescape, NULL,
                                  MHD_OPTION_SOCK_ADDR, (const struct sockaddr *)&address,
                                  MHD_OPTION_CONNECTION_LIMIT, connection_limit,
                                  MHD_OPTION_CONNECTION_TIMEOUT, connection_timeout_seconds,
                                  MHD_OPTION_NOTIFY_COMPLETED, completed, completed_cls,
                                  MHD_OPTION_END);
    }
    if (daemon == NULL) *failure = RELAY_MHD_START_DAEMON_FAILED;
    return daemon;
}

uint16_t relay_mhd_bound_port(struct MHD_Daemon *daemon) {
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(daemon, MHD_DAEMON_INFO_BIND_PORT);
    return info == NULL ? 0 : info->port;
}

int relay_mhd_client_address(struct MHD_Connection *connection, char *buffer, size_t size) {
    const union MHD_ConnectionInfo *info =
        MHD_get_connection_info(connection, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    if (info == NULL || info->client_addr == NULL || size == 0) return 0;
    char ip[INET6_ADDRSTRLEN];
    const struct sockaddr *peer = info->client_addr;
    if (peer->sa_family == AF_INET) {
        const struct sockaddr_in *v4 = (const struct sockaddr_in *)peer;
        if (inet_ntop(AF_INET, &v4->sin_addr, ip, sizeof ip) == NULL) return 0;
        snprintf(buffer, size, "%s:%u", ip, (unsigned)ntohs(v4->sin_port));
        return 1;
    }
    if (peer->sa_family == AF_INET6) {
        const struct sockaddr_in6 *v6 = (const struct sockaddr_in6 *)peer;
        if (inet_ntop(AF_INET6, &v6->sin6_addr, ip, sizeof ip) == NULL) return 0;
        snprintf(buffer, size, "[%s]:%u", ip, (unsigned)ntohs(v6->sin6_port));
        return 1;
    }
    return 0;
}
