// `pagelab census --format png`: the physical address space, one pixel per pfn (or per
// block of pfns on large machines), coloured by page kind, with a legend.
import PageCensus

public enum MemmapPicture {
    /// One colour per `PageKind`, in raw-value order.
    public static let kindColors: [(UInt8, UInt8, UInt8)] = [
        (64, 64, 64),      // hole
        (205, 205, 205),   // uninitialised
        (168, 221, 168),   // free
        (78, 121, 167),    // page cache
        (140, 190, 232),   // shmem
        (242, 142, 43),    // anon
        (225, 87, 89),     // slab
        (176, 122, 161),   // page tables
        (237, 201, 72),    // zero page
        (156, 117, 95),    // reserved
        (255, 157, 167),   // offline
        (255, 0, 255),     // hwpoison
        (118, 183, 178),   // hugetlb
        (140, 140, 60),    // other compound
        (120, 40, 40),     // untyped
    ]
    static let white = UInt8(PageKind.count), black = UInt8(PageKind.count + 1)

    /// The PNG file for a census that was taken with a picture; nil when it has none.
    public static func png(_ census: Census, width requested: Int = 2048) -> [UInt8]? {
        guard let picture = census.picture, !picture.pixels.isEmpty else { return nil }
        let width = min(requested, picture.pixels.count)
        let mapRows = (picture.pixels.count + width - 1) / width
        var canvas = Canvas(width: width, height: 0)
        let scale = max(1, width / 680)
        let line = 8 * scale
        let kinds = PageKind.allCases.filter { census[$0].pages > 0 }
        let columns = max(1, min(4, width / (150 * scale)))
        let legendRows = (kinds.count + columns - 1) / columns
        let legendHeight = line * (legendRows + 2) + 4 * scale
        canvas.height = mapRows + legendHeight
        canvas.pixels = [UInt8](repeating: white, count: width * canvas.height)
        for (i, p) in picture.pixels.enumerated() { canvas.pixels[i] = p }
        var y = mapRows + 3 * scale
        let rowBytes = width * picture.pfnsPerPixel * census.pageSize
        canvas.text("PFN 0-\(census.pfns), 1 PIXEL = \(picture.pfnsPerPixel) PFN, 1 ROW = \(Units.bytes(rowBytes))", x: 2 * scale, y: y, scale: scale)
        y += line + 2 * scale
        let columnWidth = width / columns
        for (i, kind) in kinds.enumerated() {
            let x = (i % columns) * columnWidth + 2 * scale
            let ky = y + (i / columns) * line
            canvas.box(x: x, y: ky, size: 5 * scale, color: kind.rawValue)
            canvas.text("\(kind.description) \(Units.bytes(census[kind].pages * census.pageSize))", x: x + 7 * scale, y: ky, scale: scale)
        }
        return PNG.encode(width: width, height: canvas.height, palette: kindColors + [(255, 255, 255), (0, 0, 0)], pixels: canvas.pixels)
    }

    struct Canvas {
        var width: Int
        var height: Int
        var pixels: [UInt8] = []

        mutating func set(_ x: Int, _ y: Int, _ color: UInt8) {
            guard x >= 0, x < width, y >= 0, y < height else { return }
            pixels[y * width + x] = color
        }

        mutating func box(x: Int, y: Int, size: Int, color: UInt8) {
            for dy in 0..<size { for dx in 0..<size { set(x + dx, y + dy, color) } }
        }

        /// Draws `text` in the 3x5 font, upper case, `scale` pixels per font pixel.
        mutating func text(_ text: String, x: Int, y: Int, scale: Int) {
            var cx = x
            for character in text.uppercased() {
                let rows = Font.glyph(character)
                for (ry, bits) in rows.enumerated() {
                    for rx in 0..<3 where bits & (4 >> rx) != 0 {
                        for sy in 0..<scale { for sx in 0..<scale { set(cx + rx * scale + sx, y + ry * scale + sy, MemmapPicture.black) } }
                    }
                }
                cx += 4 * scale
            }
        }
    }

    /// A 3x5 pixel font: five rows of three bits (4 = left column) per glyph.
    enum Font {
        static let glyphs: [Character: [UInt8]] = [
            "A": [2, 5, 7, 5, 5], "B": [6, 5, 6, 5, 6], "C": [3, 4, 4, 4, 3], "D": [6, 5, 5, 5, 6], "E": [7, 4, 6, 4, 7],
            "F": [7, 4, 6, 4, 4], "G": [3, 4, 5, 5, 3], "H": [5, 5, 7, 5, 5], "I": [7, 2, 2, 2, 7], "J": [1, 1, 1, 5, 2],
            "K": [5, 5, 6, 5, 5], "L": [4, 4, 4, 4, 7], "M": [5, 7, 7, 5, 5], "N": [6, 5, 5, 5, 5], "O": [2, 5, 5, 5, 2],
            "P": [6, 5, 6, 4, 4], "Q": [2, 5, 5, 6, 3], "R": [6, 5, 6, 5, 5], "S": [3, 4, 2, 1, 6], "T": [7, 2, 2, 2, 2],
            "U": [5, 5, 5, 5, 7], "V": [5, 5, 5, 5, 2], "W": [5, 5, 7, 7, 5], "X": [5, 5, 2, 5, 5], "Y": [5, 5, 2, 2, 2],
            "Z": [7, 1, 2, 4, 7], "0": [7, 5, 5, 5, 7], "1": [2, 6, 2, 2, 7], "2": [6, 1, 2, 4, 7], "3": [6, 1, 2, 1, 6],
            "4": [5, 5, 7, 1, 1], "5": [7, 4, 6, 1, 6], "6": [3, 4, 7, 5, 7], "7": [7, 1, 2, 2, 2], "8": [7, 5, 7, 5, 7],
            "9": [7, 5, 7, 1, 6], "(": [1, 2, 2, 2, 1], ")": [4, 2, 2, 2, 4], "-": [0, 0, 7, 0, 0], "/": [1, 1, 2, 4, 4],
            "%": [5, 1, 2, 4, 5], ".": [0, 0, 0, 0, 2], ":": [0, 2, 0, 2, 0], ",": [0, 0, 0, 2, 4], "=": [0, 7, 0, 7, 0],
        ]
        static func glyph(_ c: Character) -> [UInt8] { glyphs[c] ?? [0, 0, 0, 0, 0] }
    }
}
