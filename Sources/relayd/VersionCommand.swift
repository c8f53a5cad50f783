import ArgumentParser
import Relay

/// `relayd version`: relayd's version and the C libraries it runs with.
struct VersionCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "version",
        abstract: "Print relayd's version and the versions of the C libraries it is linked with.",
        discussion: """
            The library versions are asked from the libraries at run time, so they show what this \
            machine actually loads (useful when an arm64 box and a laptop disagree).
            """
    )

    func run() {
        print("relayd \(RelaydVersion.current)")
        for library in LinkedLibraries.all {
            print("  \(library.name) \(library.version)")
        }
    }
}
