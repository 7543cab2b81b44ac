// Command fixedjson is the REST benchmark's bar: a bare Go HTTPS server
// that answers every request with the fixed JSON {"result": "accept"},
// as fast as net/http can, with a self-signed certificate. bench/run.sh
// drives it with the same load test, flags and keep-alive connections as
// Twofold's REST API, and reports Twofold as a ratio of it.
//
// Usage: fixedjson [-addr 127.0.0.1:18444] -dir DIR (where the certificate goes)
package main

import (
	"crypto/rand"
	"flag"
	"fmt"
	"log"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/twofold-mfa/twofold/internal/selfsigned"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:18444", "host:port to listen on")
	dir := flag.String("dir", os.TempDir(), "directory for the self-signed certificate")
	flag.Parse()
	cert, key := filepath.Join(*dir, "fixedjson.crt"), filepath.Join(*dir, "fixedjson.key")
	if _, err := selfsigned.Ensure(cert, key, []string{"localhost", "127.0.0.1"}, time.Now(), rand.Reader); err != nil {
		log.Fatal(err)
	}
	body := []byte(`{"result":"accept"}` + "\n")
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header()["Content-Type"] = []string{"application/json"}
		w.Write(body)
	})
	srv := &http.Server{Addr: *addr, Handler: h, ReadHeaderTimeout: 10 * time.Second}
	fmt.Fprintf(os.Stderr, "fixedjson: serving on https://%s\n", *addr)
	log.Fatal(srv.ListenAndServeTLS(cert, key))
}
