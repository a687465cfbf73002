// The scenario parser: what it accepts, and a positioned error for what it does not.
import PageLayout
import PageModel
@testable import PageScenario
import Testing

/// Parses `text` as "t.pls", with `files` as what includes can read.
func parse(_ text: String, files: [String: String] = [:]) throws(ScriptError) -> Scenario {
    try ScenarioParser.parse(text, name: "t", path: "dir/t.pls") { files[$0] }
}

/// The error `text` gets, as FILE:LINE:COLUMN: error: message.
func parseError(_ text: String, files: [String: String] = [:]) -> String? {
    do {
        _ = try parse(text, files: files)
        return nil
    } catch {
        return error.description
    }
}

@Suite struct ParserTests {
    @Test func aScriptWithEveryConstructParses() throws {
        let scenario = try parse("""
            scenario "all of it"   # a comment
            designs mainline, dma-pinned-field
            machine ram=256M nodes=2 thp=never swap=64
            const N = 2 * 2
            include "setup.pls"
            pins = pin_user_pages_fast p a N flags=FOLL_WRITE|longterm
            for i in 0..<N
              expect refcount(pins[i]) == mainline:1025 others:2
            end
            expect flags(p@a + PAGE) has dirty|lru
            expect memory(p, a, 4) == x"5a5a 5a5a"
            expect bytes(pins, 0, 4096) == fill(0x5a)
            expect errno == ok
            madvise p a N*PAGE MADV_PAGEOUT
            """, files: ["dir/setup.pls": "p = process\na = mmap p 4*PAGE\n"])
        #expect(scenario.summary == "all of it")
        #expect(scenario.designs == [.mainline, .dmaPinnedField])
        #expect(scenario.machine.ramBytes == 256 << 20 && scenario.machine.nodes == 2 && scenario.machine.swapSlots == 64)
        #expect(scenario.expectations.count == 5)
        // process and mmap (included), pin, the loop, four expects, madvise.
        #expect(scenario.statements.count == 9)
    }

    @Test func errorsArePositioned() {
        // Column counts from 1; the error names what was expected.
        #expect(parseError("p = process\nfrob p") == "dir/t.pls:2:1: error: unknown operation 'frob' (known: \(Scenarios.operations.keys.sorted().joined(separator: ", ")))")
        #expect(parseError("p = process\nmmap p") == "dir/t.pls:2:7: error: 'mmap' needs LEN (an integer); usage: mmap P LEN [prot=...] [flags=...] [file=...] [offset=...] [addr=...]")
        #expect(parseError("f = memfd \"x\"\nmmap f 4096") == "dir/t.pls:2:6: error: 'f' is a file, expected a process name")
        #expect(parseError("mmap q 4096") == "dir/t.pls:1:6: error: 'q' is not defined (expected a process name)")
        #expect(parseError("p = process\nmadvise p 0 4096 dontwant")?.hasPrefix("dir/t.pls:2:18: error: unknown advice 'dontwant'") == true)
        #expect(parseError("expect errno == EWHAT") == "dir/t.pls:1:17: error: unknown errno 'EWHAT' (expected ok, an errno name such as EFAULT, SIGSEGV or SIGBUS)")
        #expect(parseError("expect vmstat(pgfault) == linux:1")?.hasPrefix("dir/t.pls:1:27: error: unknown design 'linux'") == true)
        #expect(parseError("const N = 0x7fffffffffffffff + 1") == "dir/t.pls:1:30: error: arithmetic overflow")
        #expect(parseError("const N = 99999999999999999999") == "dir/t.pls:1:11: error: number too large")
        #expect(parseError("for i in 0..<4\np = process") == "dir/t.pls:1:1: error: 'for' without 'end'")
        #expect(parseError("end") == "dir/t.pls:1:1: error: 'end' without 'for'")
        #expect(parseError("machine arch=vax")?.hasPrefix("dir/t.pls:1:14: error: unknown arch 'vax' (known: x86_64, i386") == true)
        #expect(parseError("machine ram=8G") == "dir/t.pls:1:9: error: ram must be positive and at most 4G (the model boots every struct page)")
        #expect(parseError("p = process\nmachine ram=256M") == "dir/t.pls:2:1: error: 'machine' must come once, before the first operation")
        #expect(parseError("write \"unterminated") == "dir/t.pls:1:7: error: unterminated string")
        #expect(parseError("expect refcount(x) == 1") == "dir/t.pls:1:17: error: 'x' is not defined (expected the name of a GUP result)")
        #expect(parseError("expect vmstat(pgfault) has dirty") == "dir/t.pls:1:24: error: 'has'/'lacks' compare flags only")
        #expect(parseError("p = process extra") == "dir/t.pls:1:13: error: unexpected argument; usage: process")
        #expect(parseError("p = process\nexit p p2=1") == "dir/t.pls:2:8: error: 'exit' has no 'p2=' (usage: exit P)")
    }

    @Test func includesResolveRelativelyAndRefuseCycles() {
        #expect(parseError("include \"a.pls\"", files: ["dir/a.pls": "include \"a.pls\""]) == "dir/a.pls:1:9: error: 'a.pls' includes itself")
        #expect(parseError("include \"missing.pls\"") == "dir/t.pls:1:9: error: cannot read 'missing.pls' (looked for dir/missing.pls)")
        // An error inside an included file is reported at the included file's line.
        #expect(parseError("include \"a.pls\"", files: ["dir/a.pls": "\n\nfrob"])?.hasPrefix("dir/a.pls:3:1: error:") == true)
    }

    @Test func perDesignValuesApplyOnlyWhereGiven() throws {
        let scenario = try parse("expect vmstat(pgfault) == mainline:3 proxy:4")
        let e = try #require(scenario.expectations.first)
        #expect(e.expected(for: .mainline) != nil)
        #expect(e.expected(for: .proxy) != nil)
        #expect(e.expected(for: .memdesc8) == nil)
    }

    /// Constant parts of an expression are computed when parsed (an overflow there is a
    /// bad script), so `a+3*PAGE` leaves one addition for the run; every run-time name
    /// has a slot, kept when the name is bound again.
    @Test func constantsFoldAndNamesGetSlots() throws {
        let scenario = try parse("""
            p = process
            a = mmap p 4*PAGE
            write p a+3*PAGE "x"
            a = mmap p PAGE
            """)
        #expect(scenario.slotCount == 2)
        guard case .operation(let write) = scenario.statements[2],
              case .binary("+", .name(let a, _), .int(3 * 4096, _), _)? = write.arguments["addr"] else {
            Issue.record("a+3*PAGE is not a + 12288")
            return
        }
        #expect(a.name == "a" && a.slot == 1)
        #expect(parseError("p = process\nmmap p 0x7fffffffffffffff+1") == "dir/t.pls:2:26: error: arithmetic overflow")
        // CRLF line ends: the '\r' is whitespace.
        #expect(try parse("p = process\r\na = mmap p PAGE\r\n").statements.count == 2)
        // Columns count characters, not UTF-8 bytes.
        #expect(parseError("scenario \"é\" é") == "dir/t.pls:1:14: error: unexpected character 'é'")
    }

    @Test func vmallocOperationsAndOptionsParse() throws {
        let scenario = try parse("""
            machine vmalloc=vm-struct
            p = process
            k = vmalloc_user 4*PAGE
            u = vmalloc_dev_mmap p 4*PAGE
            remap_vmalloc_range p u k pgoff=0
            v = vmalloc PAGE
            vfree v
            expect vmalloc_area(k) == true
            expect scamem_refcount(p@u) == 5
            """)
        #expect(scenario.machine.vmalloc == .vmStruct)
        #expect(parseError("machine vmalloc=option5") == "dir/t.pls:1:17: error: unknown vmalloc option 'option5' (known: page-refcount, untracked, scamem, vm-struct, vmalloc-memdesc)")
    }

    @Test func everyBundledScenarioParses() throws {
        let names = ScenarioLibrary.names
        #expect(names.count >= 14)
        for name in names { _ = try ScenarioLibrary.load(name) }
    }
}
