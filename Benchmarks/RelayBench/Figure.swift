import Foundation

/// One row of the table: what was measured, what it is compared with (measured in the same
/// run where there is something to run, a stated figure otherwise), the goal, and whether the
/// goal held. A miss is printed and recorded, never hidden.
struct Figure: Codable {
    var name: String
    var value: Double
    var unit: String
    /// The side-by-side reference, as printed ("ffmpeg -c copy: 0.41 %", "old system: 2000 ms sleep").
    var reference: String
    var goal: String
    var met: Bool
    /// How it was measured, caveats (printed under the table).
    var note: String?

    init(_ name: String, value: Double, unit: String, reference: String = "—", goal: String = "—", met: Bool = true,
         note: String? = nil) {
        self.name = name
        self.value = value
        self.unit = unit
        self.reference = reference
        self.goal = goal
        self.met = met
        self.note = note
    }
}

/// Rounds for printing and JSON: three significant decimals are plenty for these figures.
func rounded(_ value: Double, _ places: Int = 3) -> Double {
    let scale = pow(10, Double(places))
    return (value * scale).rounded() / scale
}

enum FigureTable {
    static func print(_ figures: [Figure]) {
        let nameWidth = min(58, figures.map(\.name.count).max() ?? 10)
        let resultWidth = 20, referenceWidth = 42, goalWidth = 22
        func cell(_ text: String, _ width: Int) -> String {
            text.count > width ? String(text.prefix(width - 1)) + "…" : text.padding(toLength: width, withPad: " ", startingAt: 0)
        }
        let header = "\(cell("figure", nameWidth)) | \(cell("result", resultWidth)) | \(cell("reference", referenceWidth)) | \(cell("goal", goalWidth)) | ok/MISS"
        Swift.print(header)
        Swift.print(String(repeating: "-", count: header.count))
        for figure in figures {
            let result = "\(formatted(figure.value)) \(figure.unit)"
            Swift.print("\(cell(figure.name, nameWidth)) | \(cell(result, resultWidth)) | \(cell(figure.reference, referenceWidth)) | \(cell(figure.goal, goalWidth)) | \(figure.met ? "ok" : "MISS")")
        }
        let notes = figures.compactMap { f in f.note.map { "- \(f.name): \($0)" } }
        if !notes.isEmpty {
            Swift.print("\nnotes:")
            notes.forEach { Swift.print($0) }
        }
        let misses = figures.filter { !$0.met }
        Swift.print(misses.isEmpty ? "\nevery goal held" : "\n\(misses.count) goal(s) MISSED: \(misses.map(\.name).joined(separator: "; "))")
    }

    static func formatted(_ value: Double) -> String {
        if value == value.rounded() && abs(value) < 1e12 { return String(Int(value)) }
        return String(rounded(value))
    }
}
