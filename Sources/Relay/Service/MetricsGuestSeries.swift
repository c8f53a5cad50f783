import Foundation
import Prometheus

/// The per-guest series (label `guest`): created when a guest first shows up in a scrape,
/// set from its counters on every scrape, unregistered once it is gone (so a guest that left
/// does not linger in the exposition). Counters are set to the relay's own running totals;
/// a guest that joins again starts from 0, which Prometheus reads as a counter reset.
///
/// @unchecked Sendable: `lock` guards `series`.
final class LockedGuestSeries: @unchecked Sendable {
    enum Kind { case counter, gauge }

    struct Definition: Sendable {
        var name: String
        var help: String
        var kind: Kind
        var labels: [(String, String)] = []
        var value: @Sendable (GuestMetricsSnapshot) -> Int
    }

    static let definitions: [Definition] = [
        .init(name: "relayd_guest_rtp_packets_received_total", help: "RTP packets received from the SFU (after SRTP).",
              kind: .counter, value: { $0.media.rtpPackets }),
        .init(name: "relayd_guest_rtp_bytes_received_total", help: "RTP bytes received from the SFU (after SRTP).",
              kind: .counter, value: { $0.media.rtpBytes }),
        .init(name: "relayd_guest_frames_received_total", help: "Frames received: video frames assembled from RTP, audio Opus frames.",
              kind: .counter, labels: [("kind", "video")], value: { $0.media.videoFrames }),
        .init(name: "relayd_guest_frames_received_total", help: "Frames received: video frames assembled from RTP, audio Opus frames.",
              kind: .counter, labels: [("kind", "audio")], value: { $0.media.audioFrames }),
        .init(name: "relayd_guest_frames_sent_total", help: "Frames published by RTMP (H.264 video, AAC audio).",
              kind: .counter, labels: [("kind", "video")], value: { $0.videoFramesSent }),
        .init(name: "relayd_guest_frames_sent_total", help: "Frames published by RTMP (H.264 video, AAC audio).",
              kind: .counter, labels: [("kind", "audio")], value: { $0.audioFramesSent }),
        .init(name: "relayd_guest_rtmp_bytes_sent_total", help: "Bytes written to the RTMP connection.",
              kind: .counter, value: { $0.rtmpBytesSent }),
        .init(name: "relayd_guest_rtmp_queued_bytes", help: "Media bytes waiting in the RTMP send queue.",
              kind: .gauge, value: { $0.rtmpQueuedBytes }),
        .init(name: "relayd_guest_rtmp_reconnects_total", help: "Times the RTMP publish had to start again after the first.",
              kind: .counter, value: { $0.rtmpReconnects }),
        .init(name: "relayd_guest_packets_lost_total", help: "RTP packets the jitter buffers gave up on (video + audio).",
              kind: .counter, value: { $0.media.packetsLost }),
        .init(name: "relayd_guest_nacks_sent_total", help: "RTP sequence numbers asked for again with RTCP NACK.",
              kind: .counter, value: { $0.media.nacksSent }),
        .init(name: "relayd_guest_plis_sent_total", help: "Keyframe requests (RTCP PLI) sent to the SFU.",
              kind: .counter, value: { $0.media.plisSent }),
        .init(name: "relayd_guest_rtcp_packets_received_total", help: "RTCP packets received from the SFU.",
              kind: .counter, value: { $0.rtcpReceived }),
        .init(name: "relayd_guest_srtp_auth_failures_total", help: "SRTP/SRTCP packets whose authentication failed (dropped).",
              kind: .counter, value: { $0.srtpAuthFailures }),
    ]

    private enum Metric {
        case counter(Counter)
        case gauge(Gauge)
    }

    private let lock = NSLock()
    private var series: [String: [Metric]] = [:]

    func update(_ guests: [GuestMetricsSnapshot], registry: PrometheusCollectorRegistry) {
        lock.withLock {
            let present = Set(guests.map(\.guestId))
            for (guestId, metrics) in series where !present.contains(guestId) {
                for metric in metrics {
                    switch metric {
                    case .counter(let counter): registry.unregisterCounter(counter)
                    case .gauge(let gauge): registry.unregisterGauge(gauge)
                    }
                }
                series[guestId] = nil
            }
            for guest in guests {
                let metrics = series[guest.guestId] ?? Self.definitions.map { definition in
                    let labels = [("guest", guest.guestId)] + definition.labels
                    let descriptor = RelayMetrics.descriptor(definition.name, definition.help)
                    switch definition.kind {
                    case .counter: return .counter(registry.makeCounter(descriptor: descriptor, labels: labels))
                    case .gauge: return .gauge(registry.makeGauge(descriptor: descriptor, labels: labels))
                    }
                }
                series[guest.guestId] = metrics
                for (metric, definition) in zip(metrics, Self.definitions) {
                    let value = max(0, definition.value(guest))
                    switch metric {
                    case .counter(let counter):
                        counter.reset()
                        counter.increment(by: Int64(value))
                    case .gauge(let gauge):
                        gauge.set(Double(value))
                    }
                }
            }
        }
    }
}
