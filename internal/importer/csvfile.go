package importer

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"unicode/utf8"
)

// MaxFileSize is the largest file an import reads: far above a hundred
// thousand rows of users or tokens, and a bound on what one upload or
// command holds in memory.
const MaxFileSize = 64 << 20

// ErrFile wraps every refusal of a file as a whole (its encoding, its
// header, its syntax), as against one of its rows.
var ErrFile = errors.New("file refused")

func fileError(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrFile, fmt.Sprintf(format, args...))
}

// readAll reads a file of at most MaxFileSize bytes.
func readAll(r io.Reader) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("read the file: %w", err)
	}
	if len(data) > MaxFileSize {
		return nil, fileError("the file is larger than %d MiB; split it into smaller files", MaxFileSize>>20)
	}
	return data, nil
}

var utf8BOM = []byte{0xEF, 0xBB, 0xBF}

// text checks that data is UTF-8 text, with or without a byte order
// mark, and returns it without the mark. Anything else is refused with
// what to do: a spreadsheet saves "CSV UTF-8" when asked to, and a guess
// at another encoding could change a name without anyone noticing.
func text(data []byte) ([]byte, error) {
	switch {
	case bytes.HasPrefix(data, utf8BOM):
		data = data[len(utf8BOM):]
	case bytes.HasPrefix(data, []byte{0xFF, 0xFE}), bytes.HasPrefix(data, []byte{0xFE, 0xFF}):
		return nil, fileError("the file is UTF-16 text; save it as \"CSV UTF-8\" (in Excel: Save As, CSV UTF-8) and import that")
	}
	if i := bytes.IndexByte(data, 0); i >= 0 {
		return nil, fileError("line %d holds a NUL byte: this is not a text file (save it as \"CSV UTF-8\")", 1+bytes.Count(data[:i], []byte("\n")))
	}
	if !utf8.Valid(data) {
		line := 1
		for i := 0; i < len(data); {
			r, n := utf8.DecodeRune(data[i:])
			if r == utf8.RuneError && n <= 1 {
				break
			}
			if r == '\n' {
				line++
			}
			i += n
		}
		return nil, fileError("line %d is not UTF-8 text (probably Windows-1252 or Latin-1); save the file as \"CSV UTF-8\" and import that", line)
	}
	return data, nil
}

// table is a CSV file read whole: its header and its rows, each with
// the line it starts on.
type table struct {
	header []string
	rows   []record
}

type record struct {
	line   int
	fields []string
	// err is what is wrong with the row as a whole (its number of
	// fields); the row is then not to be used.
	err error
}

// readTable reads a CSV file with a header row: UTF-8 (see text), fields
// separated by commas or, as spreadsheets in many European languages save
// them, semicolons (taken from the first row). A row with another number
// of fields than the header is a row error; a syntax error (a stray
// quote) refuses the file, since what follows it cannot be trusted.
func readTable(data []byte) (table, error) {
	rows, err := readRecords(data, 0)
	if err != nil {
		return table{}, err
	}
	if len(rows) == 0 {
		return table{}, fileError("the file is empty; it needs a header row naming the columns")
	}
	t := table{header: rows[0].fields, rows: rows[1:]}
	for i := range t.rows {
		if n := len(t.rows[i].fields); n != len(t.header) {
			t.rows[i].err = fmt.Errorf("%d fields where the header row has %d", n, len(t.header))
		}
	}
	return t, nil
}

// readRecords reads the rows of a CSV file as readTable does, lines
// starting with comment (when not 0) left out.
func readRecords(data []byte, comment rune) ([]record, error) {
	data, err := text(data)
	if err != nil {
		return nil, err
	}
	first, _, _ := bytes.Cut(data, []byte("\n"))
	cr := csv.NewReader(bytes.NewReader(data))
	if !bytes.ContainsRune(first, ',') && bytes.ContainsRune(first, ';') {
		cr.Comma = ';'
	}
	cr.Comment = comment
	cr.FieldsPerRecord = -1
	var out []record
	for {
		fields, err := cr.Read()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, fileError("%v; nothing was imported", err)
		}
		line, _ := cr.FieldPos(0)
		out = append(out, record{line: line, fields: fields})
	}
}

// columns maps the header's names to the columns they name: each name
// is compared without regard to case, spaces, hyphens and underscores,
// and may be any of the names of its column in names. A header that
// names a column twice, or one that is not known and not in ignore, is
// refused, as is one without the columns in need.
func (t table) columns(names map[string][]string, need []string, ignore ...string) (map[string]int, error) {
	alias := map[string]string{}
	for col, as := range names {
		for _, a := range as {
			alias[squash(a)] = col
		}
	}
	for _, a := range ignore {
		alias[squash(a)] = ""
	}
	col := map[string]int{}
	for i, h := range t.header {
		name, ok := alias[squash(h)]
		if !ok {
			return nil, fileError("the header row names a column %q that is not known; the columns are %s", strings.TrimSpace(h), known(names))
		}
		if name == "" {
			continue
		}
		if _, dup := col[name]; dup {
			return nil, fileError("the header row names the column %q twice", name)
		}
		col[name] = i
	}
	for _, n := range need {
		if _, ok := col[n]; !ok {
			return nil, fileError("the header row has no column %q (the columns are %s)", n, known(names))
		}
	}
	return col, nil
}

func squash(s string) string {
	return strings.NewReplacer(" ", "", "-", "", "_", "").Replace(strings.ToLower(strings.TrimSpace(s)))
}

func known(names map[string][]string) string {
	var out []string
	for _, as := range names {
		out = append(out, as[0])
	}
	slices.Sort(out)
	return strings.Join(out, ", ")
}
