// struct list_head in the memmap's real bytes (include/linux/list.h). Where a free
// block's link lives and how it is marked Buddy is the descriptor scheme's
// (Physical/Descriptors/).
import PageLayout

/// LIST_POISON1/2 = 0x100/0x122 + POISON_POINTER_DELTA (0xdead000000000000 on 64-bit,
/// CONFIG_ILLEGAL_POINTER_VALUE; 0 on 32-bit) [include/linux/poison.h].
enum ListPoison {
    static func first(wordSize: Int) -> UInt64 { (wordSize == 8 ? 0xdead_0000_0000_0000 : 0) + 0x100 }
    static func second(wordSize: Int) -> UInt64 { (wordSize == 8 ? 0xdead_0000_0000_0000 : 0) + 0x122 }
}

extension UnsafeMutablePointer where Pointee == MemmapContext {
    /// The host bytes of the list_head at a kernel address. An address the model cannot
    /// follow (outside every region, or not word-aligned: a list pointer some design
    /// overwrote) reaches a scratch list_head instead and is counted
    /// (`wildPointerAccesses`); x86 would follow a misaligned pointer into whatever
    /// bytes are there, the model deliberately does not.
    @inline(__always)
    func pointer(_ address: UInt64) -> UnsafeMutableRawPointer {
        if let host = followable(address) { return host }
        pointee.wildAccessCounter.wrappingIncrement(ordering: .relaxed)
        return pointee.scratch
    }

    /// The host bytes of a list_head the model can follow (word-aligned, in the memmap,
    /// the direct map or the heap); nil otherwise.
    @inline(__always)
    func followable(_ address: UInt64) -> UnsafeMutableRawPointer? {
        address & UInt64(pointee.layout.wordSize - 1) == 0 ? hostPointer(address) : nil
    }

    // A list_head is two words, next then prev. Each address is translated once per
    // operation: the words of one list_head are read and written through one host pointer.
    @inline(__always) private func loadNext(_ link: UnsafeMutableRawPointer) -> UInt64 {
        RawMemory.loadWord(link, wordSize: pointee.layout.wordSize)
    }
    @inline(__always) private func loadPrev(_ link: UnsafeMutableRawPointer) -> UInt64 {
        RawMemory.loadWord(link + pointee.layout.wordSize, wordSize: pointee.layout.wordSize)
    }
    @inline(__always) private func storeNext(_ link: UnsafeMutableRawPointer, _ value: UInt64) {
        RawMemory.storeWord(value, link, wordSize: pointee.layout.wordSize)
    }
    @inline(__always) private func storePrev(_ link: UnsafeMutableRawPointer, _ value: UInt64) {
        RawMemory.storeWord(value, link + pointee.layout.wordSize, wordSize: pointee.layout.wordSize)
    }

    @inline(__always) func next(_ entry: UInt64) -> UInt64 { loadNext(pointer(entry)) }
    @inline(__always) func prev(_ entry: UInt64) -> UInt64 { loadPrev(pointer(entry)) }

    /// Linux: `INIT_LIST_HEAD()`.
    @inline(__always) func listInit(_ head: UInt64) {
        let h = pointer(head)
        storeNext(h, head)
        storePrev(h, head)
    }

    /// Linux: `list_add()` (after `head`) or `list_add_tail()` (before it). The
    /// neighbour that is not `head` is translated in one place: each translation is a
    /// few branches, and a function above the optimizer's block budget is no longer
    /// inlined even with @inline(__always) (which cost the buddy allocator a call here).
    @inline(__always) func listAdd(_ entry: UInt64, _ head: UInt64, tail: Bool) {
        let h = pointer(head), e = pointer(entry)
        let before = tail ? loadPrev(h) : head
        let after = tail ? head : loadNext(h)
        let neighbour = pointer(tail ? before : after)
        storePrev(tail ? h : neighbour, entry)
        storeNext(e, after)
        storePrev(e, before)
        storeNext(tail ? neighbour : h, entry)
    }

    /// Linux: `list_del()`: unlink and poison.
    @inline(__always) func listDel(_ entry: UInt64) {
        let e = pointer(entry)
        let n = loadNext(e), p = loadPrev(e)
        storePrev(pointer(n), p)
        storeNext(pointer(p), n)
        poison(e)
    }

    /// list_del()'s LIST_POISON1/2 in an unlinked entry.
    @inline(__always) private func poison(_ e: UnsafeMutableRawPointer) {
        storeNext(e, ListPoison.first(wordSize: pointee.layout.wordSize))
        storePrev(e, ListPoison.second(wordSize: pointee.layout.wordSize))
    }

    /// Linux: `list_del()` with CONFIG_DEBUG_LIST's `__list_del_entry_valid_or_report()`:
    /// the entry is unlinked only if both neighbours can be followed and point back at
    /// it; otherwise they are left alone and the kernel's report is returned ("list_del
    /// corruption. prev->next should be ..., but was ..."). The entry is poisoned either
    /// way, as list_del() does. Each address is translated once, as in `listDel`.
    @inline(__always) func listDelChecked(_ entry: UInt64) -> String? {
        let e = pointer(entry)
        let n = loadNext(e), p = loadPrev(e)
        var report: String?
        if let hn = followable(n), let hp = followable(p), loadPrev(hn) == entry, loadNext(hp) == entry {
            storePrev(hn, p)
            storeNext(hp, n)
        } else {
            report = listDelReport(entry, next: n, prev: p)
        }
        poison(e)
        return report
    }

    /// The words of `__list_del_entry_valid_or_report()` for an entry that failed it.
    @inline(never) private func listDelReport(_ entry: UInt64, next n: UInt64, prev p: UInt64) -> String {
        let hex = { (value: UInt64) in "0x" + String(value, radix: 16) }
        let wordSize = pointee.layout.wordSize
        if n == ListPoison.first(wordSize: wordSize) { return "list_del corruption, \(hex(entry))->next is LIST_POISON1" }
        if p == ListPoison.second(wordSize: wordSize) { return "list_del corruption, \(hex(entry))->prev is LIST_POISON2" }
        guard followable(n) != nil, followable(p) != nil else {
            return "list_del corruption, \(hex(entry))->next is \(hex(n)), ->prev is \(hex(p))"
        }
        if self.next(p) != entry { return "list_del corruption. prev->next should be \(hex(entry)), but was \(hex(self.next(p))). (prev=\(hex(p)))" }
        return "list_del corruption. next->prev should be \(hex(entry)), but was \(hex(prev(n))). (next=\(hex(n)))"
    }

    /// Linux: `page_zone_id()`: node and zone together (two pages merge only if equal).
    /// Where page->flags keeps both, one load of the word answers, as the kernel's
    /// ZONEID field does; `nid(of:)` and `zone(of:)` each made their own (the buddy
    /// check per merge step cost about 50 instructions more than at 6c19c2f).
    @inline(__always)
    func zoneID(_ pfn: Int) -> Int {
        let f = pointee.fields, flagsOffset = pointee.layout.flags
        guard f.nodesWidth > 0, f.zonesWidth > 0, flagsOffset >= 0 else { return nid(of: pfn) << 4 | zone(of: pfn) }
        let word = RawMemory.loadWord(pagePointer(pfn) + flagsOffset, wordSize: pointee.layout.wordSize)
        let nid = Int(truncatingIfNeeded: word >> UInt64(f.nodesShift)) & ((1 << f.nodesWidth) - 1)
        return nid << 4 | Int(truncatingIfNeeded: word >> UInt64(f.zonesShift)) & ((1 << f.zonesWidth) - 1)
    }
}
