// Package ldaptest runs a throw-away OpenLDAP server (Debian's slapd) for
// tests: its own configuration, database and certificates in a temporary
// directory, listening on free loopback ports with ldap:// (StartTLS
// offered) and ldaps://, stopped when the test ends.
package ldaptest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"

	"github.com/twofold-mfa/twofold/internal/testenv"
)

// The directory's names.
const (
	BaseDN        = "dc=example,dc=org"
	PeopleDN      = "ou=people," + BaseDN
	GroupsDN      = "ou=groups," + BaseDN
	AdminDN       = "cn=admin," + BaseDN
	AdminPassword = "directory-admin-secret"
	// ServiceDN is an ordinary account that may read the directory, as
	// the sync's service account is; unlike the administrator, the
	// server's size limit of 10 entries a search holds for it.
	ServiceDN       = "cn=twofold-sync," + BaseDN
	ServicePassword = "service-account-secret"
	SizeLimit       = 10
)

// Server is a running slapd.
type Server struct {
	URL      string // ldap://127.0.0.1:PORT, with StartTLS
	LDAPSURL string // ldaps://127.0.0.1:PORT
	CAFile   string // the PEM of the CA that signed the server's certificate
	// OtherCAFile is a CA that did not sign it, to see a certificate
	// refused.
	OtherCAFile string
	cmd         *exec.Cmd
	tc          *tls.Config
}

// schema is what the test directory knows beyond the standard schemas:
// Active Directory's userAccountControl, on an auxiliary class.
const schema = `attributetype ( 1.2.840.113556.1.4.8 NAME 'userAccountControl'
	SYNTAX 1.3.6.1.4.1.1466.115.121.1.27 SINGLE-VALUE )
objectclass ( 1.3.6.1.4.1.99999.1.1 NAME 'twofoldTestAccount' SUP top AUXILIARY
	MAY userAccountControl )
`

// Start runs a slapd for the test, with the base, people and groups
// entries, or calls testenv.Missing when slapd is not installed.
func Start(t testing.TB) *Server {
	t.Helper()
	slapd := "/usr/sbin/slapd"
	if _, err := os.Stat(slapd); err != nil {
		slapd = testenv.Command(t, "slapd", "slapd")
	}
	dir := t.TempDir()
	s := &Server{CAFile: filepath.Join(dir, "ca.pem"), OtherCAFile: filepath.Join(dir, "other-ca.pem")}
	caCert, caKey := newCA(t, "Twofold test CA")
	writePEM(t, s.CAFile, "CERTIFICATE", caCert.Raw)
	other, _ := newCA(t, "Some other CA")
	writePEM(t, s.OtherCAFile, "CERTIFICATE", other.Raw)
	certDER, keyDER := newServerCert(t, caCert, caKey)
	writePEM(t, filepath.Join(dir, "server.pem"), "CERTIFICATE", certDER)
	writePEM(t, filepath.Join(dir, "server.key"), "PRIVATE KEY", keyDER)
	if err := os.WriteFile(filepath.Join(dir, "twofold-test.schema"), []byte(schema), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(dir, "db"), 0o700); err != nil {
		t.Fatal(err)
	}
	conf := fmt.Sprintf(`include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/inetorgperson.schema
include %[1]s/twofold-test.schema
modulepath /usr/lib/ldap
moduleload back_mdb
pidfile %[1]s/slapd.pid
TLSCACertificateFile %[1]s/ca.pem
TLSCertificateFile %[1]s/server.pem
TLSCertificateKeyFile %[1]s/server.key
sizelimit size.soft=%[5]d size.hard=%[5]d size.prtotal=unlimited
database mdb
maxsize 67108864
suffix "%[2]s"
rootdn "%[3]s"
rootpw %[4]s
directory %[1]s/db
access to attrs=userPassword
	by self write
	by anonymous auth
	by * none
access to *
	by * read
`, dir, BaseDN, AdminDN, AdminPassword, SizeLimit)
	confFile := filepath.Join(dir, "slapd.conf")
	if err := os.WriteFile(confFile, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	plain, tlsPort := freePort(t), freePort(t)
	s.URL, s.LDAPSURL = "ldap://127.0.0.1:"+plain, "ldaps://127.0.0.1:"+tlsPort
	// -d keeps slapd in the foreground, so that it is this test's child
	// and ends with it.
	s.cmd = exec.Command(slapd, "-f", confFile, "-h", s.URL+"/ "+s.LDAPSURL+"/", "-d", "0")
	var out strings.Builder
	s.cmd.Stdout, s.cmd.Stderr = &out, &out
	if err := s.cmd.Start(); err != nil {
		t.Fatalf("start slapd: %v", err)
	}
	t.Cleanup(s.Stop)
	s.tc = &tls.Config{RootCAs: pool(caCert), ServerName: "127.0.0.1"}
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := ldap.DialURL(s.URL)
		if err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) || s.cmd.ProcessState != nil {
			t.Fatalf("slapd did not start: %v\n%s", err, out.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	s.Add(t, BaseDN, map[string][]string{"objectClass": {"dcObject", "organization"}, "dc": {"example"}, "o": {"Example"}})
	s.Add(t, PeopleDN, map[string][]string{"objectClass": {"organizationalUnit"}, "ou": {"people"}})
	s.Add(t, GroupsDN, map[string][]string{"objectClass": {"organizationalUnit"}, "ou": {"groups"}})
	s.Add(t, ServiceDN, map[string][]string{"objectClass": {"organizationalRole", "simpleSecurityObject"}, "cn": {"twofold-sync"}, "userPassword": {ServicePassword}})
	return s
}

// Stop ends the server; the test's cleanup calls it too.
func (s *Server) Stop() {
	if s.cmd.Process == nil || s.cmd.ProcessState != nil {
		return
	}
	s.cmd.Process.Kill()
	s.cmd.Wait()
}

// Admin connects as the directory's administrator.
func (s *Server) Admin(t testing.TB) *ldap.Conn {
	t.Helper()
	c, err := ldap.DialURL(s.LDAPSURL, ldap.DialWithTLSConfig(s.tc))
	if err != nil {
		t.Fatalf("connect to slapd: %v", err)
	}
	if err := c.Bind(AdminDN, AdminPassword); err != nil {
		c.Close()
		t.Fatalf("bind to slapd as admin: %v", err)
	}
	return c
}

// Add adds an entry.
func (s *Server) Add(t testing.TB, dn string, attrs map[string][]string) {
	t.Helper()
	c := s.Admin(t)
	defer c.Close()
	req := ldap.NewAddRequest(dn, nil)
	for k, v := range attrs {
		req.Attribute(k, v)
	}
	if err := c.Add(req); err != nil {
		t.Fatalf("add %s: %v", dn, err)
	}
}

// Person adds a user under PeopleDN: uid, password, mail, display name;
// more attributes in extra.
func (s *Server) Person(t testing.TB, uid, password, mail, displayName string, extra map[string][]string) string {
	t.Helper()
	dn := "uid=" + ldap.EscapeDN(uid) + "," + PeopleDN
	attrs := map[string][]string{
		"objectClass": {"inetOrgPerson", "twofoldTestAccount"}, "uid": {uid}, "cn": {displayName}, "sn": {displayName},
		"userPassword": {password}, "mail": {mail}, "displayName": {displayName},
	}
	for k, v := range extra {
		attrs[k] = v
	}
	s.Add(t, dn, attrs)
	return dn
}

// Group adds a groupOfNames under GroupsDN with members.
func (s *Server) Group(t testing.TB, cn string, members ...string) string {
	t.Helper()
	dn := "cn=" + cn + "," + GroupsDN
	s.Add(t, dn, map[string][]string{"objectClass": {"groupOfNames"}, "cn": {cn}, "member": members})
	return dn
}

// Replace replaces an attribute's values of an entry.
func (s *Server) Replace(t testing.TB, dn, attr string, values ...string) {
	t.Helper()
	c := s.Admin(t)
	defer c.Close()
	req := ldap.NewModifyRequest(dn, nil)
	req.Replace(attr, values)
	if err := c.Modify(req); err != nil {
		t.Fatalf("modify %s: %v", dn, err)
	}
}

// Delete removes an entry.
func (s *Server) Delete(t testing.TB, dn string) {
	t.Helper()
	c := s.Admin(t)
	defer c.Close()
	if err := c.Del(ldap.NewDelRequest(dn, nil)); err != nil {
		t.Fatalf("delete %s: %v", dn, err)
	}
}

func freePort(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	return port
}

func newCA(t testing.TB, name string) (*x509.Certificate, *ecdsa.PrivateKey) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return cert, key
}

func newServerCert(t testing.TB, ca *x509.Certificate, caKey *ecdsa.PrivateKey) (certDER, keyDER []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, DNSNames: []string{"localhost"},
	}
	if certDER, err = x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey); err != nil {
		t.Fatal(err)
	}
	if keyDER, err = x509.MarshalPKCS8PrivateKey(key); err != nil {
		t.Fatal(err)
	}
	return certDER, keyDER
}

func writePEM(t testing.TB, path, typ string, der []byte) {
	t.Helper()
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
}

func pool(c *x509.Certificate) *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(c)
	return p
}
