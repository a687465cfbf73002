// Where a model machine of 5.15 or 6.1 keeps a large folio's fields: in struct page's
// "Tail pages of compound page" and "Second tail page of compound page" arms
// (include/linux/mm_types.h: linux-5.15.y 5.15.135 lines 147-161, linux-6.1.y 6.1.166
// lines 137-155), as prep_compound_page()/prep_compound_head() (mm/page_alloc.c) set them.
import PageLayout

extension ModelLayout {
    /// COMPOUND_PAGE_DTOR of `enum compound_dtor_id` (5.15 and 6.1 include/linux/mm.h),
    /// which prep_compound_head() stores in `page[1].compound_dtor`.
    public static let compoundPageDtor: UInt8 = 1

    /// Moves the folio fields the model keeps to the first and second tail pages'
    /// words of 5.15/6.1's struct page `page` (64-bit; `refusal` turns 32-bit away):
    ///
    /// - order: `page[1].compound_order`, the byte after `compound_dtor` (6.1's folio
    ///   calls them `_folio_dtor`/`_folio_order`), not `_flags_1`'s low byte (6.3 on);
    /// - `_folio_nr_pages`: `page[1].compound_nr`;
    /// - `_entire_mapcount`: `page[1].compound_mapcount` (6.1's folio `_total_mapcount`,
    ///   which folio_entire_mapcount() reads despite the name);
    /// - `_pincount`: 6.1 `page[1].compound_pincount`; 5.15 `page[2].hpage_pinned_refcount`,
    ///   so only order ≥ 2 has one (hpage_pincount_available());
    /// - `_deferred_list`: `page[2].deferred_list`.
    ///
    /// Deliberately different: neither version has v6.19's `_large_mapcount` or
    /// `_nr_pages_mapped` (both sum the pages' own `_mapcount`s when asked: 5.15
    /// total_mapcount(), 6.1 folio_mapcount()), and the model's rmap keeps them as
    /// counters. They go to the first tail's word at `index` (page[1].index, 64 bits),
    /// which neither version uses for a compound page: 6.1 names it `_private_1`
    /// (folio_set_private_1(), hugetlb's subpool only), 5.15 leaves it unnamed in the
    /// tail arm. `_large_mapcount` is its low half, `_nr_pages_mapped` its high half.
    mutating func placeCompoundPageFields(_ page: StructLayout) {
        let one = page.size, two = 2 * page.size
        func inPage(_ base: Int, _ name: String) -> Int { page.offset(of: name).map { base + $0 } ?? -1 }
        let order = inPage(one, "compound_order")
        folioFlags1 = order >= 0 ? order & ~(wordSize - 1) : -1
        folioOrderShift = order >= 0 ? 8 * (order - folioFlags1) : 0
        folioCompoundDtor = inPage(one, "compound_dtor")
        folioNrPages = inPage(one, "compound_nr")
        folioEntireMapcount = inPage(one, "compound_mapcount")
        let pageOnePincount = inPage(one, "compound_pincount")
        folioPincount = pageOnePincount >= 0 ? pageOnePincount : inPage(two, "hpage_pinned_refcount")
        pincountInSecondTail = folioPincount >= two
        folioDeferredList = inPage(two, "deferred_list")
        let spare = inPage(one, "index")
        folioLargeMapcount = spare
        folioNrPagesMapped = spare >= 0 ? spare + 4 : -1
        folioMmIds = -1
        folioMmIdMapcount = -1
        // The model touches these three struct pages of a compound page (as 6.6's
        // struct folio spans three).
        folioSize = 3 * page.size
    }
}
