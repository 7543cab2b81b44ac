package web

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"html/template"
	"image/png"

	"github.com/boombuler/barcode"
	"github.com/boombuler/barcode/qr"
)

// qrDataURI draws text as a QR code PNG, 320 pixels square, as a data:
// URI: the code never leaves the page that shows it, so it needs no URL of
// its own that could be fetched again.
func qrDataURI(text string) (template.URL, error) {
	code, err := qr.Encode(text, qr.M, qr.Auto)
	if err != nil {
		return "", fmt.Errorf("qr: %w", err)
	}
	if code, err = barcode.Scale(code, 320, 320); err != nil {
		return "", fmt.Errorf("qr: %w", err)
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, code); err != nil {
		return "", fmt.Errorf("qr: %w", err)
	}
	// The value is our own base64: safe as a URL.
	return template.URL("data:image/png;base64," + base64.StdEncoding.EncodeToString(buf.Bytes())), nil
}
