import Foundation
import RelayFuzzTargets
import Testing

/// The fuzz targets (Fuzz/RelayFuzzTargets) in the normal test run: every target's seeds and
/// every input the fuzzer once crashed on (Fuzz/regressions/<target>/) must go through without a
/// crash. A crash here takes the test process down, which is the failure.
@Suite struct FuzzRegressionTests {
    static let regressions = FixturePaths.root.deletingLastPathComponent().appendingPathComponent("Fuzz/regressions")

    @Test func everyTargetHasSeedsAndSurvivesThem() throws {
        let seeds = FuzzSeeds.all(fixtures: FixturePaths.root)
        for target in FuzzTargets.all {
            let inputs = try #require(seeds[target.name], "no seeds for \(target.name)")
            #expect(!inputs.isEmpty && inputs.allSatisfy { !$0.isEmpty }, "empty seed for \(target.name)")
            for input in inputs { target.run(input) }
        }
    }

    @Test func regressionInputsReplayWithoutCrash() throws {
        let directories = (try? FileManager.default.contentsOfDirectory(atPath: Self.regressions.path)) ?? []
        for name in directories.sorted() {
            let directory = Self.regressions.appendingPathComponent(name)
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: directory.path, isDirectory: &isDirectory), isDirectory.boolValue
            else { continue }
            let target = try #require(FuzzTargets.target(named: name), "Fuzz/regressions/\(name) names no fuzz target")
            for file in try FileManager.default.contentsOfDirectory(atPath: directory.path).sorted() {
                target.run([UInt8](try Data(contentsOf: directory.appendingPathComponent(file))))
            }
        }
    }

    /// Truncations and byte flips of the seeds: a cheap stand-in for fuzzing in every `make test`.
    @Test func seedMutationsDoNotCrash() {
        var random = SeededRandom(seed: 0x5EED)
        let seeds = FuzzSeeds.all(fixtures: FixturePaths.root)
        for target in FuzzTargets.all {
            for seed in seeds[target.name] ?? [] {
                let input = Array(seed.prefix(4096))
                for _ in 0..<40 {
                    var mutated = Array(input.prefix(Int(random.next() % UInt64(input.count + 1))))
                    for _ in 0..<(1 + random.next() % 4) where !mutated.isEmpty {
                        mutated[Int(random.next() % UInt64(mutated.count))] = UInt8(truncatingIfNeeded: random.next())
                    }
                    target.run(mutated)
                }
            }
        }
    }
}
