scenario "gup_longterm: a R/W long-term pin of a shared disk-file mapping is EFAULT; tmpfs and private mappings pin"
# tools/testing/selftests/mm/gup_longterm.c do_test(): should_work = !shared || !rw ||
# fs is tmpfs/hugetlbfs. mm/gup.c check_vma_flags(): FOLL_LONGTERM|FOLL_WRITE on a
# mapping that needs dirty tracking (writable_file_mapping_allowed()) fails with -EFAULT.
p = process
f = file disk "gup_longterm"
pwrite f 0 x"00"
ftruncate f PAGE
s = mmap p PAGE file=f flags=shared
fill p s PAGE 0
pins = pin_user_pages p s 1 flags=write|longterm
expect errno == EFAULT
expect vmstat(pins_outstanding) == 0
# Private: the write pin breaks COW into an anonymous page, which pins.
q = mmap p PAGE file=f flags=private
fill p q PAGE 0
pins = pin_user_pages p q 1 flags=write|longterm
expect errno == ok
unpin_user_pages pins
# tmpfs (memfd) has no writeback: the shared R/W long-term pin works.
m = memfd "gup_longterm"
ftruncate m PAGE
t = mmap p PAGE file=m flags=shared
fill p t PAGE 0
pins = pin_user_pages_fast p t 1 flags=write|longterm
expect errno == ok
expect maybe_dma_pinned(pins[0]) == true
unpin_user_pages pins
expect vmstat(pins_outstanding) == 0
