// Which designs an architecture can have: said once, for `machine` and `layout` alike.

extension Design {
    /// Why this design cannot be laid out on `arch`, or nil when it can. The memdesc
    /// designs exist to shrink a 64-bit kernel's 64-byte struct page; on a 32-bit arch
    /// struct page is already 32 bytes, and the memdesc word's type bits need a 16-byte
    /// aligned descriptor pointer with room above 28 bits (Memdescs/Path).
    public func unfitReason(on arch: Arch) -> String? {
        guard arch.bitsPerLong == 32, allocatesDescriptors else { return nil }
        return "the memdesc plan shrinks a 64-byte struct page; a 32-bit struct page is already 32 bytes and its memdesc word has no room for a 16-byte-aligned pointer and type bits above 28 bits"
    }
}
