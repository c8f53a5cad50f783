#ifndef RELAY_SHIM_MHD_H
#define RELAY_SHIM_MHD_H
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/socket.h>
#include <microhttpd.h>

/// Where libmicrohttpd's error log goes: MHD's logger is printf-style (va_list), which Swift
/// cannot format, so the shim formats it and hands over one finished line.
/// The sink must outlive the daemon.
struct relay_mhd_log_sink {
    void (*log)(void *cls, const char *message);
    void *cls;
};

/// Why relay_mhd_start returned NULL.
enum relay_mhd_start_failure {
    RELAY_MHD_START_OK = 0,
    /// `host` is not a numeric IPv4/IPv6 address nor a name that resolves locally.
    RELAY_MHD_START_BAD_HOST = 1,
    /// MHD_start_daemon failed (port in use, bad TLS material, …); the log sink has the reason.
    RELAY_MHD_START_DAEMON_FAILED = 2,
    /// TLS requested but this libmicrohttpd was built without it.
    RELAY_MHD_START_NO_TLS = 3,
};

/// MHD_start_daemon is variadic; this takes the options relayd uses as plain parameters.
/// Always: internal polling thread (epoll where available, else poll), suspend/resume
/// (which implies MHD_USE_ITC), error log routed to `log_sink`.
/// `tls_cert_pem`/`tls_key_pem` both NULL for plain HTTP.
struct MHD_Daemon *relay_mhd_start(const char *host, uint16_t port,
                                   unsigned int connection_limit,
                                   unsigned int connection_timeout_seconds,
                                   const char *tls_cert_pem, const char *tls_key_pem,
                                   MHD_AccessHandlerCallback access_handler, void *access_cls,
                                   MHD_RequestCompletedCallback completed, void *completed_cls,
                                   struct relay_mhd_log_sink *log_sink,
                                   enum relay_mhd_start_failure *failure);

/// The port the daemon really listens on (0 if unknown). MHD_get_daemon_info is variadic.
uint16_t relay_mhd_bound_port(struct MHD_Daemon *daemon);

/// Writes "ip:port" ("[v6]:port" for IPv6) of the peer into `buffer`; returns 0 if unknown.
/// MHD_get_connection_info is variadic.
int relay_mhd_client_address(struct MHD_Connection *connection, char *buffer, size_t size);
#endif
