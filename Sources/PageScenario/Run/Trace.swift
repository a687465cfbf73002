// --trace: after each operation, the state it touched, for people stepping through a
// scenario: each page's folio refcount, mapcount, pincount, exact pins and decoded
// flags, and the pins outstanding on the machine.
import PageModel

extension ScenarioRunner {
    func traceLine(_ op: Operation) {
        let line = "\(op.position.file):\(op.position.line): \(op.source)" + (lastError.map { "  -> \($0)" } ?? "")
        run.trace.append(line)
        var seen = Set<Int>()
        for shown in touched.prefix(8) {
            let page = machine.pageBehind(shown)
            guard seen.insert(page.pfn).inserted else { continue }
            let folio = machine.pageFolio(page)
            var fields = ["pfn 0x\(String(page.pfn, radix: 16))"]
            if let folio {
                fields.append("refcount \(folio.refcount)")
                fields.append("mapcount \(machine.folioMapcount(folio))")
                fields.append("pincount \(folio.pincount.map { "\($0)" } ?? "-")")
                fields.append("pins \(machine.exactPins(folio))")
                fields.append("maybe_dma_pinned \(machine.folioMaybeDMAPinned(folio))")
                if folio.order > 0 { fields.append("order \(folio.order)") }
            } else {
                fields.append("refcount \(page.refcount)")
            }
            let flags = decodeFlags(page, folio)
            fields.append("flags \(flags.isEmpty ? "-" : flags.joined(separator: "|"))")
            run.trace.append("    " + fields.joined(separator: "  "))
        }
        for (address, pte) in touchedPTEs.prefix(8) {
            run.trace.append("    pte 0x\(String(address, radix: 16)): \(pte)")
        }
        run.trace.append("    pins outstanding \(machine.pinStats.outstanding)")
    }
}
