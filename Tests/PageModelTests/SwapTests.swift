import PageLayout
@testable import PageModel
import Testing

@Suite struct SwapTests {
    let machine: Machine
    let swap: SwapSpace
    init() throws {
        machine = try Machine(ramBytes: 128 << 20)
        swap = SwapSpace(machine: machine)
    }

    @Test func entriesEncodeAsSwpEntryT() {
        let entry = SwapEntry(type: 3, offset: 0x1234)
        #expect(entry.value() == 3 << 58 | 0x1234)
        #expect(SwapEntry(value: entry.value()) == entry)
        #expect(entry.value(bitsPerLong: 32) == 3 << 26 | 0x1234)
        #expect(SwapEntry(value: 3 << 26 | 0x1234, bitsPerLong: 32) == entry)
        #expect(SwapConstants.typeShift(bitsPerLong: 64) == 58)
        #expect(entry.advanced(by: 2) == SwapEntry(type: 3, offset: 0x1236))
    }

    @Test func slotZeroIsTheHeaderAndAFullDeviceSaysNo() throws {
        let device = try swap.swapon(slots: 8)
        #expect(device.type == 0 && device.priority == -2 && device.pages == 7)
        #expect(device.mapByte(0) == SwapConstants.mapBad)
        var slots: [UInt64] = []
        while let slot = device.allocateSlot() { slots.append(slot) }
        #expect(slots == [1, 2, 3, 4, 5, 6, 7])
        #expect(device.mapByte(1) == SwapConstants.hasCache)
        #expect(device.inusePages == 7 && device.freeSlots == 0)
        #expect(device.allocateSlot() == nil)
        #expect(swap.allocate() == nil)
        // One slot comes back: it is the one handed out next.
        #expect(device.clearCache(4))
        #expect(device.mapByte(4) == 0 && device.inusePages == 6)
        #expect(device.allocateSlot() == 4)
    }

    @Test func duplicateFreeAndTheUnusedEntryDiagnostic() throws {
        let device = try swap.swapon(slots: 4)
        let slot = try #require(device.allocateSlot())
        #expect(slot == 1)
        try device.duplicate(slot)                 // try_to_unmap(): one swap PTE
        try device.duplicate(slot)                 // fork() copied it
        #expect(device.swapCount(slot) == 2 && device.mapByte(slot) == 0x42)
        #expect(device.free(slot))
        #expect(device.mapByte(slot) == 0x41)
        #expect(device.clearCache(slot))           // the folio left the swap cache
        #expect(device.mapByte(slot) == 0x01 && !device.hasCache(slot))
        #expect(device.free(slot))                 // the last PTE went: the slot is free
        #expect(device.mapByte(slot) == 0 && device.inusePages == 0)
        #expect(machine.diagnostics.count == 0)
        #expect(!device.free(slot))                // a double free
        #expect(device.mapByte(slot) == 0)
        #expect(machine.diagnostics.all.map(\.reason) == ["swap_free: Unused swap offset entry 00000001"])
        #expect(throws: Errno.ENOENT) { try device.duplicate(slot) }
        #expect(!device.free(100))
        #expect(throws: Errno.EINVAL) { try device.duplicate(0) }
        #expect(machine.diagnostics.all.map(\.reason).suffix(2) == ["swap_free: Bad swap offset entry 00000064",
                                                                  "swap_duplicate: Bad swap offset entry 00000000"])
        #expect(!swap.free(SwapEntry(type: 5, offset: 1)))
        #expect(machine.diagnostics.all.last?.reason == "swap_free: Bad swap file entry 1400000000000001")
        // A slot only the cache holds: swap_free() is the kernel's VM_BUG_ON.
        let cached = try #require(device.allocateSlot())
        #expect(!device.free(cached))
        #expect(machine.diagnostics.all.last?.kind == .bug)
        #expect(device.mapByte(cached) == SwapConstants.hasCache)
    }

    @Test func countsPastSwapMapMaxContinue() throws {
        let device = try swap.swapon(slots: 2)
        let slot = try #require(device.allocateSlot())
        for _ in 0..<70 { try device.duplicate(slot) }
        #expect(device.swapCount(slot) == 70)
        #expect(device.mapByte(slot) == SwapConstants.countContinued | SwapConstants.hasCache | SwapConstants.mapMax)
        for _ in 0..<70 { #expect(device.free(slot)) }
        #expect(device.swapCount(slot) == 0 && device.mapByte(slot) == SwapConstants.hasCache)
        #expect(machine.diagnostics.count == 0)
    }

    @Test func devicesAreUsedByPriorityAndAlignedRunsForLargeFolios() throws {
        let low = try swap.swapon(slots: 3, priority: 5)
        let high = try swap.swapon(slots: 2, priority: 10)
        #expect(low.type == 0 && high.type == 1)
        #expect(swap.allocate() == SwapEntry(type: 1, offset: 1))
        #expect(swap.allocate() == SwapEntry(type: 0, offset: 1))
        #expect(swap.allocate() == SwapEntry(type: 0, offset: 2))
        #expect(swap.allocate() == nil)
        let big = try swap.swapon(slots: 16, priority: 0)
        #expect(big.allocateSlot(order: 2) == 4)   // 0-3 hold the header
        #expect(big.allocateSlot(order: 2) == 8)
        #expect(big.allocateSlot(order: 2) == 12)
        #expect(big.allocateSlot(order: 2) == nil)
        #expect(big.allocateSlot() == 1)
        #expect(big.inusePages == 13)
        #expect(throws: Errno.EBUSY) { try swap.swapoff(big) }
        #expect(throws: Errno.EINVAL) { try swap.swapon(slots: 1) }
        #expect(throws: Errno.EINVAL) { try swap.swapon(slots: 8, priority: -5) }
    }

    @Test func swaponStopsAtMaxSwapfiles() throws {
        for type in 0..<SwapConstants.maxSwapfiles { #expect(try swap.swapon(slots: 2).type == type) }
        #expect(throws: Errno.EPERM) { try swap.swapon(slots: 2) }
        let third = try #require(swap.device(type: 3))
        try swap.swapoff(third)
        #expect(swap.device(type: 3) == nil)
        #expect(try swap.swapon(slots: 2).type == 3)
        #expect(throws: Errno.EINVAL) { try swap.swapoff(third) }
    }

    @Test func aPageRoundTripsThroughSwapWithRealBytes() throws {
        let before = freePageCount(machine)
        let device = try swap.swapon(slots: 64)
        let data = (0..<4096).map { UInt8(truncatingIfNeeded: $0 * 13 + 5) }
        let bits = machine.flagBits
        // Swap-out.
        let folio = try #require(machine.folioAlloc(.highuserMovable))
        #expect(machine.frames.write(data, pfn: folio.pfn))
        let entry = try #require(swap.allocate())
        #expect(entry == SwapEntry(type: 0, offset: 1))
        #expect(folio.tryLock())
        try swap.cache.add(folio, entry: entry)
        #expect(folio.refcount == 2 && folio.testFlag(bits.ownerPriv1) && folio.testFlag(bits.swapbacked))
        #expect(folio.privateValue == entry.value())
        #expect(swap.cache.lookup(entry) == folio && swap.cache.entry(of: folio) == entry)
        #expect(swap.cache.nrSwapcache == 1)
        try swap.duplicate(entry)                  // the PTE now holds the entry
        #expect(swap.writeFolio(folio))
        #expect(device.pswpout == 1 && device.contents(1) == data)
        #expect(swap.cache.remove(folio))
        #expect(folio.refcount == 1 && !folio.testFlag(bits.ownerPriv1) && folio.privateValue == 0)
        #expect(device.mapByte(1) == 0x01 && swap.cache.nrSwapcache == 0)
        folio.unlock()
        machine.folioPut(folio)
        #expect(freePageCount(machine) == before)
        // Swap-in into a new folio.
        #expect(swap.cache.getFolio(entry) == nil)
        try swap.prepareSwapin(entry)
        #expect(throws: Errno.EEXIST) { try swap.prepareSwapin(entry) }
        let incoming = try #require(machine.folioAlloc(.highuserMovable))
        #expect(incoming.tryLock())
        try swap.cache.add(incoming, entry: entry)
        #expect(swap.readFolio(incoming))
        #expect(incoming.testFlag(bits.uptodate))
        #expect(machine.frames.read(pfn: incoming.pfn, count: 4096) == data)
        #expect(device.pswpin == 1)
        #expect(swap.free(entry))                  // do_swap_page(): swap_free() once mapped
        #expect(swap.swapCount(entry) == 0 && device.mapByte(1) == SwapConstants.hasCache)
        #expect(swap.cache.remove(incoming))       // folio_free_swap(): the slot is free
        #expect(device.mapByte(1) == 0 && device.inusePages == 0 && device.contents(1) == nil)
        incoming.unlock()
        machine.folioPut(incoming)
        #expect(freePageCount(machine) == before)
        #expect(throws: Errno.ENOENT) { try swap.prepareSwapin(entry) }
        #expect(machine.diagnostics.count == 0)
    }

    @Test func aLargeFolioUsesOneAlignedRunOfSlots() throws {
        let device = try swap.swapon(slots: 32)
        let folio = try #require(machine.folioAlloc(.highuserMovable, order: 2))
        for i in 0..<4 { #expect(machine.frames.write([UInt8(i + 1)], pfn: folio.pfn + i, offset: 100)) }
        let entry = try #require(swap.allocate(order: 2))
        #expect(entry.offset == 4)
        #expect(folio.tryLock())
        try swap.cache.add(folio, entry: entry)
        #expect(folio.refcount == 5 && swap.cache.nrSwapcache == 4 && swap.cache.folioCount == 1)
        #expect(swap.cache.lookup(entry.advanced(by: 3)) == folio)
        #expect(swap.writeFolio(folio) && device.pswpout == 4)
        #expect(device.contents(7)?[100] == 4)
        for i in 0..<4 { machine.frames.clear(pfn: folio.pfn + i) }
        #expect(swap.readFolio(folio))
        #expect((0..<4).map { machine.frames.read(pfn: folio.pfn + $0, offset: 100, count: 1)?.first } == [1, 2, 3, 4])
        #expect(swap.cache.remove(folio))
        #expect(device.inusePages == 0 && folio.refcount == 1)
        folio.unlock()
        machine.folioPut(folio)
        // Unlocked or doubly added folios are refused and recorded.
        let other = try #require(machine.folioAlloc(.highuserMovable))
        let slot = try #require(swap.allocate())
        #expect(throws: Errno.EINVAL) { try swap.cache.add(other, entry: slot) }
        #expect(machine.diagnostics.all.last?.reason == "swap_cache_add_folio: folio not locked")
        #expect(other.tryLock())
        #expect(throws: Errno.EINVAL) { try swap.cache.add(other, entry: SwapEntry(type: 0, offset: 20)) }   // no SWAP_HAS_CACHE
        other.unlock()
        machine.folioPut(other)
    }
}
