// The operations and queries of the scenario language, as enums: a line's operation is
// resolved once when parsed (an unknown one is a positioned parse error), and the runner
// switches on the case, not on the name's string. The raw value is the name a script
// writes; `Scenarios.signature(_:)` gives each one's arguments (Vocabulary.swift), and
// `ScenarioRunner.perform` its handler (Operations.swift), both exhaustive switches.

/// Every operation of the language.
public enum OperationKind: String, CaseIterable, Sendable {
    case process, fork, exit, mmap, munmap, mprotect, madvise, mremap, mlock, munlock, write, fill
    case read, touch, memfd, file, pwrite, pread, ftruncate, fallocate, writeback, sync, reclaim
    case swapon, thp, movePages = "move_pages", getUserPages = "get_user_pages"
    case getUserPagesFast = "get_user_pages_fast", pinUserPages = "pin_user_pages"
    case pinUserPagesFast = "pin_user_pages_fast", getUserPagesRemote = "get_user_pages_remote"
    case pinUserPagesRemote = "pin_user_pages_remote", unpinUserPages = "unpin_user_pages"
    case unpinUserPage = "unpin_user_page", putPage = "put_page", getPage = "get_page"
    case releasePages = "release_pages", dmaWrite = "dma_write", devdaxMmap = "devdax_mmap"
    case dmirrorOpen = "dmirror_open", dmirrorMigrateToDev = "dmirror_migrate_to_dev"
    case dmirrorMigrateToSys = "dmirror_migrate_to_sys", dmirrorRead = "dmirror_read"
    case dmirrorWrite = "dmirror_write", dmirrorRelease = "dmirror_release"
    case hmmRangeFault = "hmm_range_fault", migrateVma = "migrate_vma", vmalloc, vmallocUser = "vmalloc_user", vfree, vmap
    case vunmap, vmallocDevMmap = "vmalloc_dev_mmap", remapVmallocRange = "remap_vmalloc_range"
}

/// Every query of `expect`.
public enum QueryKind: String, CaseIterable, Sendable {
    case refcount, mapcount, pincount, pins, maybeDmaPinned = "maybe_dma_pinned", flags, node
    case order, zone, samePage = "same_page", hasPgmap = "has_pgmap"
    case isDevicePrivate = "is_device_private", pgmapOwner = "pgmap_owner"
    case cpages, migrated, dmirrorSnapshot = "dmirror_snapshot", scamemRefcount = "scamem_refcount"
    case vmallocArea = "vmalloc_area", bytes, memory, file, mapped, writable, size
    case lockedVm = "locked_vm", count, sizeofPage = "sizeof_page", errno, vmstat, diagnostics
    case diagnostic
}
