// The machine's swap: swap_info[] with swapon()/swapoff() (mm/swapfile.c:
// alloc_swap_info(), enable_swap_info(), try_to_unuse()), allocation across devices by
// priority (folio_alloc_swap(), swap_avail_heads), and folio-sized I/O (mm/page_io.c).
import Synchronization

/// `swap_info[]`: the devices by type number. Shared by `SwapSpace` and `SwapCache`.
final class SwapInfoTable: Sendable {
    let devices = ModelMutex<[SwapDevice?]>(Array(repeating: nil, count: SwapConstants.maxSwapfiles))

    func device(_ type: Int) -> SwapDevice? {
        guard type >= 0, type < SwapConstants.maxSwapfiles else { return nil }
        return devices.withLock { $0[type] }
    }
}

/// A machine's swap devices and its swap cache.
///
/// The swap protocol the fault and reclaim layers follow (as the kernel does):
/// - swap-out (`shrink_folio_list()`): `allocate(order:)` (slots with SWAP_HAS_CACHE) →
///   `cache.add(folio, entry:)` → every PTE replaced by the entry takes `duplicate(_:)`
///   (`try_to_unmap_one()`) → `writeFolio(_:)` (`pageout()`) → `cache.remove(_:)`
///   (`__remove_mapping()`: slots whose count is 0 are freed) → the folio is freed;
/// - swap-in (`do_swap_page()`): `cache.getFolio(entry)`; on a miss
///   `prepareSwapin(entry)` (EEXIST: someone else is swapping it in) → a new folio →
///   `cache.add(folio, entry:)` → onto the LRU → `readFolio(_:)` → map it, `free(entry)` (`swap_free()`)
///   → when `swapCount(entry) == 0`, `cache.remove(folio)` (`folio_free_swap()`);
/// - fork copies a swap PTE with `duplicate(_:)`; zapping one calls `free(_:)`.
///
/// Thread safety: `swap_info[]` is behind a `Mutex` (`swap_lock`); devices and the
/// cache lock themselves.
public final class SwapSpace: Sendable {
    public unowned let machine: Machine
    /// The swap cache (`swapper_spaces`).
    public let cache: SwapCache
    let table: SwapInfoTable
    private let leastPriority = ModelMutex(-1)

    public init(machine: Machine) {
        self.machine = machine
        table = SwapInfoTable()
        cache = SwapCache(machine: machine, table: table)
    }

    /// Linux: `swapon(2)`: a device of `slots` page slots (the header slot included), in
    /// the lowest free type number. Without a priority it gets the next lower negative
    /// one (-2, -3, …: `--least_priority`). EINVAL for fewer than 2 slots or a priority
    /// outside -1...32767 (SWAP_FLAG_PRIO_MASK); EPERM when MAX_SWAPFILES devices exist
    /// (`alloc_swap_info()`).
    public func swapon(slots: Int, priority: Int? = nil) throws(Errno) -> SwapDevice {
        guard slots >= 2 else { throw .EINVAL }
        if let priority { guard priority >= -1, priority <= 32767 else { throw .EINVAL } }
        let prio = priority ?? leastPriority.withLock { p in p -= 1; return p }
        return try table.devices.withLock { (devices: inout [SwapDevice?]) throws(Errno) -> SwapDevice in
            guard let type = devices.firstIndex(where: { $0 == nil }) else { throw .EPERM }
            let device = SwapDevice(machine: machine, type: type, slotCount: slots, priority: prio)
            devices[type] = device
            return device
        }
    }

    /// Linux: `swapoff(2)`. The model does not swap pages back in (`try_to_unuse()`):
    /// EBUSY while any slot is in use; EINVAL for a device not on this machine's list.
    public func swapoff(_ device: SwapDevice) throws(Errno) {
        try table.devices.withLock { (devices: inout [SwapDevice?]) throws(Errno) in
            guard device.type < devices.count, devices[device.type] === device else { throw .EINVAL }
            guard device.inusePages == 0 else { throw .EBUSY }
            devices[device.type] = nil
        }
    }

    /// `swap_info[type]`.
    public func device(type: Int) -> SwapDevice? { table.device(type) }

    /// The active devices by type.
    public var devices: [SwapDevice] { table.devices.withLock { $0.compactMap { $0 } } }

    /// Linux: `folio_alloc_swap()`: 2^order slots on the highest-priority device that has
    /// them (ties: the lowest type), with SWAP_HAS_CACHE. nil when every device is full:
    /// the caller keeps the folio (ENOMEM for whoever needed memory).
    public func allocate(order: Int = 0) -> SwapEntry? {
        let ordered = devices.sorted { $0.priority != $1.priority ? $0.priority > $1.priority : $0.type < $1.type }
        for device in ordered {
            if let slot = device.allocateSlot(order: order) { return SwapEntry(type: device.type, offset: slot) }
        }
        return nil
    }

    private func deviceOrRecord(_ entry: SwapEntry, _ function: String) -> SwapDevice? {
        if let device = table.device(entry.type) { return device }
        let value = String(entry.value(bitsPerLong: machine.config.arch.bitsPerLong), radix: 16)
        machine.diagnostics.record(Diagnostic(kind: .warn, reason: "\(function): Bad swap file entry \(String(repeating: "0", count: max(0, 8 - value.count)))\(value)"))
        return nil
    }

    /// Linux: `swap_duplicate(entry)`. EINVAL for an entry of no device (recorded:
    /// "Bad swap file entry"), else as `SwapDevice.duplicate(_:)`.
    public func duplicate(_ entry: SwapEntry) throws(Errno) {
        guard let device = deviceOrRecord(entry, "swap_duplicate") else { throw .EINVAL }
        try device.duplicate(entry.offset)
    }

    /// Linux: `swap_free(entry)`; see `SwapDevice.free(_:)`. An entry of no device is
    /// recorded as "Bad swap file entry".
    @discardableResult
    public func free(_ entry: SwapEntry) -> Bool {
        guard let device = deviceOrRecord(entry, "swap_free") else { return false }
        return device.free(entry.offset)
    }

    /// Linux: `swap_count()` of an entry (0 for an entry of no device).
    public func swapCount(_ entry: SwapEntry) -> Int { table.device(entry.type)?.swapCount(entry.offset) ?? 0 }

    /// Linux: `swapcache_prepare()` for every slot of a 2^order swap-in; undone on failure.
    public func prepareSwapin(_ entry: SwapEntry, order: Int = 0) throws(Errno) {
        guard let device = table.device(entry.type) else { throw .EINVAL }
        let nr = 1 << max(order, 0)
        for i in 0..<nr {
            do throws(Errno) { try device.prepareCache(entry.offset + UInt64(i)) }
            catch {
                for j in 0..<i { device.clearCache(entry.offset + UInt64(j)) }
                throw error
            }
        }
    }

    /// Linux: `swapcache_clear()`: gives back what `prepareSwapin` claimed when the
    /// swap-in is abandoned before the folio entered the cache.
    public func abandonSwapin(_ entry: SwapEntry, order: Int = 0) {
        guard let device = table.device(entry.type) else { return }
        for i in 0..<(1 << max(order, 0)) { device.clearCache(entry.offset + UInt64(i)) }
    }

    /// Linux: `swap_writeout()` → `swap_writepage()`: writes every page of a swap-cache
    /// folio to its slots (`folio->swap` + i). False for a folio not in the swap cache.
    @discardableResult
    public func writeFolio(_ folio: Folio) -> Bool {
        guard let entry = cache.entry(of: folio), let device = table.device(entry.type) else { return false }
        var ok = true
        for i in 0..<folio.nrPages where !device.writePage(slot: entry.offset + UInt64(i), fromPfn: folio.pfn + i) { ok = false }
        return ok
    }

    /// Linux: `swap_read_folio()`: reads every page of a swap-cache folio from its slots
    /// and marks it uptodate. False for a folio not in the swap cache.
    @discardableResult
    public func readFolio(_ folio: Folio) -> Bool {
        guard let entry = cache.entry(of: folio), let device = table.device(entry.type) else { return false }
        var ok = true
        for i in 0..<folio.nrPages where !device.readPage(slot: entry.offset + UInt64(i), toPfn: folio.pfn + i) { ok = false }
        if ok { folio.setFlag(machine.flagBits.uptodate) }
        return ok
    }
}
