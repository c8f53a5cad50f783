// Typed wrappers for C APIs that Swift cannot import: variadic functions and function-like
// macros. One header + one .c per library; this umbrella header only includes them.
#ifndef CRELAYSHIM_H
#define CRELAYSHIM_H
#include "relay_shim_x264.h"
#include "relay_shim_opus.h"
#include "relay_shim_av.h"
#include "relay_shim_mhd.h"
#include "relay_shim_curl.h"
#include "relay_shim_openssl.h"
#endif
