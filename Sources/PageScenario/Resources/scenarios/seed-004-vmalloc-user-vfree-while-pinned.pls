scenario "seed 004: vmalloc_user pages remapped to user space, pinned, vfree'd while mapped and pinned: what keeps them alive"
# Wilcox, "Mapping vmalloc pages to userspace" (linux-mm, 6 Dec 2024; kernel-facts.md 5.5).
# A driver (perf, io_uring) vmalloc_user()s a buffer and maps it from its ->mmap handler
# with remap_vmalloc_range(); user space pins it; the driver vfree()s it while still
# mapped and pinned. v6.19 (option 1 in all but name, the struct-page designs): each
# vm_insert_page() takes a folio reference (mm/memory.c insert_page()), GUP another, so
# vfree()'s __free_page() only drops vmalloc's own. The memdesc designs' default is
# option 4: one scamem refcount, held by vm_struct, each user PTE and each pin.
p = process
k = vmalloc_user 4*PAGE
expect vmstat(nr_vmalloc_pages) == 4
u = vmalloc_dev_mmap p 4*PAGE
remap_vmalloc_range p u k
expect mapped(p, u+3*PAGE) == true
# insert_page(): folio_get() + folio_add_file_rmap_pte(): vmalloc's reference and the PTE's.
expect refcount(p@u) == mainline:2 dma-pinned-field:2 lru-pinned:2 lru-pinned-rearranged:2 page-ext:2 proxy:2
expect mapcount(p@u) == mainline:1 dma-pinned-field:1 lru-pinned:1 lru-pinned-rearranged:1 page-ext:1 proxy:1
# scamem: vm_struct's reference, then one per PTE (4).
expect scamem_refcount(p@u) == memdesc32:5 memdesc8:5
write p u+2*PAGE+100 "seed"
pins = pin_user_pages p u 4 flags=write
expect count(pins) == 4
# A vmalloc page of the memdesc designs is a Misc memdesc, no folio to ask: its pins are
# in the scamem's count.
expect maybe_dma_pinned(pins[0]) == mainline:true dma-pinned-field:true lru-pinned:true lru-pinned-rearranged:true page-ext:true proxy:true
# try_grab_folio(FOLL_PIN) on a small folio: + GUP_PIN_COUNTING_BIAS (1024) on mainline.
expect refcount(pins[0]) == mainline:1026
expect scamem_refcount(pins[0]) == memdesc32:9 memdesc8:9
vfree k
# The area is gone (its pages' vmalloc reference dropped); the pages are not.
expect vmalloc_area(k) == false
expect vmstat(nr_vmalloc_pages) == 0
expect refcount(pins[0]) == mainline:1025
expect scamem_refcount(pins[0]) == memdesc32:8 memdesc8:8
expect memory(p, u+2*PAGE+100, 4) == "seed"
munmap p u 4*PAGE
expect refcount(pins[0]) == mainline:1024
expect scamem_refcount(pins[0]) == memdesc32:4 memdesc8:4
# The device still reaches the bytes through its pin.
expect bytes(pins[2], 100, 4) == "seed"
unpin_user_pages pins
# The last put freed the pages (the scamem with them): none was freed while reachable.
expect vmstat(vmalloc_use_after_free) == 0
expect vmstat(pins_outstanding) == 0
expect diagnostics(all) == 0
