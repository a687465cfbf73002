// A machine built pfn by pfn in the test, with the kind every pfn must be classified as.
@testable import PageCensus

struct SyntheticMachine {
    typealias F = KernelPageFlags
    static let pagesPerSection = 4096

    var flags: [UInt64] = []
    var counts: [UInt64] = []
    var cgroups: [UInt64] = []
    var expected = [Int](repeating: 0, count: PageKind.count)

    var pfn: Int { flags.count }

    mutating func add(_ n: Int, _ f: F, kind: PageKind, count: UInt64 = 0, cgroup: UInt64 = 0) {
        for _ in 0..<n {
            flags.append(f.rawValue); counts.append(count); cgroups.append(cgroup)
        }
        expected[Int(kind.rawValue)] += n
    }

    /// A compound of 2^order pages: head flags, then tails with `tail` flags (6.9+
    /// kernels: the folio's flags plus COMPOUND_TAIL; older ones: COMPOUND_TAIL alone).
    mutating func compound(order: Int, _ f: F, tail: F? = nil, kind: PageKind, count: UInt64 = 0, cgroup: UInt64 = 0) {
        precondition(pfn % (1 << order) == 0, "test layout: unaligned compound")
        if order == 0 { return add(1, f, kind: kind, count: count, cgroup: cgroup) }
        add(1, f.union(.compoundHead), kind: kind, count: count, cgroup: cgroup)
        add((1 << order) - 1, tail ?? f.union(.compoundTail), kind: kind, count: count, cgroup: cgroup)
    }

    mutating func padTo(_ target: Int, _ f: F = .reserved, kind: PageKind = .reserved) {
        if target > pfn { add(target - pfn, f, kind: kind) }
    }

    static let iomem = """
        00000000-00000fff : Reserved
        00000000-01ffffff : System RAM
          01000000-0100ffff : Kernel code
        02000000-02ffffff : PCI Bus 0000:00
        03000000-03ffffff : System RAM

        """

    /// The standard test machine: 4 sections of 4096 pfns (16 MiB each, PAGES_PER_SECTION
    /// made small), every kind and every quirk.
    static func standard() -> SyntheticMachine {
        var m = SyntheticMachine()
        let file: F = [.uptodate, .lru]
        // Section 0: page-cache folios of every order 10...0 (naturally aligned, descending).
        for order in stride(from: 10, through: 0, by: -1) { m.compound(order: order, order > 0 ? file.union(.thp) : file, kind: .pageCache, count: 1, cgroup: 7) }
        m.padTo(2048)
        // Free blocks of every order 10...0: one run of KPF_BUDDY, split by alignment.
        m.add(2047, .buddy, kind: .free)
        m.add(1, .reserved, kind: .reserved)
        // Section 1: uninitialised memmap (lazy deferred init): all zero.
        m.add(4096, [], kind: .uninitialised)
        // Section 2: a hole (not System RAM), reads 0.
        m.add(4096, [], kind: .hole)
        // Section 3: everything else.
        m.compound(order: 1, [.slab, .anon, .ksm], kind: .slab)                      // junk ANON/KSM on slab
        m.compound(order: 0, [.slab, .anon], kind: .slab)
        m.add(1, .pgtable, kind: .pageTable)
        m.add(1, .zeroPage, kind: .zeroPage)
        m.add(1, .offline, kind: .offline)
        m.padTo(12288 + 8)
        m.compound(order: 2, [], kind: .otherCompound)                                // kmalloc_large
        m.compound(order: 2, [.uptodate, .lru, .referenced], tail: .compoundTail, kind: .pageCache)  // old-kernel tails
        m.add(1, [.hwpoison, .uptodate], kind: .hwpoison)
        m.add(1, [.uptodate, .lru, .swapbacked], kind: .shmem, count: 1, cgroup: 9)
        m.add(3, [], kind: .untyped)                                                  // vmalloc, pcp-free: short zero run
        m.add(1, [.anon, .swapbacked, .lru, .mmap], kind: .anon, count: 2, cgroup: 9)
        m.padTo(12288 + 512)
        m.compound(order: 9, [.anon, .swapbacked, .lru, .mmap, .thp], kind: .anon, count: 1, cgroup: 9)   // PMD THP
        m.compound(order: 9, .huge, kind: .hugetlb)
        m.compound(order: 9, [.zeroPage, .thp], kind: .zeroPage)                      // huge zero folio
        m.padTo(16384, .reserved)
        return m
    }

    var info: SnapshotInfo {
        SnapshotInfo(kernelRelease: "6.18.0-test", kernelVersion: "Linux version 6.18.0-test", machine: "synthetic",
                     pagesPerSection: Self.pagesPerSection, createdAt: 1_700_000_000,
                     files: ["iomem": Array(Self.iomem.utf8),
                             "buddyinfo": Array("Node 0, zone   Normal      1      1      1      1      1      1      1      1      1      1      1 \n".utf8),
                             "zoneinfo": Array("Node 0, zone   Normal\n  pages free     2047\n        spanned  16384\n        present  12288\n        managed  8192\n  start_pfn:           0\n".utf8),
                             "vmstat": Array("nr_free_pages 2047\nnr_zspages 5\n".utf8)])
    }

    func census(chunk: Int = 4096) -> Census {
        var builder = CensusBuilder(info: info, picture: true, expectedPfns: flags.count)
        var start = 0
        while start < flags.count {
            let end = min(start + chunk, flags.count)
            builder.consume(flags: Array(flags[start..<end]), counts: Array(counts[start..<end]), cgroups: Array(cgroups[start..<end]))
            start = end
        }
        return builder.finish()
    }

    func snapshot(chunk: Int = 4096) -> [UInt8] {
        var writer = SnapshotWriter(info: info)
        var start = 0
        while start < flags.count {
            let end = min(start + chunk, flags.count)
            writer.append(flags: Array(flags[start..<end]), counts: Array(counts[start..<end]), cgroups: Array(cgroups[start..<end]), count: end - start)
            start = end
        }
        return writer.finished()
    }
}
