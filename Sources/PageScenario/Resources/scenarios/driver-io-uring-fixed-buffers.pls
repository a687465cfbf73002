scenario "driver story: io_uring fixed buffers pinned R/W long-term survive mprotect(R) and back; the write fault reuses the pinned page"
# io_uring registers fixed buffers with FOLL_WRITE|FOLL_LONGTERM (io_uring/rsrc.c
# io_pin_pages()). cow.c "R/O-mapping a page registered as iouring fixed buffer": the
# write fault after mprotect(R)+mprotect(RW) must reuse the exclusive pinned page
# (mm/memory.c wp_can_reuse_anon_folio(), PageAnonExclusive), never copy it.
p = process
buf = mmap p PAGE
write p buf x"00"
fixed = pin_user_pages p buf 1 flags=write|longterm
mprotect p buf PAGE read
mprotect p buf PAGE read|write
fill p buf PAGE 0xff
expect same_page(fixed[0], p@buf) == true
expect bytes(fixed[0], 0, 4096) == fill(0xff)
expect vmstat(cow_copies) == 0
unpin_user_pages fixed
expect vmstat(pins_outstanding) == 0
