// What /proc/kpageflags means in each kernel version PageLab knows: which KPF bits that
// version's fs/proc/page.c stable_page_flags() can write, and how the bits whose source
// changed are set. Read from:
//   5.15, 6.1, 6.6: the page-based stable_page_flags() (`k = page->flags`) of those
//     series: KPF_SLAB from PG_slab (tails through compound_head()), KPF_THP for a
//     compound page whose head is on the LRU or anon, KPF_ERROR from PG_error,
//     KPF_MAPPEDTODISK from PG_mappedtodisk, KPF_UNCACHED with
//     CONFIG_ARCH_USES_PG_UNCACHED; KPF_ARCH_2 with CONFIG_64BIT (5.15, 6.1), KPF_ARCH_2
//     and KPF_ARCH_3 with CONFIG_ARCH_USES_PG_ARCH_X (6.6, "mm: Add PG_arch_3").
//   6.12: the folio-based rewrite (torvalds/linux fs/proc/page.c @02e1960a, the 6.12 era):
//     `k = folio->flags` for every page of a folio, KPF_THP for any large rmappable folio,
//     KPF_SLAB from folio_test_slab() (a page type since 6.10), KPF_OWNER_2 (bit 34)
//     from PG_owner_2; PG_error, PG_mappedtodisk and PG_uncached are gone from 6.12's
//     enum pageflags (PageFlagsHistory.swift), so bits 1 and 39 are never set.
//   6.18, 6.19: the kpage_read() refactor: holes read 0, not KPF_NOPAGE
//     (shared/reference/real-machine-census.md §1-§3, measured on 6.18).
// The census's kinds (PageKind.classify) are decided by bits whose meaning is the same
// in all six versions (the version's encoding of the memmap, PG_slab or PGTY_slab,
// PAGE_TYPE_BASE bits or PGTY_* bytes, is read by that version's stable_page_flags(),
// not by the census: PageModel's StablePageFlags.swift does it for a model machine of each
// version, and KpageflagsOfModelMachinesTests classifies the result), so one classifier
// serves them; what the version changes is which
// bits can appear and what a tail page or KPF_THP says, which `Semantics` states and
// checks against a snapshot.
import PageLayout

extension KernelPageFlags {
    /// /proc/kpageflags as kernel `version` writes it.
    public struct Semantics: Sendable, Equatable {
        public let version: KernelVersion
        /// Every bit stable_page_flags() of `version` can set (some only with a config
        /// option: KPF_UNCACHED, KPF_ARCH_2/3, KPF_HWPOISON, KPF_IDLE).
        public let written: KernelPageFlags
        /// The name of bit 34: "mappedtodisk" (PG_mappedtodisk, before 6.12) or
        /// "owner_2" (PG_owner_2, 6.12 on).
        public let bit34Name: String
        /// Whether a tail page reports its folio's flags (6.9 on) or its own page->flags.
        public let tailsReportFolioFlags: Bool
        /// Whether a pfn without an online memmap reads KPF_NOPAGE (before the kpage_read()
        /// refactor) or 0.
        public let holesReadNopage: Bool
        /// Sentences on the bits whose source differs from other versions.
        public let rules: [String]

        public init(_ version: KernelVersion) {
            self.version = version
            let folioBased = version >= .v6_12
            var written: KernelPageFlags = [
                .locked, .referenced, .uptodate, .dirty, .lru, .active, .slab, .writeback, .reclaim, .buddy,
                .mmap, .anon, .swapcache, .swapbacked, .compoundHead, .compoundTail, .huge, .unevictable,
                .hwpoison, .ksm, .thp, .offline, .zeroPage, .idle, .pgtable,
                .reserved, .mlocked, .mappedToDisk, .private, .private2, .ownerPrivate, .arch, .arch2,
            ]
            if !folioBased { written.formUnion([.error, .uncached]) }
            if version >= .v6_6 { written.insert(.arch3) }
            holesReadNopage = version < .v6_18
            if holesReadNopage { written.insert(.nopage) }
            self.written = written
            bit34Name = folioBased ? "owner_2" : "mappedtodisk"
            tailsReportFolioFlags = folioBased
            rules = folioBased ? [
                "tail pages report their folio's flags (k = folio->flags)",
                "KPF_THP: any large rmappable folio (anon, page cache, mTHP), not only PMD-sized ones",
                "KPF_SLAB: folio_test_slab(), a page type, on every page of the slab",
                "bit 34 is KPF_OWNER_2 (PG_owner_2); KPF_ERROR (PG_error) and KPF_UNCACHED (PG_uncached) are never set",
                holesReadNopage ? "holes without an online memmap read KPF_NOPAGE" : "holes read 0 (kpage_read()), not KPF_NOPAGE",
            ] : [
                "tail pages report their own page->flags: KPF_COMPOUND_TAIL, and KPF_SLAB, KPF_HUGE and KPF_THP from their head",
                "KPF_THP: a compound page whose head is on the LRU or anon, or the huge zero page",
                "KPF_SLAB: PG_slab of the page, or of its head for a tail",
                "bit 34 is KPF_MAPPEDTODISK (PG_mappedtodisk); KPF_ERROR is PG_error",
                "holes without an online memmap read KPF_NOPAGE",
            ]
        }

        /// One bit set in a snapshot that `version` never writes.
        public struct Unexpected: Sendable, Equatable {
            public let bit: Int
            public let name: String
            public let pages: Int
        }

        /// The bits of `census` (its flag combinations) that this version cannot have
        /// written, with the pages that carry each: a snapshot taken on another kernel
        /// than `version`, or a vendor kernel's own bit. Bits 40 and up (page-types'
        /// own, and SOFTDIRTY, which only pagemap reports) are not kernel bits and are
        /// ignored.
        public func unexpected(in census: Census) -> [Unexpected] {
            let kernelBits = KernelPageFlags(rawValue: (1 << 40) - 1)
            let foreign = kernelBits.subtracting(written).rawValue
            var pages = [Int](repeating: 0, count: 40)
            for entry in census.flagCombinations where entry.flags & foreign != 0 {
                for bit in 0..<40 where entry.flags & foreign & (1 << UInt64(bit)) != 0 { pages[bit] += entry.pages }
            }
            return (0..<40).filter { pages[$0] > 0 }.map { bit in
                let name = bit == 34 ? bit34Name : KernelPageFlags.names.first { $0.bit == bit }?.name ?? "bit \(bit)"
                return Unexpected(bit: bit, name: name, pages: pages[bit])
            }
        }

        /// Whether KPF_ANON/KPF_KSM can appear on slab pages: PageAnon() reads the word
        /// at struct page's `mapping`, which in struct slab of 5.15 and 6.1 is
        /// `slab_cache` (a pointer, bit 0 clear) and from 6.6 on is SLUB's
        /// slab_list.prev / `slabs` count (any value). Read off the version's layouts.
        public func slabCanShowAnon(arch: Arch = .x86_64) -> Bool {
            let config = LayoutConfig(arch: arch)
            guard let structs = try? Layouts.all(config, design: .mainline, kernel: version).structs,
                  let mapping = structs.first(where: { $0.name == "page" })?.offset(of: "mapping"),
                  let slab = structs.first(where: { $0.name == "slab" }) else { return true }
            return !slab.fields.contains { $0.name == "slab_cache" && $0.offset == mapping }
        }
    }
}
