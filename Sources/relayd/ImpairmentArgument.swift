import ArgumentParser
import FakeCalls

extension NetworkImpairment.Profile {
    /// `--impair SPEC` of `demo` and `fake-calls`, parsed once while the arguments are read; a
    /// bad spec is refused with the parser's own words (what to write instead).
    static func commandLine(_ spec: String) throws -> NetworkImpairment.Profile {
        do { return try parse(spec) } catch { throw ValidationError(error.description) }
    }
}
