// The mirror device node as mmap() sees it (lib/test_hmm.c, v6.19: dmirror_fops'
// .mmap = dmirror_fops_mmap()): every page of a new mapping of /dev/hmm_dmirrorN is a
// fresh zeroed kernel page put in with vm_insert_page(), which makes the VMA VM_MIXEDMAP
// (mm/memory.c: vm_insert_page() sets it; insert_page() maps the page with a normal,
// not special, PTE under vma->vm_page_prot, takes a folio reference and a file rmap).
// hmm-tests' `mixedmap` snapshots such a mapping.
//
// Deliberate differences: VM_MIXEDMAP is set by `mmapPrepare` (the model's f_op hook
// runs before the VMA exists), and the pages are inserted right after mmap() returns
// rather than inside it, under the mmap_lock for read (no other thread of the model's
// tests touches the range in between); on a failed insertion the mapping is unmapped,
// as __mmap_region()'s error path does.

/// /dev/hmm_dmirrorN as a mapped file: a character device of size 0 (no page cache; a
/// fault on a page that was not inserted is SIGBUS).
public final class DeviceMirrorFile: MappedFile {
    public let device: DeviceMirrorDevice
    public var size: UInt64 { 0 }
    public var mode: FileMode { [.read, .write] }
    public var name: String { "/dev/hmm_dmirror\(device.id)" }
    public var isCharDevice: Bool { true }
    public init(device: DeviceMirrorDevice) { self.device = device }

    public func mmapPrepare(flags: inout VMFlags, pgoff: UInt64, length: UInt64) throws(Errno) {
        flags.formUnion(.mixedMap)
    }
}

extension DeviceMirror {
    /// mmap() of this open file (`mmap(NULL, length, prot, flags, fd, offset)`), then
    /// Linux: `dmirror_fops_mmap()`: for each page, `alloc_page(GFP_KERNEL | __GFP_ZERO)`,
    /// `vm_insert_page()` (writable only in a shared writable mapping: a private one's
    /// vm_page_prot is copy-on-write), `put_page()`, so the PTE holds the only reference.
    /// ENOMEM when a page cannot be had; EBADF once closed. MAP_ANONYMOUS ignores the
    /// file, as the kernel ignores the fd.
    @discardableResult
    public func mmap(length: UInt64, prot: Prot, flags: MapFlags, offset: UInt64 = 0) throws(Errno) -> UInt64 {
        guard notifier != nil else { throw .EBADF }
        let mm = process.mm
        let addr = try mm.mmap(length: length, prot: prot, flags: flags, file: DeviceMirrorFile(device: device), offset: offset)
        guard !flags.contains(.anonymous) else { return addr }
        let machine = device.machine
        let writable = flags.contains(.shared)
        do throws(Errno) {
            for page in 0..<(UserVM.pageAlign(length) >> UserVM.pageShift) {
                guard let folio = machine.folioAlloc(GFP.kernel.union(.zero)) else { throw Errno.ENOMEM }
                defer { machine.folioPut(folio) }
                try process.insertPages([folio.headPage], at: addr &+ page << UserVM.pageShift, writable: writable)
            }
        } catch {
            try? mm.munmap(addr: addr, length: length)
            throw error
        }
        return addr
    }
}
