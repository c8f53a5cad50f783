#ifndef RELAY_SHIM_X264_H
#define RELAY_SHIM_X264_H
#include <stdint.h>
#include <x264.h>

/// x264_encoder_open is a macro that names the ABI-versioned symbol (x264_encoder_open_164).
x264_t *relay_x264_encoder_open(x264_param_t *param);
/// The X264_BUILD this shim was compiled against.
int relay_x264_build(void);
#endif
