#ifndef RELAY_SHIM_OPUS_H
#define RELAY_SHIM_OPUS_H
#include <stdint.h>
#include <opus/opus.h>

/// opus_decoder_ctl is variadic; these are the requests the relay uses.
int relay_opus_decoder_get_sample_rate(OpusDecoder *dec, int32_t *rate);
int relay_opus_decoder_reset(OpusDecoder *dec);
int relay_opus_decoder_get_last_packet_duration(OpusDecoder *dec, int32_t *samples);
#endif
