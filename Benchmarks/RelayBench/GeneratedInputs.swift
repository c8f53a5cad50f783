import Foundation

/// The large inputs, made with ffmpeg at bench time into a temporary directory (never
/// committed): ten seconds of 1280x720 at 30 fps testsrc2, as a browser would send it —
/// H.264 constrained baseline without B-frames, and VP8 without alt-ref (hidden) frames.
struct GeneratedInputs {
    static let seconds = 10
    static let frameRate = 30
    static let bitrateKbps = 2500

    let directory: URL
    let h264: URL
    let vp8: URL

    static func make() throws -> GeneratedInputs {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("relayd-bench-\(getpid())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let h264 = directory.appendingPathComponent("testsrc2-720p30.h264")
        let vp8 = directory.appendingPathComponent("testsrc2-720p30.ivf")
        let source = ["-v", "error", "-y", "-f", "lavfi", "-i", "testsrc2=size=1280x720:rate=\(frameRate)", "-t", "\(seconds)",
                      "-pix_fmt", "yuv420p"]
        let rate = ["-b:v", "\(bitrateKbps)k", "-maxrate", "\(bitrateKbps)k", "-bufsize", "\(bitrateKbps)k", "-g", "60"]
        _ = try ChildProcess.check("ffmpeg", source + ["-c:v", "libx264", "-profile:v", "baseline", "-bf", "0", "-preset", "veryfast",
                                                        "-tune", "zerolatency"] + rate + ["-f", "h264", h264.path])
        _ = try ChildProcess.check("ffmpeg", source + ["-c:v", "libvpx", "-deadline", "realtime", "-cpu-used", "8", "-auto-alt-ref", "0",
                                                        "-lag-in-frames", "0"] + rate + ["-f", "ivf", vp8.path])
        return GeneratedInputs(directory: directory, h264: h264, vp8: vp8)
    }

    func remove() { try? FileManager.default.removeItem(at: directory) }
}
