// struct list_head in the memmap's real bytes (include/linux/list.h) and the buddy
// markers of a free block (mm/page_alloc.c: set_buddy_order(), PageBuddy(),
// buddy_order()), per memmap kind.
import PageLayout

/// LIST_POISON1/2 = 0x100/0x122 + POISON_POINTER_DELTA (0xdead000000000000 on 64-bit,
/// CONFIG_ILLEGAL_POINTER_VALUE; 0 on 32-bit) [include/linux/poison.h].
enum ListPoison {
    static func first(wordSize: Int) -> UInt64 { (wordSize == 8 ? 0xdead_0000_0000_0000 : 0) + 0x100 }
    static func second(wordSize: Int) -> UInt64 { (wordSize == 8 ? 0xdead_0000_0000_0000 : 0) + 0x122 }
}

/// memdesc32's Misc type: in the 32-byte layout `buddy_list` overlaps the memdesc word,
/// so every value with bits 0-1 clear reads as Buddy and Misc is renumbered to 1
/// ("types become 0 Buddy, 1 Misc, 2 File, 3 Anon, 4 Buddy", KN-Memdescs/Path, print).
let memdesc32Misc: UInt64 = 1

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

    /// Linux: `list_add()` (after `head`) or `list_add_tail()` (before it).
    @inline(__always) func listAdd(_ entry: UInt64, _ head: UInt64, tail: Bool) {
        let h = pointer(head), e = pointer(entry)
        let before = tail ? loadPrev(h) : head
        let after = tail ? head : loadNext(h)
        storePrev(tail ? h : pointer(after), entry)
        storeNext(e, after)
        storePrev(e, before)
        storeNext(tail ? pointer(before) : h, entry)
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

    // MARK: Free blocks

    /// The address of the list_head that links a free block: the struct page's
    /// `buddy_list`, or, in memdesc8 (no room in an 8-byte page), the first 16 bytes of
    /// the free block's own memory in the direct map.
    @inline(__always)
    func linkAddress(_ pfn: Int) -> UInt64 {
        pointee.layout.kind == .memdesc8 ? pointee.directMapBase &+ UInt64(pfn) << 12 : pageAddress(pfn) &+ UInt64(pointee.layout.link)
    }

    /// The pfn whose link is at `address` (the inverse of `linkAddress`).
    @inline(__always)
    func pfn(ofLink address: UInt64) -> Int {
        if pointee.layout.kind == .memdesc8 { return Int(truncatingIfNeeded: (address &- pointee.directMapBase) >> 12) }
        return pfn(ofPageAddress: address &- UInt64(pointee.layout.link)) ?? -1
    }

    /// Linux: `set_buddy_order()`: order in `private`, then `__SetPageBuddy()`
    /// (page_type = PGTY_buddy << 24). memdesc32: the order in `private` (the list link
    /// itself makes the word read as Buddy); memdesc8: a Buddy word with the order in
    /// bits 12-17.
    @inline(__always)
    func setBuddy(_ pfn: Int, order: Int) {
        let page = pagePointer(pfn)
        switch pointee.layout.kind {
        case .structPage:
            RawMemory.storeWord(UInt64(order), page + pointee.layout.privateWord, wordSize: pointee.layout.wordSize)
            RawMemory.atomicSet(page + pointee.layout.mapcount, Int32(bitPattern: UInt32(PageType.buddy.rawValue) << 24))
        case .memdesc32:
            RawMemory.storeWord(UInt64(order), page + pointee.layout.privateWord, wordSize: pointee.layout.wordSize)
        case .memdesc8:
            page.storeBytes(of: UInt64(order) << MemdescWord.orderShift | UInt64(MemdescType.buddy.rawValue),
                            toByteOffset: pointee.layout.memdesc, as: UInt64.self)
        }
    }

    /// Linux: `__ClearPageBuddy()` + `set_page_private(page, 0)` after `list_del()`.
    @inline(__always)
    func clearBuddy(_ pfn: Int) {
        let page = pagePointer(pfn)
        switch pointee.layout.kind {
        case .structPage:
            RawMemory.atomicSet(page + pointee.layout.mapcount, -1)
            RawMemory.storeWord(0, page + pointee.layout.privateWord, wordSize: pointee.layout.wordSize)
        case .memdesc32:
            page.storeBytes(of: memdesc32Misc, toByteOffset: pointee.layout.memdesc, as: UInt64.self)
            RawMemory.storeWord(0, page + pointee.layout.privateWord, wordSize: pointee.layout.wordSize)
        case .memdesc8:
            page.storeBytes(of: 0, toByteOffset: pointee.layout.memdesc, as: UInt64.self)
        }
    }

    /// The order of a free block starting at `pfn`, or -1 if it is not PageBuddy.
    /// Linux: `PageBuddy()` + `buddy_order()`.
    @inline(__always)
    func buddyOrder(_ pfn: Int) -> Int {
        let page = pagePointer(pfn)
        switch pointee.layout.kind {
        case .structPage:
            let type = UInt32(bitPattern: RawMemory.atomicRead(page + pointee.layout.mapcount))
            guard type >> 24 == UInt32(PageType.buddy.rawValue) else { return -1 }
            return Int(truncatingIfNeeded: RawMemory.loadWord(page + pointee.layout.privateWord, wordSize: pointee.layout.wordSize))
        case .memdesc32:
            let word = page.load(fromByteOffset: pointee.layout.memdesc, as: UInt64.self)
            // Buddy: a list pointer (bits 0-1 clear) into the memmap or at a free-area
            // head. A ptdesc pointer (type 8) reads alike, but points at a descriptor in
            // the heap outside the free-area heads.
            guard word != 0, word & 3 == 0 else { return -1 }
            let target = word & ~0xf
            if target &- pointee.heapBase < pointee.heapCapacity, target &- pointee.freeAreaBase >= pointee.freeAreaBytes { return -1 }
            return Int(truncatingIfNeeded: RawMemory.loadWord(page + pointee.layout.privateWord, wordSize: pointee.layout.wordSize))
        case .memdesc8:
            let word = page.load(fromByteOffset: pointee.layout.memdesc, as: UInt64.self)
            guard word & MemdescWord.typeMask == UInt64(MemdescType.buddy.rawValue) else { return -1 }
            return Int(truncatingIfNeeded: (word & MemdescWord.orderMask) >> MemdescWord.orderShift)
        }
    }

    /// Linux: `page_zone_id()`: node and zone together (two pages merge only if equal).
    @inline(__always)
    func zoneID(_ pfn: Int) -> Int { nid(of: pfn) << 4 | zone(of: pfn) }
}
