#include "relay_shim_x264.h"

x264_t *relay_x264_encoder_open(x264_param_t *param) { return x264_encoder_open(param); }
int relay_x264_build(void) { return X264_BUILD; }
