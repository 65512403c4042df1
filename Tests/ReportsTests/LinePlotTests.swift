import Foundation
import Testing
@testable import Reports

@Suite("LinePlot: readable axes, no hidden curves")
struct LinePlotTests {
    /// The tick labels on the y axis (right-aligned texts left of the frame).
    static func yLabels(_ svg: String) -> [String] {
        svg.components(separatedBy: "text-anchor=\"end\" fill=\"#333\">").dropFirst().map { String($0.prefix { $0 != "<" }) }
    }

    static func xLabels(_ svg: String) -> [String] {
        svg.components(separatedBy: "text-anchor=\"middle\" fill=\"#333\">").dropFirst().map { String($0.prefix { $0 != "<" }) }
    }

    @Test("a log axis has at least three labels however narrow its range", arguments: [
        (1e-9, 1e-1), (0.02, 0.09), (3e-5, 7e-5), (1.0, 1.5), (0.1, 10),
    ])
    func logTicks(range: (Double, Double)) {
        var p = LinePlot(title: "t", xLabel: "x", yLabel: "y")
        p.logY = true
        p.series = [.init(label: "a", x: [0, 1], y: [range.0, range.1], color: 0)]
        let labels = Self.yLabels(p.svg())
        #expect(labels.count >= 3, "\(range): \(labels)")
        // Every label is a number inside the (padded) range.
        for l in labels {
            let v = Double(l) ?? .nan
            #expect(v > range.0 / 2 && v < range.1 * 2, "\(range): label \(l)")
        }
    }

    @Test("a log x axis places 1 s, 1 h, 1 d, 30 d by their logarithm and labels decades")
    func logX() {
        var p = LinePlot(title: "drift", xLabel: "s", yLabel: "%")
        p.logX = true
        p.series = [.init(label: "a", x: [0, 20, 3600, 86400, 2.592e6], y: [1, 2, 3, 4, 5], color: 0)]
        let labels = Self.xLabels(p.svg())
        #expect(labels.contains("1e2") && labels.contains("1e4") && labels.contains("1e6"), "\(labels)")
        #expect(!p.svg().contains("NaN") && !p.svg().contains("inf"))
    }

    @Test("a curve on top of another is dotted with markers and the legend says so; distinct curves are not")
    func coinciding() {
        var p = LinePlot(title: "t", xLabel: "epoch", yLabel: "NMSE")
        p.logY = true
        let x = Array(stride(from: 0.0, through: 10, by: 1)), di = x.map { exp(-$0) }
        p.series = [.init(label: "di", x: x, y: di, color: 0), .init(label: "ndi", x: x, y: di.map { $0 * (1 + 1e-9) }, color: 1),
                    .init(label: "bp", x: x, y: di.map { $0 * 3 }, color: 2)]
        let svg = p.svg()
        #expect(svg.contains("ndi lies on di"))
        // Several on one curve: one note names them all.
        p.series.append(.init(label: "sldi", x: x, y: di, color: 3))
        #expect(p.svg().contains("ndi, sldi lie on di"))
        #expect(!svg.contains("bp lies on"))
        #expect(svg.contains("stroke-dasharray=\"2 4\"") && svg.contains("<circle"))
    }

    @Test("round-off angles are drawn as zero, and labelled as such")
    func numericalZero() {
        var p = LinePlot(title: "angle", xLabel: "epoch", yLabel: "degrees")
        p.numericalZero = 1e-9
        p.series = [.init(label: "a", x: [0, 1, 2], y: [3e-14, 1e-14, 2e-14], color: 0)]
        let svg = p.svg()
        #expect(svg.contains("round-off"))
        #expect(!Self.yLabels(svg).contains { $0.contains("e-1") }, "\(Self.yLabels(svg))")
    }

    @Test("markers put a dot on every measured point, and only where asked")
    func markers() {
        var p = LinePlot(title: "t", xLabel: "x", yLabel: "y")
        var line = LinePlot.Series(label: "a", x: [1, 2, 3], y: [1, 4, 2], color: 0)
        p.series = [line]
        #expect(!p.svg().contains("<circle"))
        line.markers = true
        p.series = [line]
        #expect(p.svg().components(separatedBy: "<circle").count - 1 == 3)
    }

    @Test("the palette has no color too faint on white, and series past it repeat dotted")
    func palette() {
        #expect(!LinePlot.palette.contains("#F0E442"))
        var p = LinePlot(title: "t", xLabel: "x", yLabel: "y")
        p.series = (0..<9).map { .init(label: "s\($0)", x: [0, 1], y: [Double($0), Double($0) + 1], color: $0) }
        #expect(p.svg().contains("stroke-dasharray=\"1 3\""))
    }
}
