package policy

import (
	"encoding"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"time"
)

// Setting is one setting of a policy as text, for operators.
type Setting struct {
	Key   string // the JSON key, such as lockout_threshold
	Value string // the value in the notation Set reads, such as 10m
	Help  string // one line: what the setting does and which values it allows
	// Kind is how the value is written, so that a form can offer the
	// right input: KindBool, KindNumber, KindDuration, KindList or
	// KindText.
	Kind string
	// Choices, when not empty, are the only values allowed.
	Choices []string
}

// The kinds of setting.
const (
	KindBool     = "bool"
	KindNumber   = "number"
	KindDuration = "duration"
	KindList     = "list" // comma-separated
	KindText     = "text"
)

// KeyError is a refused value of one setting: Key names it, so that a
// form can show the refusal beside its field.
type KeyError struct {
	Key string
	Err error
}

func (e *KeyError) Error() string { return e.Err.Error() }
func (e *KeyError) Unwrap() error { return e.Err }

// Change is a setting whose value differs between two policies.
type Change struct {
	Key, Old, New string
}

// field is a setting as found in Policy's struct tags.
type field struct {
	key, help, kind string
	choices         []string
	index           []int
}

// fields lists Policy's settings in the order the struct declares them, so
// a field added to Policy (with a json and a help tag) becomes a setting
// without further code.
var fields = func() []field {
	var fs []field
	for sf := range reflect.TypeFor[Policy]().Fields() {
		if !sf.IsExported() {
			continue
		}
		key, _, _ := strings.Cut(sf.Tag.Get("json"), ",")
		switch key {
		case "-":
			continue
		case "":
			key = sf.Name
		}
		var choices []string
		if c := sf.Tag.Get("choices"); c != "" {
			choices = strings.Split(c, ",")
		}
		fs = append(fs, field{key: key, help: sf.Tag.Get("help"), kind: kindOf(sf.Type), choices: choices, index: sf.Index})
	}
	return fs
}()

func kindOf(t reflect.Type) string {
	if t == durationType {
		return KindDuration
	}
	switch t.Kind() {
	case reflect.Bool:
		return KindBool
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return KindNumber
	case reflect.Slice:
		return KindList
	}
	return KindText
}

func lookup(key string) (field, bool) {
	for _, f := range fields {
		if f.key == key {
			return f, true
		}
	}
	return field{}, false
}

func keys() []string {
	ks := make([]string, len(fields))
	for i, f := range fields {
		ks[i] = f.key
	}
	return ks
}

// Settings lists every setting with its value, in a fixed order: the
// order in which Policy declares them, which keeps related settings together.
func (p Policy) Settings() []Setting {
	v := reflect.ValueOf(p)
	ss := make([]Setting, len(fields))
	for i, f := range fields {
		ss[i] = Setting{Key: f.key, Value: format(v.FieldByIndex(f.index)), Help: f.help, Kind: f.kind, Choices: f.choices}
	}
	return ss
}

// Set changes the setting named by its JSON key to value, written as
// Settings shows values: whole numbers, durations such as 90s, 10m or 72h,
// true or false (also yes/no, on/off, 1/0), text, or comma-separated
// lists. It checks only that the value is of the right kind; Validate
// checks that it is allowed. A value of the wrong kind is a *KeyError.
func (p *Policy) Set(key, value string) error {
	f, ok := lookup(key)
	if !ok {
		if alt := strings.ReplaceAll(strings.ToLower(key), "-", "_"); alt != key {
			if _, ok := lookup(alt); ok {
				return fmt.Errorf("unknown policy setting %q; did you mean %s?", key, alt)
			}
		}
		return fmt.Errorf("unknown policy setting %q; the settings are %s", key, strings.Join(keys(), ", "))
	}
	if err := parse(reflect.ValueOf(p).Elem().FieldByIndex(f.index), key, strings.TrimSpace(value)); err != nil {
		return &KeyError{Key: key, Err: err}
	}
	return nil
}

// Changes lists the settings whose values differ between from and to, in
// the order of Settings.
func Changes(from, to Policy) []Change {
	var cs []Change
	old := from.Settings()
	for i, s := range to.Settings() {
		if s.Value != old[i].Value {
			cs = append(cs, Change{Key: s.Key, Old: old[i].Value, New: s.Value})
		}
	}
	return cs
}

var (
	durationType      = reflect.TypeFor[Duration]()
	textMarshaler     = reflect.TypeFor[encoding.TextMarshaler]()
	textUnmarshalerPt = reflect.TypeFor[encoding.TextUnmarshaler]()
)

// format writes v in the notation parse reads.
func format(v reflect.Value) string {
	if v.Type() == durationType {
		return formatDuration(time.Duration(v.Int()))
	}
	switch v.Kind() {
	case reflect.Bool:
		return strconv.FormatBool(v.Bool())
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return strconv.FormatInt(v.Int(), 10)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return strconv.FormatUint(v.Uint(), 10)
	case reflect.String:
		return v.String()
	case reflect.Slice:
		if v.Type().Elem().Kind() == reflect.String {
			items := make([]string, v.Len())
			for i := range items {
				items[i] = v.Index(i).String()
			}
			return strings.Join(items, ",")
		}
	}
	if v.Type().Implements(textMarshaler) {
		if b, err := v.Interface().(encoding.TextMarshaler).MarshalText(); err == nil {
			return string(b)
		}
	}
	return fmt.Sprint(v.Interface())
}

// formatDuration writes d as time.Duration does, without zero minutes and
// seconds after the first unit: 10m, 72h, 1h30m, 90s → 1m30s.
func formatDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = s[:len(s)-2]
	}
	if strings.HasSuffix(s, "h0m") {
		s = s[:len(s)-2]
	}
	return s
}

// parse sets v from text.
func parse(v reflect.Value, key, text string) error {
	if v.Type() == durationType {
		d, err := time.ParseDuration(text)
		if err != nil {
			return fmt.Errorf("%s takes a duration such as 90s, 10m or 72h, not %q", key, text)
		}
		v.SetInt(int64(d))
		return nil
	}
	switch v.Kind() {
	case reflect.Bool:
		b, ok := parseBool(text)
		if !ok {
			return fmt.Errorf("%s takes true or false (or yes/no, on/off, 1/0), not %q", key, text)
		}
		v.SetBool(b)
		return nil
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		n, err := strconv.ParseInt(text, 10, v.Type().Bits())
		if err != nil {
			return fmt.Errorf("%s takes a whole number, not %q", key, text)
		}
		v.SetInt(n)
		return nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		n, err := strconv.ParseUint(text, 10, v.Type().Bits())
		if err != nil {
			return fmt.Errorf("%s takes a whole number of 0 or more, not %q", key, text)
		}
		v.SetUint(n)
		return nil
	case reflect.String:
		v.SetString(text)
		return nil
	case reflect.Slice:
		if v.Type().Elem().Kind() == reflect.String {
			list := reflect.MakeSlice(v.Type(), 0, 0)
			for item := range strings.SplitSeq(text, ",") {
				if item = strings.TrimSpace(item); item != "" {
					list = reflect.Append(list, reflect.ValueOf(item).Convert(v.Type().Elem()))
				}
			}
			v.Set(list)
			return nil
		}
	}
	if v.Addr().Type().Implements(textUnmarshalerPt) {
		if err := v.Addr().Interface().(encoding.TextUnmarshaler).UnmarshalText([]byte(text)); err != nil {
			return fmt.Errorf("%s: %q: %w", key, text, err)
		}
		return nil
	}
	return fmt.Errorf("%s cannot be set from the command line", key)
}

func parseBool(s string) (value, ok bool) {
	switch strings.ToLower(s) {
	case "true", "yes", "on", "1":
		return true, true
	case "false", "no", "off", "0":
		return false, true
	}
	return false, false
}
