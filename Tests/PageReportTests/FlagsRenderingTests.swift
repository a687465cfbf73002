import Foundation
import Testing
import PageLayout
@testable import PageReport

@Suite struct FlagsRenderingTests {
    @Test func segmentsOfX86_64Defconfig() throws {
        let budget = FlagsBudget(config: try KernelConfig.preset("x86_64-defconfig"))
        let segments = FlagsSegment.segments(of: budget)
        #expect(segments == [
            FlagsSegment(kind: .field("NODES"), high: 63, low: 58),
            FlagsSegment(kind: .field("ZONES"), high: 57, low: 56),
            FlagsSegment(kind: .unused, high: 55, low: 22),
            FlagsSegment(kind: .flags, high: 21, low: 0),
        ])
        #expect(segments.reduce(0) { $0 + $1.width } == 64)
    }

    @Test func overlappingBitsAreMarked() throws {
        // i386-pae with two more flags: ZONES (24-23) collides with the new bit 23.
        let budget = try FlagsBudget(config: try KernelConfig.preset("i386-pae"), addedFlags: ["PG_a", "PG_b"])
        let segments = FlagsSegment.segments(of: budget)
        #expect(segments.map(\.kind) == [.field("SECTIONS"), .field("ZONES"), .overlap, .addedFlags, .flags])
        #expect(segments[2].high == 23 && segments[2].low == 23)
        let bar = FlagsText.bar(budget)
        #expect(bar.contains("  SSSSSSSZ#+" + String(repeating: "F", count: 22) + "\n"))
    }

    @Test func textStartsWithTheSourceAndListsTheFlags() throws {
        let budget = FlagsBudget(config: try KernelConfig.preset("arm-defconfig"))
        let text = FlagsText.render(budget, source: "preset arm-defconfig")
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        #expect(lines[0] == "Kernel configuration: preset arm-defconfig")
        #expect(lines[1] == "  arm, BITS_PER_LONG 32, FLATMEM")
        #expect(text.contains("  ZZ.........FFFFFFFFFFFFFFFFFFFFF\n"))
        #expect(text.contains("PG_mlocked=20"))
        #expect(!text.contains("What if"))
        for line in lines { #expect(!line.hasSuffix(" "), "trailing blank in \(line.debugDescription)") }
    }

    @Test func whatIfSectionListsTheChanges() throws {
        let config = try KernelConfig.preset("x86_64-distro")
        let budget = try FlagsBudget(config: config, addedFlags: ["PG_dma_pinned"])
        let text = FlagsText.render(budget, baseline: FlagsBudget(config: config), source: "preset x86_64-distro",
                                    structPageSize: { $0.lastCpupidNotInPageFlags ? 80 : 64 })
        #expect(text.contains("What if PG_dma_pinned were added to enum pageflags:\n"))
        #expect(text.contains("  - NR_PAGEFLAGS 25 -> 26 (PG_dma_pinned is bit 25)\n"))
        #expect(text.contains("  - sizeof(struct page) 64 -> 64 bytes\n"))
    }

    @Test func svgIsWellFormedAndLabelled() throws {
        let budget = FlagsBudget(config: try KernelConfig.preset("x86_64-distro"))
        let svg = FlagsSVG.render(budget, title: "x86_64 <distro> & co")
        #expect(svg.hasPrefix("<svg xmlns=\"http://www.w3.org/2000/svg\""))
        #expect(svg.contains("x86_64 &lt;distro&gt; &amp; co"))
        let rects = svg.components(separatedBy: "<rect ").count - 1
        #expect(rects == FlagsSegment.segments(of: budget).count)
        #expect(svg.contains(">LAST_CPUPID<"))
        #expect(svg.contains("LAST_CPUPID_WIDTH 21, bits 50-30, LAST_CPUPID_PGSHIFT 30"))
        // Every element that is opened is closed.
        #expect(svg.components(separatedBy: "<g>").count == svg.components(separatedBy: "</g>").count)
        #expect(svg.hasSuffix("</svg>\n"))
    }
}
