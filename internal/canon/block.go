package canon

import "fmt"

// block is a block map being written, the one way every map, struct and
// message is written: begun by beginBlock, each entry between a key
// (entryKey, entryName) and endEntry, closed by endBlock. An entry whose
// value wrote nothing is rolled back; a map left with no entry is dropped,
// or written as {} when present.
type block struct {
	mark   int  // where the map began (a '\n' or the ' ' after a dash)
	entry  int  // where the entry being written began
	indent int  // the entries' indent
	inline bool // the first entry continues a list item's dash line
	wrote  bool // an entry was kept
}

// beginBlock starts a block map whose entries sit at indent: on the dash's
// line for a list item, else on the next line.
func (e *encoder) beginBlock(indent int) block {
	b := block{mark: len(e.buf), indent: indent, inline: e.dash}
	e.dash = false
	switch {
	case b.inline:
		e.buf = append(e.buf, ' ')
	case e.top: // a document's own map: its first entry is the first line
		e.top = false
	default:
		e.buf = append(e.buf, '\n')
	}
	return b
}

// entryKey starts an entry whose key is already encoded, with its colon,
// after keyPad spaces (paddedKey): the indent and the key in one append.
func (e *encoder) entryKey(b *block, key []byte) {
	b.entry = len(e.buf)
	switch {
	case b.inline && !b.wrote: // on the dash's line
		e.buf = append(e.buf, key[keyPad:]...)
	case b.indent <= keyPad:
		e.buf = append(e.buf, key[keyPad-b.indent:]...)
	default:
		e.indent(b.indent - keyPad)
		e.buf = append(e.buf, key...)
	}
}

// keyPad is how many spaces an encoded key has before it.
const keyPad = 32

// paddedKey is k as written, with its colon, after keyPad spaces.
func paddedKey(k string) []byte {
	return append(appendString([]byte(spaces[:keyPad]), k), ':')
}

// entryName starts an entry whose key is a string to encode (a map's).
func (e *encoder) entryName(b *block, k string) error {
	b.entry = len(e.buf)
	if !b.inline || b.wrote {
		e.indent(b.indent)
	}
	return e.key(k)
}

// endEntry ends the entry: kept when its value wrote (ok), else rolled
// back. With an error, it names the entry in it.
func (e *encoder) endEntry(b *block, ok bool, name string, err error) error {
	if err != nil {
		return entryError(name, err)
	}
	if !ok {
		e.buf = e.buf[:b.entry]
		return nil
	}
	e.endLine()
	b.wrote = true
	return nil
}

// endBlock closes the map. An empty one is dropped, or written as " {}"
// when present.
func (e *encoder) endBlock(b *block, present bool) bool {
	if b.wrote {
		e.trimNewline()
		return true
	}
	e.buf = e.buf[:b.mark]
	if present {
		e.buf = append(e.buf, " {}"...)
		return true
	}
	return false
}

// scalarEntry starts an entry whose value is a scalar written next: the
// key and the space before the value.
func (e *encoder) scalarEntry(b *block, key []byte) {
	e.entryKey(b, key)
	e.buf = append(e.buf, ' ')
}

// entryError names the entry in its value's error; out of endEntry, so
// that endEntry inlines in the loops that call it.
func entryError(name string, err error) error { return fmt.Errorf("%s: %w", name, err) }
