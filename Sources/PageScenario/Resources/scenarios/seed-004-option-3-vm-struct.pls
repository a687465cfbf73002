scenario "seed 004 option 3: the refcount in vm_struct: the whole area outlives vfree() until the last PTE or pin"
# Wilcox's option 3 (linux-mm, 6 Dec 2024; kernel-facts.md 5.5): "a refcount in vm_struct;
# GUP refcounts the whole allocation", initially favoured. On the memdesc designs the
# area (its vmap_area, kernel mapping, /proc/vmallocinfo line and VmallocUsed) stays
# after vfree() until the last user PTE or pin; a second vfree() is the kernel's
# "Trying to vfree() nonexistent vm area" WARN. The struct-page designs have no such
# count (vm_struct has none in v6.19): their area goes at vfree(), the pages live on.
machine vmalloc=vm-struct
p = process
k = vmalloc_user 4*PAGE
u = vmalloc_dev_mmap p 4*PAGE
remap_vmalloc_range p u k
pins = pin_user_pages p u 4 flags=write
# vm_struct's own reference, one per PTE, one per pin.
expect scamem_refcount(pins[0]) == memdesc32:9 memdesc8:9
vfree k
expect vmalloc_area(k) == memdesc32:true memdesc8:true others:false
expect vmstat(nr_vmalloc_pages) == memdesc32:4 memdesc8:4 others:0
vfree k
expect diagnostic(warn, "Trying to vfree() nonexistent vm area") == true
munmap p u 4*PAGE
expect scamem_refcount(pins[0]) == memdesc32:4 memdesc8:4
unpin_user_pages pins
# The last put removes the area and frees its pages.
expect vmalloc_area(k) == false
expect vmstat(nr_vmalloc_pages) == 0
expect vmstat(vmalloc_use_after_free) == 0
