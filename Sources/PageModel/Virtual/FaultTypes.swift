// The fault interface: enum fault_flag and vm_fault_t (include/linux/mm_types.h,
// include/linux/mm.h), and the outcome a model process sees for a bad access (the
// SIGSEGV/SIGBUS of arch/x86/mm/fault.c).

/// `enum fault_flag` [include/linux/mm_types.h].
public struct FaultFlags: OptionSet, Sendable, Hashable {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }
    public static let write = FaultFlags(rawValue: 1 << 0)          // FAULT_FLAG_WRITE
    public static let mkwrite = FaultFlags(rawValue: 1 << 1)        // FAULT_FLAG_MKWRITE
    public static let allowRetry = FaultFlags(rawValue: 1 << 2)     // FAULT_FLAG_ALLOW_RETRY
    public static let retryNowait = FaultFlags(rawValue: 1 << 3)    // FAULT_FLAG_RETRY_NOWAIT
    public static let killable = FaultFlags(rawValue: 1 << 4)       // FAULT_FLAG_KILLABLE
    public static let tried = FaultFlags(rawValue: 1 << 5)          // FAULT_FLAG_TRIED
    public static let user = FaultFlags(rawValue: 1 << 6)           // FAULT_FLAG_USER
    public static let remote = FaultFlags(rawValue: 1 << 7)         // FAULT_FLAG_REMOTE
    public static let instruction = FaultFlags(rawValue: 1 << 8)    // FAULT_FLAG_INSTRUCTION
    public static let interruptible = FaultFlags(rawValue: 1 << 9)  // FAULT_FLAG_INTERRUPTIBLE
    public static let unshare = FaultFlags(rawValue: 1 << 10)       // FAULT_FLAG_UNSHARE
    public static let origPteValid = FaultFlags(rawValue: 1 << 11)  // FAULT_FLAG_ORIG_PTE_VALID
    public static let vmaLock = FaultFlags(rawValue: 1 << 12)       // FAULT_FLAG_VMA_LOCK
    /// Not a fault flag: the faulting task is in a memalloc_pin_save() scope
    /// (PF_MEMALLOC_PIN), so `current_gfp_context()` drops __GFP_MOVABLE. The kernel reads
    /// it from `current->flags`; the model's tasks are not kernel threads, so it travels
    /// with the fault.
    public static let memallocPin = FaultFlags(rawValue: 1 << 31)
}

/// `vm_fault_t` [include/linux/mm_types.h: enum vm_fault_reason].
public struct VMFault: OptionSet, Sendable, Hashable, CustomStringConvertible {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }
    public static let oom = VMFault(rawValue: 0x000001)
    public static let sigbus = VMFault(rawValue: 0x000002)
    public static let major = VMFault(rawValue: 0x000004)
    public static let hwpoison = VMFault(rawValue: 0x000010)
    public static let hwpoisonLarge = VMFault(rawValue: 0x000020)
    public static let sigsegv = VMFault(rawValue: 0x000040)
    public static let nopage = VMFault(rawValue: 0x000100)
    public static let locked = VMFault(rawValue: 0x000200)
    public static let retry = VMFault(rawValue: 0x000400)
    public static let fallback = VMFault(rawValue: 0x000800)
    public static let doneCOW = VMFault(rawValue: 0x001000)
    public static let needDsync = VMFault(rawValue: 0x002000)
    public static let completed = VMFault(rawValue: 0x004000)
    /// VM_FAULT_ERROR.
    public static let error: VMFault = [.oom, .sigbus, .sigsegv, .hwpoison, .hwpoisonLarge, .fallback]

    public var isError: Bool { !intersection(.error).isEmpty }

    public var description: String {
        let names: [(VMFault, String)] = [(.oom, "OOM"), (.sigbus, "SIGBUS"), (.major, "MAJOR"), (.hwpoison, "HWPOISON"),
                                          (.sigsegv, "SIGSEGV"), (.nopage, "NOPAGE"), (.locked, "LOCKED"), (.retry, "RETRY"),
                                          (.fallback, "FALLBACK"), (.doneCOW, "DONE_COW"), (.completed, "COMPLETED")]
        let set = names.filter { contains($0.0) }.map { "VM_FAULT_" + $0.1 }
        return set.isEmpty ? "0" : set.joined(separator: "|")
    }
}

/// What a model process's load or store ends in when the memory is not there: the
/// signal the kernel would send (arch/x86/mm/fault.c: bad_area(), do_sigbus(),
/// pagefault_out_of_memory()).
public enum AccessError: Error, Equatable, Sendable, CustomStringConvertible {
    /// SIGSEGV with SEGV_MAPERR (nothing mapped) or SEGV_ACCERR (mapped without the
    /// needed permission, or a guard region).
    case segv(address: UInt64, accessError: Bool)
    /// SIGBUS (a file page past EOF, a hardware-poisoned page).
    case bus(address: UInt64)
    /// The fault could not allocate memory (the OOM killer would run).
    case outOfMemory(address: UInt64)

    public var description: String {
        switch self {
        case .segv(let a, let acc): "SIGSEGV (\(acc ? "SEGV_ACCERR" : "SEGV_MAPERR")) at 0x\(String(a, radix: 16))"
        case .bus(let a): "SIGBUS at 0x\(String(a, radix: 16))"
        case .outOfMemory(let a): "out of memory at 0x\(String(a, radix: 16))"
        }
    }
}
