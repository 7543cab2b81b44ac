// Package selfsigned makes the TLS certificate a fresh installation serves
// until the operator supplies one.
package selfsigned

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	cryptorand "crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// validity is how long a generated certificate lasts: 825 days, the longest
// that Apple platforms accept for a TLS server certificate.
const validity = 825 * 24 * time.Hour

// backdate is how long before now a generated certificate becomes valid, so
// that clients whose clocks run a little slow accept it at once.
const backdate = time.Hour

// Ensure makes sure certFile and keyFile exist; when neither exists it
// generates an ECDSA P-256 self-signed certificate valid for hosts (DNS names
// and IP addresses, e.g. "localhost", "127.0.0.1", "::1"), from now-1h to
// now+825 days, writes both (PEM) with mode 0600, whatever the umask, and
// reports created=true. When exactly one exists it returns an error saying
// which is missing. Existing files are left untouched.
//
// Missing parent directories are created with mode 0700. rand supplies the
// serial number; nil means crypto/rand.Reader. (Since Go 1.26 the key itself
// always comes from the system's secure random source.) hosts must not be
// empty, since a certificate naming no host verifies for none.
func Ensure(certFile, keyFile string, hosts []string, now time.Time, rand io.Reader) (created bool, err error) {
	certExists, err := exists(certFile)
	if err != nil {
		return false, err
	}
	keyExists, err := exists(keyFile)
	if err != nil {
		return false, err
	}
	switch {
	case certExists && keyExists:
		return false, nil
	case certExists:
		return false, fmt.Errorf("selfsigned: found certificate %s but its key %s is missing; restore the key, or remove the certificate to have a new pair generated", certFile, keyFile)
	case keyExists:
		return false, fmt.Errorf("selfsigned: found key %s but its certificate %s is missing; restore the certificate, or remove the key to have a new pair generated", keyFile, certFile)
	}

	if rand == nil {
		rand = cryptorand.Reader
	}
	certPEM, keyPEM, err := generate(hosts, now, rand)
	if err != nil {
		return false, err
	}

	// Both files are written in full under temporary names before either
	// takes its real name, so that a failure part way leaves at most a
	// short window in which only one exists.
	keyTmp, err := writeTemp(keyFile, keyPEM)
	if err != nil {
		return false, err
	}
	defer os.Remove(keyTmp)
	// The certificate is no secret, but it lives in the data directory,
	// where every file is its owner's alone.
	certTmp, err := writeTemp(certFile, certPEM)
	if err != nil {
		return false, err
	}
	defer os.Remove(certTmp)

	if err := os.Rename(keyTmp, keyFile); err != nil {
		return false, fmt.Errorf("selfsigned: %w", err)
	}
	if err := os.Rename(certTmp, certFile); err != nil {
		// Without its certificate the key would make the next call
		// fail, so take it back out.
		os.Remove(keyFile)
		return false, fmt.Errorf("selfsigned: %w", err)
	}
	return true, nil
}

// exists reports whether path exists. Errors other than its absence, such
// as a permission problem, are returned rather than taken to mean absence,
// which would lead Ensure to generate over an unreadable file.
func exists(path string) (bool, error) {
	_, err := os.Stat(path)
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, fs.ErrNotExist):
		return false, nil
	}
	return false, fmt.Errorf("selfsigned: %w", err)
}

// generate returns a new PEM-encoded certificate and PKCS #8 private key.
func generate(hosts []string, now time.Time, rand io.Reader) (certPEM, keyPEM []byte, err error) {
	if len(hosts) == 0 {
		return nil, nil, errors.New("selfsigned: no hosts to issue the certificate for")
	}
	tmpl := &x509.Certificate{
		Subject: pkix.Name{
			Organization: []string{"Twofold"},
			CommonName:   hosts[0],
		},
		NotBefore:             now.Add(-backdate),
		NotAfter:              now.Add(validity),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		// IsCA stays false: browsers refuse a CA certificate used as a
		// server's own, and nothing is ever signed with this one.
	}
	for _, h := range hosts {
		h = strings.TrimSuffix(strings.TrimPrefix(h, "["), "]")
		switch ip := net.ParseIP(h); {
		case ip != nil:
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		case h == "" || strings.ContainsAny(h, ":/ "):
			return nil, nil, fmt.Errorf("selfsigned: %q is neither a host name nor an IP address", h)
		default:
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}

	// 128 random bits, as serial numbers must be unpredictable and
	// positive, and at most 20 bytes long.
	serial, err := cryptorand.Int(rand, new(big.Int).Lsh(big.NewInt(1), 128))
	if err != nil {
		return nil, nil, fmt.Errorf("selfsigned: making serial number: %w", err)
	}
	tmpl.SerialNumber = serial.Add(serial, big.NewInt(1))

	key, err := ecdsa.GenerateKey(elliptic.P256(), rand)
	if err != nil {
		return nil, nil, fmt.Errorf("selfsigned: generating key: %w", err)
	}
	der, err := x509.CreateCertificate(rand, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, fmt.Errorf("selfsigned: creating certificate: %w", err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, nil, fmt.Errorf("selfsigned: encoding key: %w", err)
	}
	certPEM = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	keyPEM = pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER})
	return certPEM, keyPEM, nil
}

// writeTemp writes data to a new file beside path, with exactly mode 0600
// regardless of the umask, and returns its name.
func writeTemp(path string, data []byte) (name string, err error) {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", fmt.Errorf("selfsigned: %w", err)
	}
	// CreateTemp makes the file 0600, so the key is never readable by
	// others, not even briefly.
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return "", fmt.Errorf("selfsigned: %w", err)
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if err := f.Chmod(0o600); err != nil {
		return "", fmt.Errorf("selfsigned: %w", err)
	}
	if _, err := f.Write(data); err != nil {
		return "", fmt.Errorf("selfsigned: %w", err)
	}
	if err := f.Sync(); err != nil {
		return "", fmt.Errorf("selfsigned: %w", err)
	}
	if err := f.Close(); err != nil {
		return "", fmt.Errorf("selfsigned: %w", err)
	}
	return f.Name(), nil
}

// Fingerprint returns the SHA-256 fingerprint of the certificate in certFile
// as colon-separated upper-case hex, for printing so a user can compare it
// with what the browser shows. When the file holds a chain, it is the
// fingerprint of the first certificate, the server's own.
func Fingerprint(certFile string) (string, error) {
	data, err := os.ReadFile(certFile)
	if err != nil {
		return "", fmt.Errorf("selfsigned: %w", err)
	}
	for {
		var block *pem.Block
		block, data = pem.Decode(data)
		if block == nil {
			return "", fmt.Errorf("selfsigned: %s holds no PEM certificate", certFile)
		}
		if block.Type != "CERTIFICATE" {
			continue
		}
		sum := sha256.Sum256(block.Bytes)
		parts := make([]string, len(sum))
		for i, b := range sum {
			parts[i] = fmt.Sprintf("%02X", b)
		}
		return strings.Join(parts, ":"), nil
	}
}
