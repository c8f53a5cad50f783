import CAVUtil

/// libavcodec logs to stderr by default: every damaged frame ("decode_slice_header error"),
/// every encoder's closing statistics ("Qavg"). A guest on a lossy link would flood the
/// journal, so the relay counts errors itself and keeps only FFmpeg's fatal messages. The
/// level is process-wide; every codec owner calls `quiet()` before opening a codec.
enum FFmpegLog {
    private static let silenced: Void = av_log_set_level(AV_LOG_FATAL)

    static func quiet() { silenced }
}
