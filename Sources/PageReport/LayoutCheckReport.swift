// `pagelab layout --check` as text and JSON (README, "pagelab layout --check").
import PageLayout

/// The computed layouts of a configuration beside a kernel's BTF: how many members agree
/// and every difference.
public struct LayoutCheckReport: Encodable {
    public let configSource: String
    public let kernel: String
    public let btfPath: String
    /// Computed members found in the BTF at the same offset and size, of all computed members
    /// of the structs both sides have.
    public let agreeing: Int
    public let members: Int
    public let differences: [LayoutDifference]

    public init(computed: [StructLayout], btf: [StructLayout], configSource: String, kernel: String, btfPath: String) {
        self.configSource = configSource
        self.kernel = kernel
        self.btfPath = btfPath
        (agreeing, members) = LayoutCheck.agreeing(computed: computed, btf: btf)
        differences = LayoutCheck.compare(computed: computed, btf: btf)
    }

    enum CodingKeys: String, CodingKey {
        case configSource = "config_source", kernel, btfPath = "btf", agreeing, members, differences
    }

    public var text: String {
        var out = "computed: \(configSource), Linux \(kernel); BTF: \(btfPath)\n"
        out += "\(agreeing) of \(members) computed members of struct page, folio, ptdesc and slab agree with the BTF\n"
        if differences.isEmpty { return out + "no differences\n" }
        out += "\(differences.count) difference\(differences.count == 1 ? "" : "s"):\n"
        for difference in differences { out += "  \(difference)\n" }
        return out
    }
}
