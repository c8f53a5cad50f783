import CAVCodec
import CAVUtil
import CCurl
import CMicroHTTPD
import COpenSSL
import COpus
import CRelayShim
import CSRTP
import CSwScale
import CX264

/// The C libraries relayd links, with the versions found at run time. `relayd version` prints
/// these, and a test asks each library for its version so a missing one fails CI at once.
public enum LinkedLibraries {
    public struct Entry: Sendable, Equatable {
        public let name: String
        public let version: String
    }

    public static var all: [Entry] {
        [
            Entry(name: "libcurl", version: String(cString: curl_version())),
            Entry(name: "libmicrohttpd", version: String(cString: MHD_get_version())),
            Entry(name: "openssl", version: String(cString: OpenSSL_version(OPENSSL_VERSION))),
            Entry(name: "libsrtp2", version: String(cString: srtp_get_version_string())),
            Entry(name: "x264", version: "build \(relay_x264_build())"),
            Entry(name: "opus", version: String(cString: opus_get_version_string())),
            Entry(name: "libavcodec", version: avVersion(avcodec_version())),
            Entry(name: "libavutil", version: avVersion(avutil_version())),
            Entry(name: "libswscale", version: avVersion(swscale_version())),
        ]
    }

    /// FFmpeg packs versions as major << 16 | minor << 8 | micro.
    private static func avVersion(_ packed: UInt32) -> String {
        "\(packed >> 16).\((packed >> 8) & 0xFF).\(packed & 0xFF)"
    }
}
