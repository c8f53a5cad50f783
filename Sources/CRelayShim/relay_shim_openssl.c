#include "relay_shim_openssl.h"
#include <openssl/ec.h>
#include <openssl/objects.h>

EVP_PKEY *relay_openssl_generate_p256_key(void) { return EVP_EC_gen("P-256"); }

int relay_openssl_x509_set_self_name(X509 *cert, const char *common_name) {
    X509_NAME *name = X509_get_subject_name(cert);
    if (name == NULL) return 0;
    if (X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)common_name, -1, -1, 0) != 1)
        return 0;
    return X509_set_issuer_name(cert, name);
}

int relay_openssl_prepare_dtls_context(SSL_CTX *ctx) {
    if (SSL_CTX_set_min_proto_version(ctx, DTLS1_2_VERSION) != 1) return 0;
    if (SSL_CTX_set_max_proto_version(ctx, DTLS1_2_VERSION) != 1) return 0;
    SSL_CTX_set_options(ctx, SSL_OP_NO_QUERY_MTU | SSL_OP_NO_TICKET | SSL_OP_NO_RENEGOTIATION);
    if (SSL_CTX_set1_groups_list(ctx, "X25519:P-256:P-384") != 1) return 0;
    return 1;
}

int relay_openssl_dtls_set_link_mtu(SSL *ssl, long mtu) { return (int)DTLS_set_link_mtu(ssl, mtu); }

int relay_openssl_dtls_handle_timeout(SSL *ssl) { return (int)DTLSv1_handle_timeout(ssl); }

int relay_openssl_bio_set_mem_eof_return(BIO *bio, int value) { return (int)BIO_set_mem_eof_return(bio, value); }

int relay_openssl_bio_reset(BIO *bio) { return (int)BIO_reset(bio); }
