// relayd-fuzz: libFuzzer driver for relayd's parsers (see Fuzz/README.md and `make fuzz`).
//
//   relayd-fuzz list                          the targets
//   relayd-fuzz seed <Fixtures dir> <corpus>  writes <corpus>/<target>/seed-N for every target
//   relayd-fuzz <target> [libFuzzer args]     fuzzes (in the instrumented build, `make fuzz`);
//                                             in the normal build, replays the files and
//                                             directories given instead
import CFuzzerDriver
import Foundation
import RelayFuzzTargets

/// The target named on the command line, read by the C callback (which cannot capture).
enum Selected {
    static let target: FuzzTarget? = CommandLine.arguments.count > 1 ? FuzzTargets.target(named: CommandLine.arguments[1]) : nil
}

let callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> Int32 = { data, size in
    guard let target = Selected.target else { return 0 }
    target.run(data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? [])
    return 0
}

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data((message + "\n").utf8))
    exit(2)
}

let arguments = CommandLine.arguments
let names = FuzzTargets.all.map(\.name).joined(separator: " ")
guard arguments.count > 1 else { fail("usage: relayd-fuzz list | seed <fixtures> <corpus> | <target> [args]; targets: \(names)") }

switch arguments[1] {
case "list":
    print(names)
case "seed":
    guard arguments.count == 4 else { fail("usage: relayd-fuzz seed <Fixtures dir> <corpus dir>") }
    let corpus = URL(fileURLWithPath: arguments[3])
    for (name, seeds) in FuzzSeeds.all(fixtures: URL(fileURLWithPath: arguments[2])).sorted(by: { $0.key < $1.key }) {
        let directory = corpus.appendingPathComponent(name)
        do {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            for (index, seed) in seeds.enumerated() where !seed.isEmpty {
                try Data(seed).write(to: directory.appendingPathComponent("seed-\(index)"))
            }
        } catch {
            fail("cannot write seeds to \(directory.path): \(error)")
        }
        print("\(name): \(seeds.filter { !$0.isEmpty }.count) seeds")
    }
default:
    guard let target = Selected.target else { fail("unknown target \(arguments[1]); targets: \(names)") }
    // libFuzzer reads its own argv: everything but the target name.
    let fuzzerArguments = [arguments[0]] + arguments.dropFirst(2)
    var cArguments: [UnsafeMutablePointer<CChar>?] = fuzzerArguments.map { strdup($0) } + [nil]
    let status = cArguments.withUnsafeMutableBufferPointer { buffer -> Int32 in
        var argc = Int32(fuzzerArguments.count)
        var argv = buffer.baseAddress
        return relay_fuzzer_run(&argc, &argv, callback)
    }
    guard status == -1 else { exit(status) }
    // Not built with libFuzzer: replay the given files (directories: every file in them).
    var replayed = 0
    for path in arguments.dropFirst(2) where !path.hasPrefix("-") {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else { fail("no such file: \(path)") }
        let files = isDirectory.boolValue
            ? ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []).sorted().map { path + "/" + $0 }
            : [path]
        for file in files {
            guard let data = FileManager.default.contents(atPath: file) else { continue }
            target.run([UInt8](data))
            replayed += 1
        }
    }
    print("\(target.name): replayed \(replayed) inputs without a crash (uninstrumented build; `make fuzz` fuzzes)")
}
