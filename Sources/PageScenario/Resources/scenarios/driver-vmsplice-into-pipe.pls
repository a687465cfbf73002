scenario "driver story: vmsplice() into a pipe, the child unmaps, the parent writes: the pipe keeps the old bytes (CVE-2020-29374)"
# vmsplice() takes plain GUP references (iov_iter_get_pages2(): FOLL_GET) of the pages
# it puts in the pipe. cow.c "vmsplice() + unmap in child": since 5.8 (mm/gup.c
# gup_must_unshare(), the COW rework) the parent's write copies, so what the pipe holds
# is never modified under it.
include "include/anon-page.pls"
c = fork p
pipe = get_user_pages_fast c a 1
munmap c a PAGE
fill p a PAGE 0xff
expect bytes(pipe[0], 0, 4096) == fill(0x5a)
expect memory(p, a, 4096) == fill(0xff)
expect maybe_dma_pinned(pipe[0]) == false
release_pages pipe
expect vmstat(pins_outstanding) == 0
