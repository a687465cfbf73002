// The census's vmalloc view (/proc/vmallocinfo, seed 004): pages per caller, how many a
// driver may map into user space (VM_USERMAP), and what scamem would cost for them; as
// text and as the `vmalloc` key of `pagelab census --format json`.
import PageCensus

enum CensusVmallocText {
    /// Callers shown in the text table (all of them are in the JSON).
    static let shownCallers = 15

    static func render(_ census: Census) -> String {
        guard let v = census.vmalloc else {
            return "\nvmalloc: /proc/vmallocinfo was not read (root only, mode 0400)\n"
        }
        let ps = census.pageSize
        var out = "\nvmalloc areas (/proc/vmallocinfo): \(v.areas) areas, \(v.pages) pages (\(Units.bytes(v.pages * ps))); "
        out += "\(v.vmallocAreas) vmalloc, \(v.vmapAreas) vmap, \(v.ioremapAreas) ioremap, \(v.unpurgedAreas) unpurged; "
        out += "\(v.userAreas) user (VM_USERMAP) areas of \(v.userPages) pages: scamem would take \(Units.bytes(v.scamemBytes)) "
        out += "in place of their \(Units.bytes(v.userPagesArrayBytes)) pages[] arrays\n"
        for warning in v.warnings { out += "warning: \(warning)\n" }
        var table = TextTable(["caller", "areas", "pages", "size", "user areas", "user pages", "scamem"])
        for caller in v.callers.prefix(shownCallers) {
            table.append([caller.name, "\(caller.areas)", "\(caller.pages)", Units.bytes(caller.pages * ps), "\(caller.userAreas)",
                          "\(caller.userPages)", Units.bytes(caller.scamemBytes)])
        }
        if v.callers.count > shownCallers { table.append(["(\(v.callers.count - shownCallers) more callers)", "", "", "", "", "", ""]) }
        return out + table.render(indent: "  ")
    }
}

/// The `vmalloc` key of the census JSON; absent where /proc/vmallocinfo was not read.
struct CensusVmallocJSON: Encodable {
    struct Caller: Encodable {
        let name: String
        let areas, pages, userAreas, userPages, scamemBytes: Int
        enum CodingKeys: String, CodingKey {
            case name, areas, pages
            case userAreas = "user_areas", userPages = "user_pages", scamemBytes = "scamem_bytes"
        }
    }
    let areas, pages, vmallocAreas, vmapAreas, ioremapAreas, unpurgedAreas, vmMapRamAreas: Int
    let userAreas, userPages, scamemBytes, userPagesArrayBytes: Int
    let callers: [Caller]
    let warnings: [String]

    enum CodingKeys: String, CodingKey {
        case areas, pages, callers, warnings
        case vmallocAreas = "vmalloc_areas", vmapAreas = "vmap_areas", ioremapAreas = "ioremap_areas"
        case unpurgedAreas = "unpurged_areas", vmMapRamAreas = "vm_map_ram_areas"
        case userAreas = "user_areas", userPages = "user_pages", scamemBytes = "scamem_bytes"
        case userPagesArrayBytes = "user_pages_array_bytes"
    }

    init(_ v: VmallocCensus) {
        areas = v.areas; pages = v.pages; vmallocAreas = v.vmallocAreas; vmapAreas = v.vmapAreas
        ioremapAreas = v.ioremapAreas; unpurgedAreas = v.unpurgedAreas; vmMapRamAreas = v.vmMapRamAreas
        userAreas = v.userAreas; userPages = v.userPages; scamemBytes = v.scamemBytes
        userPagesArrayBytes = v.userPagesArrayBytes
        callers = v.callers.map {
            Caller(name: $0.name, areas: $0.areas, pages: $0.pages, userAreas: $0.userAreas, userPages: $0.userPages, scamemBytes: $0.scamemBytes)
        }
        warnings = v.warnings
    }
}
