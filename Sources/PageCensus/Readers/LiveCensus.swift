// A census of the running machine: /proc/kpageflags, kpagecount and kpagecgroup
// (fs/proc/page.c) read in chunks of 2^18 pfns, with the /proc text files around them.
import Foundation
#if canImport(Glibc)
import Glibc
#endif

public enum LiveCensus {
    /// Reads the running machine. `procRoot` is "/proc" except in tests. `save` receives
    /// every chunk as it is read, for `--save`. `progress(done, expected)` is called
    /// after every chunk. Throws `CensusError.unreadable` when /proc/kpageflags cannot be
    /// opened (not root, or a kernel without CONFIG_PROC_PAGE_MONITOR).
    public static func run(procRoot: String = "/proc", picture: Bool = false, save: Bool = false,
                           progress: (Int, Int) -> Void = { _, _ in }) throws(CensusError) -> (Census, SnapshotWriter?) {
        let flagsFile: PfnFile
        do {
            flagsFile = try PfnFile(path: procRoot + "/kpageflags")
        } catch let .unreadable(path, reason) {
            throw .unreadable(path: path, reason: reason + " (a census needs root and CONFIG_PROC_PAGE_MONITOR)")
        } catch { throw error }
        let countFile = try? PfnFile(path: procRoot + "/kpagecount")
        let cgroupFile = try? PfnFile(path: procRoot + "/kpagecgroup")
        let info = machineInfo(procRoot: procRoot)
        let expected = expectedPfns(info)
        var builder = CensusBuilder(info: info, picture: picture, expectedPfns: expected)
        var writer = save ? SnapshotWriter(info: info) : nil
        let chunk = SnapshotFormat.chunkPfns
        var flags = [UInt64](repeating: 0, count: chunk)
        var counts = flags, cgroups = flags
        var done = 0
        while true {
            let n = try flagsFile.read(into: &flags)
            if n == 0 { break }
            if let countFile { _ = try countFile.read(into: &counts) }
            if let cgroupFile { _ = try cgroupFile.read(into: &cgroups) }
            if n < chunk {
                flags.removeSubrange(n...); counts.removeSubrange(n...); cgroups.removeSubrange(n...)
            }
            builder.consume(flags: flags, counts: counts, cgroups: cgroups)
            writer?.append(flags: flags, counts: counts, cgroups: cgroups, count: n)
            done += n
            progress(done, max(expected, done))
            if n < chunk { break }
        }
        return (builder.finish(), writer)
    }

    /// The kernel and machine, and the /proc text files a census keeps.
    public static func machineInfo(procRoot: String = "/proc") -> SnapshotInfo {
        var name = utsname()
        uname(&name)
        func field<T>(_ value: T) -> String {
            withUnsafeBytes(of: value) { String(decoding: $0.prefix(while: { $0 != 0 }), as: UTF8.self) }
        }
        var files: [String: [UInt8]] = [:]
        for file in SnapshotInfo.procFiles {
            if let bytes = try? WholeFile.bytes(procRoot + "/" + file) { files[file] = bytes }
        }
        let pageSize = Int(sysconf(Int32(_SC_PAGESIZE)))
        let arch = field(name.machine)
        // SECTION_SIZE_BITS: 27 on x86-64 (arch/x86/include/asm/sparsemem.h), 27 on arm64
        // with 4 KiB pages; PAGES_PER_SECTION = 1 << (SECTION_SIZE_BITS - PAGE_SHIFT).
        let sectionBits = 27
        return SnapshotInfo(
            kernelRelease: field(name.release),
            kernelVersion: (try? WholeFile.text(procRoot + "/version"))?.trimmingCharacters(in: .newlines) ?? "",
            machine: field(name.nodename), arch: arch, pageSize: pageSize,
            pagesPerSection: 1 << (sectionBits - pageSize.trailingZeroBitCount),
            createdAt: Int(Date().timeIntervalSince1970), files: files)
    }

    /// max_pfn rounded up to a section, from iomem (0 when unknown).
    static func expectedPfns(_ info: SnapshotInfo) -> Int {
        guard let iomem = info.text("iomem"), let top = Iomem(parsing: iomem).ramRanges.last?.upperBound else { return 0 }
        let section = max(1, info.pagesPerSection)
        return (top + section - 1) / section * section
    }
}
