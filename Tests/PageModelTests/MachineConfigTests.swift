import PageLayout
@testable import PageModel
import Testing

@Suite struct MachineConfigTests {
    @Test func validConfigPasses() throws {
        try MachineConfig(ramBytes: 256 << 20).validate()
        try MachineConfig(ramBytes: 256 << 20, arch: .i386).validate()
    }

    @Test func zeroRAMIsRejected() {
        #expect(throws: MachineError.zeroRAM) { try MachineConfig(ramBytes: 0).validate() }
    }

    @Test func ramNotASectionMultipleIsRejected() {
        // x86_64 sections are 128 MiB (SECTION_SIZE_BITS 27).
        #expect(throws: MachineError.notSectionMultiple(what: "RAM", bytes: 200 << 20, sectionBytes: 128 << 20)) {
            try MachineConfig(ramBytes: 200 << 20).validate()
        }
    }

    @Test func zeroNodesIsRejected() {
        #expect(throws: MachineError.zeroNodes) { try MachineConfig(ramBytes: 256 << 20, nodes: 0).validate() }
    }

    @Test func moreNodesThanSectionsIsRejected() {
        #expect(throws: MachineError.tooManyNodes(nodes: 3, sections: 2)) {
            try MachineConfig(ramBytes: 256 << 20, nodes: 3).validate()
        }
    }

    @Test func physicalMemoryBeyondMaxPhysmemBitsIsRejected() {
        // i386 without PAE: MAX_PHYSMEM_BITS 32.
        #expect(throws: MachineError.beyondPhysmem(bytes: 8 << 30, arch: .i386, maxPhysmemBits: 32)) {
            try MachineConfig(ramBytes: 8 << 30, arch: .i386).validate()
        }
    }

    @Test func lowmemOnlyKernelsRefuseHighMemory() throws {
        // i386-defconfig has no HIGHMEM: the kernel would ignore RAM above 896 MiB.
        #expect(throws: MachineError.beyondLowmem(bytes: 1 << 30, lowmemBytes: 896 << 20)) {
            try MachineConfig(ramBytes: 1 << 30, arch: .i386).validate()
        }
        try MachineConfig(ramBytes: 1 << 30, arch: .i386PAE).validate()
    }

    @Test func memdescDesignsDoNotFit32Bit() throws {
        for design in [Design.memdesc32, .memdesc8] {
            let config = try MachineConfig(ramBytes: 256 << 20, design: design, arch: .i386)
            #expect(throws: MachineError.self) { try config.validate() }
            #expect(throws: MachineError.self) { try Machine(config: config) }
        }
    }

    @Test func zonesFollowTheKernelConfig() throws {
        #expect(try MachineConfig(ramBytes: 256 << 20).zones == [.dma, .dma32, .normal, .movable, .device])
        #expect(try MachineConfig(ramBytes: 256 << 20, arch: .i386).zones == [.dma, .normal, .movable])
        #expect(try MachineConfig(ramBytes: 256 << 20, arch: .arm64).zones == [.dma, .dma32, .normal, .movable])
    }

    @Test func holesMustBeSortedAndAligned() {
        #expect(throws: MachineError.self) {
            try MachineConfig(ramBytes: 256 << 20, holes: [PhysicalHole(start: 100, end: 4096)]).validate()
        }
        let a = PhysicalHole(start: 1 << 20, end: 2 << 20), b = PhysicalHole(start: 1 << 20, end: 3 << 20)
        #expect(throws: MachineError.self) { try MachineConfig(ramBytes: 256 << 20, holes: [a, b]).validate() }
    }

    @Test func sectionGeometryFollowsTheArch() throws {
        let x86 = try MachineConfig(ramBytes: 256 << 20)
        #expect(x86.pagesPerSection == 32768)
        #expect(x86.sectionCount == 2)
        let pae = try MachineConfig(ramBytes: 1 << 30, arch: .i386PAE)
        #expect(pae.pagesPerSection == 1 << 17)
        let holey = try MachineConfig(ramBytes: 256 << 20, holes: [PhysicalHole(start: 640 << 10, end: 1 << 20)])
        #expect(holey.spannedPfns == 65536 + 96)
        #expect(holey.sectionCount == 3)
    }

    @Test func descriptionsAreOneLine() {
        let errors: [MachineError] = [.zeroRAM, .zeroNodes, .notSectionMultiple(what: "RAM", bytes: 1, sectionBytes: 2)]
        for error in errors { #expect(!error.description.contains("\n")) }
    }
}

@Suite struct KernelAddressMapTests {
    @Test func pagesLiveInVmemmap() throws {
        let map = try KernelAddressMap(arch: .x86_64, structPageSize: 64, spannedPfns: 65536, heapBytes: 1 << 20)
        #expect(map.pageAddress(pfn: 0) == 0xffff_ea00_0000_0000)
        #expect(map.pageAddress(pfn: 3) == 0xffff_ea00_0000_00c0)
        #expect(map.pfn(ofPageAddress: 0xffff_ea00_0000_00c0 + 52, spannedPfns: 65536) == 3)
        #expect(map.pfn(ofPageAddress: map.pageAddress(pfn: 65536), spannedPfns: 65536) == nil)
    }

    @Test func thirtyTwoBitAddressesFit() throws {
        let map = try KernelAddressMap(arch: .i386, structPageSize: 32, spannedPfns: 1 << 18, heapBytes: 64 << 20)
        #expect(map.pageAddress(pfn: (1 << 18) - 1) < 1 << 32)
        #expect(map.heapBase + map.heapCapacity <= 1 << 32)
        #expect(map.heapBase >= map.pageAddress(pfn: 1 << 18))
    }

    @Test func hugeThirtyTwoBitMemmapIsRejected() {
        #expect(throws: MachineError.self) {
            try KernelAddressMap(arch: .i386PAE, structPageSize: 64, spannedPfns: 1 << 26, heapBytes: 1 << 20)
        }
    }
}

@Suite struct DescriptorHeapTests {
    @Test func allocationsAreAlignedZeroedAndReused() throws {
        let heap = try DescriptorHeap(base: 0xffff_c900_0000_0000, capacity: 1 << 20)
        let a = try #require(heap.allocate(size: 80, alignment: 16, kind: .folio))
        #expect(a % 16 == 0)
        heap.pointer(a).storeBytes(of: 0xdead_beef, as: UInt64.self)
        let b = try #require(heap.allocate(size: 24, alignment: 8, kind: .pagemap))
        #expect(b != a && b % 8 == 0)
        #expect(heap.usage()[.folio]?.count == 1 && heap.usage()[.folio]?.bytes == 80)
        heap.free(a, size: 80, alignment: 16, kind: .folio)
        let c = try #require(heap.allocate(size: 80, alignment: 16, kind: .folio))
        #expect(c == a)
        #expect(heap.pointer(c).load(as: UInt64.self) == 0)
    }

    /// Each kind is accounted apart, and objects outside the 16-byte-aligned size classes
    /// (over a page, or aligned beyond 16) are reused as well.
    @Test func everyKindIsCountedApartAndLargeObjectsAreReused() throws {
        let heap = try DescriptorHeap(base: 0x1000_0000, capacity: 1 << 20)
        for (i, kind) in HeapObjectKind.allCases.enumerated() {
            _ = try #require(heap.allocate(size: 16 * (i + 1), alignment: 16, kind: kind))
        }
        let usage = heap.usage()
        for (i, kind) in HeapObjectKind.allCases.enumerated() {
            #expect(usage[kind]?.count == 1)
            #expect(usage[kind]?.bytes == 16 * (i + 1))
        }
        let big = try #require(heap.allocate(size: 8192, alignment: 16, kind: .slab))
        let aligned = try #require(heap.allocate(size: 64, alignment: 64, kind: .slab))
        heap.free(big, size: 8192, alignment: 16, kind: .slab)
        heap.free(aligned, size: 64, alignment: 64, kind: .slab)
        #expect(heap.allocate(size: 8192, alignment: 16, kind: .slab) == big)
        #expect(heap.allocate(size: 64, alignment: 64, kind: .slab) == aligned)
    }

    @Test func exhaustionIsNil() throws {
        let heap = try DescriptorHeap(base: 0x1000_0000, capacity: 4096)
        #expect(heap.allocate(size: 4096, alignment: 16, kind: .slab) != nil)
        #expect(heap.allocate(size: 16, alignment: 16, kind: .slab) == nil)
    }
}

@Suite struct FrameContentsTests {
    @Test func framesAreSparseZeroedAndCopyable() throws {
        // 1 TiB of frames: only what is touched costs host memory.
        let frames = try FrameContents(frameCount: 1 << 28)
        #expect(frames.read(pfn: (1 << 28) - 1, offset: 4000, count: 4) == [0, 0, 0, 0])
        #expect(frames.write([1, 2, 3], pfn: 7, offset: 4093))
        #expect(!frames.write([1, 2, 3, 4], pfn: 7, offset: 4093))
        #expect(frames.copy(from: 7, to: 9))
        #expect(frames.read(pfn: 9, offset: 4093, count: 3) == [1, 2, 3])
        #expect(frames.clear(pfn: 9))
        #expect(frames.read(pfn: 9, offset: 4093, count: 3) == [0, 0, 0])
        #expect(frames.pointer(pfn: 1 << 28) == nil)
        #expect(!frames.clear(pfn: (1 << 28) - 1, count: 2))
    }
}

@Suite struct ByteSizeTests {
    @Test func sizesParseWithBinarySuffixes() throws {
        #expect(try ByteSize.parse("4096") == 4096)
        #expect(try ByteSize.parse("256M") == 256 << 20)
        #expect(try ByteSize.parse("64G") == 64 << 30)
        #expect(try ByteSize.parse("1TiB") == 1 << 40)
        #expect(try ByteSize.parse("2k") == 2048)
        for bad in ["", "G", "12X", "1.5G", "²G"] {
            #expect(throws: MachineError.badSize(bad)) { try ByteSize.parse(bad) }
        }
        // Issue 17: a number out of range says so, not "not a size".
        #expect(throws: MachineError.sizeOutOfRange("-1G", reason: "a size cannot be negative")) { try ByteSize.parse("-1G") }
        for huge in ["99999999999P", "99999999T", "18446744073709551616"] {
            #expect(throws: MachineError.sizeOutOfRange(huge, reason: "too large (a size is at most 2^64 - 1 bytes)")) { try ByteSize.parse(huge) }
        }
    }
}
