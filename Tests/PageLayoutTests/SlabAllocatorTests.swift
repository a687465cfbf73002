import Testing
@testable import PageLayout

/// struct slab of SLAB and SLOB in the versions that have them. Offsets are read off the
/// C declarations on x86_64 (8-byte words, list_head and rcu_head 16 bytes), not from
/// PageLab's tables:
///   6.1: linux-6.1.y (6.1.166) mm/slab.h:9-64 (as GrapheneOS/kernel_common-6.1 @626340182a)
///   6.6: linux-6.6.y (6.6.57) mm/slab.h:42-102 (as GrapheneOS/kernel_common-6.6 @60a7afd50f)
///   5.15: include/linux/mm_types.h, struct page's "slab, slob and slub" arm
@Suite struct SlabAllocatorTests {
    func slab(_ version: KernelVersion, _ allocator: SlabAllocator) throws -> StructLayout {
        let config = LayoutConfig(arch: .x86_64, slabAllocator: allocator)
        return try #require(try Layouts.all(config, design: .mainline, kernel: version).structs.first { $0.name == "slab" })
    }

    func config(_ option: String) throws -> KernelConfig {
        try KernelConfig(text: "CONFIG_X86_64=y\nCONFIG_64BIT=y\nCONFIG_MMU=y\nCONFIG_SPARSEMEM_VMEMMAP=y\nCONFIG_SPARSEMEM=y\nCONFIG_MEMCG=y\n\(option)\n",
                         source: "test.config")
    }

    /// 6.1 SLAB: `__page_flags` 0; union { slab_list; rcu_head } 8; slab_cache 24;
    /// freelist 32; s_mem 40; active 48; __page_refcount 52 (SLAB_MATCH with
    /// page->_refcount); memcg_data 56.
    @Test func slabOf61() throws {
        let slab = try slab(.v6_1, .slab)
        for (name, offset) in [("__page_flags", 0), ("slab_list", 8), ("rcu_head", 8), ("slab_cache", 24), ("freelist", 32),
                               ("s_mem", 40), ("active", 48), ("__page_refcount", 52), ("memcg_data", 56)] {
            #expect(slab.offset(of: name) == offset, "\(name)")
        }
        #expect(slab.field("counters") == nil && slab.size == 64)
        #expect(slab.note?.contains("SLAB") == true)
    }

    /// 6.1 SLOB: slab_list 8; `void *__unused_1` 24; freelist 32; `long units` 40;
    /// `unsigned int __unused_2` 48; __page_refcount 52; no slab_cache, no rcu_head.
    @Test func slobOf61() throws {
        let slab = try slab(.v6_1, .slob)
        for (name, offset) in [("slab_list", 8), ("__unused_1", 24), ("freelist", 32), ("units", 40),
                               ("__unused_2", 48), ("__page_refcount", 52)] {
            #expect(slab.offset(of: name) == offset, "\(name)")
        }
        #expect(slab.field("units")?.size == 8)
        #expect(slab.field("slab_cache") == nil && slab.field("rcu_head") == nil)
    }

    /// 6.6 SLAB: slab_cache first at 8 (SLAB_MATCH(compound_head, slab_cache)); then
    /// union { { slab_list 16; freelist 32; s_mem 40 }; rcu_head 16 }; active 48.
    @Test func slabOf66() throws {
        let slab = try slab(.v6_6, .slab)
        for (name, offset) in [("slab_cache", 8), ("slab_list", 16), ("rcu_head", 16), ("freelist", 32), ("s_mem", 40),
                               ("active", 48), ("__page_refcount", 52)] {
            #expect(slab.offset(of: name) == offset, "\(name)")
        }
        // 6.6 with SLUB keeps its own slab (counters at 40).
        #expect(try self.slab(.v6_6, .slub).offset(of: "counters") == 40)
    }

    /// 5.15 has no struct slab; SLAB uses struct page's slab arm with s_mem (40, sharing
    /// counters' word) and `active` in the _mapcount union (48); SLOB has no slab_cache
    /// and keeps `units` in that union (48).
    @Test func allocatorsOf515() throws {
        let slab = try slab(.v5_15, .slab)
        for (name, offset) in [("slab_list", 8), ("slab_cache", 24), ("freelist", 32), ("s_mem", 40), ("active", 48), ("_refcount", 52)] {
            #expect(slab.offset(of: name) == offset, "\(name)")
        }
        #expect(slab.field("counters") == nil && slab.field("units") == nil)
        let slob = try self.slab(.v5_15, .slob)
        #expect(slob.offset(of: "units") == 48 && slob.offset(of: "freelist") == 32 && slob.field("slab_cache") == nil)
        #expect(try self.slab(.v5_15, .slub).offset(of: "counters") == 40)
    }

    /// The configuration chooses the allocator; one the version does not have is an
    /// error naming it and the version that removed it (SLOB in 6.4, SLAB in 6.8).
    @Test func allocatorFromConfigAndRemovedOnes() throws {
        #expect(try config("CONFIG_SLAB=y").slabAllocator == .slab)
        #expect(try config("CONFIG_SLOB=y").slabAllocator == .slob)
        #expect(try config("# CONFIG_SLAB is not set\nCONFIG_SLUB=y").slabAllocator == .slub)
        let slob = try config("CONFIG_SLOB=y").layoutConfig
        #expect(throws: LayoutError.optionNotInVersion(option: "CONFIG_SLOB", version: "6.6",
                                                       reason: "SLOB was removed in 6.4; its configurations select CONFIG_SLUB")) {
            try Layouts.all(slob, design: .mainline, kernel: .v6_6)
        }
        let slab = try config("CONFIG_SLAB=y").layoutConfig
        #expect(throws: LayoutError.self) { try Layouts.all(slab, design: .mainline, kernel: .v6_12) }
        #expect(throws: LayoutError.self) { try Layouts.all(slab, design: .mainline, kernel: .v6_19) }
        #expect(try Layouts.all(slab, design: .mainline, kernel: .v6_6).structs.last?.offset(of: "active") == 48)
    }
}
