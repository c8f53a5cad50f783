#ifndef RELAY_SHIM_OPENSSL_H
#define RELAY_SHIM_OPENSSL_H
#include <stdint.h>
#include <openssl/ssl.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/bio.h>

/// EVP_EC_gen is a macro over the variadic EVP_PKEY_Q_keygen: a fresh ECDSA P-256 key, or NULL.
EVP_PKEY *relay_openssl_generate_p256_key(void);

/// Adds CN=common_name (ASCII) to the certificate's subject and issuer (self-signed). 1 on success.
int relay_openssl_x509_set_self_name(X509 *cert, const char *common_name);

/// DTLS 1.2 only, no MTU probing (the link MTU is set explicitly), no session tickets, the
/// elliptic-curve groups WebRTC peers offer. Each of these is a macro. 1 on success.
int relay_openssl_prepare_dtls_context(SSL_CTX *ctx);

/// DTLS_set_link_mtu (macro). 1 on success.
int relay_openssl_dtls_set_link_mtu(SSL *ssl, long mtu);

/// DTLSv1_handle_timeout (macro): > 0 when OpenSSL retransmitted, 0 when its timer has not
/// expired, < 0 on failure (too many retransmissions).
int relay_openssl_dtls_handle_timeout(SSL *ssl);

/// BIO_set_mem_eof_return (macro): what an empty memory BIO returns from a read; -1 makes
/// "no datagram yet" a retry instead of end of file.
int relay_openssl_bio_set_mem_eof_return(BIO *bio, int value);

/// BIO_reset (macro): drops whatever is left in a memory BIO.
int relay_openssl_bio_reset(BIO *bio);
#endif
