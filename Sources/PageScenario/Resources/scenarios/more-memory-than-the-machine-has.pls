scenario "a script that touches more memory than the machine has gets the model's ENOMEM (the fault's OOM), never the host's"
# Not memdesc32 for now: under it the model does not return when memory runs out
# (the buddy allocator's fallback, rmqueueFallback() -> claimPageblocks(), keeps going).
designs mainline, dma-pinned-field, lru-pinned, lru-pinned-rearranged, page-ext, proxy, memdesc8
machine ram=128M
# The fault finds no page: do_anonymous_page() returns VM_FAULT_OOM, which
# MADV_POPULATE_WRITE (faultin_page()) reports as -ENOMEM.
p = process
big = mmap p 1G
touch p big 1G write=true
expect errno == ENOMEM
