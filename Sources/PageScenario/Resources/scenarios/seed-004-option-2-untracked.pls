scenario "seed 004 option 2: vmalloc pages mapped with no tracking: GUP refused, vfree while mapped leaves user space a freed page"
# Wilcox's option 2 (linux-mm, 6 Dec 2024; kernel-facts.md 5.5): "no tracking (PFN insert,
# no GUP)", risky. Where a page has no folio (the memdesc designs: a vmalloc page is a
# Misc memdesc, "treated like a PFNMAP"), vm_insert_page() installs a special PTE holding
# no reference; GUP with a pages array gets -EEXIST (mm/gup.c follow_pfn_pte()); vfree()
# while mapped frees pages user space still reaches (the model's use-after-free check).
# The struct-page designs' pages keep their own refcounts whatever the option says.
machine vmalloc=untracked
p = process
k = vmalloc_user 4*PAGE
u = vmalloc_dev_mmap p 4*PAGE
remap_vmalloc_range p u k
pins = pin_user_pages p u 1 flags=write
expect errno == memdesc32:EEXIST memdesc8:EEXIST others:ok
write p u+100 x"42"
vfree k
expect vmstat(vmalloc_use_after_free) == memdesc32:4 memdesc8:4 others:0
expect diagnostic(bug, "use-after-free") == memdesc32:true memdesc8:true others:false
# Still reachable through the PTE after the free (past the first 16 bytes, where memdesc8
# links a free block into its list).
expect memory(p, u+100, 1) == x"42"
munmap p u 4*PAGE
unpin_user_pages pins
