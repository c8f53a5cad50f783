import Foundation
import Relay

/// Seed inputs per target: the fixture files (Fixtures/) and what the project's own builders and
/// serializers write, so the fuzzer starts from valid inputs and mutates its way into the
/// corners. Generated at run time (`relayd-fuzz seed`), never committed. Media files are cut
/// down to a few frames: small seeds keep the executions per second high.
public enum FuzzSeeds {
    public static func all(fixtures: URL) -> [String: [[UInt8]]] {
        func file(_ path: String) -> [UInt8] {
            (try? Data(contentsOf: fixtures.appendingPathComponent(path))).map { [UInt8]($0) } ?? []
        }
        func files(_ directory: String, _ suffix: String) -> [[UInt8]] {
            let names = (try? FileManager.default.contentsOfDirectory(atPath: fixtures.appendingPathComponent(directory).path)) ?? []
            return names.filter { $0.hasSuffix(suffix) }.sorted().map { file("\(directory)/\($0)") }
        }
        let h264Stream = file("media/testsrc2-320x240-60f.h264")
        let ivfFiles = [file("media/testsrc2-320x240-60f.ivf"), file("video/testsrc2-640x360-30f.ivf")]
        let ivfFrames = ivfFiles.compactMap { try? IVFReader($0) }.flatMap { $0.frames.prefix(3).map(\.data) }

        var seeds: [String: [[UInt8]]] = [:]
        seeds["stun"] = stun()
        seeds["sdp"] = files("sdp", ".sdp")
        seeds["rtp"] = rtp()
        seeds["rtcp"] = rtcp()
        seeds["h264"] = [h264Packets(h264Stream)]
        seeds["vp8"] = [vp8Packets(ivfFrames)]
        seeds["amf0"] = amf0()
        seeds["rtmp-chunks"] = rtmpChunks(h264Stream)
        seeds["flv"] = [flv(h264Stream)]
        seeds["calls-json"] = callsJSON()
        seeds["config-yaml"] = files("config", ".yml") + [file("../config.example.yml")].filter { !$0.isEmpty }
        seeds["pcap"] = [pcap()]
        seeds["ivf"] = ivfFiles.map { shortIVF($0, frames: 3) }
        seeds["ogg-opus"] = files("audio", ".ogg").map { Array($0.prefix(4096)) }
        let units = AnnexB.nalUnits(h264Stream)
        seeds["h264-params"] = [Array(h264Stream.prefix(2048))]
            + units.filter { $0.first.map { $0 & 0x1F == 7 || $0 & 0x1F == 8 } ?? false }.prefix(2).map { Array($0) }
            + [avcRecord(units)].compactMap { $0 }
        seeds["aac"] = [Array(file("rtmp/audio-48k-stereo.aac").prefix(2048))]
            + [AAC.audioSpecificConfig(sampleRate: 48000, channels: 2)].compactMap { $0 }
        return seeds
    }

    static func stun() -> [[UInt8]] {
        let id = STUNTransactionID(high: 0x0102_0304, low: 0x0506_0708_090A_0B0C)
        let request = STUNMessage(messageClass: .request, transactionID: id, attributes: [
            .username("remote:local"), .priority(0x6E00_1EFF), .useCandidate, .iceControlling(tieBreaker: 42),
        ])
        let key = STUNMessage.shortTermKey(password: "fuzz-password")
        return [
            request.encode(integrityKey: key),
            request.encode(),
            STUNMessage(messageClass: .successResponse, transactionID: id).encode(integrityKey: key),
            STUNMessage(messageClass: .request, transactionID: id, attributes: [.iceControlled(tieBreaker: 7)])
                .encode(fingerprint: false),
        ]
    }

    static func rtp() -> [[UInt8]] {
        [
            RTPPacketBuilder(marker: true, payloadType: 96, sequenceNumber: 1, timestamp: 3000, ssrc: 0x1234,
                             payload: [0x90, 0x80, 0x00, 1, 2, 3]).serialize(),
            RTPPacketBuilder(payloadType: 111, sequenceNumber: 65535, timestamp: 960, ssrc: 9, csrcs: [1, 2],
                             extensions: [RTPHeaderExtensionElement(id: 1, data: [0x30]),
                                          RTPHeaderExtensionElement(id: 3, data: [1, 2, 3])],
                             payload: [0xFC, 0xFF], paddingLength: 4).serialize(),
            RTPPacketBuilder(payloadType: 97, sequenceNumber: 5, timestamp: 1, ssrc: 2,
                             extensions: [RTPHeaderExtensionElement(id: 2, data: Array(repeating: 7, count: 20))],
                             payload: [0x00, 0x05, 0x7C, 0x85]).serialize(),
        ]
    }

    static func rtcp() -> [[UInt8]] {
        let block = RTCPReportBlock(ssrc: 5, fractionLost: 3, cumulativeLost: -2, extendedHighestSequence: 70000,
                                    jitter: 10, lastSenderReport: 11, delaySinceLastSenderReport: 12)
        let packets: [RTCPPacket] = [
            .senderReport(RTCPSenderReport(ssrc: 1, ntpTimestamp: 1 << 40, rtpTimestamp: 9000, packetCount: 10,
                                           octetCount: 1000, reports: [block])),
            .receiverReport(RTCPReceiverReport(ssrc: 1, reports: [block, block])),
            .sourceDescription(RTCPSourceDescription(ssrc: 1, cname: "fuzz-cname")),
            .bye(RTCPBye(ssrcs: [1, 2], reason: "bye")),
            .genericNACK(RTCPGenericNACK(senderSSRC: 1, mediaSSRC: 2, lost: [3, 5, 20, 400])),
            .pictureLossIndication(RTCPPictureLossIndication(senderSSRC: 1, mediaSSRC: 2)),
            .fullIntraRequest(RTCPFullIntraRequest(senderSSRC: 1, entries: [.init(ssrc: 2, sequenceNumber: 3)])),
            .receiverEstimatedMaxBitrate(RTCPReceiverEstimatedMaxBitrate(senderSSRC: 1, bitrate: 1_500_000, ssrcs: [2, 3])),
            .transportWideFeedback(RTCPTransportWideFeedback(
                senderSSRC: 1, mediaSSRC: 2, baseSequenceNumber: 100, referenceTime: 5, feedbackPacketCount: 1,
                packets: [.received(100, delta: 4), .notReceived(101), .received(102, delta: -300), .received(103, delta: 1000)])),
        ]
        return packets.map { $0.serialize() } + [RTCPCompound.serialize(packets)]
    }

    /// Packets in the framing `FuzzTargets.forEachPacket` reads.
    static func framed(_ pictures: [[[UInt8]]]) -> [UInt8] {
        var out: [UInt8] = []
        for payloads in pictures {
            for (index, payload) in payloads.enumerated() {
                let last = index == payloads.count - 1
                out.append((last ? 0x01 : 0x00) | (index == 0 ? 0x02 : 0x00))
                out.append(UInt8(payload.count >> 8 & 0x0F))
                out.append(UInt8(payload.count & 0xFF))
                out += payload
            }
        }
        return out
    }

    static func h264Packets(_ stream: [UInt8]) -> [UInt8] {
        let packetizer = H264Packetizer(maxPayloadSize: 300)
        return framed(AnnexB.accessUnits(stream).prefix(3).map { packetizer.payloads(for: $0) })
    }

    static func vp8Packets(_ frames: [[UInt8]]) -> [UInt8] {
        var packetizer = VP8Packetizer(maxPayloadSize: 300)
        return framed(frames.prefix(3).map { packetizer.payloads(for: Array($0.prefix(2000))) })
    }

    static func amf0() -> [[UInt8]] {
        let connect = RTMPCommand(name: "connect", transactionID: 1, arguments: [
            .object([("app", .string("live")), ("tcUrl", .string("rtmp://localhost/live")), ("fpad", .boolean(false)),
                     ("audioCodecs", .number(3575))]),
        ])
        let metadata = FLVTagBody.metadata(FLVMetadata(width: 320, height: 240, frameRate: 30), forRTMP: true)
        return [connect.message().payload, metadata,
                AMF0.encode([.null, .string("x"), .ecmaArray([("k", .number(1))]), .strictArray([.boolean(true)])])]
    }

    static func rtmpChunks(_ stream: [UInt8]) -> [[UInt8]] {
        var writer = RTMPChunkWriter()
        var out: [UInt8] = [0xFF]
        writer.write(RTMPCommand(name: "connect", transactionID: 1, arguments: [.object([("app", .string("live"))])])
            .message(), into: &out)
        let setChunkSize = RTMPMessage(chunkStreamID: RTMPChunkStream.control, timestamp: 0,
                                       typeID: RTMPMessageType.setChunkSize, messageStreamID: 0, payload: [0, 0, 16, 0])
        writer.write(setChunkSize, into: &out)
        writer.setChunkSize(4096)
        let units = AnnexB.accessUnits(stream).prefix(2)
        for (index, unit) in units.enumerated() {
            var body: [UInt8] = []
            FLVTagBody.appendAVCFrameHeader(keyframe: index == 0, compositionTime: 0, into: &body)
            for nal in unit.prefix(3) {
                let count = UInt32(min(nal.count, 200))
                body += [UInt8(count >> 24), UInt8(count >> 16 & 0xFF), UInt8(count >> 8 & 0xFF), UInt8(count & 0xFF)]
                body += nal.prefix(200)
            }
            writer.write(RTMPMessage(chunkStreamID: RTMPChunkStream.video, timestamp: UInt32(index * 33),
                                     typeID: RTMPMessageType.video, messageStreamID: 1, payload: body), into: &out)
        }
        var small = [UInt8(7)]
        var smallWriter = RTMPChunkWriter()
        smallWriter.write(RTMPMessage(chunkStreamID: RTMPChunkStream.audio, timestamp: 0x00FF_FFFF + 5,
                                      typeID: RTMPMessageType.audio, messageStreamID: 1,
                                      payload: FLVTagBody.aacSequenceHeader(config: [0x11, 0x90]) + Array(repeating: 1, count: 300)),
                          into: &small)
        return [out, small]
    }

    static func flv(_ stream: [UInt8]) -> [UInt8] {
        var writer = FLVFileWriter()
        writer.append(FLVTag(kind: .script, timestamp: 0,
                             body: FLVTagBody.metadata(FLVMetadata(width: 320, height: 240, frameRate: 30), forRTMP: false)))
        let units = AnnexB.nalUnits(stream)
        if let record = avcRecord(units) {
            writer.append(FLVTag(kind: .video, timestamp: 0, body: FLVTagBody.avcSequenceHeader(record: record)))
        }
        writer.append(FLVTag(kind: .audio, timestamp: 0, body: FLVTagBody.aacSequenceHeader(config: [0x11, 0x90])))
        writer.append(FLVTag(kind: .audio, timestamp: 21, body: FLVTagBody.aacFrame([1, 2, 3, 4])))
        return writer.bytes
    }

    static func avcRecord(_ units: [ArraySlice<UInt8>]) -> [UInt8]? {
        guard let sps = units.first(where: { $0.first.map { $0 & 0x1F } == 7 }),
              let pps = units.first(where: { $0.first.map { $0 & 0x1F } == 8 }),
              let record = try? AVCDecoderConfiguration(sps: Array(sps), pps: Array(pps)) else { return nil }
        return record.bytes
    }

    static func callsJSON() -> [[UInt8]] {
        [
            #"{"sessionId":"abc123","sessionDescription":{"type":"answer","sdp":"v=0\r\n"}}"#,
            #"{"requiresImmediateRenegotiation":true,"tracks":[{"location":"remote","sessionId":"s","trackName":"video","mid":"1"},{"errorCode":"not_found","errorDescription":"no track"}],"sessionDescription":{"type":"offer","sdp":"v=0"}}"#,
            #"{"tracks":[{"location":"local","mid":"0","trackName":"a","status":"active"}]}"#,
            #"{"errorCode":"invalid_request","errorDescription":"bad"}"#,
            #"{"tracks":[{"mid":"0"},{"mid":"1"}],"force":false,"sessionDescription":{"type":"offer","sdp":"v=0"}}"#,
        ].map { Array($0.utf8) }
    }

    static func pcap() -> [UInt8] {
        var out = Pcap.fileHeader()
        let rtp = RTPPacketBuilder(payloadType: 96, sequenceNumber: 1, timestamp: 1, ssrc: 1, payload: [1, 2, 3]).serialize()
        out += Pcap.record(Pcap.Datagram(timestampMicros: 1_700_000_000_000_000, sourcePort: 5004, destinationPort: 5006, payload: rtp))
        out += Pcap.record(Pcap.Datagram(timestampMicros: 1_700_000_000_020_000, sourcePort: 5008, destinationPort: 5010, payload: [0x80, 0xC8]))
        return out
    }

    /// The 32-byte IVF header and the first frames (each: 4-byte size, 8-byte timestamp, data).
    static func shortIVF(_ bytes: [UInt8], frames: Int) -> [UInt8] {
        guard bytes.count >= 32 else { return bytes }
        var end = 32
        for _ in 0..<frames where end + 12 <= bytes.count {
            let size = Int(bytes[end]) | Int(bytes[end + 1]) << 8 | Int(bytes[end + 2]) << 16 | Int(bytes[end + 3]) << 24
            end = min(bytes.count, end + 12 + size)
        }
        return Array(bytes[..<end])
    }
}
