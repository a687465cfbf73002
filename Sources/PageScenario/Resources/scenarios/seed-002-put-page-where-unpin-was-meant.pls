scenario "seed 002: a random put_page() on a pinned page eats the pin (mainline's bias hides it; exact counts catch it)"
# J. Hubbard, Jul 2018 (seed 002): "allowing random put_page() calls to decrement the
# dma-pinned count ... cannot be solved by anything less than some sort of 'who owns
# this page' approach". The page is mapped once (refcount 1) and pinned once.
include "include/anon-page.pls"
pins = pin_user_pages p a 1 flags=write
# GUP_PIN_COUNTING_BIAS = 1024 (include/linux/mm.h): mainline adds 1024 per pin on a
# small folio; the exact designs add one reference and count the pin apart.
# lru-pinned (Hubbard v2, seeds 001/002) takes a pinned page off the LRU with
# isolate_lru_page(), which holds a reference of its own while the page is off it
# (mm/vmscan.c, v4.18: "get_page(page)" on success): one more than the exact designs.
expect refcount(pins[0]) == mainline:1025 lru-pinned:3 lru-pinned-rearranged:3 others:2
expect maybe_dma_pinned(pins[0]) == true
# A driver calls put_page() where unpin_user_page() was meant: the design cannot tell
# the reference from the owner's.
put_page pins[0]
expect refcount(pins[0]) == mainline:1024 lru-pinned:2 lru-pinned-rearranged:2 others:1
expect maybe_dma_pinned(pins[0]) == true
unpin_user_pages pins
expect vmstat(pins_outstanding) == 0
