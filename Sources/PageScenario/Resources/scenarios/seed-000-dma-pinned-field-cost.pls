scenario "seed 000: an atomic_t _dma_pinned_count in struct page grows it past 64 bytes"
# M. Wilcox, Dec 2018 (seed 000): "Adding this field will grow struct page by 4-8 bytes,
# so it will no longer be 64 bytes. This isn't an acceptable answer."
designs mainline, dma-pinned-field
# x86-64: _refcount ends at 56 (mm_types.h); the new atomic_t takes 56..60, memcg_data
# (8-aligned) moves to 64..72, and _struct_page_alignment (2 * sizeof(long), x86 selects
# HAVE_ALIGNED_STRUCT_PAGE) rounds 72 up to 80.
expect sizeof_page == mainline:64 dma-pinned-field:80
expect sizeof_page != dma-pinned-field:64
# What the field buys: an exact per-page count, no bias.
include "include/anon-page.pls"
pins = pin_user_pages p a 1 flags=write
expect refcount(pins[0]) == mainline:1025 dma-pinned-field:2
expect maybe_dma_pinned(pins[0]) == true
unpin_user_pages pins
expect maybe_dma_pinned(p@a) == false
expect refcount(p@a) == 1
