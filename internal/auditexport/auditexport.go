// Package auditexport writes an organization's audit log out as CSV or
// JSON Lines, the formats the CLI's "twofold audit" and the console's
// export share. It takes the events as a stream and holds one at a time,
// so that an export of any size fits in memory; which events, and who may
// have them, is for the caller (admin.Service.EachAuditEvent) to decide.
package auditexport

import (
	"bufio"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/twofold-mfa/twofold/internal/store"
)

// Format is a way of writing the log out.
type Format string

// The formats.
const (
	CSV  Format = "csv"  // with a header row
	JSON Format = "json" // JSON Lines: one object per event
)

// ParseFormat reads a format's name, as an operator types it.
func ParseFormat(name string) (Format, error) {
	switch f := Format(name); f {
	case CSV, JSON:
		return f, nil
	}
	return "", fmt.Errorf("an export is csv or json, not %q", name)
}

// ContentType is the media type of an export in f.
func (f Format) ContentType() string {
	if f == JSON {
		return "application/x-ndjson; charset=utf-8"
	}
	return "text/csv; charset=utf-8"
}

// Extension is the file name extension of an export in f.
func (f Format) Extension() string {
	if f == JSON {
		return ".jsonl"
	}
	return ".csv"
}

// Each calls its function with every event to write, newest first, and
// returns the first error the function returns.
type Each func(fn func(store.Event) error) error

// Write writes the events each gives to w in f, with times in loc.
func Write(w io.Writer, f Format, loc *time.Location, each Each) error {
	if f == JSON {
		return writeJSON(w, loc, each)
	}
	return writeCSV(w, loc, each)
}

// Time writes an event's time for exports: RFC 3339 to the millisecond,
// with the zone's offset.
func Time(t time.Time, loc *time.Location) string {
	return t.In(loc).Format("2006-01-02T15:04:05.000Z07:00")
}

func writeCSV(out io.Writer, loc *time.Location, each Each) error {
	w := csv.NewWriter(out)
	if err := w.Write([]string{"id", "time", "actor", "action", "target", "result", "source", "detail"}); err != nil {
		return err
	}
	err := each(func(e store.Event) error {
		w.Write([]string{strconv.FormatInt(e.ID, 10), Time(e.At, loc),
			inert(e.Actor), inert(e.Action), inert(e.Target), inert(e.Result), inert(e.Source), inert(e.Detail)})
		return w.Error() // the writer stops at the first failed write, e.g. a closed pipe
	})
	w.Flush()
	return errors.Join(err, w.Error())
}

// inert keeps a csv cell from being run as a formula by a spreadsheet
// (CWE-1236): one starting with =, +, -, @, a tab or a carriage return is
// prefixed with a single quote.
func inert(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

// event is an event as one line of the json export.
type event struct {
	ID     int64  `json:"id"`
	Time   string `json:"time"`
	Actor  string `json:"actor"`
	Action string `json:"action"`
	Target string `json:"target"`
	Result string `json:"result"`
	Source string `json:"source"`
	Detail string `json:"detail"`
}

func writeJSON(w io.Writer, loc *time.Location, each Each) error {
	bw := bufio.NewWriter(w)
	enc := json.NewEncoder(bw)
	enc.SetEscapeHTML(false)
	err := each(func(e store.Event) error {
		return enc.Encode(event{ID: e.ID, Time: Time(e.At, loc), Actor: e.Actor, Action: e.Action,
			Target: e.Target, Result: e.Result, Source: e.Source, Detail: e.Detail})
	})
	return errors.Join(err, bw.Flush())
}
