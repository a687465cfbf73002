import Foundation
import Testing

@Suite struct ReportCommandTests {
    @Test func writesTheHTMLReportWithEverySection() throws {
        let directory = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let out = directory.appendingPathComponent("report").path
        let result = try CLI.run(["report", "--preset", "x86_64-defconfig", "--out", out])
        #expect(result.status == 0, "stderr: \(result.stderr)")
        #expect(result.stdout.contains("Kernel configuration: preset x86_64-defconfig"))
        for title in ["The page->flags bit budget", "Descriptor layouts", "Census of physical memory",
                      "The model machine, per design", "One workload through every design",
                      "Pinning pages for DMA through every design", "The scenario library through every design"] {
            #expect(result.stdout.contains("== \(title)"))
        }
        #expect(result.stdout.contains("memdesc8"))
        let html = try String(contentsOfFile: out + "/index.html", encoding: .utf8)
        #expect(html.hasPrefix("<!DOCTYPE html>"))
        for id in ["flags", "layout", "census", "machine", "compare", "pins", "device", "scenarios"] {
            #expect(html.contains("<section id=\"\(id)\">"))
        }
        #expect(html.contains("<svg"))
        #expect(html.contains("no data errors on any design"))
        // The lru-pinned designs lose a pin to an isolator's putback (the pins workload's
        // isolated-pin step); lru-pinned also damages device pages.
        #expect(html.contains("lru-pinned, lru-pinned-rearranged said") && html.contains("not pinned")
                && html.contains("of a pinned folio (2 false negatives, see the table); lru-pinned overwrote another arm of struct page"))
        #expect(html.contains("every byte read back as written, every pin released"))
        #expect(html.contains("every expectation held on every design it names"))
        // x86_64_defconfig leaves 34 unused bits and a 64-byte struct page (kernel-facts.md §2.7).
        #expect(html.contains("34 unused bits (NR_UNUSED_PAGEFLAG_BITS), struct page 64 bytes"))
        let png = try Data(contentsOf: URL(fileURLWithPath: out + "/memmap.png"))
        #expect(png.prefix(8) == Data([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]))
    }

    @Test func badConfigurationInputExitsTwo() throws {
        let unknown = try CLI.run(["report", "--preset", "no-such-preset", "--out", "/tmp/unused"])
        #expect(unknown.status == 2)
        #expect(unknown.stderr.contains("no-such-preset"))
        let both = try CLI.run(["report", "--preset", "x86_64-defconfig", "--kconfig", "/proc/config.gz"])
        #expect(both.status == 2)
        #expect(both.stderr.split(separator: "\n").count == 1)
    }
}
