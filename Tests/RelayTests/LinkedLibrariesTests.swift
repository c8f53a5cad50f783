import CAVCodec
import CAVUtil
import COpus
import CRelayShim
import CX264
import Relay
import Testing

/// Every C library is linked and answers now, so a missing -dev package fails CI today.
@Suite struct LinkedLibrariesTests {
    @Test func everyLibraryReportsAVersion() {
        let libs = LinkedLibraries.all
        #expect(libs.map(\.name) == [
            "libcurl", "libmicrohttpd", "openssl", "libsrtp2", "x264", "opus",
            "libavcodec", "libavutil", "libswscale",
        ])
        for lib in libs {
            #expect(lib.version.contains { $0.isNumber }, "\(lib.name) reported '\(lib.version)'")
        }
    }

    @Test func x264OpensThroughTheShim() throws {
        var param = x264_param_t()
        #expect(x264_param_default_preset(&param, "veryfast", "zerolatency") == 0)
        param.i_width = 64
        param.i_height = 64
        param.i_csp = X264_CSP_I420
        let encoder = try #require(relay_x264_encoder_open(&param))
        x264_encoder_close(encoder)
    }

    @Test func opusControlThroughTheShim() throws {
        var err: Int32 = 0
        let decoder = try #require(opus_decoder_create(48000, 2, &err))
        defer { opus_decoder_destroy(decoder) }
        var rate: Int32 = 0
        #expect(relay_opus_decoder_get_sample_rate(decoder, &rate) == OPUS_OK)
        #expect(rate == 48000)
    }

    @Test func ffmpegHasTheCodecsThePipelineNeeds() {
        #expect(avcodec_find_decoder(AV_CODEC_ID_VP8) != nil)
        #expect(avcodec_find_decoder(AV_CODEC_ID_H264) != nil)
        #expect(avcodec_find_encoder(AV_CODEC_ID_AAC) != nil)
    }
}
