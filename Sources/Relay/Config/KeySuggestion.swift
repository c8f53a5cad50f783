/// Finds the known key an unknown key was probably meant to be ("rtmp_prot" → "rtmp_port"),
/// so a typo in the config produces a warning that says how to fix it.
enum KeySuggestion {
    /// The closest of `known` to `key`, or nil when nothing is obviously meant.
    static func closest(to key: String, among known: [String]) -> String? {
        let normalized = normalize(key)
        var best: (key: String, distance: Int)?
        for candidate in known {
            let distance = editDistance(normalized, normalize(candidate))
            if distance < (best?.distance ?? Int.max) { best = (candidate, distance) }
        }
        guard let best else { return nil }
        // Short keys tolerate one edit, longer ones two; beyond that a "suggestion" is a guess.
        let allowed = normalized.count <= 4 ? 1 : 2
        return best.distance <= allowed ? best.key : nil
    }

    /// Case and `-`/`_` differences are the commonest slips and should count as no edit at all.
    private static func normalize(_ key: String) -> [Character] {
        Array(key.lowercased().map { $0 == "-" ? "_" : $0 })
    }

    /// Optimal string alignment distance: insertions, deletions, substitutions and adjacent
    /// transpositions each cost 1.
    static func editDistance(_ a: [Character], _ b: [Character]) -> Int {
        if a.isEmpty { return b.count }
        if b.isEmpty { return a.count }
        var previousPrevious = [Int](repeating: 0, count: b.count + 1)
        var previous = Array(0...b.count)
        var current = [Int](repeating: 0, count: b.count + 1)
        for i in 1...a.count {
            current[0] = i
            for j in 1...b.count {
                let cost = a[i - 1] == b[j - 1] ? 0 : 1
                var value = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
                if i > 1, j > 1, a[i - 1] == b[j - 2], a[i - 2] == b[j - 1] {
                    value = min(value, previousPrevious[j - 2] + 1)
                }
                current[j] = value
            }
            (previousPrevious, previous, current) = (previous, current, previousPrevious)
        }
        return previous[b.count]
    }
}
