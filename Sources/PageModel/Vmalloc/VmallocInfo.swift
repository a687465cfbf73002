// mm/vmalloc.c (v6.19) vmalloc_info_show() and show_numa_info(): /proc/vmallocinfo; and
// fs/proc/meminfo.c's Vmalloc lines.

extension VmallocSpace {
    /// The Vmalloc lines of /proc/meminfo, in kB as meminfo prints them: VmallocTotal
    /// (`VMALLOC_TOTAL >> 10`), VmallocUsed (`vmalloc_nr_pages()` pages) and
    /// VmallocChunk (always 0 since v4.3).
    public var meminfo: (vmallocTotal: UInt64, vmallocUsed: UInt64, vmallocChunk: UInt64) {
        (UInt64(range.count) >> 10, UInt64(nrPages) << (Self.pageShift - 10), 0)
    }

    /// Linux: /proc/vmallocinfo, one line per busy area by address, then ("as a final
    /// step", `show_purge_info()`) each lazy one:
    /// `0x<start>-0x<end> <size> <caller> pages=<n> vmalloc user vpages N<nid>=<pages>`
    /// (`vmalloc_info_show()`; `%pK` printed in full, as root sees it with
    /// kptr_restrict=0; "vpages" is printed where the kernel's pages[] array is itself
    /// vmalloc'ed, more than a page of pointers; the model does not vmalloc that array
    /// itself). Lazy areas: `unpurged vm_area`.
    public var vmallocinfo: String {
        let (busy, lazy) = state.withLock { ($0.busyAreas, $0.lazyAreas.map { ($0.vaStart, $0.vaEnd) }) }
        let lines = busy.map(line) + lazy.map { "\(Self.hex($0.0))-\(Self.hex($0.1)) \(Self.pad($0.1 - $0.0)) unpurged vm_area" }
        return lines.map { $0 + "\n" }.joined()
    }

    private func line(_ vm: VMStruct) -> String {
        var text = "\(Self.hex(vm.addr))-\(Self.hex(vm.addr &+ vm.size)) \(Self.pad(vm.size)) \(vm.caller)"
        if vm.nrPages > 0 { text += " pages=\(vm.nrPages)" }
        if vm.flags.contains(.ioremap) { text += " ioremap" }
        if vm.flags.contains(.alloc) { text += " vmalloc" }
        if vm.flags.contains(.map) { text += " vmap" }
        if vm.flags.contains(.userMap) { text += " user" }
        if vm.flags.contains(.dmaCoherent) { text += " dma-coherent" }
        // kvmalloc_array() of nr_pages pointers: vmalloc'ed beyond PAGE_SIZE.
        if vm.nrPages * 8 > Int(Self.pageSize) { text += " vpages" }
        // show_numa_info(): pages per node, only for VM_ALLOC areas with pages.
        if vm.flags.contains(.alloc), vm.nrPages > 0 {
            var perNode: [Int: Int] = [:]
            for page in vm.pages { perNode[machine.memmap.nid(of: page.pfn) ?? 0, default: 0] += 1 }
            for nid in perNode.keys.sorted() { text += " N\(nid)=\(perNode[nid]!)" }
        }
        return text
    }

    private static func hex(_ value: UInt64) -> String {
        let digits = String(value, radix: 16)
        return "0x" + String(repeating: "0", count: max(0, 16 - digits.count)) + digits
    }

    /// `%7ld`.
    private static func pad(_ value: UInt64) -> String {
        let text = String(value)
        return String(repeating: " ", count: max(0, 7 - text.count)) + text
    }
}
