// The checked field access shared by the memmap and descriptor views (Page, Folio,
// DescriptorBytes): every read or write of a descriptor field goes through `field(_:_:)`,
// which in debug builds checks what CONFIG_DEBUG_VM's VM_BUG_ON_PAGE()/VM_BUG_ON_FOLIO()
// would (include/linux/mmdebug.h), then through RawMemory with its kernel ordering.

/// A view of one descriptor's bytes in raw memory.
///
/// Checks, in debug builds only (`assert`, compiled out of release builds):
/// - the field lies inside the descriptor: offset ≥ 0 and offset + width ≤ `span`;
/// - the view's memory is still the machine's (`isLive`): a struct page view whose
///   section was hot-removed (`memunmap_pages()`), or that was made for a pfn whose
///   section has since been replaced, traps.
///
/// Left to the caller: that a field the design lacks (offset -1) is not touched (the
/// typed accessors return 0 or ignore the write for it), that a descriptor in the heap
/// has not been freed (the heap does not track it per access), and the kernel's own
/// locking and ordering rules beyond each access's memory ordering.
protocol RawView {
    /// The descriptor's first byte.
    var raw: UnsafeMutableRawPointer { get }
    var context: UnsafeMutablePointer<MemmapContext> { get }
    /// The bytes the view may touch from `raw`.
    var span: Int { get }
    /// Whether the bytes are still the machine's (debug checks only).
    var isLive: Bool { get }
}

extension RawView {
    /// The host address of a field of `width` bytes at `offset`, checked in debug builds.
    @inline(__always)
    func field(_ offset: Int, _ width: Int) -> UnsafeMutableRawPointer {
        assert(offset >= 0 && offset + width <= span, "VM_BUG_ON: a \(width)-byte field at offset \(offset) outside a \(span)-byte descriptor")
        assert(isLive, "VM_BUG_ON: a view of released memory (a hot-removed section)")
        return raw + offset
    }

    private var wordSize: Int { context.pointee.layout.wordSize }

    // MARK: Plain loads and stores (READ_ONCE/WRITE_ONCE of an aligned field)

    /// An `unsigned long` field; 0 for a field the design lacks (offset -1).
    @inline(__always)
    func word(_ offset: Int) -> UInt64 {
        offset >= 0 ? RawMemory.loadWord(field(offset, wordSize), wordSize: wordSize) : 0
    }

    @inline(__always)
    func setWord(_ offset: Int, _ value: UInt64) {
        if offset >= 0 { RawMemory.storeWord(value, field(offset, wordSize), wordSize: wordSize) }
    }

    /// A plain (non-atomic) integer field; 0 for a field the design lacks.
    @inline(__always)
    private func plain<T: FixedWidthInteger>(_ offset: Int, as: T.Type) -> T {
        offset >= 0 ? field(offset, MemoryLayout<T>.size).load(as: T.self) : 0
    }

    @inline(__always)
    private func setPlain<T: FixedWidthInteger>(_ offset: Int, _ value: T) {
        if offset >= 0 { field(offset, MemoryLayout<T>.size).storeBytes(of: value, as: T.self) }
    }

    /// A u64 field (the memdesc word is 64 bits on every word size).
    @inline(__always) func uint64(_ offset: Int) -> UInt64 { plain(offset, as: UInt64.self) }
    @inline(__always) func setUInt64(_ offset: Int, _ value: UInt64) { setPlain(offset, value) }
    @inline(__always) func uint32(_ offset: Int) -> UInt32 { plain(offset, as: UInt32.self) }
    @inline(__always) func setUInt32(_ offset: Int, _ value: UInt32) { setPlain(offset, value) }
    /// A 32-bit field (`int`, an `atomic_t` at init time).
    @inline(__always) func int32(_ offset: Int) -> Int32 { plain(offset, as: Int32.self) }
    @inline(__always) func setInt32(_ offset: Int, _ value: Int32) { setPlain(offset, value) }
    @inline(__always) func int16(_ offset: Int) -> Int16 { plain(offset, as: Int16.self) }
    @inline(__always) func setInt16(_ offset: Int, _ value: Int16) { setPlain(offset, value) }
    @inline(__always) func uint8(_ offset: Int) -> UInt8 { plain(offset, as: UInt8.self) }
    @inline(__always) func setUInt8(_ offset: Int, _ value: UInt8) { setPlain(offset, value) }

    /// Copies the first `count` bytes of another descriptor over this one's (the proxy
    /// design's copy of a struct page into its dynamic_page).
    func copyBytes(from source: some RawView, count: Int) {
        field(0, count).copyMemory(from: source.field(0, count), byteCount: count)
    }

    // MARK: atomic_t fields (RawMemory's orderings)

    /// Linux: `atomic_read()`; 0 for a missing field.
    @inline(__always)
    func atomic(_ offset: Int) -> Int32 { offset >= 0 ? RawMemory.atomicRead(field(offset, 4)) : 0 }

    /// Linux: `atomic_set()`.
    @inline(__always)
    func setAtomic(_ offset: Int, _ value: Int32) { if offset >= 0 { RawMemory.atomicSet(field(offset, 4), value) } }

    /// Linux: `atomic_set_release()`.
    @inline(__always)
    func setAtomicRelease(_ offset: Int, _ value: Int32) { if offset >= 0 { RawMemory.atomicSetRelease(field(offset, 4), value) } }

    /// Linux: `atomic_add()` (relaxed, no return value).
    @inline(__always)
    func atomicAdd(_ offset: Int, _ value: Int32) { if offset >= 0 { RawMemory.atomicAdd(field(offset, 4), value) } }

    /// Linux: `atomic_add_return()` (fully ordered); the new value. The field must exist.
    @inline(__always)
    func atomicAddReturn(_ offset: Int, _ value: Int32) -> Int32 { RawMemory.atomicAddReturn(field(offset, 4), value) }

    /// Linux: `atomic_sub_return()` (fully ordered); the new value. The field must exist.
    @inline(__always)
    func atomicSubReturn(_ offset: Int, _ value: Int32) -> Int32 { RawMemory.atomicSubReturn(field(offset, 4), value) }

    /// Linux: `atomic_add_unless()` (fully ordered on success); false for a missing field.
    @inline(__always)
    func atomicAddUnless(_ offset: Int, _ value: Int32, unless u: Int32) -> Bool {
        offset >= 0 && RawMemory.atomicAddUnless(field(offset, 4), value, unless: u)
    }

    /// Linux: `atomic_try_cmpxchg()` (fully ordered). The field must exist.
    @inline(__always)
    func atomicCompareExchange(_ offset: Int, expected: Int32, desired: Int32) -> (exchanged: Bool, original: Int32) {
        RawMemory.atomicCompareExchange(field(offset, 4), expected: expected, desired: desired)
    }

    // MARK: Bit operations on an `unsigned long` flags field

    /// Linux: `set_bit()` (relaxed).
    @inline(__always)
    func setBit(_ bit: Int, inWord offset: Int) {
        if bit >= 0, offset >= 0 { RawMemory.setBit(bit, field(offset, wordSize), wordSize: wordSize) }
    }

    /// Linux: `clear_bit()` (relaxed).
    @inline(__always)
    func clearBit(_ bit: Int, inWord offset: Int) {
        if bit >= 0, offset >= 0 { RawMemory.clearBit(bit, field(offset, wordSize), wordSize: wordSize) }
    }

    /// Linux: `test_and_set_bit()` (fully ordered); the old bit, false for a missing field.
    @inline(__always)
    func testAndSetBit(_ bit: Int, inWord offset: Int) -> Bool {
        bit >= 0 && offset >= 0 && RawMemory.testAndSetBit(bit, field(offset, wordSize), wordSize: wordSize)
    }

    /// Linux: `test_and_clear_bit()` (fully ordered); the old bit, false for a missing field.
    @inline(__always)
    func testAndClearBit(_ bit: Int, inWord offset: Int) -> Bool {
        bit >= 0 && offset >= 0 && RawMemory.testAndClearBit(bit, field(offset, wordSize), wordSize: wordSize)
    }

    /// Linux: `test_and_set_bit_lock()` (acquire); the old bit. Field and bit must exist.
    @inline(__always)
    func testAndSetBitLock(_ bit: Int, inWord offset: Int) -> Bool {
        RawMemory.testAndSetBitLock(bit, field(offset, wordSize), wordSize: wordSize)
    }

    /// Linux: `clear_bit_unlock()` (release). Field and bit must exist.
    @inline(__always)
    func clearBitUnlock(_ bit: Int, inWord offset: Int) {
        RawMemory.clearBitUnlock(bit, field(offset, wordSize), wordSize: wordSize)
    }
}

extension UnsafeMutablePointer where Pointee == MemmapContext {
    /// Whether a view's bytes at `raw` for `pfn` are still the machine's: the struct page
    /// of a present section at its current host address, or an object in the descriptor
    /// heap (folio/slab/ptdesc descriptors, the proxy design's dynamic pages). For debug
    /// checks (`RawView.isLive`).
    func isLiveView(_ raw: UnsafeMutableRawPointer, pfn: Int) -> Bool {
        let heapOffset = raw - pointee.heapHost
        if heapOffset >= 0, UInt64(heapOffset) < pointee.heapCapacity { return true }
        guard pfn >= 0, pfn < pointee.spannedPfns, pointee.sections[pfn >> pointee.sectionShift] != nil else { return false }
        return raw == pagePointer(pfn)
    }

    /// Whether `pfn` has a struct page (`pfn_valid()`), for the views' debug checks.
    func hasStructPage(_ pfn: Int) -> Bool {
        pfn >= 0 && pfn < pointee.spannedPfns && pointee.sections[pfn >> pointee.sectionShift] != nil
    }
}
