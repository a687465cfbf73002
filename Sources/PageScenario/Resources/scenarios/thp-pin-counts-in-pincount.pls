scenario "a PMD-mapped THP pinned: large folios count pins exactly in _pincount, one reference per pin, on mainline too"
# thp=always: an anonymous write fault in a 2 MiB-aligned range of the VMA allocates a
# PMD-sized folio (mm/huge_memory.c do_huge_pmd_anonymous_page(), THP_FAULT_ALLOC).
machine ram=256M thp=always
p = process
h = mmap p HPAGE addr=0x40000000 flags=private|anonymous|fixed
write p h+5*PAGE "x"
expect order(p@h) == 9
expect vmstat(thp_fault_alloc) == 1
# mm/gup.c try_grab_folio(): FOLL_PIN on a large folio adds one reference and
# atomic_add(refs, &folio->_pincount) (folio_has_pincount(): every large folio on 64-bit);
# the memdesc descriptors keep the same _pincount. No GUP_PIN_COUNTING_BIAS.
pins = pin_user_pages p h+5*PAGE 1 flags=write
expect pincount(pins[0]) == mainline:1 memdesc32:1 memdesc8:1
expect refcount(pins[0]) == mainline:2 memdesc32:2 memdesc8:2
expect maybe_dma_pinned(p@h) == true
unpin_user_pages pins
expect pincount(p@h) == mainline:0 memdesc32:0 memdesc8:0
expect maybe_dma_pinned(p@h) == false
