// The model's kernel virtual address map: where struct pages and descriptors live
// (arch/x86/include/asm/pgtable_64_types.h, page_32_types.h, arm64 memory.h).
import PageLayout

/// Kernel addresses of the model. A pointer field in the memmap holds one of these,
/// never a host pointer, so tag bits (`compound_head | 1`, `mapping | 1`, memdesc
/// type bits) behave as in the kernel and a dump shows kernel-looking values.
///
/// - struct pages: `vmemmapBase + pfn * sizeof(struct page)` (Linux: `pfn_to_page()`
///   with SPARSEMEM_VMEMMAP; on 32-bit FLATMEM the same formula over `mem_map`);
/// - everything else the model allocates in kernel memory (folio, slab and ptdesc
///   descriptors, `struct dev_pagemap`, `address_space`, zone free-list heads): the
///   descriptor heap at `heapBase`.
public struct KernelAddressMap: Sendable, Equatable {
    public let vmemmapBase: UInt64
    public let structPageSize: UInt64
    public let heapBase: UInt64
    public let heapCapacity: UInt64
    /// PAGE_OFFSET: the direct map of all physical memory (64-bit), `page_address()`.
    public let directMapBase: UInt64
    /// BITS_PER_LONG / 8: pointer fields are this wide in the memmap.
    public let wordSize: Int
    /// Where a scheme that keeps free-list links outside the memmap (memdesc8) finds
    /// them, 16 bytes per pfn: on x86_64 the 1 TiB unused hole below the vmemmap
    /// (0xffffe90000000000, Documentation/arch/x86/x86_64/mm.rst), on arm64 the top of
    /// the vmalloc space, which the model's vmalloc range (1 GiB above the heap) never
    /// reaches. 0 on 32-bit, which has no such scheme.
    public let freeLinkBase: UInt64

    /// - Parameters:
    ///   - spannedPfns: pfns of the physical address space (the memmap's extent).
    ///   - heapBytes: the descriptor heap's capacity the model asks for.
    public init(arch: Arch, structPageSize: Int, spannedPfns: Int, heapBytes: UInt64) throws(MachineError) {
        self.structPageSize = UInt64(structPageSize)
        wordSize = arch.bitsPerLong / 8
        let memmapBytes = UInt64(spannedPfns) * UInt64(structPageSize)
        switch arch {
        case .x86_64:
            // VMEMMAP_START with 4-level paging; the heap in its own range at
            // VMALLOC_START (the kernel carves slab objects from the direct map; the model
            // keeps descriptors out of model RAM so that their bytes are counted apart).
            vmemmapBase = 0xffff_ea00_0000_0000
            directMapBase = 0xffff_8880_0000_0000
            heapBase = 0xffff_c900_0000_0000
            heapCapacity = heapBytes
            freeLinkBase = 0xffff_e900_0000_0000
        case .arm64:
            // 48-bit VA, 4 KiB pages: VMEMMAP_START = -1 GiB - VMEMMAP_SIZE (2^41).
            vmemmapBase = 0xffff_fdff_c000_0000
            directMapBase = 0xffff_0000_0000_0000
            heapBase = 0xffff_8001_0000_0000
            heapCapacity = heapBytes
            freeLinkBase = 0xffff_f000_0000_0000
        case .i386, .i386PAE, .arm:
            // FLATMEM: mem_map lies in lowmem above PAGE_OFFSET (0xc0000000) and the
            // kernel image; descriptors follow it. All of it must stay below the fixmap.
            vmemmapBase = 0xc200_0000
            directMapBase = 0xc000_0000
            let afterMemmap = (vmemmapBase + memmapBytes + 0xfffff) & ~UInt64(0xfffff)
            heapBase = afterMemmap
            let ceiling: UInt64 = 0xff80_0000
            guard afterMemmap < ceiling else {
                throw .addressSpaceExhausted(what: "a memmap of \(memmapBytes) bytes")
            }
            heapCapacity = min(heapBytes, ceiling - afterMemmap)
            freeLinkBase = 0
        }
        if wordSize == 8, vmemmapBase &+ memmapBytes < vmemmapBase {
            throw .addressSpaceExhausted(what: "a memmap of \(memmapBytes) bytes")
        }
    }

    /// Linux: `pfn_to_page()`, as an address.
    @inline(__always)
    public func pageAddress(pfn: Int) -> UInt64 { vmemmapBase &+ UInt64(pfn) &* structPageSize }

    /// Linux: `page_to_pfn()` for an address that is a struct page (or inside one: the
    /// pfn of the page it falls in). nil if the address is not in the memmap range.
    @inline(__always)
    public func pfn(ofPageAddress address: UInt64, spannedPfns: Int) -> Int? {
        guard address >= vmemmapBase else { return nil }
        let pfn = (address - vmemmapBase) / structPageSize
        return pfn < UInt64(spannedPfns) ? Int(pfn) : nil
    }

    /// Whether an address lies in the descriptor heap.
    @inline(__always)
    public func isHeapAddress(_ address: UInt64) -> Bool {
        address >= heapBase && address - heapBase < heapCapacity
    }
}
