#ifndef RELAY_SHIM_AV_H
#define RELAY_SHIM_AV_H
/// FFmpeg's error codes are function-like macros (AVERROR(e), FFERRTAG); these return their values.
int relay_averror_eagain(void);
int relay_averror_eof(void);
#endif
