package mail

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/twofold-mfa/twofold/internal/clock"
)

// Outbox writes each message as an RFC 5322 .eml file (multipart/alternative
// text+HTML, UTF-8, quoted-printable) named <unix-nanos>-<random>.eml with
// mode 0600 in Dir, creating Dir (0700) if needed. It writes atomically
// (a hidden temporary file, then rename) so a reader never sees half a file.
// It is the sender when no SMTP server is configured: an operator reads the
// files, or a test does.
type Outbox struct {
	Dir  string // directory the .eml files go to
	From string // From address, e.g. `Twofold <twofold@example.org>`

	// Clock gives the Date header and the file name's time; nil means the
	// wall clock.
	Clock clock.Clock
}

// Send validates m and writes it to a new file in o.Dir. Nothing is written
// when m is refused.
func (o *Outbox) Send(ctx context.Context, m Message) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("mail: outbox: %w", err)
	}
	t := now(o.Clock)
	msg, err := buildMessage(m, o.From, t)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	if _, err := msg.WriteTo(&buf); err != nil {
		return fmt.Errorf("mail: outbox: compose message: %w", err)
	}
	if o.Dir == "" {
		return fmt.Errorf("mail: outbox: no directory")
	}
	if err := os.MkdirAll(o.Dir, 0o700); err != nil {
		return fmt.Errorf("mail: outbox: %w", err)
	}
	suffix, err := randomHex(8)
	if err != nil {
		return err
	}
	name := filepath.Join(o.Dir, fmt.Sprintf("%d-%s.eml", t.UnixNano(), suffix))
	if err := writeFileAtomic(name, buf.Bytes()); err != nil {
		return fmt.Errorf("mail: outbox: %w", err)
	}
	return nil
}

// writeFileAtomic writes data to a hidden temporary file (mode 0600, not
// ending in .eml) beside name, syncs it and renames it to name.
func writeFileAtomic(name string, data []byte) (err error) {
	dir := filepath.Dir(name)
	f, err := os.CreateTemp(dir, ".outgoing-*.tmp") // created with mode 0600
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			_ = f.Close()
			_ = os.Remove(tmp)
		}
	}()
	if _, err = f.Write(data); err != nil {
		return err
	}
	if err = f.Sync(); err != nil {
		return err
	}
	if err = f.Close(); err != nil {
		return err
	}
	if err = os.Rename(tmp, name); err != nil {
		return err
	}
	// Make the rename durable; a failure here does not undo the write.
	if d, derr := os.Open(dir); derr == nil {
		_ = d.Sync()
		_ = d.Close()
	}
	return nil
}
