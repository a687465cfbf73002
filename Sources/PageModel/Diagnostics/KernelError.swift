// Errors of the model's kernel APIs, named by their errno (DESIGN.md principle 6).

/// A kernel API refused a request, with its errno name: `memremap_pages()` returning
/// ERR_PTR(-EINVAL), `kmem_cache_create()` failing, and the like.
public enum KernelError: Error, Equatable, CustomStringConvertible {
    case invalid(String)
    case unsupported(String)
    case noSpace(String)
    case busy(String)

    public var description: String {
        switch self {
        case let .invalid(why): "EINVAL: \(why)"
        case let .unsupported(why): "EOPNOTSUPP: \(why)"
        case let .noSpace(why): "ENOMEM: \(why)"
        case let .busy(why): "EBUSY: \(why)"
        }
    }
}
