#include "relay_shim_opus.h"

int relay_opus_decoder_get_sample_rate(OpusDecoder *dec, int32_t *rate) {
    opus_int32 value = 0;
    int err = opus_decoder_ctl(dec, OPUS_GET_SAMPLE_RATE(&value));
    *rate = value;
    return err;
}
int relay_opus_decoder_reset(OpusDecoder *dec) { return opus_decoder_ctl(dec, OPUS_RESET_STATE); }
int relay_opus_decoder_get_last_packet_duration(OpusDecoder *dec, int32_t *samples) {
    opus_int32 value = 0;
    int err = opus_decoder_ctl(dec, OPUS_GET_LAST_PACKET_DURATION(&value));
    *samples = value;
    return err;
}
