scenario "gup_test PIN_FAST_BENCHMARK: pin 16 pages, nr_foll_pin_acquired/released, every page's references restored"
# tools/testing/selftests/mm/gup_test.c with -a (PIN_FAST_BENCHMARK): mmap RW, one write
# per page, pin_user_pages_fast(), unpin_user_pages(). mm/gup.c: each pin of a small
# folio adds GUP_PIN_COUNTING_BIAS (1024) on mainline; node_stat_mod_folio(
# NR_FOLL_PIN_ACQUIRED, 1 per page) (mm/gup.c try_grab_folio) and _RELEASED on unpin.
const N = 16
p = process
a = mmap p N*PAGE
for i in 0..<N
  write p a+i*PAGE "x"
end
pins = pin_user_pages_fast p a N flags=write
expect count(pins) == N
for i in 0..<N
# lru-pinned (Hubbard v2, seeds 001/002) takes a pinned page off the LRU with
# isolate_lru_page(), which holds a reference of its own while the page is off it
# (mm/vmscan.c, v4.18: "get_page(page)" on success): one more than the exact designs.
  expect refcount(pins[i]) == mainline:1025 lru-pinned:3 lru-pinned-rearranged:3 others:2
  expect pins(pins[i]) == 1
end
expect vmstat(nr_foll_pin_acquired) == N
unpin_user_pages pins
expect vmstat(nr_foll_pin_released) == N
for i in 0..<N
  expect refcount(p@a+i*PAGE) == 1
  expect maybe_dma_pinned(p@a+i*PAGE) == false
end
