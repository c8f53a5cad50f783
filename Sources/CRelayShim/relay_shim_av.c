#include <errno.h>
#include <libavutil/error.h>
#include "relay_shim_av.h"

int relay_averror_eagain(void) { return AVERROR(EAGAIN); }
int relay_averror_eof(void) { return AVERROR_EOF; }
