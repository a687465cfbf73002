import Deflate
import PageCensus
import PageLayout
import Testing
@testable import PageReport

@Suite struct PageTypesFormatTests {
    func census(_ combinations: [(UInt64, Int)]) -> Census {
        var census = Census(info: SnapshotInfo(kernelRelease: "6.18.0-test"))
        census.flagCombinations = combinations.map { FlagCount(flags: $0.0, pages: $0.1) }
        return census
    }

    @Test func exactColumnsOfShowSummary() {
        // printf("0x%016llx\t%10lu %8lu  %s\t%s\n") rows and the "total" line of
        // tools/mm/page-types.c show_summary(); MB = (pages * page_size) >> 20.
        let text = PageTypesTable.render(census([(0, 262_144), (0x28, 1000)]))
        let expected = """
                         flags\tpage-count       MB  symbolic-flags\t\t\tlong-symbolic-flags
            0x0000000000000000\t    262144     1024  ____________________________________________\t
            0x0000000000000028\t      1000        3  ___U_l______________________________________\tuptodate,lru
                         total\t    263144     1027

            """
        #expect(text == expected)
    }

    @Test func wellKnownFlagsHideHackerAndNonHugeCompoundBits() {
        let head = KernelPageFlags([.lru, .uptodate, .compoundHead, .reserved]).rawValue
        let huge = KernelPageFlags([.huge, .compoundHead]).rawValue
        let text = PageTypesTable.render(census([(head, 1), (0x28, 3), (huge, 1)]))
        #expect(text.contains("0x0000000000000028\t         4        0"))
        #expect(text.contains("0x0000000000028000\t         1        0  _______________H_G__"))
        let raw = PageTypesTable.render(census([(head, 1)]), raw: true)
        #expect(raw.contains("0x0000000100008028\t         1        0  ___U_l_________H___________r"))
        #expect(raw.contains("uptodate,lru,compound_head,reserved"))
    }

    @Test func rowsComeInPageTypesHashSlotOrder() {
        // 0x2001 and 0x0001 both hash to slot 1; the first seen takes it, the other
        // probes on to slot 2; 0x0 is always slot 0.
        let text = PageTypesTable.render(census([(0x2001, 1), (0x1, 2), (0, 5)]))
        let rows = text.split(separator: "\n").dropFirst().map { String($0.prefix(18)) }
        #expect(rows == ["0x0000000000000000", "0x0000000000002001", "0x0000000000000001", "             total"])
    }

    @Test func symbolicNamesHaveOneLetterPerNamedBit() {
        #expect(KernelPageFlags(rawValue: 0).symbolicName.count == 44)
        #expect(KernelPageFlags([.slab, .anon]).longName == "slab,anonymous")
        #expect(KernelPageFlags([.anon, .mappedToDisk]).expandedOverloaded == [.anon, .anonExclusive])
        #expect(KernelPageFlags([.reclaim]).expandedOverloaded == .readahead)
    }
}

@Suite struct CensusPictureTests {
    @Test func pngIsValidWithCRCsAndThePixelsAsKinds() throws {
        var census = Census(info: SnapshotInfo(kernelRelease: "t"))
        census.pfns = 4096
        census.kinds[Int(PageKind.free.rawValue)].pages = 2048
        census.kinds[Int(PageKind.anon.rawValue)].pages = 2048
        census.picture = KindPicture(pfnsPerPixel: 1, pixels: [UInt8](repeating: PageKind.free.rawValue, count: 2048)
                                     + [UInt8](repeating: PageKind.anon.rawValue, count: 2048))
        let png = try #require(MemmapPicture.png(census, width: 512))
        #expect(Array(png[0..<8]) == [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])
        var i = 8
        var idat: [UInt8] = []
        var types: [String] = []
        var width = 0, height = 0
        while i + 12 <= png.count {
            let n = Int(png[i]) << 24 | Int(png[i + 1]) << 16 | Int(png[i + 2]) << 8 | Int(png[i + 3])
            let type = Array(png[(i + 4)..<(i + 8)])
            let data = Array(png[(i + 8)..<(i + 8 + n)])
            let crc = UInt32(png[i + 8 + n]) << 24 | UInt32(png[i + 9 + n]) << 16 | UInt32(png[i + 10 + n]) << 8 | UInt32(png[i + 11 + n])
            #expect(Zlib.crc32(type + data) == crc)
            let name = String(decoding: type, as: UTF8.self)
            types.append(name)
            if name == "IHDR" {
                width = Int(data[0]) << 24 | Int(data[1]) << 16 | Int(data[2]) << 8 | Int(data[3])
                height = Int(data[4]) << 24 | Int(data[5]) << 16 | Int(data[6]) << 8 | Int(data[7])
            }
            if name == "IDAT" { idat += data }
            i += 12 + n
        }
        #expect(types == ["IHDR", "PLTE", "IDAT", "IEND"])
        #expect(width == 512)
        let raw = try Zlib.decompress(idat)
        #expect(raw.count == (width + 1) * height)
        #expect(raw[1] == PageKind.free.rawValue)                 // row 0, after its filter byte
        #expect(raw[4 * 513 + 1] == PageKind.anon.rawValue)       // row 4 starts the anon half
        #expect(height > 8)                                        // the legend below the map
    }

    @Test func svgHasOneBarGroupPerDesign() {
        var census = Census(info: SnapshotInfo(kernelRelease: "t"))
        census.pfnsWithMemmap = 1024
        census.kinds[Int(PageKind.free.rawValue)].pages = 1024
        census.kinds[Int(PageKind.free.rawValue)].memmapPages = 1024
        let costs = CensusCosts.compute(census)
        let svg = CensusSVG.render(census, costs: costs)
        #expect(svg.hasPrefix("<svg"))
        for design in Design.allCases { #expect(svg.contains(">\(design.rawValue) (")) }
        #expect(svg.contains("memmap: 64.0 KiB"))
    }
}
