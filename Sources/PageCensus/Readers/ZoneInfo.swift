// Parses /proc/zoneinfo (mm/vmstat.c, zoneinfo_show_print()).

/// One zone: the counters a census checks its classification against.
public struct Zone: Sendable, Equatable, Codable {
    public var node: Int
    public var name: String
    public var startPfn: Int
    public var spanned: Int
    public var present: Int
    public var managed: Int
    public var free: Int

    public init(node: Int, name: String, startPfn: Int = 0, spanned: Int = 0, present: Int = 0, managed: Int = 0, free: Int = 0) {
        self.node = node; self.name = name; self.startPfn = startPfn
        self.spanned = spanned; self.present = present; self.managed = managed; self.free = free
    }

    enum CodingKeys: String, CodingKey {
        case node, name, free, spanned, present, managed
        case startPfn = "start_pfn"
    }
}

public enum ZoneInfo {
    /// The zones, in file order. A zone starts at `Node N, zone NAME`; `pages free`,
    /// `spanned`, `present`, `managed` and `start_pfn:` follow.
    public static func parse(_ text: String) -> [Zone] {
        var zones: [Zone] = []
        for line in text.split(separator: "\n") {
            let words = line.split(whereSeparator: { $0 == " " || $0 == "," || $0 == "\t" })
            if words.count >= 4, words[0] == "Node", words[2] == "zone", let node = Int(words[1]) {
                zones.append(Zone(node: node, name: String(words[3])))
                continue
            }
            guard !zones.isEmpty, words.count >= 2 else { continue }
            let last = zones.count - 1
            switch (words[0], words.count >= 3 ? words[1] : "") {
            case ("pages", "free"): zones[last].free = Int(words[2]) ?? 0
            case ("spanned", _): zones[last].spanned = Int(words[1]) ?? 0
            case ("present", _): zones[last].present = Int(words[1]) ?? 0
            case ("managed", _): zones[last].managed = Int(words[1]) ?? 0
            case ("start_pfn:", _): zones[last].startPfn = Int(words[1]) ?? 0
            default: break
            }
        }
        return zones
    }
}

public enum BuddyInfo {
    /// /proc/buddyinfo (mm/vmstat.c, frag_show_print()): free blocks per order, summed
    /// over every node and zone. Lines read `Node 0, zone   Normal   774 423 ...`.
    public static func parse(_ text: String) -> [Int] {
        var total: [Int] = []
        for line in text.split(separator: "\n") {
            let words = line.split(whereSeparator: { $0 == " " || $0 == "," || $0 == "\t" })
            guard words.count > 4, words[0] == "Node", words[2] == "zone" else { continue }
            for (order, word) in words.dropFirst(4).enumerated() {
                guard let n = Int(word) else { continue }
                if order >= total.count { total.append(contentsOf: repeatElement(0, count: order - total.count + 1)) }
                total[order] += n
            }
        }
        return total
    }
}

public enum KeyValueFile {
    /// /proc/vmstat (`name value`) and /proc/meminfo (`Name:   value kB`): the first
    /// number on each line, by name.
    public static func parse(_ text: String) -> [String: Int] {
        var values: [String: Int] = [:]
        for line in text.split(separator: "\n") {
            let words = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            guard words.count >= 2, let value = Int(words[1]) else { continue }
            var name = words[0]
            if name.last == ":" { name.removeLast() }
            values[String(name)] = value
        }
        return values
    }
}
