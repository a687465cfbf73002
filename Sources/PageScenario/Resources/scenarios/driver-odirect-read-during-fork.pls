scenario "driver story: an O_DIRECT read into anonymous memory races fork(); the parent's buffer keeps the DMA, the child gets a copy"
# Direct I/O pins the user buffer (iov_iter_extract_pages() -> pin_user_pages_fast(),
# FOLL_WRITE). fork() copies a possibly-pinned exclusive anon page into the child
# (mm/memory.c copy_present_page(), folio_needs_cow_for_dma()), so the device's write
# lands in the parent's page only: "mm: Do early cow for pinned pages during fork()".
include "include/anon-page.pls"
io = pin_user_pages_fast p a 1 flags=write
c = fork p
expect vmstat(fork_pinned_copies) == 1
expect same_page(io[0], p@a) == true
expect same_page(io[0], c@a) == false
dma_write io[0] 0 "DMA!"
unpin_user_pages io dirty=true
expect memory(p, a, 4) == "DMA!"
expect memory(c, a, 4) == x"5a5a5a5a"
expect vmstat(pins_outstanding) == 0
