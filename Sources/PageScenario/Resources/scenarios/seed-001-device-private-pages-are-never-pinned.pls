scenario "seed 001 on device-private memory: GUP migrates the pages back to RAM first, so no pin reaches a device-private page's pgmap"
# Seed 001's corruption needs a pin on a ZONE_DEVICE page whose pgmap shares the lru words.
# A device-private page cannot be pinned at all: the CPU cannot map it (its PTE is a
# device-private entry), so GUP's fault goes to do_swap_page() and the pagemap's
# migrate_to_ram() (lib/test_hmm.c dmirror_devmem_fault()) brings the data back to a
# system page first; "device private pages cannot get pinned" (mm/memory.c, v6.19).
# The GUP result is an ordinary RAM page on every design, lru-pinned included.
# The designs that can hold anonymous device-private memory (hmm-tests in the model):
# all but lru-pinned-rearranged, which keeps pgmap in the index word the anon rmap needs
# (memdesc32/memdesc8 keep it in their device folio descriptor).
designs mainline, dma-pinned-field, lru-pinned, page-ext, proxy, memdesc32, memdesc8
machine device_private=true
p = process
a = mmap p 4*PAGE
fill p a 4*PAGE 0x5a
d = dmirror_open p 0
dmirror_migrate_to_dev d a 4
expect mapped(p, a) == false
expect is_device_private(p@a) == true
expect pgmap_owner(p@a+3*PAGE) == 0
# HMM_DMIRROR_SNAPSHOT: this device's private page (0x20) mapped writable (0x02).
expect dmirror_snapshot(d, a, 4) == x"22222222"
pins = pin_user_pages p a 4 flags=write
expect count(pins) == 4
expect is_device_private(pins[0]) == false
expect mapped(p, a) == true
expect bytes(pins[3], 0, 4096) == fill(0x5a)
unpin_user_pages pins
expect vmstat(pin_corruptions) == 0
expect diagnostics(corruption) == 0
expect vmstat(pins_outstanding) == 0
