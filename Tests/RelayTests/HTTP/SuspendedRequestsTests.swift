@testable import Relay
import Testing

@Suite struct SuspendedRequestsTests {
    let busy = HTTPResponse(status: 503)

    @Test func answerResumesOnceAndTheAnswerIsCollectedOnce() {
        var requests = SuspendedRequests<String>()
        let id = requests.reserveID()
        let parked = requests.park(id, connection: "c1", orAnswer: busy)
        let first = requests.answer(id, with: HTTPResponse(status: 200))
        let second = requests.answer(id, with: HTTPResponse(status: 201))
        let collected = requests.takeAnswer(id)
        let again = requests.takeAnswer(id)
        #expect(parked)
        #expect(first == "c1")
        #expect(second == nil)
        #expect(collected?.status == 200)
        #expect(again == nil)
        #expect(requests.count == 0)
    }

    @Test func stopReleasesEveryParkedRequestAndRefusesLaterOnes() {
        var requests = SuspendedRequests<String>()
        let a = requests.reserveID(), b = requests.reserveID()
        _ = requests.park(a, connection: "a", orAnswer: busy)
        _ = requests.park(b, connection: "b", orAnswer: busy)
        let released = requests.stopAndReleaseAll(answering: busy)
        #expect(Set(released) == ["a", "b"])
        // The handler finishing later must not resume a second time.
        let late = requests.answer(a, with: HTTPResponse(status: 200))
        let answerA = requests.takeAnswer(a)
        #expect(late == nil)
        #expect(answerA?.status == 503)
        let c = requests.reserveID()
        let parkedC = requests.park(c, connection: "c", orAnswer: busy)
        let answerC = requests.takeAnswer(c)
        #expect(!parkedC)
        #expect(answerC?.status == 503)
        requests.forget(b)
        #expect(requests.count == 0)
        let none = requests.stopAndReleaseAll(answering: busy)
        #expect(none.isEmpty)
    }
}
