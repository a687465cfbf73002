// File paths and run-time names by number, one table for the process: a SourcePosition
// holds its file's number and a Ref its name's number, so both are plain integers that
// parsing and running copy without reference counting (a profile of the parser showed
// the retains and releases of the Strings they carried). The text is looked up only for
// a message, a trace or a report. Append-only, so a number never changes meaning; it
// grows by the distinct file paths and bound names parsed in the process.
import PageModel

enum SourceNames {
    private struct Table {
        var names: [String] = []
        var numbers: [String: Int32] = [:]
    }

    private static let table = ModelMutex(Table())

    /// The number of `name`, given one if new.
    static func number(_ name: String) -> Int32 {
        table.withLock { table in
            if let number = table.numbers[name] { return number }
            let number = Int32(table.names.count)
            table.names.append(name)
            table.numbers[name] = number
            return number
        }
    }

    /// The name numbered `number` ("" for a number no name has).
    static func name(_ number: Int32) -> String {
        table.withLock { table in number >= 0 && Int(number) < table.names.count ? table.names[Int(number)] : "" }
    }
}
