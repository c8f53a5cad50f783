import Foundation
import Relay

/// The fuzz targets: each feeds arbitrary bytes to one of relayd's parsers of outside input
/// through its public API, and, when the bytes parse, exercises what the relay does next with the
/// result (serialize again, answer, depacketize). A target must never crash on any input: a
/// crash (or an AddressSanitizer report in the fuzz build) is a bug in the parser.
///
/// `relayd-fuzz <name>` runs one under libFuzzer; Tests/RelayTests/Fuzz replays the seeds and
/// Fuzz/regressions/<name>/ through the same functions in `make test`.
public struct FuzzTarget: Sendable {
    public let name: String
    public let run: @Sendable ([UInt8]) -> Void
}

public enum FuzzTargets {
    public static let all: [FuzzTarget] = [
        FuzzTarget(name: "stun", run: stun),
        FuzzTarget(name: "sdp", run: sdp),
        FuzzTarget(name: "rtp", run: rtp),
        FuzzTarget(name: "rtcp", run: rtcp),
        FuzzTarget(name: "h264", run: h264),
        FuzzTarget(name: "vp8", run: vp8),
        FuzzTarget(name: "amf0", run: amf0),
        FuzzTarget(name: "rtmp-chunks", run: rtmpChunks),
        FuzzTarget(name: "flv", run: flv),
        FuzzTarget(name: "calls-json", run: callsJSON),
        FuzzTarget(name: "config-yaml", run: configYAML),
        FuzzTarget(name: "pcap", run: pcap),
        FuzzTarget(name: "ivf", run: ivf),
        FuzzTarget(name: "ogg-opus", run: oggOpus),
        FuzzTarget(name: "h264-params", run: h264Parameters),
        FuzzTarget(name: "aac", run: aac),
    ]

    public static func target(named name: String) -> FuzzTarget? { all.first { $0.name == name } }

    // MARK: WebRTC

    static func stun(_ bytes: [UInt8]) {
        guard let decoded = try? STUNMessage.decode(bytes) else { return }
        _ = decoded.isIntegrityValid(key: STUNMessage.shortTermKey(password: "fuzz-password"))
        _ = decoded.isFingerprintValid
        _ = try? STUNMessage.decode(decoded.message.encode())
    }

    static func sdp(_ bytes: [UInt8]) {
        guard let offer = try? SDP.parse(bytes: bytes) else { return }
        _ = try? SDP.parse(offer.serialized)
        let local = LocalMediaParameters(
            iceUfrag: "fuzz", icePwd: "fuzzfuzzfuzzfuzzfuzzfuzz",
            fingerprint: SDPFingerprint(algorithm: "sha-256", value: "00:11"), sessionId: 1)
        _ = SDP.makeAnswer(toOffer: offer, local: local).serialized
        _ = SDP.makeAnswer(toOffer: offer, local: local, options: SDPAnswerOptions(singleCodec: true, acceptSimulcast: true))
        if let text = String(validating: bytes, as: UTF8.self) {
            _ = try? SDPGuestOfferPolicy().prepare(offer: text)
        }
    }

    static func rtp(_ bytes: [UInt8]) {
        _ = PacketDemux.classify(bytes)
        guard let view = try? RTPPacketView.parse(bytes) else { return }
        _ = view.csrcs(in: bytes)
        _ = view.extensionElements(in: bytes)
        _ = view.rtxOriginalSequenceNumber(in: bytes)
        for id in [UInt8(1), 3, 15] { _ = view.extensionElement(id: id, in: bytes) }
    }

    static func rtcp(_ bytes: [UInt8]) {
        guard let packets = try? RTCPCompound.parse(bytes) else { return }
        _ = try? RTCPCompound.parse(RTCPCompound.serialize(packets))
    }

    // MARK: Depacketizers

    static func h264(_ bytes: [UInt8]) {
        var depacketizer = H264Depacketizer(maxAccessUnitBytes: 64 << 10)
        forEachPacket(bytes) { payload, timestamp, sequence, marker in
            if let unit = depacketizer.push(payload: payload, timestamp: timestamp, sequence: sequence, marker: marker),
               unit.isKeyframe {
                forEachAVCCNAL(unit.avcc) { nal in
                    if nal.first.map({ $0 & 0x1F }) == 7 { _ = try? H264SPS(nal: nal) }
                }
            }
            _ = depacketizer.takeKeyframeRequest()
        }
    }

    static func vp8(_ bytes: [UInt8]) {
        var depacketizer = VP8Depacketizer(maxFrameBytes: 64 << 10)
        forEachPacket(bytes) { payload, timestamp, sequence, marker in
            _ = depacketizer.push(payload: payload, timestamp: timestamp, sequence: sequence, marker: marker)
            _ = depacketizer.takeKeyframeRequest()
        }
    }

    // MARK: RTMP / FLV

    static func amf0(_ bytes: [UInt8]) {
        guard let values = try? AMF0.decodeAll(bytes) else { return }
        _ = try? AMF0.decodeAll(AMF0.encode(values))
    }

    /// First byte: the size of the slices the rest is fed in (the chunk reader must not depend on
    /// how TCP splits the stream). The rest: chunks as they arrive after the handshake.
    static func rtmpChunks(_ bytes: [UInt8]) {
        guard let first = bytes.first else { return }
        let sliceSize = Int(first) + 1
        var reader = RTMPChunkReader()
        var offset = 1
        while offset < bytes.count {
            let end = min(bytes.count, offset + sliceSize)
            guard let messages = try? reader.feed(bytes[offset..<end]) else { return }
            offset = end
            for message in messages {
                switch message.typeID {
                case RTMPMessageType.setChunkSize where message.payload.count >= 4:
                    let size = message.payload.prefix(4).reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
                    guard (try? reader.setChunkSize(size)) != nil else { return }
                case RTMPMessageType.abort where message.payload.count >= 4:
                    reader.abort(chunkStreamID: message.payload.prefix(4).reduce(UInt32(0)) { $0 << 8 | UInt32($1) })
                case RTMPMessageType.commandAMF0:
                    _ = try? RTMPCommand(message)
                case RTMPMessageType.dataAMF0:
                    _ = try? AMF0.decodeAll(message.payload)
                case RTMPMessageType.video, RTMPMessageType.audio:
                    flvBody(message.typeID == RTMPMessageType.video ? .video : .audio, message.payload)
                default:
                    break
                }
            }
        }
    }

    static func flv(_ bytes: [UInt8]) {
        guard let file = try? FLVFile(bytes) else { return }
        for tag in file.tags { flvBody(tag.kind, tag.body) }
    }

    /// What the relay (and its fake MediaMTX) reads inside an FLV/RTMP audio or video body.
    static func flvBody(_ kind: FLVTag.Kind, _ body: [UInt8]) {
        _ = FLVVideoTagInfo(body)
        _ = FLVAudioTagInfo(body)
        switch kind {
        case .video:
            // AVC (codec 7) sequence header: the decoder configuration record after 5 bytes.
            if body.count > 5, body[0] & 0x0F == 7, body[1] == 0 {
                if let record = try? AVCDecoderConfiguration(parsing: Array(body[5...])) { _ = record }
            } else if body.count > 5, body[0] & 0x0F == 7 {
                forEachAVCCNAL(Array(body[5...])) { nal in
                    if nal.first.map({ $0 & 0x1F }) == 7 { _ = try? H264SPS(nal: nal) }
                }
            }
        case .audio:
            if body.count > 2, body[0] >> 4 == 10, body[1] == 0 { _ = AAC.parseConfig(Array(body[2...])) }
        case .script:
            _ = try? AMF0.decodeAll(body)
        }
    }

    // MARK: JSON / YAML

    static func callsJSON(_ bytes: [UInt8]) {
        let data = Data(bytes)
        let decoder = JSONDecoder()
        _ = try? decoder.decode(NewSessionResponse.self, from: data)
        _ = try? decoder.decode(TracksResponse.self, from: data)
        _ = try? decoder.decode(SessionStateResponse.self, from: data)
        _ = try? decoder.decode(CallsErrorBody.self, from: data)
        _ = try? decoder.decode(TracksRequest.self, from: data)
        _ = try? decoder.decode(RenegotiateRequest.self, from: data)
        _ = try? decoder.decode(CloseTracksRequest.self, from: data)
    }

    static func configYAML(_ bytes: [UInt8]) {
        // Bigger inputs only slow the fuzzer down (YAML parsing is superlinear in places).
        guard bytes.count <= 16 << 10, let text = String(validating: bytes, as: UTF8.self) else { return }
        let environment = ["RELAYD_CALLS_API_TOKEN": "fuzz-token-0123456789"]
        _ = try? RelayConfig.load(yamlText: text, environment: environment, baseDirectory: "/nonexistent") { _ in
            "token-from-file"
        }
    }

    // MARK: Files

    static func pcap(_ bytes: [UInt8]) { _ = try? Pcap.datagrams(in: bytes) }

    static func ivf(_ bytes: [UInt8]) {
        guard let file = try? IVFReader(bytes) else { return }
        var depacketizer = VP8Depacketizer(maxFrameBytes: 64 << 10)
        for (index, frame) in file.frames.prefix(16).enumerated() {
            // A frame as one packet with an empty-ish descriptor (S=1, partition 0).
            _ = depacketizer.push(payload: [0x10] + frame.data, timestamp: UInt32(truncatingIfNeeded: frame.timestamp),
                                  sequence: UInt64(index), marker: true)
        }
    }

    static func oggOpus(_ bytes: [UInt8]) { _ = try? OggOpusReader(bytes) }

    /// H.264 parameter sets and Annex B streams (the fixture files, x264 output).
    static func h264Parameters(_ bytes: [UInt8]) {
        _ = try? H264SPS(nal: bytes)
        _ = try? AVCDecoderConfiguration(parsing: bytes)
        for unit in AnnexB.accessUnits(bytes) {
            for nal in unit where nal.first.map({ $0 & 0x1F }) == 7 { _ = try? H264SPS(nal: nal) }
        }
    }

    static func aac(_ bytes: [UInt8]) {
        _ = AAC.parseConfig(bytes)
        let (frames, config) = AAC.splitADTS(bytes)
        _ = frames.count
        if let config { _ = AAC.parseConfig(config) }
    }

    // MARK: Input framing

    /// Splits fuzz input into RTP payloads: per packet a flags byte, a 2-byte length (12 bits
    /// used) and the payload. Flags: bit 0 marker, bit 1 next timestamp (+3000), bits 2–3
    /// sequence numbers skipped (loss), bit 4 the packet arrives one sequence number early
    /// (reordering/duplication).
    static func forEachPacket(_ bytes: [UInt8], _ body: ([UInt8], UInt32, UInt64, Bool) -> Void) {
        var offset = 0
        var sequence: UInt64 = 1000
        var timestamp: UInt32 = 90000
        while offset + 3 <= bytes.count {
            let flags = bytes[offset]
            let length = (Int(bytes[offset + 1]) << 8 | Int(bytes[offset + 2])) & 0x0FFF
            offset += 3
            let end = min(bytes.count, offset + length)
            let payload = Array(bytes[offset..<end])
            offset = end
            if flags & 0x02 != 0 { timestamp &+= 3000 }
            sequence += UInt64((flags >> 2) & 0x03)
            let packetSequence = flags & 0x10 != 0 ? sequence - 1 : sequence
            body(payload, timestamp, packetSequence, flags & 0x01 != 0)
            sequence += 1
        }
    }

    /// The NAL units of a 4-byte-length-prefixed (AVCC) buffer, stopping at a bad length.
    static func forEachAVCCNAL(_ bytes: [UInt8], _ body: (ArraySlice<UInt8>) -> Void) {
        var offset = 0
        while offset + 4 <= bytes.count {
            let length = bytes[offset..<offset + 4].reduce(0) { $0 << 8 | Int($1) }
            offset += 4
            guard length <= bytes.count - offset else { return }
            body(bytes[offset..<offset + length])
            offset += length
        }
    }
}
