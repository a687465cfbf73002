// A census of the running machine: /proc/kpageflags, kpagecount and kpagecgroup
// (fs/proc/page.c) read in chunks of 2^18 pfns, with the /proc text files around them.
import Foundation
import PageLayout
#if canImport(Glibc)
import Glibc
#endif

public enum LiveCensus {
    /// Reads the running machine. `procRoot` is "/proc" except in tests. `save` receives
    /// every chunk as it is read, for `--save`. `progress(done, expected)` is called
    /// after every chunk. Throws `CensusError.unreadable` when /proc/kpageflags cannot be
    /// opened (not root, or a kernel without CONFIG_PROC_PAGE_MONITOR).
    /// `flagsOnly` skips kpagecount and kpagecgroup (for the page-types table, which,
    /// like tools/mm/page-types without -C/-M, needs only the flags). The three files are
    /// read concurrently, chunk by chunk: the kernel's cost per pfn dominates a census.
    public static func run(procRoot: String = "/proc", picture: Bool = false, save: Bool = false, flagsOnly: Bool = false,
                           progress: (Int, Int) -> Void = { _, _ in }) throws(CensusError) -> (Census, SnapshotWriter?) {
        let flagsFile: PfnFile
        do {
            flagsFile = try PfnFile(path: procRoot + "/kpageflags")
        } catch let .unreadable(path, reason) {
            throw .unreadable(path: path, reason: reason + " (a census needs root and CONFIG_PROC_PAGE_MONITOR)")
        } catch { throw error }
        // kpagecount and kpagecgroup may be missing (CONFIG_MEMCG off: no kpagecgroup);
        // one that is there but cannot be read (a FIFO, a device) is an error.
        func optional(_ name: String) throws(CensusError) -> PfnFile? {
            flagsOnly || access(procRoot + "/" + name, F_OK) != 0 ? nil : try PfnFile(path: procRoot + "/" + name)
        }
        let countFile = try optional("kpagecount")
        let cgroupFile = try optional("kpagecgroup")
        let info = machineInfo(procRoot: procRoot)
        // A text file that is there but could not be read (a FIFO, a device) is an
        // error, not a census without it.
        for file in SnapshotInfo.procFiles where info.files[file] == nil && access(procRoot + "/" + file, F_OK) == 0 {
            _ = try WholeFile.bytes(procRoot + "/" + file)
        }
        do { try info.validate() } catch {
            throw .badArgument(error.file == nil ? "\(procRoot): \(error.reason)" : "\(procRoot)/\(error.located)")
        }
        let expected = expectedPfns(info)
        // iomem says how many pfns there are: the reads stop there (a file that goes on,
        // such as a disk image named kpageflags, is read no further).
        let limit = expected > 0 ? expected : Int.max
        var shortFiles: [Int: Int] = [:]
        let sink = ChunkSink(builder: CensusBuilder(info: info, picture: picture, expectedPfns: expected),
                             writer: save ? SnapshotWriter(info: info) : nil)
        let chunk = SnapshotFormat.chunkPfns
        var current = ChunkBuffers(chunk: chunk), next = ChunkBuffers(chunk: chunk)
        let files = [flagsFile, countFile, cgroupFile]
        // Each chunk of each file is read as two halves by two threads (pread at disjoint
        // offsets), and while the kernel fills the next chunk the current one is
        // classified: the census costs what the kernel's kpage_read() costs, spread over
        // the CPUs.
        let reads = ChunkBuffers.tasks
        var start = 0
        DispatchQueue.concurrentPerform(iterations: reads) { [current] in current.read(files, task: $0, atPfn: 0) }
        while true {
            if let failure = current.failure { throw failure }
            let n = min(current.got, limit - start)
            if n == 0 { break }
            for file in 1...2 where files[file] != nil && shortFiles[file] == nil && current.got(file: file) < n {
                shortFiles[file] = start + current.got(file: file)
            }
            if n < chunk {
                sink.consume(current, count: n)
                progress(start + n, max(expected, start + n))
                break
            }
            start += chunk
            DispatchQueue.concurrentPerform(iterations: reads + 1) { [current, next, start] i in
                if i < reads { next.read(files, task: i, atPfn: start) } else { sink.consume(current, count: n) }
            }
            progress(start, max(expected, start))
            swap(&current, &next)
        }
        var census = sink.builder.finish()
        let names = ["kpageflags", "kpagecount", "kpagecgroup"]
        for (file, pfn) in shortFiles.sorted(by: { $0.key < $1.key }) {
            census.warnings.append("\(names[file]) ends at pfn \(pfn), before kpageflags (pfn \(census.pfns)): the pfns after it count as \(file == 1 ? "unmapped" : "uncharged")")
        }
        // Where kpageflags itself ended (not iomem's limit), a longer kpagecount or
        // kpagecgroup disagrees with it too.
        if census.pfns < limit {
            var probe = [UInt64](repeating: 0, count: 1)
            for file in 1...2 where shortFiles[file] == nil {
                guard let pfnFile = files[file] else { continue }
                let more = probe.withUnsafeMutableBufferPointer { (try? pfnFile.read(into: $0, atPfn: census.pfns)) ?? 0 }
                if more > 0 {
                    census.warnings.append("\(names[file]) goes on past pfn \(census.pfns), where kpageflags ends: its entries after it are not used")
                }
            }
        }
        return (census, sink.writer)
    }

    /// The kernel and machine, and the /proc text files a census keeps.
    public static func machineInfo(procRoot: String = "/proc") -> SnapshotInfo {
        var name = utsname()
        uname(&name)
        func field<T>(_ value: T) -> String {
            withUnsafeBytes(of: value) { String(decoding: $0.prefix(while: { $0 != 0 }), as: UTF8.self) }
        }
        var files: [String: [UInt8]] = [:]
        for file in SnapshotInfo.procFiles + SnapshotInfo.optionalProcFiles {
            if let bytes = try? WholeFile.bytes(procRoot + "/" + file) { files[file] = bytes }
        }
        let pageSize = Int(sysconf(Int32(_SC_PAGESIZE)))
        let arch = field(name.machine)
        // PAGES_PER_SECTION = 1 << (SECTION_SIZE_BITS - PAGE_SHIFT); SECTION_SIZE_BITS from
        // PageLayout's Arch (27 on x86-64 and on arm64 with 4 KiB pages).
        let sectionBits = SnapshotInfo.layoutArch(uname: arch)?.sectionSizeBits ?? 27
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

/// One chunk of each of the three files, in buffers allocated once. The reads are six
/// tasks (three files, two halves each); each task writes only its own half of one
/// buffer and its own result slot, so the tasks can run on any threads at once.
private final class ChunkBuffers: @unchecked Sendable {
    static let tasks = 6
    let chunk: Int
    let buffers: [UnsafeMutableBufferPointer<UInt64>]
    private let results: UnsafeMutableBufferPointer<Int>
    private let errors: UnsafeMutableBufferPointer<CensusError?>

    init(chunk: Int) {
        self.chunk = chunk
        buffers = (0..<3).map { _ in
            let b = UnsafeMutableBufferPointer<UInt64>.allocate(capacity: chunk)
            b.initialize(repeating: 0)
            return b
        }
        results = .allocate(capacity: Self.tasks)
        results.initialize(repeating: 0)
        errors = .allocate(capacity: Self.tasks)
        errors.initialize(repeating: nil)
    }

    deinit {
        buffers.forEach { $0.deallocate() }
        results.deallocate()
        _ = errors.deinitialize()
        errors.deallocate()
    }

    /// Task `t` reads half `t % 2` of file `t / 2` (a missing file leaves zeros).
    func read(_ files: [PfnFile?], task t: Int, atPfn start: Int) {
        let half = chunk / 2
        let low = (t % 2) * half
        let target = UnsafeMutableBufferPointer(rebasing: buffers[t / 2][low..<(low + half)])
        guard let file = files[t / 2] else { results[t] = half; return }
        do { results[t] = try file.read(into: target, atPfn: start + low) } catch {
            errors[t] = error
            results[t] = 0
        }
        // The buffers are reused: what a short file did not fill reads as 0, not as the
        // previous chunk's values.
        if results[t] < half { UnsafeMutableBufferPointer(rebasing: target[results[t]...]).update(repeating: 0) }
    }

    var failure: CensusError? { errors.compactMap { $0 }.first }

    /// Pfns read into this chunk: the flags file decides (its first half must be full for
    /// the second to count).
    var got: Int { got(file: 0) }

    /// Pfns read into this chunk from one file (0 flags, 1 counts, 2 cgroups).
    func got(file: Int) -> Int {
        results[2 * file] < chunk / 2 ? results[2 * file] : results[2 * file] + results[2 * file + 1]
    }

    func slice(_ file: Int, _ count: Int) -> UnsafeBufferPointer<UInt64> {
        UnsafeBufferPointer(rebasing: buffers[file][0..<count])
    }
}

/// The builder and the writer, fed one chunk at a time from the pipeline's fourth
/// thread; only that thread touches them while the readers fill the other buffers.
private final class ChunkSink: @unchecked Sendable {
    var builder: CensusBuilder
    var writer: SnapshotWriter?

    init(builder: CensusBuilder, writer: SnapshotWriter?) {
        self.builder = builder
        self.writer = writer
    }

    func consume(_ buffers: ChunkBuffers, count: Int) {
        let (f, c, g) = (buffers.slice(0, count), buffers.slice(1, count), buffers.slice(2, count))
        builder.consume(flags: f, counts: c, cgroups: g)
        writer?.append(flags: f, counts: c, cgroups: g)
    }
}
