// The memdesc word of kernelnewbies MatthewWilcox/Memdescs (revision C).
import PageLayout
import Testing

@Suite struct MemdescWordTests {
    @Test func pointerWordsCarryTheTypeInTheLowFourBits() throws {
        let folio: UInt64 = 0xffff_8880_0123_4560
        let word = try MemdescWord.pointer(to: folio, type: .file)
        #expect(word.rawValue == folio | 2)
        #expect(word.type == .file)
        #expect(word.descriptor == folio)
        #expect(word.order == nil && word.miscSubtype == nil)
        #expect(try MemdescWord.pointer(to: 0x1000, type: .ptdesc).rawValue == 0x1008)
        #expect(throws: MemdescError.misalignedDescriptor(address: 0x1008)) {
            try MemdescWord.pointer(to: 0x1008, type: .slab)
        }
        #expect(throws: MemdescError.notAPointerType(.misc)) { try MemdescWord.pointer(to: 0x1000, type: .misc) }
    }

    @Test func miscWordsKeepSubtypeMappableAndOrderInline() throws {
        let word = try MemdescWord.misc(.vmalloc, order: 9, mappable: true, high: 0x5)
        #expect(word.rawValue == 0 | 3 << 4 | 1 << 11 | 9 << 12 | 5 << 18)
        #expect(word.type == .misc)
        #expect(word.miscSubtype == .vmalloc)
        #expect(word.isMappable)
        #expect(word.order == 9)
        #expect(word.highBits == 5)
        #expect(word.descriptor == nil)
        #expect(throws: MemdescError.orderOutOfRange(64)) { try MemdescWord.misc(.guard, order: 64, mappable: false) }
        #expect(MemdescWord(rawValue: 0xe).type == nil)
    }

    @Test func typeTablesOfTheThreeRevisions() {
        #expect(MemdescTypeTable.revisionC.count == 16)
        #expect(MemdescTypeTable.revisionC[8] == "PTdesc")
        #expect(MemdescTypeTable.revisionC[12] == "ZPDesc")
        #expect(MemdescTypeTable.revisionC[14] == nil)
        #expect(MemdescTypeTable.revisionA[1] == "File")
        #expect(MemdescTypeTable.revisionB[7] == "PageTable")
        #expect(MemdescType.file.descriptorStruct == "struct folio")
        #expect(!MemdescType.buddy.isPointer)
    }

    @Test func memdesc8PageStatesTheWordsRules() {
        let page = Layouts.structPage(LayoutConfig(arch: .x86_64), design: .memdesc8)
        #expect(page.size == 8)
        #expect(page.rules.map(\.mask) == [0xf, 0x7f0, 0x800, 0x3f000])
    }
}
