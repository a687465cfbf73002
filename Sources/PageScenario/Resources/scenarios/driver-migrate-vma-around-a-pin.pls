scenario "a driver's migrate_vma to its device memory and back: the DMA-pinned page is not collected and stays in RAM"
# A GPU driver's migration of a buffer to device memory (mm/migrate_device.c, v6.19):
# migrate_vma_setup() with .pgmap_owner its device and .flags MIGRATE_VMA_SELECT_*, its own
# copy into the destination pages, migrate_vma_pages(), migrate_vma_finalize().
# Device-private anonymous memory exists on the designs that keep a pgmap beside the anon
# rmap (as in seed-001-device-private-pages-are-never-pinned: memdesc32/memdesc8 keep no
# pgmap in their folio descriptor, lru-pinned-rearranged keeps it in the index word).
designs mainline, dma-pinned-field, lru-pinned, page-ext, proxy
machine device_private=true
p = process
a = mmap p 4*PAGE
fill p a 4*PAGE 0x5a
# An RDMA-style pin on the second page, still held while the driver migrates.
pins = pin_user_pages p a+PAGE 1 flags=write
d = dmirror_open p 0
m = migrate_vma d a 4 flags=MIGRATE_VMA_SELECT_SYSTEM
# migrate_vma_collect_pmd(): the pinned page is anon-exclusive and
# folio_try_share_anon_rmap_pte() refuses a folio_maybe_dma_pinned() one, so its src entry
# is 0 and cpages counts the other three, all unmapped by migrate_vma_unmap().
expect cpages(m) == 3
# The driver gave each a device page: migrate_vma_pages() keeps MIGRATE_PFN_MIGRATE on 3.
expect migrated(m) == 3
expect is_device_private(p@a) == true
expect pgmap_owner(p@a+3*PAGE) == 0
# The pinned page stays mapped, the same page the pin holds.
expect mapped(p, a+PAGE) == true
expect is_device_private(p@a+PAGE) == false
expect same_page(pins[0], p@a+PAGE) == true
# MIGRATE_VMA_SELECT_DEVICE_COHERENT selects none of device 0's private pages and the
# RAM page is not selected without _SYSTEM: nothing is collected.
c = migrate_vma d a 4 flags=device_coherent
expect cpages(c) == 0
expect migrated(c) == 0
# MIGRATE_VMA_SELECT_DEVICE_PRIVATE with this owner: the three device-private entries
# (migrate_vma_collect_pmd()'s is_device_private_entry() case) come back to RAM.
back = migrate_vma d a 4 flags=device_private
expect cpages(back) == 3
expect migrated(back) == 3
expect mapped(p, a) == true
expect is_device_private(p@a) == false
expect memory(p, a, 4*PAGE) == fill(0x5a)
# migrate_vma_setup(): an end past the VMA's end is -EINVAL.
x = migrate_vma d a 5 flags=system
expect errno == EINVAL
unpin_user_pages pins
expect vmstat(pins_outstanding) == 0
expect diagnostics(all) == 0
