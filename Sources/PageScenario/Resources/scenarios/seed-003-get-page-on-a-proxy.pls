scenario "seed 003: get_page() on a GUP result is caught when GUP returns a dynamic_page proxy"
# D. Williams, Dec 2018 (seed 003): a proxy "has the additional benefit of catching cases
# that might be doing a get_page() on a get_user_pages() result and should instead
# switch to a ref_user_page()". Only the proxy design can tell; the reference still
# lands on the real page.
include "include/anon-page.pls"
pins = pin_user_pages p a 1 flags=write
get_page pins[0]
expect vmstat(proxy_misuses) == proxy:1 others:0
# 1 (mapping) + the pin (1024 on mainline's small folio, 1 elsewhere) + get_page's 1.
# lru-pinned (Hubbard v2, seeds 001/002) takes a pinned page off the LRU with
# isolate_lru_page(), which holds a reference of its own while the page is off it
# (mm/vmscan.c, v4.18: "get_page(page)" on success): one more than the exact designs.
expect refcount(pins[0]) == mainline:1026 lru-pinned:4 lru-pinned-rearranged:4 others:3
put_page pins[0]
unpin_user_pages pins
expect refcount(p@a) == 1
expect vmstat(pins_outstanding) == 0
