import Testing
import PageLayout
@testable import PageCensus

/// /proc/kpageflags per kernel version. Expected values are read off each version's
/// fs/proc/page.c stable_page_flags() and enum pageflags (include/linux/page-flags.h),
/// as bit numbers of include/uapi/linux/kernel-page-flags.h and
/// include/linux/kernel-page-flags.h, not from PageLab's tables:
///   - KPF_ERROR (1) is kpf_copy_bit(k, KPF_ERROR, PG_error) up to 6.6; 6.12's enum has
///     no PG_error.
///   - KPF_UNCACHED (39) is PG_uncached under CONFIG_ARCH_USES_PG_UNCACHED up to 6.6;
///     6.12's enum has no PG_uncached.
///   - KPF_ARCH_3 (42) came with PG_arch_3 ("mm: Add PG_arch_3 page flag"), in 6.6's enum
///     under CONFIG_ARCH_USES_PG_ARCH_X; 5.15 and 6.1 copy only KPF_ARCH_2 (CONFIG_64BIT).
///   - KPF_NOPAGE (20) is stable_page_flags(NULL) for a pfn without an online memmap;
///     6.18's kpage_read() writes 0 (real-machine-census.md §1, measured on 6.18).
///   - bit 34 is KPF_MAPPEDTODISK (PG_mappedtodisk) before 6.12, KPF_OWNER_2 after.
@Suite struct KpageflagsVersionTests {
    func census(_ flags: [(UInt64, Int)]) -> Census {
        var census = Census(info: SnapshotInfo(kernelRelease: "6.1.170"))
        census.flagCombinations = flags.map { FlagCount(flags: $0.0, pages: $0.1) }
        return census
    }

    @Test func bitsEachVersionWrites() {
        let error: UInt64 = 1 << 1, nopage: UInt64 = 1 << 20, uncached: UInt64 = 1 << 39, arch3: UInt64 = 1 << 42
        for version in KernelVersion.known {
            let written = KernelPageFlags.Semantics(version).written.rawValue
            let old = version <= KernelVersion.v6_6
            #expect((written & error != 0) == old, "KPF_ERROR in \(version)")
            #expect((written & uncached != 0) == old, "KPF_UNCACHED in \(version)")
            #expect((written & arch3 != 0) == (version >= .v6_6), "KPF_ARCH_3 in \(version)")
            #expect((written & nopage != 0) == (version <= .v6_12), "KPF_NOPAGE in \(version)")
            // Bits 0, 2-19, 21-26 are written by every version.
            for bit in [0, 7, 10, 15, 16, 17, 22, 23, 24, 25, 26, 32, 34, 41] {
                #expect(written & (1 << UInt64(bit)) != 0, "bit \(bit) in \(version)")
            }
            // KPF_SOFTDIRTY (40) is pagemap's, never kpageflags'.
            #expect(written & (1 << 40) == 0)
        }
        #expect(KernelPageFlags.Semantics(.v6_6).bit34Name == "mappedtodisk")
        #expect(KernelPageFlags.Semantics(.v6_12).bit34Name == "owner_2")
        #expect(!KernelPageFlags.Semantics(.v6_6).tailsReportFolioFlags && KernelPageFlags.Semantics(.v6_12).tailsReportFolioFlags)
    }

    /// A page with PG_error (bit 1) on a 6.12 snapshot, and a hole as KPF_NOPAGE on a
    /// 6.19 one, are bits those versions never write; 6.1 writes both.
    @Test func unexpectedBits() {
        let census = census([(1 << 1 | 1 << 3, 5), (1 << 20, 7), (1 << 5, 100), (1 << 40, 3)])
        #expect(KernelPageFlags.Semantics(.v6_1).unexpected(in: census).isEmpty)
        #expect(KernelPageFlags.Semantics(.v6_12).unexpected(in: census)
                == [.init(bit: 1, name: "error", pages: 5)])
        #expect(KernelPageFlags.Semantics(.v6_19).unexpected(in: census).map(\.bit) == [1, 20])
    }

    /// PageAnon() reads struct page's `mapping` (offset 24 on x86_64). In 5.15 (struct
    /// page's slab arm) and 6.1 (mm/slab.h, SLUB) `slab_cache` sits there, a pointer with
    /// bit 0 clear; from 6.6 on struct slab starts with slab_cache at 8 and SLUB's
    /// slab_list.prev / `slabs` is at 24, so junk KPF_ANON is possible.
    @Test func junkAnonOnSlab() {
        #expect(!KernelPageFlags.Semantics(.v5_15).slabCanShowAnon())
        #expect(!KernelPageFlags.Semantics(.v6_1).slabCanShowAnon())
        for version in [KernelVersion.v6_6, .v6_12, .v6_18, .v6_19] {
            #expect(KernelPageFlags.Semantics(version).slabCanShowAnon(), "\(version)")
        }
    }
}
