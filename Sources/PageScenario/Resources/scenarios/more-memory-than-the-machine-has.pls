scenario "a script that touches more memory than the machine has gets the model's ENOMEM (the fault's OOM), never the host's"
# Every design: memdesc32 once hung here (its per-cpu pages read as free blocks of order
# 0x100+ to move_freepages_block(), whose walk then stood still).
designs mainline, dma-pinned-field, lru-pinned, lru-pinned-rearranged, page-ext, proxy, memdesc32, memdesc8
machine ram=128M
# The fault finds no page: do_anonymous_page() returns VM_FAULT_OOM, which
# MADV_POPULATE_WRITE (faultin_page()) reports as -ENOMEM.
p = process
big = mmap p 1G
touch p big 1G write=true
expect errno == ENOMEM
