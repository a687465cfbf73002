scenario "driver story: a GPU userptr pinned, then the range munmapped: the pages live on for the GPU until unpinned"
# A userptr BO pins user pages (pin_user_pages_fast(), FOLL_WRITE|FOLL_LONGTERM). munmap()
# drops the mapping's reference and mapcount (zap_pte_range()), not the pin: the GPU's
# pages are freed only at unpin_user_pages().
p = process
u = mmap p 2*PAGE
fill p u 2*PAGE 0x42
bo = pin_user_pages_fast p u 2 flags=write|longterm
munmap p u 2*PAGE
expect mapped(p, u) == false
expect mapcount(bo[0]) == 0
# The pin's references are all that is left: 1024 on mainline's small folio, 1 elsewhere.
# lru-pinned (Hubbard v2, seeds 001/002) takes a pinned page off the LRU with
# isolate_lru_page(), which holds a reference of its own while the page is off it
# (mm/vmscan.c, v4.18: "get_page(page)" on success): one more than the exact designs.
expect refcount(bo[0]) == mainline:1024 lru-pinned:2 lru-pinned-rearranged:2 others:1
expect maybe_dma_pinned(bo[0]) == true
expect bytes(bo[1], 0, 4096) == fill(0x42)
read p u 1
expect errno == SIGSEGV
unpin_user_pages bo
expect vmstat(pins_outstanding) == 0
