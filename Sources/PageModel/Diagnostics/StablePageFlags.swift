// /proc/kpageflags of a model machine: fs/proc/page.c stable_page_flags() of the kernel
// version whose memmap the machine holds, reading that version's encoding of the bytes
// (PG_slab flag or PGTY_slab page type, PAGE_TYPE_BASE bits or PGTY_* top byte, PG_head
// and the compound_head bit). Read from:
//   5.15, 6.1: linux-5.15.y 5.15.135 / linux-6.1.y 6.1.166 fs/proc/page.c (page-based,
//     `k = page->flags`; KPF_MMAP only for !PageSlab(); KPF_SLAB of a tail from its head)
//   6.6: linux-6.6.y 6.6.57 fs/proc/page.c (as 6.1, KPF_MMAP for any mapped page)
//   6.12 on: linux-6.12.y fs/proc/page.c (folio-based: `k = folio->flags`, KPF_THP for a
//     large rmappable folio, KPF_SLAB from folio_test_slab())
// The census (PageCensus) classifies these words; a test feeds the model's to it.
import PageLayout

extension Machine {
    /// KPF_* bit numbers [include/uapi/linux/kernel-page-flags.h, and the kernel-internal
    /// ones of fs/proc/internal.h / include/linux/kernel-page-flags.h from 32].
    enum KPF {
        static let locked = 0, error = 1, referenced = 2, uptodate = 3, dirty = 4, lru = 5, active = 6, slab = 7
        static let writeback = 8, reclaim = 9, buddy = 10, mmap = 11, anon = 12, swapcache = 13, swapbacked = 14
        static let compoundHead = 15, compoundTail = 16, huge = 17, unevictable = 18, hwpoison = 19, nopage = 20
        static let ksm = 21, thp = 22, offline = 23, zeroPage = 24, pgtable = 26
        static let reserved = 32, mlocked = 33, bit34 = 34, privateBit = 35, private2 = 36, ownerPrivate = 37
    }

    /// Linux: `stable_page_flags()` of this machine's kernel version for `pfn` (the
    /// struct-page family; the memdesc designs run v6.19 only and read as v6.19's). A pfn
    /// without a struct page reads KPF_NOPAGE before 6.18 and 0 from the kpage_read()
    /// refactor on. Not modelled: KPF_IDLE (page_idle), KPF_HUGE (the model has no hugetlb
    /// folios), KPF_ARCH*, KPF_UNCACHED.
    public func stablePageFlags(_ pfn: Int) -> UInt64 {
        let version = config.kernel.kernel
        guard let page = self.page(pfn) else { return version < .v6_18 ? 1 << UInt64(KPF.nopage) : 0 }
        let bits = flagBits
        let head = compoundHead(page)
        let isTail = head.pfn != pfn
        let folioBased = version >= .v6_12
        let k = folioBased ? head.flags : page.flags
        var u: UInt64 = 0
        func set(_ kpf: Int, _ on: Bool = true) { if on { u |= 1 << UInt64(kpf) } }
        func copy(_ kpf: Int, _ pg: Int) { if pg >= 0 { set(kpf, k & (1 << UInt64(pg)) != 0) } }

        // The memdesc designs keep mapcounts and `mapping` in the folio descriptor, not in
        // the page (memory without a folio is neither mapped nor anon).
        let descriptor = layout.foliosAreDescriptors ? pageFolio(page) : nil
        let folio = descriptor ?? Folio(raw: head.raw, address: head.address, pfn: head.pfn, context: context)
        let large = !layout.foliosAreDescriptors && head.flags & (1 << UInt64(bits.head)) != 0
        // PG_slab (5.15 to 6.6, on the head) or PGTY_slab (6.10 on, the folio's type).
        let slab = bits.slab >= 0 ? head.flags & (1 << UInt64(bits.slab)) != 0 : head.type == .slab
        // page_mapped(): 5.15 and 6.1 leave slab pages out by hand.
        set(KPF.mmap, !(version < .v6_6 && slab) && (!layout.foliosAreDescriptors || descriptor != nil) && folioMapped(folio))
        // PageAnon()/folio->mapping: the head's mapping, PAGE_MAPPING_ANON in bit 0.
        let mapping = layout.foliosAreDescriptors ? descriptor?.mapping ?? 0 : head.mapping
        if mapping & 1 != 0 {
            set(KPF.anon)
            set(KPF.ksm, mapping & 3 == 3)
        }
        set(KPF.compoundHead, !isTail && large)
        set(KPF.compoundTail, isTail)
        // 5.15-6.6: PageTransCompound() and the head on the LRU or anon; 6.12 on:
        // folio_test_large_rmappable() (PG_large_rmappable = PG_workingset, page 1).
        let thp = large && (folioBased
            ? self.page(head.pfn + 1).map { $0.flags & (1 << UInt64(bits.workingset)) != 0 } ?? false
            : head.flags & (1 << UInt64(bits.lru)) != 0 || mapping & 1 != 0)
        if thp {
            set(KPF.thp)
        } else if isHugeZeroPfn(pfn) {
            // is_huge_zero_pfn() (is_huge_zero_page(head) before 6.12): the huge zero folio
            // is not large_rmappable (get_huge_zero_folio() clears it): KPF_ZERO_PAGE|KPF_THP.
            set(KPF.zeroPage)
            set(KPF.thp)
        } else if !large, pfn == zeroPagePfn {
            set(KPF.zeroPage)
        }
        set(KPF.buddy, page.type == .buddy || (page.refcount == 0 && isFreeBuddyPage(pfn)))
        set(KPF.offline, page.type == .offline)
        set(KPF.pgtable, page.type == .table)
        set(KPF.slab, slab)
        for (kpf, pg) in [(KPF.locked, bits.locked), (KPF.dirty, bits.dirty), (KPF.uptodate, bits.uptodate),
                          (KPF.writeback, bits.writeback), (KPF.lru, bits.lru), (KPF.referenced, bits.referenced),
                          (KPF.active, bits.active), (KPF.reclaim, bits.reclaim), (KPF.swapbacked, bits.swapbacked),
                          (KPF.unevictable, bits.unevictable), (KPF.mlocked, bits.mlocked), (KPF.hwpoison, bits.hwpoison),
                          (KPF.reserved, bits.reserved), (KPF.privateBit, bits.private1), (KPF.private2, bits.private2),
                          (KPF.ownerPrivate, bits.ownerPriv1)] {
            copy(kpf, pg)
        }
        // PageSwapCache(): PG_swapbacked and PG_swapcache (= PG_owner_priv_1) of the head.
        let swapcache: UInt64 = (1 << UInt64(max(bits.swapbacked, 0))) | (1 << UInt64(max(bits.ownerPriv1, 0)))
        set(KPF.swapcache, bits.swapbacked >= 0 && bits.ownerPriv1 >= 0 && head.flags & swapcache == swapcache)
        // Bit 34: PG_mappedtodisk before 6.12 (not modelled), PG_owner_2 from 6.12.
        if folioBased { copy(KPF.bit34, bits.owner2) }
        return u
    }

    /// Linux: `is_free_buddy_page()` (mm/page_alloc.c): some buddy head at or below `pfn`
    /// heads a free block of an order that reaches it.
    func isFreeBuddyPage(_ pfn: Int) -> Bool {
        for order in 0...BuddyConstants.maxOrder {
            let start = pfn & ~((1 << order) - 1)
            if let head = self.page(start), head.type == .buddy, Int(head.privateValue) >= order { return true }
        }
        return false
    }
}
