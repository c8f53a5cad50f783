/// Received STUN: requests are authenticated and answered, responses complete checks.
extension ICEAgent {
    /// Feeds one received datagram (the driver demultiplexes by first byte, RFC 7983; anything
    /// that is not a well-formed STUN message is counted and dropped). `to` is the local address
    /// it arrived on.
    /// A socket bound to the wildcard address may pass `0.0.0.0:port` / `[::]:port` as `to`;
    /// it then stands for the local candidate of that family and port.
    public mutating func handle(datagram: [UInt8], from remote: SocketAddress, to receivedOn: SocketAddress, now: Instant) {
        guard state != .closed else { return }
        lastNow = now
        let local = resolveLocal(receivedOn)
        let decoded: DecodedSTUNMessage
        do {
            decoded = try STUNMessage.decode(datagram)
        } catch {
            statistics.malformed += 1
            return
        }
        if decoded.hasFingerprint, !decoded.isFingerprintValid {
            statistics.fingerprintFailures += 1
            return
        }
        guard decoded.message.method == .binding else { return }
        switch decoded.message.messageClass {
        case .request:
            handleRequest(decoded, from: remote, to: local, now: now)
        case .successResponse, .errorResponse:
            handleResponse(decoded, from: remote, to: local, now: now)
        case .indication:
            break  // Binding indications are keepalives; nothing to do.
        }
    }

    func resolveLocal(_ address: SocketAddress) -> SocketAddress {
        guard address.isUnspecified else { return address }
        return localCandidates.first { $0.address.family == address.family && $0.address.port == address.port }?.address
            ?? address
    }

    /// The local ufrag a Binding request is addressed to (the part of USERNAME before ':'), so a
    /// server with one socket for many agents (an SFU) can pick the agent. Nil for anything else.
    public static func targetUfrag(ofRequest datagram: [UInt8]) -> String? {
        guard STUNMessage.looksLikeSTUN(datagram),
              let decoded = try? STUNMessage.decode(datagram),
              decoded.message.messageClass == .request,
              let username = decoded.message.username,
              let colon = username.firstIndex(of: ":")
        else { return nil }
        return String(username[..<colon])
    }

    // MARK: requests

    mutating func handleRequest(_ decoded: DecodedSTUNMessage, from remote: SocketAddress,
                                to local: SocketAddress, now: Instant) {
        statistics.requestsReceived += 1
        let request = decoded.message
        guard let username = request.username, decoded.hasIntegrity else {
            respondError(.badRequest, to: request, from: local, to: remote, signed: false)
            return
        }
        guard username.hasPrefix("\(localCredentials.ufrag):"),
              decoded.isIntegrityValid(key: STUNMessage.shortTermKey(password: localCredentials.password))
        else {
            statistics.integrityFailures += 1
            respondError(.unauthenticated, to: request, from: local, to: remote, signed: false)
            return
        }

        // Role conflict (RFC 8445 §7.3.1.1). A lite agent is always controlled and never argues.
        if mode != .lite {
            if role == .controlling, let theirs = request.iceControlling {
                statistics.roleConflicts += 1
                if tieBreaker >= theirs {
                    respondError(.roleConflict, to: request, from: local, to: remote, signed: true)
                    return
                }
                switchRole(to: .controlled)
            } else if role == .controlled, let theirs = request.iceControlled {
                statistics.roleConflicts += 1
                if tieBreaker >= theirs {
                    switchRole(to: .controlling)
                } else {
                    respondError(.roleConflict, to: request, from: local, to: remote, signed: true)
                    return
                }
            }
        }

        respondSuccess(to: request, from: local, to: remote)

        if mode == .lite {
            liteReceivedCheck(request, from: remote, to: local, now: now)
        } else {
            fullReceivedCheck(request, from: remote, to: local, now: now)
        }
    }

    /// Lite: the peer's check is our only evidence; USE-CANDIDATE picks the pair.
    mutating func liteReceivedCheck(_ request: STUNMessage, from remote: SocketAddress,
                                    to local: SocketAddress, now: Instant) {
        if let selection = liteSelection, selection.local == local, selection.remote == remote {
            lastConsent = now
        }
        guard request.hasUseCandidate else { return }
        let localPriority = localCandidates.first { $0.address == local }?.priority
            ?? ICECandidate.priority(kind: .host)
        let remotePriority = request.priority ?? ICECandidate.priority(kind: .peerReflexive)
        let priority = ICECandidate.pairPriority(controlling: remotePriority, controlled: localPriority)
        let isNew = liteSelection.map { $0.local != local || $0.remote != remote } ?? true
        if isNew {
            // A different nominated pair wins only with a higher priority, or if we were cut off.
            if let current = liteSelection, state == .connected, priority <= current.priority { return }
            liteSelection = (local, remote, priority)
            events.append(.selectedPair(local: local, remote: remote))
        }
        becomeConnected(now: now)
    }

    /// Full agent: learn peer-reflexive candidates, queue a triggered check, honour nomination.
    mutating func fullReceivedCheck(_ request: STUNMessage, from remote: SocketAddress,
                                    to local: SocketAddress, now: Instant) {
        if !localCandidates.contains(where: { $0.address == local }) {
            addLocalCandidate(.host(local))
        }
        if !remoteCandidates.contains(where: { $0.address == remote }) {
            let priority = request.priority ?? ICECandidate.priority(kind: .peerReflexive)
            addRemoteCandidate(ICECandidate(foundation: "prflx", priority: priority, address: remote, kind: .peerReflexive))
        }
        guard let index = pairs.firstIndex(where: { $0.local.address == local && $0.remote.address == remote }) else {
            return  // maxPairs reached
        }
        if state == .new { state = .checking }
        if role == .controlled, request.hasUseCandidate {
            pairs[index].nominated = true
            if pairs[index].state == .succeeded {
                select(pairIndex: index, now: now)
                return
            }
        }
        switch pairs[index].state {
        case .waiting, .failed:
            if pairs[index].state == .failed {
                pairs[index].state = .waiting
                failureReported = false
                if state == .failed { state = .checking }
            }
            if !triggeredQueue.contains(index) { triggeredQueue.append(index) }
        case .inProgress, .succeeded:
            break
        }
    }

    mutating func switchRole(to newRole: ICERole) {
        guard role != newRole else { return }
        role = newRole
    }

    mutating func respondSuccess(to request: STUNMessage, from local: SocketAddress, to remote: SocketAddress) {
        var attributes: [STUNAttribute] = [.xorMappedAddress(remote)]
        if let software = configuration.software { attributes.insert(.software(software), at: 0) }
        let response = STUNMessage(messageClass: .successResponse, transactionID: request.transactionID,
                                   attributes: attributes)
        let bytes = response.encode(integrityKey: STUNMessage.shortTermKey(password: localCredentials.password))
        transmits.append(ICETransmit(source: local, destination: remote, bytes: bytes))
    }

    mutating func respondError(_ error: STUNErrorCode, to request: STUNMessage, from local: SocketAddress,
                               to remote: SocketAddress, signed: Bool) {
        let response = STUNMessage(messageClass: .errorResponse, transactionID: request.transactionID,
                                   attributes: [.errorCode(error)])
        let key = signed ? STUNMessage.shortTermKey(password: localCredentials.password) : nil
        transmits.append(ICETransmit(source: local, destination: remote, bytes: response.encode(integrityKey: key)))
    }

    // MARK: responses

    mutating func handleResponse(_ decoded: DecodedSTUNMessage, from remote: SocketAddress,
                                 to local: SocketAddress, now: Instant) {
        let response = decoded.message
        guard let transaction = transactions[response.transactionID], let remoteCredentials else { return }
        // An unsigned or wrongly signed answer may be forged: ignore it and keep retransmitting.
        guard decoded.isIntegrityValid(key: STUNMessage.shortTermKey(password: remoteCredentials.password)) else {
            statistics.integrityFailures += 1
            return
        }
        statistics.responsesReceived += 1
        transactions[response.transactionID] = nil
        let index = transaction.pairIndex

        if response.messageClass == .errorResponse {
            let error = response.errorCode ?? STUNErrorCode(code: 500, reason: "error response without ERROR-CODE")
            if error.code == 487, transaction.purpose == .connectivity {
                // RFC 8445 §7.2.5.1: switch to the opposite of the role the request claimed, retry.
                statistics.roleConflicts += 1
                switchRole(to: transaction.sentAsRole == .controlling ? .controlled : .controlling)
                pairs[index].state = .waiting
                if !triggeredQueue.contains(index) { triggeredQueue.append(index) }
            } else if transaction.purpose == .connectivity {
                pairFailed(index, reason: "\(transaction.destination) answered \(error)")
            }
            return
        }

        // Non-symmetric addresses mean the answer did not take the pair's path.
        guard remote == transaction.destination, local == transaction.source else {
            if transaction.purpose == .connectivity {
                pairFailed(index, reason: "answer from \(remote) to \(local) does not match the check's path")
            }
            return
        }

        if let selectedIndex, pairs[selectedIndex].local.address == local, pairs[selectedIndex].remote.address == remote {
            lastConsent = now
        }
        guard transaction.purpose == .connectivity else { return }
        pairs[index].state = .succeeded
        if transaction.useCandidate, transaction.sentAsRole == .controlling, role == .controlling {
            pairs[index].nominated = true
        }
        if pairs[index].nominated, state != .disconnected {
            select(pairIndex: index, now: now)
        }
    }
}
