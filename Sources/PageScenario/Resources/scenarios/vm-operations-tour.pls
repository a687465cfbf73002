scenario "teaching: mlock, mremap, MADV_PAGEOUT to swap (a pinned page stays), move_pages, hole punching, remote pins"
machine ram=256M nodes=2 swap=64
p = process
a = mmap p 2*PAGE
fill p a 2*PAGE 0x33
# x86-64 with 256 MiB: everything lies below 4 GiB, so user pages come from ZONE_DMA32
# (arch/x86/mm/init.c zone_sizes_init(): ZONE_NORMAL starts at 4 GiB).
expect zone(p@a) == DMA32
# mlock_fixup() adds the range's pages to mm->locked_vm.
mlock p a PAGE
expect locked_vm(p) == 1
munlock p a PAGE
expect locked_vm(p) == 0
# mremap(MREMAP_MAYMOVE) growing a mapping keeps its bytes (move_vma() moves the PTEs).
b = mremap p a 2*PAGE 4*PAGE flags=maymove
expect memory(p, b + PAGE, 2) == x"3333"
# MADV_PAGEOUT: reclaim_pages() -> shrink_folio_list(); try_to_unmap() replaces the PTE
# with a swap entry and pageout() counts PSWPOUT. A page that may be DMA-pinned cannot
# be unmapped (mm/rmap.c try_to_unmap_one(): folio_try_share_anon_rmap_pte() fails).
pins = pin_user_pages p b 1 flags=write
madvise p b 2*PAGE MADV_PAGEOUT
expect mapped(p, b) == true
expect mapped(p, b + PAGE) == false
expect vmstat(pswpout) == 1
expect memory(p, b + PAGE, 2) == x"3333"
unpin_user_page pins[0]
# move_pages() to node 1: migrate_pages() counts PGMIGRATE_SUCCESS per page.
move_pages p b PAGE 1
expect node(p@b) == 1
expect vmstat(pgmigrate_success) == 1
expect memory(p, b, 2) == x"3333"
# shmem_fallocate(FALLOC_FL_PUNCH_HOLE|FALLOC_FL_KEEP_SIZE): the hole reads as zeroes,
# i_size is kept.
m = memfd "tour"
pwrite m 0 "data"
fallocate m 0 PAGE mode=keep_size|punch_hole
expect file(m, 0, 4) == x"00000000"
expect size(m) == 4
# pin_user_pages_remote() of the child's COW-shared page, read-only: GUP unshares it
# (gup_must_unshare()), so the pin is on the child's own copy, not the parent's page.
c = fork p
rp = pin_user_pages_remote p c b + PAGE 1
expect same_page(rp[0], c@b + PAGE) == true
expect same_page(rp[0], p@b + PAGE) == false
unpin_user_pages rp
expect vmstat(pins_outstanding) == 0
