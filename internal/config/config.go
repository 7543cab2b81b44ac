// Package config gathers the server's settings from flags, environment
// variables and an optional YAML file, in that order of precedence.
//
// Every setting has three names: a YAML key (log_level), an environment
// variable (TWOFOLD_LOG_LEVEL) and a flag (--log-level). A flag set on the
// command line beats the environment, which beats the YAML file, which beats
// the built-in default. An empty environment variable counts as unset,
// because the environment cannot tell the two apart.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/mail"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/spf13/pflag"
	"go.yaml.in/yaml/v3"
)

// Config is the server's configuration. A Config returned by Load has been
// validated and normalised: PublicURL has no trailing slash, LogLevel is
// lower case and MetricsAddr is empty when metrics are off.
type Config struct {
	// DataDir holds the SQLite database, the generated master key, the
	// self-signed TLS certificate and the mail outbox.
	DataDir string
	// DatabaseURL chooses the database; see Driver and DSN. Empty means the
	// SQLite file twofold.db in DataDir.
	DatabaseURL string
	// HTTPAddr is the host:port the web server listens on.
	HTTPAddr string
	// RadiusAddr is the host:port the RADIUS server listens on.
	RadiusAddr string
	// MetricsAddr is the host:port that Prometheus metrics and pprof are
	// served on, apart from HTTPAddr because the metrics name the reason
	// of each refusal. Empty means they are not served at all.
	MetricsAddr string
	// PublicURL is the absolute http(s) URL that links in emails start
	// with, without a trailing slash.
	PublicURL string
	// TLSCert and TLSKey are the operator's certificate and key files. Both
	// are empty when the server should generate its own; see CertFiles.
	TLSCert, TLSKey string
	// InsecureHTTP serves plain HTTP. It is only for running behind a proxy
	// that terminates TLS.
	InsecureHTTP bool
	// MasterKeyFile is the file holding the master key; empty means
	// master.key in DataDir. See KeyFile.
	MasterKeyFile string
	// SMTPURL is smtp://user:pass@host:port or smtps://…; empty means mail
	// is written to the outbox directory in DataDir instead of being sent.
	SMTPURL string
	// MailFrom is the sender of Twofold's mail, e.g. "Acme MFA
	// <mfa@acme.example>"; empty means Twofold at the public URL's host.
	MailFrom string
	// LogLevel is debug, info, warn or error.
	LogLevel string
	// LoginRate is how many password attempts one client address may
	// make per minute (and at once); 0 means no such limit.
	LoginRate int
	// TrustedProxies are the addresses of the proxies in front of Twofold
	// whose X-Forwarded-For header names the client; empty means every
	// request's peer is its client.
	TrustedProxies []netip.Prefix
	// PushWebhookURL, when not empty, is told of every push request
	// made, signed with the secret in PushWebhookSecretFile, so that the
	// operator's own notification system can tell the user's phone.
	PushWebhookURL, PushWebhookSecretFile string
	// WebPushKeyFile, when not empty, names the VAPID private key (P-256,
	// PEM) with which Twofold sends Web Push notifications to the web app;
	// WebPushContact is the operator's mailto: or https: URL that push
	// services are told. Empty: Web Push is off.
	WebPushKeyFile, WebPushContact string
}

// The setting keys, which are also the YAML keys. The flag and environment
// variable names are derived from them by flagName and envName.
const (
	keyDataDir       = "data_dir"
	keyDatabaseURL   = "database_url"
	keyHTTPAddr      = "http_addr"
	keyRadiusAddr    = "radius_addr"
	keyMetricsAddr   = "metrics_addr"
	keyPublicURL     = "public_url"
	keyTLSCert       = "tls_cert"
	keyTLSKey        = "tls_key"
	keyInsecureHTTP  = "insecure_http"
	keyMasterKeyFile = "master_key_file"
	keySMTPURL       = "smtp_url"
	keyMailFrom      = "mail_from"
	keyLogLevel      = "log_level"
	keyLoginRate     = "login_rate"
	keyTrustedProxy  = "trusted_proxies"
	keyPushWebhook   = "push_webhook_url"
	keyPushSecret    = "push_webhook_secret_file"
	keyWebPushKey    = "webpush_vapid_key_file"
	keyWebPushMail   = "webpush_contact"
)

// configFlag and configEnv name the YAML file. They are not settings
// themselves: the file cannot name another file.
const (
	configFlag = "config"
	configEnv  = "TWOFOLD_CONFIG"
)

// setting describes one configuration setting.
type setting struct {
	key   string
	def   string
	usage string
	// node picks the setting's value out of a decoded YAML file.
	node func(*fileSettings) *yaml.Node
}

// settings lists every setting, in the order --help shows them.
func settings() []setting {
	return []setting{
		{keyDataDir, "./twofold-data",
			"directory for the SQLite database, generated master key, self-signed TLS certificate and mail outbox",
			func(f *fileSettings) *yaml.Node { return &f.DataDir }},
		{keyDatabaseURL, "",
			"postgres://… for PostgreSQL, or sqlite:PATH, file:PATH or a plain path for SQLite (default: twofold.db in the data directory)",
			func(f *fileSettings) *yaml.Node { return &f.DatabaseURL }},
		{keyHTTPAddr, ":8443",
			"host:port for the web server",
			func(f *fileSettings) *yaml.Node { return &f.HTTPAddr }},
		{keyRadiusAddr, ":1812",
			"host:port for the RADIUS server",
			func(f *fileSettings) *yaml.Node { return &f.RadiusAddr }},
		{keyMetricsAddr, "127.0.0.1:9464",
			"host:port for Prometheus metrics and pprof, apart from the web server; keep it private (the metrics say why logins were refused), or off to serve none",
			func(f *fileSettings) *yaml.Node { return &f.MetricsAddr }},
		{keyPublicURL, "https://localhost:8443",
			"absolute http(s) URL at which users reach the server, used in links in emails",
			func(f *fileSettings) *yaml.Node { return &f.PublicURL }},
		{keyTLSCert, "",
			"TLS certificate file (PEM); set together with --tls-key (default: a self-signed certificate generated in the data directory)",
			func(f *fileSettings) *yaml.Node { return &f.TLSCert }},
		{keyTLSKey, "",
			"TLS private key file (PEM); set together with --tls-cert",
			func(f *fileSettings) *yaml.Node { return &f.TLSKey }},
		{keyInsecureHTTP, "false",
			"serve plain HTTP; only behind a proxy that terminates TLS",
			func(f *fileSettings) *yaml.Node { return &f.InsecureHTTP }},
		{keyMasterKeyFile, "",
			"file holding the master key that encrypts secrets at rest (default: master.key in the data directory, generated if missing)",
			func(f *fileSettings) *yaml.Node { return &f.MasterKeyFile }},
		{keySMTPURL, "",
			"smtp://user:pass@host:port or smtps://… for sending mail (default: write mail to the outbox directory in the data directory)",
			func(f *fileSettings) *yaml.Node { return &f.SMTPURL }},
		{keyMailFrom, "",
			"sender of Twofold's mail, e.g. \"Acme MFA <mfa@acme.example>\" (default: Twofold <twofold@HOST> with the public URL's host)",
			func(f *fileSettings) *yaml.Node { return &f.MailFrom }},
		{keyLogLevel, "info",
			"log level: debug, info, warn or error",
			func(f *fileSettings) *yaml.Node { return &f.LogLevel }},
		{keyLoginRate, "30",
			"password attempts one client address may make per minute at the portal, whatever usernames it tries, or off",
			func(f *fileSettings) *yaml.Node { return &f.LoginRate }},
		{keyTrustedProxy, "",
			"comma-separated addresses or CIDR ranges of the proxies in front of Twofold, whose X-Forwarded-For names the client (default: none; every peer is the client)",
			func(f *fileSettings) *yaml.Node { return &f.TrustedProxies }},
		{keyPushWebhook, "",
			"https:// URL told of every push request waiting for an answer, for your own notification system (default: none)",
			func(f *fileSettings) *yaml.Node { return &f.PushWebhookURL }},
		{keyPushSecret, "",
			"file holding the secret (at least 32 bytes) that signs the push webhook's requests; required with --push-webhook-url",
			func(f *fileSettings) *yaml.Node { return &f.PushWebhookSecret }},
		{keyWebPushKey, "",
			"VAPID private key file (P-256, PEM; make one with: twofold webpush keygen FILE) that turns on Web Push notifications to the web app (default: off)",
			func(f *fileSettings) *yaml.Node { return &f.WebPushKeyFile }},
		{keyWebPushMail, "",
			"mailto: or https: URL at which push services can reach the operator; required with --webpush-vapid-key-file",
			func(f *fileSettings) *yaml.Node { return &f.WebPushContact }},
	}
}

// fileSettings is the shape of the YAML file. Its fields are nodes rather
// than strings so that every setting is read the same way from every
// source, and so that errors can name the key and line.
type fileSettings struct {
	DataDir           yaml.Node `yaml:"data_dir"`
	DatabaseURL       yaml.Node `yaml:"database_url"`
	HTTPAddr          yaml.Node `yaml:"http_addr"`
	RadiusAddr        yaml.Node `yaml:"radius_addr"`
	MetricsAddr       yaml.Node `yaml:"metrics_addr"`
	PublicURL         yaml.Node `yaml:"public_url"`
	TLSCert           yaml.Node `yaml:"tls_cert"`
	TLSKey            yaml.Node `yaml:"tls_key"`
	InsecureHTTP      yaml.Node `yaml:"insecure_http"`
	MasterKeyFile     yaml.Node `yaml:"master_key_file"`
	SMTPURL           yaml.Node `yaml:"smtp_url"`
	MailFrom          yaml.Node `yaml:"mail_from"`
	LogLevel          yaml.Node `yaml:"log_level"`
	LoginRate         yaml.Node `yaml:"login_rate"`
	TrustedProxies    yaml.Node `yaml:"trusted_proxies"`
	PushWebhookURL    yaml.Node `yaml:"push_webhook_url"`
	PushWebhookSecret yaml.Node `yaml:"push_webhook_secret_file"`
	WebPushKeyFile    yaml.Node `yaml:"webpush_vapid_key_file"`
	WebPushContact    yaml.Node `yaml:"webpush_contact"`
}

func flagName(key string) string { return strings.ReplaceAll(key, "_", "-") }
func envName(key string) string  { return "TWOFOLD_" + strings.ToUpper(key) }

// Flags registers the settings' flags on fs (for cobra:
// cmd.PersistentFlags()). Flag defaults shown in --help are the documented
// defaults; Load applies them only when no other source sets a value.
func Flags(fs *pflag.FlagSet) {
	fs.String(configFlag, "", "YAML file of settings (env "+configEnv+")")
	for _, s := range settings() {
		usage := s.usage + " (env " + envName(s.key) + ")"
		if s.key == keyInsecureHTTP {
			fs.Bool(flagName(s.key), false, usage)
			continue
		}
		fs.String(flagName(s.key), s.def, usage)
	}
}

// value is a setting's raw value and where it came from, so that errors can
// point the operator at the place to fix.
type value struct {
	raw    string
	origin string
}

// Load builds the configuration: defaults, then the YAML file (from --config
// or TWOFOLD_CONFIG, if any), then environment (getenv, e.g. os.Getenv), then
// flags that were set explicitly on fs (fs.Changed). fs may be nil, and so
// may getenv, meaning an empty environment. It validates the result and
// returns errors that name the setting and say what is allowed; all
// validation errors are reported together.
//
// Errors never contain the database or SMTP URL, which may hold a password.
func Load(fs *pflag.FlagSet, getenv func(string) string) (Config, error) {
	if getenv == nil {
		getenv = func(string) string { return "" }
	}
	vals := make(map[string]value)
	for _, s := range settings() {
		vals[s.key] = value{s.def, s.key + " default"}
	}

	file := getenv(configEnv)
	if f := lookupChanged(fs, configFlag); f != nil {
		file = f.Value.String()
	}
	if file != "" {
		if err := readFile(file, vals); err != nil {
			return Config{}, err
		}
	}

	for _, s := range settings() {
		if v := getenv(envName(s.key)); v != "" {
			vals[s.key] = value{v, envName(s.key)}
		}
	}
	for _, s := range settings() {
		if f := lookupChanged(fs, flagName(s.key)); f != nil {
			vals[s.key] = value{f.Value.String(), "--" + flagName(s.key)}
		}
	}
	return build(vals)
}

// lookupChanged returns the flag called name if fs has it and it was set on
// the command line, and nil otherwise.
func lookupChanged(fs *pflag.FlagSet, name string) *pflag.Flag {
	if fs == nil {
		return nil
	}
	if f := fs.Lookup(name); f != nil && f.Changed {
		return f
	}
	return nil
}

// readFile applies the settings in the YAML file at path to vals.
func readFile(path string, vals map[string]value) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("config: %w", err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	var fs fileSettings
	switch err := dec.Decode(&fs); {
	case errors.Is(err, io.EOF):
		// An empty file, or one of only comments, sets nothing.
		return nil
	case err != nil:
		return fmt.Errorf("config: %s: %s", path, describeYAMLError(err))
	}
	if err := dec.Decode(new(yaml.Node)); !errors.Is(err, io.EOF) {
		return fmt.Errorf("config: %s: want one YAML document, found more", path)
	}

	for _, s := range settings() {
		n := s.node(&fs)
		if n.Kind == yaml.AliasNode && n.Alias != nil {
			n = n.Alias
		}
		switch {
		case n.Kind == 0 || n.ShortTag() == "!!null":
			// Absent, or present with no value: leave the default.
			continue
		case n.Kind != yaml.ScalarNode:
			return fmt.Errorf("config: %s: line %d: %s must be a single value, not a list or mapping", path, n.Line, s.key)
		}
		vals[s.key] = value{n.Value, s.key + " in " + path}
	}
	return nil
}

// describeYAMLError rewords the decoder's complaint about unknown keys, which
// names a Go type the operator has never heard of, and lists the keys that
// are allowed.
func describeYAMLError(err error) string {
	var te *yaml.TypeError
	if !errors.As(err, &te) {
		return err.Error()
	}
	const notFound = " not found in type config.fileSettings"
	unknown := false
	msgs := make([]string, len(te.Errors))
	for i, m := range te.Errors {
		if strings.Contains(m, notFound) {
			unknown = true
			m = strings.Replace(m, "field ", "unknown setting ", 1)
			m = strings.Replace(m, notFound, "", 1)
		}
		msgs[i] = m
	}
	msg := strings.Join(msgs, "; ")
	if unknown {
		var keys []string
		for _, s := range settings() {
			keys = append(keys, s.key)
		}
		msg += " (the settings are " + strings.Join(keys, ", ") + ")"
	}
	return msg
}

// build turns the gathered raw values into a Config, validating each.
func build(vals map[string]value) (Config, error) {
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("config: %s: %s", vals[key].origin, fmt.Sprintf(format, args...)))
	}

	c := Config{
		DataDir:       vals[keyDataDir].raw,
		DatabaseURL:   vals[keyDatabaseURL].raw,
		HTTPAddr:      vals[keyHTTPAddr].raw,
		RadiusAddr:    vals[keyRadiusAddr].raw,
		MetricsAddr:   vals[keyMetricsAddr].raw,
		PublicURL:     vals[keyPublicURL].raw,
		TLSCert:       vals[keyTLSCert].raw,
		TLSKey:        vals[keyTLSKey].raw,
		MasterKeyFile: vals[keyMasterKeyFile].raw,
		SMTPURL:       vals[keySMTPURL].raw,
		MailFrom:      vals[keyMailFrom].raw,
		LogLevel:      strings.ToLower(vals[keyLogLevel].raw),

		PushWebhookURL:        vals[keyPushWebhook].raw,
		PushWebhookSecretFile: vals[keyPushSecret].raw,
		WebPushKeyFile:        vals[keyWebPushKey].raw,
		WebPushContact:        vals[keyWebPushMail].raw,
	}

	if c.DataDir == "" {
		bad(keyDataDir, "must not be empty; it is where the database, keys and certificate live")
	}
	if err := checkDatabaseURL(c.DatabaseURL); err != nil {
		bad(keyDatabaseURL, "%v", err)
	}
	if err := checkAddr(c.HTTPAddr); err != nil {
		bad(keyHTTPAddr, "%v; want host:port such as \":8443\" or \"127.0.0.1:8443\"", err)
	}
	if err := checkAddr(c.RadiusAddr); err != nil {
		bad(keyRadiusAddr, "%v; want host:port such as \":1812\" or \"127.0.0.1:1812\"", err)
	}
	// The environment cannot say "empty", so off is the spelling that
	// works everywhere; an empty flag or YAML value means the same.
	if strings.EqualFold(c.MetricsAddr, "off") {
		c.MetricsAddr = ""
	}
	if c.MetricsAddr != "" {
		if err := checkAddr(c.MetricsAddr); err != nil {
			bad(keyMetricsAddr, "%v; want host:port such as \"127.0.0.1:9464\", or off", err)
		}
	}
	if u, err := checkPublicURL(c.PublicURL); err != nil {
		bad(keyPublicURL, "%v", err)
	} else {
		c.PublicURL = u
	}

	insecure, ok := parseBool(vals[keyInsecureHTTP].raw)
	if !ok {
		bad(keyInsecureHTTP, "%q is not true or false; use 1, 0, true, false, yes, no, on or off", vals[keyInsecureHTTP].raw)
	}
	c.InsecureHTTP = insecure

	switch {
	case c.TLSCert != "" && c.TLSKey == "":
		bad(keyTLSCert, "is set but %s is not; set both, or neither to use a generated self-signed certificate", keyTLSKey)
	case c.TLSCert == "" && c.TLSKey != "":
		bad(keyTLSKey, "is set but %s is not; set both, or neither to use a generated self-signed certificate", keyTLSCert)
	case c.TLSCert != "" && ok && c.InsecureHTTP:
		// Both together would silently ignore the certificate the
		// operator took the trouble to supply.
		bad(keyInsecureHTTP, "serves plain HTTP, so %s and %s would be ignored; set one or the other", keyTLSCert, keyTLSKey)
	}

	if err := checkSMTPURL(c.SMTPURL); err != nil {
		bad(keySMTPURL, "%v", err)
	}

	switch u, err := url.Parse(c.PushWebhookURL); {
	case c.PushWebhookURL == "":
		if c.PushWebhookSecretFile != "" {
			bad(keyPushSecret, "is set but %s is not; set both, or neither", keyPushWebhook)
		}
	case err != nil || u.Scheme != "https" || u.Host == "" || u.User != nil:
		// The notices name users and where they sign in from.
		bad(keyPushWebhook, "%q is not an https:// URL without a user name", c.PushWebhookURL)
	case c.PushWebhookSecretFile == "":
		bad(keyPushWebhook, "needs %s, the file with the secret that signs its requests", keyPushSecret)
	}

	switch u, err := url.Parse(c.WebPushContact); {
	case c.WebPushKeyFile == "":
		if c.WebPushContact != "" {
			bad(keyWebPushMail, "is set but %s is not; set both, or neither", keyWebPushKey)
		}
	case c.WebPushContact == "":
		// Push services refuse senders they cannot reach (RFC 8292).
		bad(keyWebPushKey, "needs %s, a mailto: or https: URL at which push services can reach you", keyWebPushMail)
	case err != nil || !(u.Scheme == "mailto" && u.Opaque != "" || u.Scheme == "https" && u.Host != ""):
		bad(keyWebPushMail, "%q is not a mailto: or https: URL, such as mailto:mfa-ops@acme.example", c.WebPushContact)
	}

	if _, err := mail.ParseAddress(c.MailFrom); c.MailFrom != "" && err != nil {
		bad(keyMailFrom, "%q is not an address like \"Acme MFA <mfa@acme.example>\"", c.MailFrom)
	}

	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		bad(keyLogLevel, "%q is not a log level; use debug, info, warn or error", vals[keyLogLevel].raw)
	}

	if raw := vals[keyLoginRate].raw; !strings.EqualFold(raw, "off") {
		n, err := strconv.Atoi(raw)
		if err != nil || n < 1 || n > 100_000 {
			bad(keyLoginRate, "%q is not a number of attempts per minute from 1 to 100000, or off", raw)
		}
		c.LoginRate = n
	}
	for _, p := range strings.Split(vals[keyTrustedProxy].raw, ",") {
		if p = strings.TrimSpace(p); p == "" {
			continue
		}
		prefix, err := netip.ParsePrefix(p)
		if err != nil {
			addr, aerr := netip.ParseAddr(p)
			if aerr != nil {
				bad(keyTrustedProxy, "%q is not an address or CIDR range such as 10.0.0.5 or 10.0.0.0/24", p)
				continue
			}
			prefix = netip.PrefixFrom(addr, addr.BitLen())
		}
		c.TrustedProxies = append(c.TrustedProxies, prefix.Masked())
	}

	if len(errs) > 0 {
		return Config{}, errors.Join(errs...)
	}
	return c, nil
}

// parseBool accepts the spellings of true and false that operators commonly
// put in environment files, in any case.
func parseBool(s string) (v, ok bool) {
	switch strings.ToLower(s) {
	case "1", "true", "yes", "on":
		return true, true
	case "0", "false", "no", "off":
		return false, true
	}
	return false, false
}

// checkAddr reports whether addr is host:port with a numeric port. Service
// names are refused so that a typo cannot turn into a lookup.
func checkAddr(addr string) error {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("%q is not host:port", addr)
	}
	if _, err := strconv.ParseUint(port, 10, 16); err != nil {
		return fmt.Errorf("%q does not end in a port number from 0 to 65535", addr)
	}
	return nil
}

// checkPublicURL validates raw and returns it without trailing slashes, so
// that callers can append paths that start with one.
func checkPublicURL(raw string) (string, error) {
	const want = "want an absolute http:// or https:// URL such as \"https://mfa.example.com\""
	u, err := url.Parse(raw)
	if err != nil {
		return "", fmt.Errorf("%q is not a URL; %s", raw, want)
	}
	switch {
	case u.Scheme != "http" && u.Scheme != "https":
		return "", fmt.Errorf("%q does not start with http:// or https://; %s", raw, want)
	case u.Host == "":
		return "", fmt.Errorf("%q has no host; %s", raw, want)
	case u.User != nil:
		return "", fmt.Errorf("%q contains a user name; links in emails must not", raw)
	case strings.ContainsAny(raw, "?#"):
		// Links are made by appending paths, which a query or
		// fragment would swallow.
		return "", fmt.Errorf("%q has a query or fragment; give only scheme, host, port and path", raw)
	}
	return strings.TrimRight(raw, "/"), nil
}

// checkSMTPURL validates raw, which may be empty. Its errors leave out raw,
// which may contain a password.
func checkSMTPURL(raw string) error {
	if raw == "" {
		return nil
	}
	const want = "want smtp://user:pass@host:port or smtps://user:pass@host:port, or nothing to write mail to the outbox"
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("not a valid URL (%s); %s", urlErrorReason(err), want)
	}
	switch {
	case u.Scheme != "smtp" && u.Scheme != "smtps":
		return fmt.Errorf("scheme %q is not smtp or smtps; %s", u.Scheme, want)
	case u.Hostname() == "":
		return fmt.Errorf("no host; %s", want)
	}
	return nil
}

// urlErrorReason returns why url.Parse failed without the URL itself, which
// url.Error repeats in full, password and all.
func urlErrorReason(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err.Error()
	}
	return "unparseable"
}

// Database URL forms. The scheme comparison is case-insensitive, as URL
// schemes are.
const (
	schemePostgres   = "postgres://"
	schemePostgreSQL = "postgresql://"
	prefixSQLite     = "sqlite:"
	prefixFile       = "file:"
)

func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}

func isPostgres(raw string) bool {
	return hasPrefixFold(raw, schemePostgres) || hasPrefixFold(raw, schemePostgreSQL)
}

// sqlitePath returns the file named by a SQLite database URL: the part after
// sqlite: or file:, without the // of the URL form, or raw itself for a
// plain path.
func sqlitePath(raw string) string {
	for _, p := range []string{prefixSQLite, prefixFile} {
		if hasPrefixFold(raw, p) {
			rest := raw[len(p):]
			// sqlite:///var/lib/x.db names /var/lib/x.db, and
			// sqlite://x.db names x.db.
			return strings.TrimPrefix(rest, "//")
		}
	}
	return raw
}

// checkDatabaseURL validates a non-default database URL. Its errors leave out
// raw, which may contain a password.
func checkDatabaseURL(raw string) error {
	const want = "use postgres://… or postgresql://… for PostgreSQL, or sqlite:PATH, file:PATH or a plain path for SQLite"
	switch {
	case raw == "":
		return nil
	case isPostgres(raw):
		if _, err := url.Parse(raw); err != nil {
			return fmt.Errorf("not a valid PostgreSQL URL (%s)", urlErrorReason(err))
		}
		return nil
	case hasPrefixFold(raw, prefixSQLite) || hasPrefixFold(raw, prefixFile):
		p := sqlitePath(raw)
		if p == "" {
			return fmt.Errorf("%q names no file; %s", raw, want)
		}
		if strings.Contains(p, "?") {
			// The store sets its own connection options; letting
			// these through would make its DSN ambiguous.
			return fmt.Errorf("%q has options after ?; give only the file path", raw)
		}
		return nil
	case strings.Contains(raw, "://"):
		scheme, _, _ := strings.Cut(raw, "://")
		if !isScheme(scheme) {
			// Not a scheme at all, and possibly part of a password.
			return fmt.Errorf("not a database URL; %s", want)
		}
		return fmt.Errorf("scheme %q is not supported; %s", scheme, want)
	case strings.Contains(raw, "="):
		// Most likely a libpq "host=… user=…" string, which would
		// otherwise become a strangely named SQLite file.
		return fmt.Errorf("looks like a keyword=value connection string, which is not supported; %s", want)
	}
	return nil
}

// isScheme reports whether s is a URL scheme as RFC 3986 defines one.
func isScheme(s string) bool {
	for i, r := range s {
		switch {
		case 'a' <= r && r <= 'z', 'A' <= r && r <= 'Z':
		case i > 0 && ('0' <= r && r <= '9' || r == '+' || r == '-' || r == '.'):
		default:
			return false
		}
	}
	return s != ""
}

// Driver reports which database the configuration names: "sqlite" or
// "postgres".
func (c Config) Driver() string {
	if isPostgres(c.DatabaseURL) {
		return "postgres"
	}
	return "sqlite"
}

// DSN returns what the store opens: the PostgreSQL URL as given, or for
// SQLite the path of the database file, with no URL scheme or options.
func (c Config) DSN() string {
	switch {
	case isPostgres(c.DatabaseURL):
		return c.DatabaseURL
	case c.DatabaseURL == "":
		return filepath.Join(c.DataDir, "twofold.db")
	}
	return sqlitePath(c.DatabaseURL)
}

// KeyFile returns the master key file: MasterKeyFile if set, or master.key
// in the data directory.
func (c Config) KeyFile() string {
	if c.MasterKeyFile != "" {
		return c.MasterKeyFile
	}
	return filepath.Join(c.DataDir, "master.key")
}

// CertFiles returns the TLS certificate and key files to serve. When the
// operator supplied none, they are tls.crt and tls.key in the data
// directory and generated reports true: the caller should create them if
// missing (see package selfsigned).
func (c Config) CertFiles() (cert, key string, generated bool) {
	if c.TLSCert != "" || c.TLSKey != "" {
		return c.TLSCert, c.TLSKey, false
	}
	return filepath.Join(c.DataDir, "tls.crt"), filepath.Join(c.DataDir, "tls.key"), true
}

// Sender returns the From address of Twofold's mail: MailFrom, or Twofold
// at the public URL's host.
func (c Config) Sender() string {
	if c.MailFrom != "" {
		return c.MailFrom
	}
	host := "localhost"
	if u, err := url.Parse(c.PublicURL); err == nil && u.Hostname() != "" {
		host = u.Hostname()
	}
	return "Twofold <twofold@" + host + ">"
}

// OutboxDir returns the directory that mail is written to when SMTPURL is
// empty: outbox in the data directory.
func (c Config) OutboxDir() string {
	return filepath.Join(c.DataDir, "outbox")
}

// SlogLevel returns LogLevel as a slog.Level. Anything Load would refuse is
// treated as info.
func (c Config) SlogLevel() slog.Level {
	switch strings.ToLower(c.LogLevel) {
	case "debug":
		return slog.LevelDebug
	case "warn":
		return slog.LevelWarn
	case "error":
		return slog.LevelError
	}
	return slog.LevelInfo
}
