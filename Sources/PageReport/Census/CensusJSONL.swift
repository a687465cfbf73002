// `pagelab census --format jsonl`: flat rows, one JSON object a line, so that DuckDB,
// Spark or Trino aggregate the censuses of any number of hosts (README, "Fleet census").
import PageCensus
import PageLayout

/// The rows of one host's census.
///
/// Every row has `row`, `source` (the snapshot file, or `live`), `host` (`uname -n`),
/// `kernel` (`uname -r`) and `kernel_version` (`major.minor`, or `--kernel`'s).
/// - `row: "design"`, one per design: `design`, `struct_page_size`, `memmap_bytes`,
///   `descriptor_bytes`, `page_ext_bytes`, `total_bytes`, `in_use_bytes`,
///   `not_in_use_bytes`, `ram_pages`, `pfns`.
/// - `row: "pages"`, one per (kind, order) that has folios: `kind`, `order`, `folios`
///   (compound units of that order) and `pages` (`folios << order`); and one per kind
///   with `order: null` for its pages in no such unit (holes, free and uninitialised
///   memmap, tails of irregular compounds). The pages of a kind sum to the census's.
public enum CensusJSONL {
    public static func rows(_ census: Census, costs: [DesignCensusCost], source: String,
                            kernelVersion: String?) -> String {
        let common = "\"source\":\(quoted(source)),\"host\":\(quoted(census.info.machine)),"
            + "\"kernel\":\(quoted(census.info.kernelRelease)),\"kernel_version\":\(kernelVersion.map(quoted) ?? "null")"
        var out = ""
        for cost in costs {
            out += "{\"row\":\"design\",\(common),\"design\":\(quoted(cost.design.rawValue))"
                + ",\"struct_page_size\":\(cost.structPageSize),\"memmap_bytes\":\(cost.memmapBytes)"
                + ",\"descriptor_bytes\":\(cost.descriptorBytes),\"page_ext_bytes\":\(cost.pageExtBytes)"
                + ",\"total_bytes\":\(cost.totalBytes),\"in_use_bytes\":\(cost.inUseBytes)"
                + ",\"not_in_use_bytes\":\(cost.notInUseBytes),\"ram_pages\":\(census.ramPages),\"pfns\":\(census.pfns)}\n"
        }
        for kind in PageKind.allCases {
            let units = census.units[Int(kind.rawValue)]
            var inUnits = 0
            for (order, folios) in units.enumerated() where folios > 0 {
                let pages = folios << order
                inUnits += pages
                out += "{\"row\":\"pages\",\(common),\"kind\":\"\(kind.key)\",\"order\":\(order),\"folios\":\(folios),\"pages\":\(pages)}\n"
            }
            let rest = census[kind].pages - inUnits
            if rest != 0 {
                out += "{\"row\":\"pages\",\(common),\"kind\":\"\(kind.key)\",\"order\":null,\"folios\":0,\"pages\":\(rest)}\n"
            }
        }
        return out
    }

    /// A JSON string literal (RFC 8259: quote, backslash and control characters escaped).
    static func quoted(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\t": out += "\\t"
            case "\r": out += "\\r"
            case _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }
}
