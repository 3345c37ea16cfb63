import Testing
@testable import HallsyncDomain

@Suite struct TextCleaningTests {
    /// Trimming, written here independently: drop every kind of space at both ends, scalar by scalar.
    static func reference(_ text: String) -> String {
        let spaces: Set<UInt32> = [0x3000, 0xA0, 0xFEFF]
        func isSpace(_ s: Unicode.Scalar) -> Bool { s.properties.isWhitespace || spaces.contains(s.value) }
        var scalars = Array(text.unicodeScalars)
        while let first = scalars.first, isSpace(first) { scalars.removeFirst() }
        while let last = scalars.last, isSpace(last) { scalars.removeLast() }
        var view = String.UnicodeScalarView()
        view.append(contentsOf: scalars)
        return String(view)
    }

    /// The no-copy path for values with printable ASCII at both ends trims exactly like the general one.
    @Test func trimmingAgreesWithAScalarByScalarReadingOnEveryKindOfEnd() {
        let pieces = ["a", "Z", "1", "~", "!", " ", "\t", "\n", "\u{3000}", "\u{A0}", "\u{FEFF}", "\u{200B}", "王", "\u{0301}", "\u{7F}", "\u{85}", "x y"]
        var generator = SystemRandomNumberGenerator()
        var texts = ["", " ", "abc", " abc", "abc ", "\u{3000}王五\u{3000}", "a\u{0301}", "\u{85}a"]
        for _ in 0..<20_000 {
            texts.append((0..<Int.random(in: 1...5, using: &generator)).map { _ in pieces.randomElement(using: &generator)! }.joined())
        }
        for text in texts {
            #expect(TextCleaning.trimmed(text) == Self.reference(text), "\(text.unicodeScalars.map { String($0.value, radix: 16) })")
        }
    }
}
