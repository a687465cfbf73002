// One swap device: struct swap_info_struct and its swap_map (mm/swapfile.c:
// setup_swap_map(), folio_alloc_swap()/get_swap_pages(), __swap_duplicate(),
// swap_entry_put_locked(), swapcache_prepare(), put_swap_folio(), _swap_info_get()),
// with its slots as real bytes (mm/page_io.c: swap_writepage(), swap_read_folio()).
import Synchronization
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A swap device of `slotCount` page slots. Linux: `struct swap_info_struct`.
///
/// `swap_map` holds one byte per slot as the kernel's does: the count of swap PTEs (and
/// other references) in the low 6 bits up to SWAP_MAP_MAX (0x3e), SWAP_HAS_CACHE (0x40)
/// while the slot has a swap-cache folio, COUNT_CONTINUED (0x80) when the count goes on
/// in a continuation (kept in a dictionary here; a page per 512 slots in the kernel).
/// Slot 0 is the swap header, marked SWAP_MAP_BAD and never allocated. A slot is free
/// when its byte is 0.
///
/// Thread safety: the map, the continuation counts and the slot contents are behind one
/// `Mutex` (`si->lock` and the cluster locks); counters are atomics.
public final class SwapDevice: Sendable {
    /// The device's type number (its index in `swap_info[]`).
    public let type: Int
    /// `si->max`: slots, the header included.
    public let slotCount: Int
    /// `si->prio`: higher is used first.
    public let priority: Int
    unowned let machine: Machine

    private struct State {
        var map: [UInt8]
        var continued: [UInt64: Int] = [:]
        var contents: [UInt64: [UInt8]] = [:]
        var inuse = 0
        var cursor: UInt64 = 1
    }
    private let state: ModelMutex<State>
    private let swapOuts = Atomic<Int>(0)
    private let swapIns = Atomic<Int>(0)

    init(machine: Machine, type: Int, slotCount: Int, priority: Int) {
        self.machine = machine
        self.type = type
        self.slotCount = slotCount
        self.priority = priority
        var map = [UInt8](repeating: 0, count: slotCount)
        map[0] = SwapConstants.mapBad   // setup_swap_map(): "swap_map[0] = SWAP_MAP_BAD"
        state = ModelMutex(State(map: map))
    }

    /// `si->pages`: usable slots (all but the header).
    public var pages: Int { slotCount - 1 }
    /// `si->inuse_pages`.
    public var inusePages: Int { state.withLock { $0.inuse } }
    /// Usable slots not in use.
    public var freeSlots: Int { pages - inusePages }
    /// `pswpout`: pages written to this device.
    public var pswpout: Int { swapOuts.load(ordering: .relaxed) }
    /// `pswpin`: pages read from this device.
    public var pswpin: Int { swapIns.load(ordering: .relaxed) }

    private func hex(_ offset: UInt64) -> String {
        let digits = String(SwapEntry(type: type, offset: offset).value(bitsPerLong: machine.config.arch.bitsPerLong), radix: 16)
        return String(repeating: "0", count: max(0, 8 - digits.count)) + digits
    }

    private func bad(_ function: String, _ what: String, _ offset: UInt64, kind: Diagnostic.Kind = .warn) {
        machine.diagnostics.record(Diagnostic(kind: kind, reason: "\(function): \(what) \(hex(offset))"))
    }

    /// The raw swap_map byte of a slot (nil outside the device).
    public func mapByte(_ slot: UInt64) -> UInt8? {
        guard slot < UInt64(slotCount) else { return nil }
        return state.withLock { $0.map[Int(slot)] }
    }

    private static func count(_ slot: UInt64, _ state: borrowing State) -> Int {
        let byte = state.map[Int(slot)]
        if byte == SwapConstants.mapBad { return 0 }
        return Int(byte & ~(SwapConstants.hasCache | SwapConstants.countContinued)) + (state.continued[slot] ?? 0)
    }

    /// Linux: `swap_count()` (with the continuation): the references to a slot, not
    /// counting the swap cache. 0 for a free slot or one outside the device.
    public func swapCount(_ slot: UInt64) -> Int {
        guard slot < UInt64(slotCount) else { return 0 }
        return state.withLock { Self.count(slot, $0) }
    }

    /// Whether SWAP_HAS_CACHE is set for a slot.
    public func hasCache(_ slot: UInt64) -> Bool { (mapByte(slot) ?? 0) & SwapConstants.hasCache != 0 && mapByte(slot) != SwapConstants.mapBad }

    /// Linux: `folio_alloc_swap()` → `swap_alloc_slow()`/`cluster_alloc_swap_entry()`:
    /// 2^order free slots, aligned to 2^order (a large folio swaps out as one run), each
    /// set to SWAP_HAS_CACHE for the folio about to enter the swap cache. Returns the
    /// first slot; nil when no such run is free (the caller's ENOMEM / the folio is
    /// split or kept).
    public func allocateSlot(order: Int = 0) -> UInt64? {
        guard order >= 0, order < 20 else { return nil }
        let nr = UInt64(1) << UInt64(order)
        return state.withLock { state -> UInt64? in
            guard state.inuse + Int(nr) <= slotCount - 1 else { return nil }
            let total = UInt64(slotCount)
            // Scan from the cursor, wrapping once (the kernel's per-cpu cluster "next").
            var start = (state.cursor + nr - 1) & ~(nr - 1)
            var scanned: UInt64 = 0
            while scanned < total + nr {
                if start + nr > total { start = 0; scanned += nr; continue }
                var free = start != 0
                if free {
                    for s in start..<(start + nr) where state.map[Int(s)] != 0 { free = false; break }
                }
                if free {
                    for s in start..<(start + nr) { state.map[Int(s)] = SwapConstants.hasCache }
                    state.inuse += Int(nr)
                    state.cursor = start + nr
                    return start
                }
                start += nr
                scanned += nr
            }
            return nil
        }
    }

    /// Frees a slot whose byte reached 0 (`swap_entries_free()`): its contents go.
    private static func release(_ slot: UInt64, _ state: inout State) {
        state.map[Int(slot)] = 0
        state.continued.removeValue(forKey: slot)
        state.contents.removeValue(forKey: slot)
        state.inuse -= 1
    }

    private func valid(_ slot: UInt64, _ function: String) -> Bool {
        guard slot != 0, slot < UInt64(slotCount) else {
            bad(function, "Bad swap offset entry", slot)
            return false
        }
        return true
    }

    /// Linux: `swap_duplicate()` (`__swap_duplicate(entry, 1)`): one more reference to a
    /// slot, e.g. a swap PTE copied by fork() or installed by try_to_unmap(). Past
    /// SWAP_MAP_MAX the count continues (COUNT_CONTINUED). ENOENT for a free slot (count
    /// 0 and no cache), EINVAL (recorded: "Bad swap offset entry") outside the device.
    public func duplicate(_ slot: UInt64) throws(Errno) {
        guard valid(slot, "swap_duplicate") else { throw .EINVAL }
        try state.withLock { (state: inout State) throws(Errno) in
            let byte = state.map[Int(slot)]
            guard byte != SwapConstants.mapBad else { throw .ENOENT }
            let count = byte & ~(SwapConstants.hasCache | SwapConstants.countContinued)
            guard count != 0 || byte & SwapConstants.hasCache != 0 else { throw .ENOENT }
            if count < SwapConstants.mapMax {
                state.map[Int(slot)] = byte + 1
            } else {
                state.map[Int(slot)] = byte | SwapConstants.countContinued
                state.continued[slot, default: 0] += 1
            }
        }
    }

    /// Linux: `swap_free()` (`swap_entry_put_locked(si, ci, entry, 1)`): drops one
    /// reference; the slot is freed when neither references nor the swap cache remain.
    /// A free slot is the kernel's "swap_free: Unused swap offset entry %08lx" (recorded,
    /// nothing changed); a slot held only by the swap cache, its VM_BUG_ON (recorded);
    /// outside the device, "Bad swap offset entry". Returns whether a reference was dropped.
    @discardableResult
    public func free(_ slot: UInt64) -> Bool {
        guard valid(slot, "swap_free") else { return false }
        enum Outcome { case dropped, unused, cacheOnly }
        let outcome = state.withLock { state -> Outcome in
            let byte = state.map[Int(slot)]
            if byte == 0 || byte == SwapConstants.mapBad { return .unused }
            let count = Self.count(slot, state)
            guard count > 0 else { return .cacheOnly }
            if let extra = state.continued[slot] {
                if extra > 1 { state.continued[slot] = extra - 1 }
                else {
                    state.continued.removeValue(forKey: slot)
                    state.map[Int(slot)] = byte & ~SwapConstants.countContinued
                }
            } else {
                state.map[Int(slot)] = byte - 1
                if byte - 1 == 0 { Self.release(slot, &state) }
            }
            return .dropped
        }
        switch outcome {
        case .dropped: return true
        case .unused: bad("swap_free", "Unused swap offset entry", slot)
        case .cacheOnly: bad("swap_entry_put_locked", "swap count underflow (VM_BUG_ON) on entry", slot, kind: .bug)
        }
        return false
    }

    /// Linux: `swapcache_prepare()`: claims SWAP_HAS_CACHE for a swap-in. EEXIST when a
    /// folio is in (or entering) the swap cache already, ENOENT for a free slot, EINVAL
    /// outside the device.
    public func prepareCache(_ slot: UInt64) throws(Errno) {
        guard slot != 0, slot < UInt64(slotCount) else { throw .EINVAL }
        try state.withLock { (state: inout State) throws(Errno) in
            let byte = state.map[Int(slot)]
            guard byte != 0, byte != SwapConstants.mapBad else { throw .ENOENT }
            guard byte & SwapConstants.hasCache == 0 else { throw .EEXIST }
            state.map[Int(slot)] = byte | SwapConstants.hasCache
        }
    }

    /// Linux: `put_swap_folio()` / `swapcache_clear()`: the swap cache lets go of a slot;
    /// freed if no reference remains. False for a slot without SWAP_HAS_CACHE.
    @discardableResult
    public func clearCache(_ slot: UInt64) -> Bool {
        guard slot != 0, slot < UInt64(slotCount) else { return false }
        return state.withLock { state -> Bool in
            let byte = state.map[Int(slot)]
            guard byte != SwapConstants.mapBad, byte & SwapConstants.hasCache != 0 else { return false }
            state.map[Int(slot)] = byte & ~SwapConstants.hasCache
            if state.map[Int(slot)] == 0 { Self.release(slot, &state) }
            return true
        }
    }

    /// Linux: `swap_writepage()` → `swap_writepage_bdev_sync()`: copies the 4096 bytes of
    /// frame `pfn` into the slot; counts `pswpout`. False for a free or invalid slot or pfn.
    @discardableResult
    public func writePage(slot: UInt64, fromPfn pfn: Int) -> Bool {
        guard slot != 0, slot < UInt64(slotCount), let frame = machine.frames.pointer(pfn: pfn) else { return false }
        let bytes = Array(UnsafeRawBufferPointer(start: frame, count: SwapConstants.slotSize))
        let stored = state.withLock { state -> Bool in
            guard state.map[Int(slot)] != 0 else { return false }
            state.contents[slot] = bytes
            return true
        }
        if stored { swapOuts.add(1, ordering: .relaxed) }
        return stored
    }

    /// Linux: `swap_read_folio()` → `swap_read_folio_bdev_sync()`: copies the slot's
    /// bytes into frame `pfn` (zeroes for a slot never written: the zeromap); counts
    /// `pswpin`. False for a free or invalid slot or pfn.
    @discardableResult
    public func readPage(slot: UInt64, toPfn pfn: Int) -> Bool {
        guard slot != 0, slot < UInt64(slotCount), let frame = machine.frames.pointer(pfn: pfn) else { return false }
        let read = state.withLock { state -> Bool in
            guard state.map[Int(slot)] != 0 else { return false }
            if let bytes = state.contents[slot] {
                bytes.withUnsafeBytes { _ = memcpy(frame, $0.baseAddress!, SwapConstants.slotSize) }
            } else {
                memset(frame, 0, SwapConstants.slotSize)
            }
            return true
        }
        if read { swapIns.add(1, ordering: .relaxed) }
        return read
    }

    /// The bytes stored in a slot (nil: never written or free) — tests, dumps.
    public func contents(_ slot: UInt64) -> [UInt8]? { state.withLock { $0.contents[slot] } }
}
