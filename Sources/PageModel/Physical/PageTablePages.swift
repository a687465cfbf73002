// Pages that hold page tables: struct ptdesc (include/linux/mm_types.h:572-626,
// include/linux/mm.h: pagetable_alloc(), pagetable_ctor(), pagetable_dtor(),
// pagetable_free()), and the zero page.
import PageLayout
import Synchronization

extension Machine {
    /// Linux: `pagetable_alloc(gfp, order)` + `pagetable_ctor()`: pages from the buddy
    /// allocator marked PGTY_table (`__folio_set_pgtable()`), or in the memdesc designs a
    /// `memdesc_ptdesc` the pages' words point to (type PTdesc). Returns the first page.
    public func pagetableAlloc(_ gfp: GFP = .kernel, order: Int = 0) -> Page? {
        let flags = gfp.union(.comp)
        guard let page = allocPages(order > 0 ? flags : gfp, order: order) else { return nil }
        guard attachPtdesc(page, order: order) else {
            freePages(page, order: order)
            return nil
        }
        pageTablePages.add(1 << order, ordering: .relaxed)
        return page
    }

    /// Linux: `pagetable_dtor()` + `pagetable_free()`: the type goes, the pages go back.
    public func pagetableFree(_ page: Page, order: Int = 0) {
        guard detachPtdesc(page, order: order) else { return }
        pageTablePages.subtract(1 << order, ordering: .relaxed)
        freePages(page, order: order)
    }

    /// `empty_zero_page`: a reserved page of the kernel image (PG_reserved, refcount 1);
    /// in memdesc8, Misc memory of subtype "zero page". Linux: `ZERO_PAGE(0)`.
    public var zeroPage: Page { Page(unchecked: zeroPagePfn, context) }

    /// Linux: `is_zero_pfn()`.
    public func isZeroPfn(_ pfn: Int) -> Bool { pfn == zeroPagePfn }
}
