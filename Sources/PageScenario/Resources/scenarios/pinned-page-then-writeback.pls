scenario "seed threads: a page of a shared disk file pinned for DMA, the device writes, the page is unpinned dirty and written back"
# The problem seed 000-002 set out to solve: DMA into a file page behind the
# filesystem's back. unpin_user_pages_dirty_lock(dirty=true) marks the folio dirty
# (folio_mark_dirty()), so writeback (filemap_write_and_wait()) writes what the device put there.
p = process
f = file disk "data"
pwrite f 0 x"00"
ftruncate f PAGE
m = mmap p PAGE file=f flags=shared
read p m 1
dma = pin_user_pages p m 1 flags=write
dma_write dma[0] 0 "from the device"
unpin_user_pages dma dirty=true
expect flags(p@m) has dirty
writeback f
expect flags(p@m) lacks dirty|writeback
expect file(f, 0, 15) == "from the device"
