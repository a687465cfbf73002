// Issue 17: every crash, hang and silent-nonsense input of the hostile tester, kept as a
// regression test. Each must end in a typed error naming the input (exit status 2 on
// the command line) or in a census that states what was wrong with its input.
import Foundation
import TestSupport
import Testing
@testable import PageCensus

@Suite struct HostileSnapshotTests {
    private func reason(_ bytes: [UInt8]) -> (offset: Int, reason: String)? {
        do { _ = try SnapshotReader.census(bytes: bytes, path: "h.pglb"); return nil } catch {
            guard case let .badSnapshot(_, offset, reason) = error else { return (-1, "\(error)") }
            return (offset, reason)
        }
    }

    private func info(replacing key: String, with value: String) -> String {
        RawSnapshot.goodInfo.split(separator: "\n").map { $0.hasPrefix(key + "=") ? "\(key)=\(value)" : String($0) }
            .joined(separator: "\n") + "\n"
    }

    @Test func aWellFormedCraftedSnapshotIsAccepted() throws {
        let census = try SnapshotReader.census(bytes: RawSnapshot.with(files: [("iomem", "00000000-07ffffff : System RAM\n")]), path: "ok")
        #expect(census.pfns == 32768)
        #expect(census.ramPages == 32768)
        #expect(census.warnings.isEmpty)
    }

    @Test(arguments: ["0", "-1", "3", "1099511627776", "9223372036854775807", "abc", "4096.0", ""])
    func pageSizeMustBeAPowerOfTwoPageSize(value: String) {
        let found = reason(RawSnapshot.with(info: info(replacing: "page_size", with: value)))
        #expect(found?.reason.contains("page_size") == true, "\(value): \(found?.reason ?? "accepted")")
    }

    @Test(arguments: ["0", "-32768", "12345", "4611686018427387904", "x"])
    func pagesPerSectionMustBeAPowerOfTwoSection(value: String) {
        let found = reason(RawSnapshot.with(info: info(replacing: "pages_per_section", with: value)))
        #expect(found?.reason.contains("pages_per_section") == true, "\(value): \(found?.reason ?? "accepted")")
    }

    @Test func archMustBeALinuxArch() throws {
        #expect(reason(RawSnapshot.with(info: info(replacing: "arch", with: "pdp11")))?.reason.contains("arch \"pdp11\"") == true)
        // An arch PageLab does not lay out, but Linux has, is a census all the same.
        #expect(reason(RawSnapshot.with(info: info(replacing: "arch", with: "ppc64le"))) == nil)
    }

    @Test func iomemNearTwoToTheSixtyThreeIsAPositionedError() {
        let iomem = "00000000-07ffffff : System RAM\n7ffffffffffff000-7fffffffffffffff : System RAM\n"
        var raw = RawSnapshot()
        raw.info(RawSnapshot.goodInfo)
        raw.file("iomem", iomem)
        raw.pfns([UInt64](repeating: 0, count: 32768))
        let found = reason(raw.finished())
        #expect(found?.offset == raw.offsets[1], "the FILE record of iomem")
        #expect(found?.reason.contains("iomem line 2") == true && found?.reason.contains("MAX_PHYSMEM_BITS") == true, "\(found?.reason ?? "accepted")")
    }

    @Test func vmstatZspagesOfInt64MaxIsAnError() {
        let found = reason(RawSnapshot.with(files: [("vmstat", "nr_free_pages 5\nnr_zspages 9223372036854775807\n")]))
        #expect(found?.reason.contains("vmstat line 2: nr_zspages") == true, "\(found?.reason ?? "accepted")")
        let colon = reason(RawSnapshot.with(files: [("vmstat", "nr_zspages: 9223372036854775807\n")]))
        #expect(colon?.reason.contains("vmstat line 1: nr_zspages") == true, "\(colon?.reason ?? "accepted")")
    }

    @Test func zoneinfoAndBuddyinfoCountsAreBounded() {
        let zone = reason(RawSnapshot.with(files: [("zoneinfo", "Node 0, zone   Normal\n  pages free     9223372036854775807\n")]))
        #expect(zone?.reason.contains("zoneinfo line 2") == true, "\(zone?.reason ?? "accepted")")
        let negative = reason(RawSnapshot.with(files: [("zoneinfo", "Node 0, zone   Normal\n        present  -5\n")]))
        #expect(negative?.reason.contains("zoneinfo line 2") == true, "\(negative?.reason ?? "accepted")")
        let buddy = reason(RawSnapshot.with(files: [("buddyinfo", "Node 0, zone   Normal   1 1 1 1 1 1 1 1 1 1 9223372036854775807\n")]))
        #expect(buddy?.reason.contains("buddyinfo line 1") == true, "\(buddy?.reason ?? "accepted")")
    }

    @Test func aRecordDeclaringOneGiBIsRefusedBeforeInflating() {
        var raw = RawSnapshot()
        raw.info(RawSnapshot.goodInfo)
        raw.record("FILE", Array("iomem\0".utf8), declaredLength: 1 << 30)
        let found = reason(raw.finished())
        #expect(found?.offset == raw.offsets[1])
        #expect(found?.reason.contains("declares 1073741824 bytes") == true, "\(found?.reason ?? "accepted")")
    }

    @Test func aRecordInflatingPastItsDeclaredLengthStopsThere() {
        var raw = RawSnapshot()
        raw.info(RawSnapshot.goodInfo)
        raw.record("FILE", Array("vmstat\0".utf8) + [UInt8](repeating: 0x41, count: 100_000), declaredLength: 10)
        #expect(reason(raw.finished())?.reason.contains("inflates to more than 10 bytes") == true)
    }

    @Test func fileRecordsAfterThePfnsAreRefused() {
        var raw = RawSnapshot()
        raw.info(RawSnapshot.goodInfo)
        raw.pfns([UInt64](repeating: 0, count: 32768))
        raw.file("vmstat", "nr_zspages 9223372036854775807\n")
        #expect(reason(raw.finished())?.reason.contains("FILE record after the PFNS records") == true)
    }
}

@Suite struct CensusWarningTests {
    @Test func kpageflagsShorterThanIomemIsStated() {
        let info = SnapshotInfo(kernelRelease: "t", pagesPerSection: 4096, files: ["iomem": Array("00000000-03ffffff : System RAM\n".utf8)])
        var builder = CensusBuilder(info: info)
        let half = [UInt64](repeating: 0, count: 8192)
        builder.consume(flags: half, counts: half, cgroups: half)
        let census = builder.finish()
        // 0x4000000 bytes of RAM are 16384 pfns of 4 KiB.
        #expect(census.warnings == ["kpageflags ends at pfn 8192, but iomem lists System RAM up to pfn 16384: the pfns after it are not in the census"])
    }

    @Test func randomCgroupsAreBoundedAndSaidSo() {
        var rng = SplitMix64(state: 42)
        let n = 1 << 18
        let cgroups = (0..<n).map { _ in UInt64.random(in: 1...UInt64.max, using: &rng) }
        let counts = (0..<n).map { _ in UInt64.random(in: 1024...UInt64(Int.max), using: &rng) }
        var builder = CensusBuilder(info: SnapshotInfo(kernelRelease: "t"))
        builder.consume(flags: [UInt64](repeating: 0, count: n), counts: counts, cgroups: cgroups)
        let census = builder.finish()
        #expect(census.cgroups.count == CensusBuilder.maxDistinctValues)
        #expect(census.mapcount.count == CensusBuilder.maxDistinctValues)
        #expect(census.warnings.contains { $0.contains("kpagecgroup inodes: \(n - CensusBuilder.maxDistinctValues) pfns") })
        #expect(census.warnings.contains { $0.contains("kpagecount values: \(n - CensusBuilder.maxDistinctValues) pfns") }, "\(census.warnings)")
    }
}

@Suite struct HostileProcTests {
    private func error(_ proc: FakeProc) -> CensusError? {
        do { _ = try LiveCensus.run(procRoot: proc.path); return nil } catch { return error }
    }

    @Test func aCleanFakeMachineIsACensus() throws {
        let proc = try FakeProc.oneSection()
        defer { proc.remove() }
        let (census, _) = try LiveCensus.run(procRoot: proc.path)
        #expect(census.pfns == 32768)
        #expect(census.warnings.isEmpty)
    }

    @Test func kpageflagsOnDevZeroIsRefused() throws {
        let proc = try FakeProc.oneSection()
        defer { proc.remove() }
        try FileManager.default.removeItem(at: proc.url.appendingPathComponent("kpageflags"))
        try proc.symlink("kpageflags", to: "/dev/zero")
        #expect(error(proc) == .unreadable(path: proc.path + "/kpageflags",
                                           reason: "it is a character device, not a regular file (a census needs root and CONFIG_PROC_PAGE_MONITOR)"))
    }

    @Test func fifosAreRefusedNotWaitedOn() throws {
        for name in ["kpagecount", "iomem"] {
            let proc = try FakeProc.oneSection()
            defer { proc.remove() }
            try? FileManager.default.removeItem(at: proc.url.appendingPathComponent(name))
            #expect(proc.fifo(name))
            #expect(error(proc) == .unreadable(path: proc.path + "/" + name, reason: "it is a FIFO, not a regular file"), "\(name)")
        }
    }

    @Test func readsStopAtTheLengthIomemImplies() throws {
        let proc = try FakeProc.oneSection()
        defer { proc.remove() }
        // Three chunks of flags behind one section of RAM: the census reads one section.
        try proc.pfnFile("kpageflags", [UInt64](repeating: 1 << 10, count: 3 << 18))
        let (census, _) = try LiveCensus.run(procRoot: proc.path)
        #expect(census.pfns == 32768)
    }

    @Test func aKpageflagsEndingInsideAnEntryIsAnError() throws {
        let proc = try FakeProc.oneSection()
        defer { proc.remove() }
        try proc.bytes("kpageflags", [1, 2, 3, 4, 5, 6, 7])
        guard case let .unreadable(_, reason)? = error(proc) else { Issue.record("a 7-byte kpageflags was accepted"); return }
        #expect(reason == "it ends at byte 7, inside the 8-byte entry of pfn 0")
    }

    @Test func shortFilesAreStatedInTheCensus() throws {
        let proc = try FakeProc.oneSection()
        defer { proc.remove() }
        try proc.pfnFile("kpageflags", [UInt64](repeating: 1 << 10, count: 16384))
        try proc.pfnFile("kpagecount", [UInt64](repeating: 1, count: 4096))
        let (census, _) = try LiveCensus.run(procRoot: proc.path)
        #expect(census.warnings.contains("kpagecount ends at pfn 4096, before kpageflags (pfn 16384): the pfns after it count as unmapped"))
        #expect(census.warnings.contains { $0.hasPrefix("kpageflags ends at pfn 16384, but iomem lists System RAM up to pfn 32768") })
        // The counts past pfn 4096 read as 0, not as stale buffer contents.
        #expect(census.mapcount[1] == 4096)
    }

    @Test func aLongerKpagecgroupIsStated() throws {
        let proc = try FakeProc.oneSection()
        defer { proc.remove() }
        try proc.pfnFile("kpageflags", [UInt64](repeating: 1 << 10, count: 4096))
        try proc.pfnFile("kpagecount", [UInt64](repeating: 0, count: 4096))
        let (census, _) = try LiveCensus.run(procRoot: proc.path)
        #expect(census.warnings.contains("kpagecgroup goes on past pfn 4096, where kpageflags ends: its entries after it are not used"))
        #expect(!census.warnings.contains { $0.hasPrefix("kpagecount") })
    }

    @Test func iomemAndVmstatOverflowsAreErrorsNamingTheLine() throws {
        let proc = try FakeProc.oneSection()
        defer { proc.remove() }
        try proc.text("iomem", "00000000-07ffffff : System RAM\n7ffffffffffff000-7fffffffffffffff : System RAM\n")
        guard case let .badArgument(text)? = error(proc) else { Issue.record("accepted"); return }
        #expect(text.hasPrefix(proc.path + "/iomem line 2: System RAM ending at 0x7fffffffffffffff"), "\(text)")

        try proc.text("iomem", "00000000-07ffffff : System RAM\n")
        try proc.text("vmstat", "nr_zspages 9223372036854775807\n")
        guard case let .badArgument(vmstat)? = error(proc) else { Issue.record("accepted"); return }
        #expect(vmstat.hasPrefix(proc.path + "/vmstat line 1: nr_zspages 9223372036854775807"), "\(vmstat)")
    }
}
