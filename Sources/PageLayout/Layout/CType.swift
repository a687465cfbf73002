// The C types PageLab's descriptors are made of, sized for one LayoutConfig
// (include/linux/types.h, include/linux/mm_types.h, include/linux/mm_types_task.h).

/// What a member holds, so that reports and the model know how its bits are read.
public enum FieldKind: String, Sendable, Equatable, Codable, CaseIterable {
    /// `page->flags` and its kin: atomic flag bits with node/zone/section fields on top.
    case flags
    /// A kernel pointer (naturally aligned, so its low bits may carry tags).
    case pointer
    /// An atomic counter (`atomic_t`, `atomic_long_t`, `refcount_t`).
    case atomic
    /// A plain integer value (index, private, order, pfn, a count read under a lock).
    case value
    /// A doubly linked list head (`struct list_head`: next, prev).
    case list
    /// `struct rcu_head` (next, func).
    case rcu
    /// A lock (`spinlock_t`).
    case lock
    /// Bits of a bitfield.
    case bitfield
    /// Padding words kept for layout (`_pp_mapping_pad`, `_zd_pad_1`, `_usable_1`).
    case padding
    /// A nested struct kept whole (`struct page` inside `dynamic_page`).
    case record
}

/// A C type with its size and alignment on one architecture, as the layout engine
/// sees it. Sizes follow BITS_PER_LONG; nothing here is typed in per configuration.
public struct CType: Sendable, Equatable {
    /// The type as the kernel spells it (`unsigned long`, `struct list_head`).
    public let spelling: String
    public let size: Int
    public let align: Int
    public let kind: FieldKind

    public init(_ spelling: String, size: Int, align: Int, kind: FieldKind) {
        self.spelling = spelling
        self.size = size
        self.align = align
        self.kind = kind
    }

    /// `type name[count]`.
    public func array(_ count: Int) -> CType {
        CType("\(spelling)[\(count)]", size: size * count, align: align, kind: kind)
    }

    /// The same storage, read as another kind (e.g. an `unsigned long` kept as padding).
    public func asKind(_ kind: FieldKind, spelling: String? = nil) -> CType {
        CType(spelling ?? self.spelling, size: size, align: align, kind: kind)
    }
}

/// The C types of one configuration: `long` and pointers are BITS_PER_LONG wide.
public struct CTypes: Sendable {
    /// sizeof(long) == sizeof(void *).
    public let word: Int
    public let arch: Arch

    public init(_ config: LayoutConfig) {
        self.word = config.wordSize
        self.arch = config.arch
    }

    public var ulong: CType { CType("unsigned long", size: word, align: word, kind: .value) }
    public var uint: CType { CType("unsigned int", size: 4, align: 4, kind: .value) }
    public var int: CType { CType("int", size: 4, align: 4, kind: .value) }
    public var short: CType { CType("short", size: 2, align: 2, kind: .value) }
    public var ushort: CType { CType("unsigned short", size: 2, align: 2, kind: .value) }
    public var u8: CType { CType("u8", size: 1, align: 1, kind: .value) }
    /// `u64`: 8 bytes; aligned to 4 inside structs on i386 (the i386 SysV ABI), to 8 elsewhere.
    public var u64: CType {
        CType("u64", size: 8, align: (arch == .i386 || arch == .i386PAE) ? 4 : 8, kind: .value)
    }
    /// `atomic_t`: `struct { int counter; }`.
    public var atomic: CType { CType("atomic_t", size: 4, align: 4, kind: .atomic) }
    /// `atomic_long_t`.
    public var atomicLong: CType { CType("atomic_long_t", size: word, align: word, kind: .atomic) }
    /// `memdesc_flags_t`: `struct { unsigned long f; }` (mm_types.h:38-40).
    public var memdescFlags: CType { CType("memdesc_flags_t", size: word, align: word, kind: .flags) }
    /// A pointer to `target` (`struct address_space *`).
    public func pointer(_ target: String) -> CType {
        CType("\(target) *", size: word, align: word, kind: .pointer)
    }
    /// `struct list_head { struct list_head *next, *prev; }`.
    public var listHead: CType { CType("struct list_head", size: 2 * word, align: word, kind: .list) }
    /// `struct llist_node { struct llist_node *next; }`.
    public var llistNode: CType { CType("struct llist_node", size: word, align: word, kind: .pointer) }
    /// `struct callback_head { next; func; }` (include/linux/types.h).
    public var rcuHead: CType { CType("struct rcu_head", size: 2 * word, align: word, kind: .rcu) }
    /// `spinlock_t` without lockdep or spinlock debugging: one `arch_spinlock_t`, 4 bytes.
    public var spinlock: CType { CType("spinlock_t", size: 4, align: 4, kind: .lock) }
}
