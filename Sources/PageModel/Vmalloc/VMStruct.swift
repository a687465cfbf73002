// include/linux/vmalloc.h (v6.19): struct vm_struct, struct vmap_area and the VM_* flags
// of vmalloc areas (not the VMA flags of mm.h, which share the prefix).
import Synchronization

/// The flags of a vmalloc area, with the kernel's values (include/linux/vmalloc.h).
public struct VMAreaFlags: OptionSet, Sendable, Hashable {
    public let rawValue: UInt64
    public init(rawValue: UInt64) { self.rawValue = rawValue }
    /// VM_IOREMAP 0x1: ioremap() and friends.
    public static let ioremap = VMAreaFlags(rawValue: 0x1)
    /// VM_ALLOC 0x2: vmalloc().
    public static let alloc = VMAreaFlags(rawValue: 0x2)
    /// VM_MAP 0x4: vmap()ed pages.
    public static let map = VMAreaFlags(rawValue: 0x4)
    /// VM_USERMAP 0x8: suitable for remap_vmalloc_range().
    public static let userMap = VMAreaFlags(rawValue: 0x8)
    /// VM_DMA_COHERENT 0x10: dma_alloc_coherent().
    public static let dmaCoherent = VMAreaFlags(rawValue: 0x10)
    /// VM_UNINITIALIZED 0x20: vm_struct is not fully initialized.
    public static let uninitialized = VMAreaFlags(rawValue: 0x20)
    /// VM_NO_GUARD 0x40: don't add the guard page.
    public static let noGuard = VMAreaFlags(rawValue: 0x40)
    /// VM_MAP_PUT_PAGES 0x200: vfree() puts the pages and frees the array (vmap()).
    public static let mapPutPages = VMAreaFlags(rawValue: 0x200)
    /// VM_ALLOW_HUGE_VMAP 0x400: huge pages on archs with HAVE_ARCH_HUGE_VMALLOC.
    public static let allowHugeVmap = VMAreaFlags(rawValue: 0x400)
}

/// Linux: `struct vm_struct`: one vmalloc or vmap area. `size` includes the guard page
/// (`get_vm_area_size()` is `size - PAGE_SIZE` unless VM_NO_GUARD). v6.19 has no
/// refcount here (kernel-facts.md 5.5): the pages' own refcounts keep them alive.
public final class VMStruct: @unchecked Sendable {
    /// The first address of the area.
    public let addr: UInt64
    /// The area's size in bytes, guard page included.
    public let size: UInt64
    /// VM_* flags; VM_UNINITIALIZED is cleared when the pages are mapped
    /// (`clear_vm_uninitialized_flag()`).
    public internal(set) var flags: VMAreaFlags
    /// `pages[]`: the pages in address order (vmap(): only with VM_MAP_PUT_PAGES).
    public internal(set) var pages: [Page]
    /// The order the pages were allocated at (`page_order`; 0: every page on its own).
    public let pageOrder: Int
    /// `caller`: the function that asked, as /proc/vmallocinfo prints it (`%pS`).
    public let caller: String
    /// `requested_size`: the size the caller asked for, before page alignment.
    public let requestedSize: UInt64
    /// The scamem holding the pages' refcount (seed 004 option 4), of which this
    /// vm_struct holds one reference; nil where the pages keep their own or none.
    public internal(set) var scamem: UInt64?
    /// Option 3: vfree() has dropped the owner's reference; the area waits for the last
    /// user PTE or pin.
    var ownerReleased = false
    /// User PTEs that map the area's pages without a reference (the model's
    /// use-after-free check; not a kernel field).
    let untracked = Mutex<[UntrackedUserMapping]>([])

    init(addr: UInt64, size: UInt64, flags: VMAreaFlags, pageOrder: Int, caller: String, requestedSize: UInt64) {
        self.addr = addr
        self.size = size
        self.flags = flags
        self.pages = []
        self.pageOrder = pageOrder
        self.caller = caller
        self.requestedSize = requestedSize
    }

    /// `nr_pages`.
    public var nrPages: Int { pages.count }

    /// Linux: `get_vm_area_size()`: the usable size, without the guard page.
    public var usableSize: UInt64 { flags.contains(.noGuard) ? size : size - VmallocSpace.pageSize }
}

/// Linux: `struct vmap_area`: a busy or lazily freed range of the vmalloc space. `vm` is
/// nil once vfree()/vunmap() detached it and it waits for the lazy purge.
final class VmapArea: @unchecked Sendable {
    let vaStart: UInt64
    let vaEnd: UInt64
    var vm: VMStruct?

    init(vaStart: UInt64, vaEnd: UInt64, vm: VMStruct?) {
        self.vaStart = vaStart
        self.vaEnd = vaEnd
        self.vm = vm
    }

    /// `va_size()`.
    var size: UInt64 { vaEnd - vaStart }
}
