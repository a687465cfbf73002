// The configuration inputs that decide descriptor sizes and offsets
// (include/linux/mm_types.h, include/linux/page-flags-layout.h).

/// Everything a descriptor layout depends on. Sizes and offsets are computed from these
/// inputs, never typed in per configuration. A `KernelConfig` produces one; so does an
/// `Arch` on its own (its defconfig-like defaults).
public struct LayoutConfig: Sendable, Equatable, Hashable, Codable {
    /// The architecture, which fixes BITS_PER_LONG and the struct page alignment.
    public var arch: Arch
    /// CONFIG_MEMCG: adds `memcg_data` to struct page.
    public var memcg: Bool
    /// CONFIG_SLAB_OBJ_EXT without MEMCG: the same word, named `_unused_slab_obj_exts`.
    public var slabObjExt: Bool
    /// WANT_PAGE_VIRTUAL (some highmem arches): adds `void *virtual`.
    public var wantPageVirtual: Bool
    /// LAST_CPUPID_NOT_IN_PAGE_FLAGS: adds `int _last_cpupid` (computed by the flags budget).
    public var lastCpupidNotInPageFlags: Bool
    /// CONFIG_KMSAN: adds `kmsan_shadow` and `kmsan_origin`.
    public var kmsan: Bool
    /// CONFIG_MM_ID (selected by TRANSPARENT_HUGEPAGE): folio `_mm_id_mapcount`/`_mm_ids`.
    public var mmID: Bool
    /// CONFIG_PAGE_MAPCOUNT: folio `_nr_pages_mapped` is maintained.
    public var pageMapcount: Bool
    /// CONFIG_SLUB, CONFIG_SLAB or CONFIG_SLOB: which arm of struct slab the kernel has
    /// (SLAB and SLOB only before 6.8 and 6.4; SlabAllocators.swift).
    public var slabAllocator: SlabAllocator

    public init(arch: Arch, memcg: Bool = true, slabObjExt: Bool = true, wantPageVirtual: Bool = false,
                lastCpupidNotInPageFlags: Bool = false, kmsan: Bool = false,
                mmID: Bool = true, pageMapcount: Bool = true, slabAllocator: SlabAllocator = .slub) {
        self.arch = arch
        self.memcg = memcg
        self.slabObjExt = slabObjExt
        self.wantPageVirtual = wantPageVirtual
        self.lastCpupidNotInPageFlags = lastCpupidNotInPageFlags
        self.kmsan = kmsan
        self.mmID = mmID
        self.pageMapcount = pageMapcount
        self.slabAllocator = slabAllocator
    }

    /// BITS_PER_LONG / 8.
    public var wordSize: Int { arch.bitsPerLong / 8 }

    /// The alignment of struct page: `2 * sizeof(long)` with
    /// CONFIG_HAVE_ALIGNED_STRUCT_PAGE, otherwise `sizeof(long)` (mm_types.h:73-77).
    public var structPageAlignment: Int { arch.haveAlignedStructPage ? 2 * wordSize : wordSize }

    /// NR_PAGES_IN_LARGE_FOLIO: defined with MEMCG or SLAB_OBJ_EXT (mm_types.h:314-317).
    public var nrPagesInLargeFolio: Bool { memcg || slabObjExt }
}
