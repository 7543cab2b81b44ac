package config

import (
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/spf13/pflag"
)

// defaults is the configuration with nothing set.
func defaults() Config {
	return Config{
		DataDir:     "./twofold-data",
		HTTPAddr:    ":8443",
		RadiusAddr:  ":1812",
		MetricsAddr: "127.0.0.1:9464",
		PublicURL:   "https://localhost:8443",
		LogLevel:    "info",
		LoginRate:   30,
	}
}

// with returns defaults() changed by f.
func with(f func(*Config)) Config {
	c := defaults()
	f(&c)
	return c
}

// writeFile writes content to a file in a fresh temporary directory and
// returns its path.
func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// load registers the flags on a fresh flag set, parses args and calls Load
// with env as the environment.
func load(t *testing.T, env map[string]string, args ...string) (Config, error) {
	t.Helper()
	fs := pflag.NewFlagSet("twofold", pflag.ContinueOnError)
	Flags(fs)
	if err := fs.Parse(args); err != nil {
		t.Fatalf("parsing %q: %v", args, err)
	}
	return Load(fs, func(k string) string { return env[k] })
}

func TestLoadPrecedence(t *testing.T) {
	const file = `
log_level: warn
http_addr: ":1000"
radius_addr: ":2000"
data_dir: /from/yaml
`
	tests := []struct {
		name string
		yaml string // written to a file named by TWOFOLD_CONFIG unless empty
		env  map[string]string
		args []string
		want Config
	}{
		{
			name: "Defaults apply when nothing is set",
			want: defaults(),
		},
		{
			name: "The YAML file overrides defaults",
			yaml: file,
			want: with(func(c *Config) {
				c.LogLevel, c.HTTPAddr, c.RadiusAddr, c.DataDir = "warn", ":1000", ":2000", "/from/yaml"
			}),
		},
		{
			name: "The environment overrides the YAML file",
			yaml: file,
			env:  map[string]string{"TWOFOLD_LOG_LEVEL": "error", "TWOFOLD_HTTP_ADDR": ":1001"},
			want: with(func(c *Config) {
				c.LogLevel, c.HTTPAddr, c.RadiusAddr, c.DataDir = "error", ":1001", ":2000", "/from/yaml"
			}),
		},
		{
			name: "A flag overrides the environment",
			yaml: file,
			env:  map[string]string{"TWOFOLD_LOG_LEVEL": "error", "TWOFOLD_HTTP_ADDR": ":1001"},
			args: []string{"--log-level", "debug"},
			want: with(func(c *Config) {
				c.LogLevel, c.HTTPAddr, c.RadiusAddr, c.DataDir = "debug", ":1001", ":2000", "/from/yaml"
			}),
		},
		{
			name: "A flag overrides the YAML file and the default",
			yaml: file,
			args: []string{"--radius-addr=:3000", "--public-url=https://mfa.example.com"},
			want: with(func(c *Config) {
				c.LogLevel, c.HTTPAddr, c.RadiusAddr, c.DataDir = "warn", ":1000", ":3000", "/from/yaml"
				c.PublicURL = "https://mfa.example.com"
			}),
		},
		{
			name: "A flag left at its default does not override the environment",
			env:  map[string]string{"TWOFOLD_DATA_DIR": "/from/env"},
			args: []string{"--log-level=info"},
			want: with(func(c *Config) { c.DataDir = "/from/env" }),
		},
		{
			name: "An empty environment variable counts as unset",
			yaml: file,
			env:  map[string]string{"TWOFOLD_LOG_LEVEL": ""},
			want: with(func(c *Config) {
				c.LogLevel, c.HTTPAddr, c.RadiusAddr, c.DataDir = "warn", ":1000", ":2000", "/from/yaml"
			}),
		},
		{
			name: "An explicit --insecure-http=false overrides the environment",
			env:  map[string]string{"TWOFOLD_INSECURE_HTTP": "yes"},
			args: []string{"--insecure-http=false"},
			want: defaults(),
		},
		{
			name: "The environment accepts on for true",
			env:  map[string]string{"TWOFOLD_INSECURE_HTTP": "on"},
			want: with(func(c *Config) { c.InsecureHTTP = true }),
		},
		{
			name: "The YAML file accepts yes for true",
			yaml: "insecure_http: yes\n",
			want: with(func(c *Config) { c.InsecureHTTP = true }),
		},
		{
			name: "A bare --insecure-http means true",
			args: []string{"--insecure-http"},
			want: with(func(c *Config) { c.InsecureHTTP = true }),
		},
		{
			name: "A YAML key with no value leaves the default",
			yaml: "log_level:\nhttp_addr: ~\n",
			want: defaults(),
		},
		{
			name: "An empty YAML file sets nothing",
			yaml: "# nothing here yet\n",
			want: defaults(),
		},
		{
			name: "Every setting can come from the YAML file",
			yaml: `
data_dir: /var/lib/twofold
database_url: postgres://twofold:secret@db/twofold
http_addr: 127.0.0.1:443
radius_addr: 127.0.0.1:1645
metrics_addr: 10.0.0.5:9100
public_url: https://mfa.example.com/
tls_cert: /etc/twofold/cert.pem
tls_key: /etc/twofold/key.pem
insecure_http: false
master_key_file: /etc/twofold/master.key
smtp_url: smtps://mailer:secret@mail.example.com:465
mail_from: Acme MFA <mfa@acme.example>
log_level: debug
login_rate: 60
trusted_proxies: 10.0.0.1, 10.0.1.0/24
webpush_vapid_key_file: /etc/twofold/vapid.pem
webpush_contact: mailto:mfa-ops@acme.example
`,
			want: Config{
				DataDir:        "/var/lib/twofold",
				DatabaseURL:    "postgres://twofold:secret@db/twofold",
				HTTPAddr:       "127.0.0.1:443",
				RadiusAddr:     "127.0.0.1:1645",
				MetricsAddr:    "10.0.0.5:9100",
				PublicURL:      "https://mfa.example.com",
				TLSCert:        "/etc/twofold/cert.pem",
				TLSKey:         "/etc/twofold/key.pem",
				MasterKeyFile:  "/etc/twofold/master.key",
				SMTPURL:        "smtps://mailer:secret@mail.example.com:465",
				MailFrom:       "Acme MFA <mfa@acme.example>",
				LogLevel:       "debug",
				LoginRate:      60,
				TrustedProxies: []netip.Prefix{netip.MustParsePrefix("10.0.0.1/32"), netip.MustParsePrefix("10.0.1.0/24")},
				WebPushKeyFile: "/etc/twofold/vapid.pem",
				WebPushContact: "mailto:mfa-ops@acme.example",
			},
		},
		{
			name: "Every setting can come from a flag",
			args: []string{
				"--data-dir=/d", "--database-url=sqlite:/d/x.db", "--http-addr=:80", "--radius-addr=:1645", "--metrics-addr=[::1]:9100",
				"--public-url=http://localhost:80", "--insecure-http", "--master-key-file=/k",
				"--smtp-url=smtp://mail:25", "--mail-from=mfa@example.org", "--log-level=warn",
				"--login-rate=off", "--trusted-proxies=::1",
				"--webpush-vapid-key-file=/v.pem", "--webpush-contact=https://mfa.example.org/contact",
			},
			want: Config{
				DataDir:        "/d",
				DatabaseURL:    "sqlite:/d/x.db",
				HTTPAddr:       ":80",
				RadiusAddr:     ":1645",
				MetricsAddr:    "[::1]:9100",
				PublicURL:      "http://localhost:80",
				InsecureHTTP:   true,
				MasterKeyFile:  "/k",
				SMTPURL:        "smtp://mail:25",
				MailFrom:       "mfa@example.org",
				LogLevel:       "warn",
				TrustedProxies: []netip.Prefix{netip.MustParsePrefix("::1/128")},
				WebPushKeyFile: "/v.pem",
				WebPushContact: "https://mfa.example.org/contact",
			},
		},
		{
			name: "off in the environment turns metrics off",
			env:  map[string]string{"TWOFOLD_METRICS_ADDR": "off"},
			want: with(func(c *Config) { c.MetricsAddr = "" }),
		},
		{
			name: "OFF in the YAML file turns metrics off",
			yaml: "metrics_addr: OFF\n",
			want: with(func(c *Config) { c.MetricsAddr = "" }),
		},
		{
			name: "An empty string in the YAML file turns metrics off",
			yaml: "metrics_addr: \"\"\n",
			want: with(func(c *Config) { c.MetricsAddr = "" }),
		},
		{
			name: "An empty --metrics-addr turns metrics off, whatever the environment says",
			env:  map[string]string{"TWOFOLD_METRICS_ADDR": "127.0.0.1:9100"},
			args: []string{"--metrics-addr="},
			want: with(func(c *Config) { c.MetricsAddr = "" }),
		},
		{
			name: "An empty environment variable leaves metrics on their default address",
			env:  map[string]string{"TWOFOLD_METRICS_ADDR": ""},
			want: defaults(),
		},
		{
			name: "Values are normalised",
			env: map[string]string{
				"TWOFOLD_PUBLIC_URL": "https://mfa.example.com/twofold//",
				"TWOFOLD_LOG_LEVEL":  "WARN",
			},
			want: with(func(c *Config) {
				c.PublicURL, c.LogLevel = "https://mfa.example.com/twofold", "warn"
			}),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := map[string]string{}
			for k, v := range tt.env {
				env[k] = v
			}
			if tt.yaml != "" {
				env["TWOFOLD_CONFIG"] = writeFile(t, "twofold.yaml", tt.yaml)
			}
			got, err := load(t, env, tt.args...)
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Load:\n got  %+v\n want %+v", got, tt.want)
			}
		})
	}
}

func TestConfigFlagOverridesConfigEnvironment(t *testing.T) {
	fromEnv := writeFile(t, "env.yaml", "log_level: warn\n")
	fromFlag := writeFile(t, "flag.yaml", "log_level: error\n")
	got, err := load(t, map[string]string{"TWOFOLD_CONFIG": fromEnv}, "--config", fromFlag)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if want := "error"; got.LogLevel != want {
		t.Errorf("LogLevel = %q, want %q (from --config, not TWOFOLD_CONFIG)", got.LogLevel, want)
	}
}

func TestLoadWithoutFlagsOrEnvironment(t *testing.T) {
	got, err := Load(nil, nil)
	if err != nil {
		t.Fatalf("Load(nil, nil): %v", err)
	}
	if want := defaults(); !reflect.DeepEqual(got, want) {
		t.Errorf("Load(nil, nil):\n got  %+v\n want %+v", got, want)
	}
}

func TestLoadRefusesInvalidSettings(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		args []string
		// want are substrings of the error: the setting's name and
		// what is allowed.
		want []string
		// secret must not appear in the error.
		secret string
	}{
		{
			name: "An empty data directory",
			args: []string{"--data-dir="},
			want: []string{"--data-dir", "must not be empty"},
		},
		{
			name: "A login rate that is no number",
			env:  map[string]string{"TWOFOLD_LOGIN_RATE": "fast"},
			want: []string{"TWOFOLD_LOGIN_RATE", "attempts per minute", "or off"},
		},
		{
			name: "A login rate of zero",
			args: []string{"--login-rate=0"},
			want: []string{"--login-rate", "from 1 to 100000"},
		},
		{
			name: "A trusted proxy that is no address",
			args: []string{"--trusted-proxies=10.0.0.1,proxy.example"},
			want: []string{"--trusted-proxies", `"proxy.example"`, "CIDR"},
		},
		{
			name:   "A database URL with an unknown scheme",
			env:    map[string]string{"TWOFOLD_DATABASE_URL": "mysql://root:hunter2@db/twofold"},
			want:   []string{"TWOFOLD_DATABASE_URL", `"mysql"`, "postgres://", "sqlite:PATH"},
			secret: "hunter2",
		},
		{
			name:   "A database URL whose scheme part is not a scheme",
			env:    map[string]string{"TWOFOLD_DATABASE_URL": "u:hunter2@db://x"},
			want:   []string{"TWOFOLD_DATABASE_URL", "not a database URL"},
			secret: "hunter2",
		},
		{
			name:   "A PostgreSQL URL that does not parse",
			env:    map[string]string{"TWOFOLD_DATABASE_URL": "postgres://u:hunter2@db:port/x"},
			want:   []string{"TWOFOLD_DATABASE_URL", "not a valid PostgreSQL URL"},
			secret: "hunter2",
		},
		{
			name:   "A keyword=value PostgreSQL connection string",
			env:    map[string]string{"TWOFOLD_DATABASE_URL": "host=db password=hunter2"},
			want:   []string{"TWOFOLD_DATABASE_URL", "keyword=value", "postgres://"},
			secret: "hunter2",
		},
		{
			name: "A SQLite URL without a path",
			env:  map[string]string{"TWOFOLD_DATABASE_URL": "sqlite:"},
			want: []string{"TWOFOLD_DATABASE_URL", "names no file"},
		},
		{
			name: "A SQLite URL with options",
			env:  map[string]string{"TWOFOLD_DATABASE_URL": "file:x.db?mode=ro"},
			want: []string{"TWOFOLD_DATABASE_URL", "only the file path"},
		},
		{
			name: "An HTTP address without a port",
			env:  map[string]string{"TWOFOLD_HTTP_ADDR": "8443"},
			want: []string{"TWOFOLD_HTTP_ADDR", "host:port", `":8443"`},
		},
		{
			name: "A RADIUS address with a port out of range",
			args: []string{"--radius-addr=:70000"},
			want: []string{"--radius-addr", "0 to 65535"},
		},
		{
			name: "A RADIUS address with a service name for a port",
			env:  map[string]string{"TWOFOLD_RADIUS_ADDR": ":radius"},
			want: []string{"TWOFOLD_RADIUS_ADDR", "port number"},
		},
		{
			name: "A metrics address without a port",
			env:  map[string]string{"TWOFOLD_METRICS_ADDR": "localhost"},
			want: []string{"TWOFOLD_METRICS_ADDR", "host:port", `"127.0.0.1:9464"`, "or off"},
		},
		{
			name: "A metrics address with a service name for a port",
			args: []string{"--metrics-addr=127.0.0.1:prometheus"},
			want: []string{"--metrics-addr", "port number"},
		},
		{
			name: "A misspelt off for the metrics address",
			env:  map[string]string{"TWOFOLD_METRICS_ADDR": "of"},
			want: []string{"TWOFOLD_METRICS_ADDR", `"of"`, "or off"},
		},
		{
			name: "A relative public URL",
			env:  map[string]string{"TWOFOLD_PUBLIC_URL": "mfa.example.com"},
			want: []string{"TWOFOLD_PUBLIC_URL", "http:// or https://"},
		},
		{
			name: "A public URL with another scheme",
			env:  map[string]string{"TWOFOLD_PUBLIC_URL": "ftp://mfa.example.com"},
			want: []string{"TWOFOLD_PUBLIC_URL", "http:// or https://"},
		},
		{
			name: "A public URL without a host",
			env:  map[string]string{"TWOFOLD_PUBLIC_URL": "https:///path"},
			want: []string{"TWOFOLD_PUBLIC_URL", "no host"},
		},
		{
			name: "A public URL with a query",
			env:  map[string]string{"TWOFOLD_PUBLIC_URL": "https://mfa.example.com/?x=1"},
			want: []string{"TWOFOLD_PUBLIC_URL", "query or fragment"},
		},
		{
			name: "A public URL with a fragment",
			env:  map[string]string{"TWOFOLD_PUBLIC_URL": "https://mfa.example.com/#top"},
			want: []string{"TWOFOLD_PUBLIC_URL", "query or fragment"},
		},
		{
			name: "A public URL with a user name",
			env:  map[string]string{"TWOFOLD_PUBLIC_URL": "https://admin@mfa.example.com"},
			want: []string{"TWOFOLD_PUBLIC_URL", "user name"},
		},
		{
			name: "A TLS certificate without a key",
			env:  map[string]string{"TWOFOLD_TLS_CERT": "/c.pem"},
			want: []string{"TWOFOLD_TLS_CERT", "tls_key", "set both, or neither"},
		},
		{
			name: "A TLS key without a certificate",
			args: []string{"--tls-key=/k.pem"},
			want: []string{"--tls-key", "tls_cert", "set both, or neither"},
		},
		{
			name: "A TLS certificate together with plain HTTP",
			env:  map[string]string{"TWOFOLD_TLS_CERT": "/c.pem", "TWOFOLD_TLS_KEY": "/k.pem", "TWOFOLD_INSECURE_HTTP": "1"},
			want: []string{"TWOFOLD_INSECURE_HTTP", "plain HTTP", "tls_cert"},
		},
		{
			name: "An insecure-http value that is not a boolean",
			env:  map[string]string{"TWOFOLD_INSECURE_HTTP": "maybe"},
			want: []string{"TWOFOLD_INSECURE_HTTP", `"maybe"`, "1, 0, true, false, yes, no, on or off"},
		},
		{
			name:   "An SMTP URL with another scheme",
			env:    map[string]string{"TWOFOLD_SMTP_URL": "http://mailer:hunter2@mail.example.com"},
			want:   []string{"TWOFOLD_SMTP_URL", `"http"`, "smtp://", "smtps://"},
			secret: "hunter2",
		},
		{
			name:   "An SMTP URL without a host",
			env:    map[string]string{"TWOFOLD_SMTP_URL": "smtp://mailer:hunter2@:25"},
			want:   []string{"TWOFOLD_SMTP_URL", "no host"},
			secret: "hunter2",
		},
		{
			name:   "An SMTP URL that does not parse",
			env:    map[string]string{"TWOFOLD_SMTP_URL": "smtp://mailer:hunter2@mail.example.com:smtp"},
			want:   []string{"TWOFOLD_SMTP_URL", "not a valid URL"},
			secret: "hunter2",
		},
		{
			name: "An unknown log level",
			args: []string{"--log-level=verbose"},
			want: []string{"--log-level", `"verbose"`, "debug, info, warn or error"},
		},
		{
			name: "A push webhook over plain HTTP",
			args: []string{"--push-webhook-url=http://notify.example/twofold", "--push-webhook-secret-file=/etc/twofold/webhook"},
			want: []string{"--push-webhook-url", "https://"},
		},
		{
			name: "A push webhook without its secret",
			env:  map[string]string{"TWOFOLD_PUSH_WEBHOOK_URL": "https://notify.example/twofold"},
			want: []string{"TWOFOLD_PUSH_WEBHOOK_URL", "push_webhook_secret_file"},
		},
		{
			name: "A push webhook secret without its URL",
			args: []string{"--push-webhook-secret-file=/etc/twofold/webhook"},
			want: []string{"--push-webhook-secret-file", "push_webhook_url"},
		},
		{
			name: "A Web Push key without a contact",
			env:  map[string]string{"TWOFOLD_WEBPUSH_VAPID_KEY_FILE": "/etc/twofold/vapid.pem"},
			want: []string{"TWOFOLD_WEBPUSH_VAPID_KEY_FILE", "webpush_contact", "mailto:"},
		},
		{
			name: "A Web Push contact without a key",
			args: []string{"--webpush-contact=mailto:ops@acme.example"},
			want: []string{"--webpush-contact", "webpush_vapid_key_file"},
		},
		{
			name: "A Web Push contact that is not a URL",
			args: []string{"--webpush-vapid-key-file=/etc/twofold/vapid.pem", "--webpush-contact=ops@acme.example"},
			want: []string{"--webpush-contact", `"ops@acme.example"`, "mailto:"},
		},
		{
			name: "Several mistakes at once",
			env:  map[string]string{"TWOFOLD_LOG_LEVEL": "loud", "TWOFOLD_HTTP_ADDR": "nowhere"},
			want: []string{"TWOFOLD_LOG_LEVEL", "TWOFOLD_HTTP_ADDR"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := load(t, tt.env, tt.args...)
			if err == nil {
				t.Fatalf("Load succeeded with %+v, want an error mentioning %q", got, tt.want)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Load error = %q, want it to mention %q", err, w)
				}
			}
			if tt.secret != "" && strings.Contains(err.Error(), tt.secret) {
				t.Errorf("Load error = %q, which gives away the password %q", err, tt.secret)
			}
		})
	}
}

func TestLoadRefusesBadFiles(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		want []string
	}{
		{
			name: "An unknown key is named, with the keys that are allowed",
			yaml: "log_level: info\nlgo_level: debug\n",
			want: []string{"line 2", "lgo_level", "smtp_url, mail_from, log_level"},
		},
		{
			name: "An environment variable name is not a key",
			yaml: "TWOFOLD_LOG_LEVEL: debug\n",
			want: []string{"TWOFOLD_LOG_LEVEL"},
		},
		{
			name: "A list where a value belongs",
			yaml: "http_addr:\n  - :80\n  - :443\n",
			want: []string{"line 2", "http_addr", "single value"},
		},
		{
			name: "A value in the file is validated and the file named",
			yaml: "log_level: loud\n",
			want: []string{"log_level in ", "twofold.yaml", `"loud"`},
		},
		{
			name: "A top level that is not a mapping",
			yaml: "- log_level\n",
			want: []string{"twofold.yaml"},
		},
		{
			name: "More than one document",
			yaml: "log_level: info\n---\nlog_level: debug\n",
			want: []string{"one YAML document"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := writeFile(t, "twofold.yaml", tt.yaml)
			got, err := load(t, nil, "--config", path)
			if err == nil {
				t.Fatalf("Load succeeded with %+v, want an error mentioning %q", got, tt.want)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Load error = %q, want it to mention %q", err, w)
				}
			}
		})
	}
}

func TestLoadReportsMissingFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "absent.yaml")
	_, err := load(t, map[string]string{"TWOFOLD_CONFIG": path})
	if err == nil || !strings.Contains(err.Error(), path) {
		t.Errorf("Load error = %v, want one naming %s", err, path)
	}
}

func TestFlagsShowDocumentedDefaults(t *testing.T) {
	fs := pflag.NewFlagSet("twofold", pflag.ContinueOnError)
	Flags(fs)
	want := map[string]string{
		"config":                   "",
		"data-dir":                 "./twofold-data",
		"database-url":             "",
		"http-addr":                ":8443",
		"radius-addr":              ":1812",
		"metrics-addr":             "127.0.0.1:9464",
		"public-url":               "https://localhost:8443",
		"tls-cert":                 "",
		"tls-key":                  "",
		"insecure-http":            "false",
		"master-key-file":          "",
		"smtp-url":                 "",
		"mail-from":                "",
		"log-level":                "info",
		"login-rate":               "30",
		"trusted-proxies":          "",
		"push-webhook-url":         "",
		"push-webhook-secret-file": "",
		"webpush-vapid-key-file":   "",
		"webpush-contact":          "",
	}
	for name, def := range want {
		f := fs.Lookup(name)
		if f == nil {
			t.Errorf("flag --%s is not registered", name)
			continue
		}
		if f.DefValue != def {
			t.Errorf("--%s default = %q, want %q", name, f.DefValue, def)
		}
		if name != "config" && !strings.Contains(f.Usage, "TWOFOLD_") {
			t.Errorf("--%s usage = %q, want it to name its environment variable", name, f.Usage)
		}
	}
	n := 0
	fs.VisitAll(func(*pflag.Flag) { n++ })
	if n != len(want) {
		t.Errorf("Flags registered %d flags, want %d", n, len(want))
	}
}

func TestDatabase(t *testing.T) {
	tests := []struct {
		name       string
		url        string
		wantDriver string
		wantDSN    string
	}{
		{"No URL means twofold.db in the data directory", "", "sqlite", filepath.Join("/data", "twofold.db")},
		{"A postgres URL is passed through", "postgres://u:p@db:5432/twofold?sslmode=require", "postgres", "postgres://u:p@db:5432/twofold?sslmode=require"},
		{"A postgresql URL is PostgreSQL too", "postgresql://db/twofold", "postgres", "postgresql://db/twofold"},
		{"The scheme is case-insensitive", "POSTGRES://db/twofold", "postgres", "POSTGRES://db/twofold"},
		{"sqlite:PATH names a file", "sqlite:/var/lib/twofold.db", "sqlite", "/var/lib/twofold.db"},
		{"sqlite:// with an absolute path names that file", "sqlite:///var/lib/twofold.db", "sqlite", "/var/lib/twofold.db"},
		{"sqlite:// with a relative path names that file", "sqlite://twofold.db", "sqlite", "twofold.db"},
		{"file:PATH names a file", "file:twofold.db", "sqlite", "twofold.db"},
		{"file:// with an absolute path names that file", "file:///srv/twofold.db", "sqlite", "/srv/twofold.db"},
		{"A plain path names a file", "/srv/twofold.db", "sqlite", "/srv/twofold.db"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := load(t, map[string]string{"TWOFOLD_DATA_DIR": "/data", "TWOFOLD_DATABASE_URL": tt.url})
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			if got := c.Driver(); got != tt.wantDriver {
				t.Errorf("Driver() = %q, want %q", got, tt.wantDriver)
			}
			if got := c.DSN(); got != tt.wantDSN {
				t.Errorf("DSN() = %q, want %q", got, tt.wantDSN)
			}
		})
	}
}

func TestDerivedPaths(t *testing.T) {
	dir := filepath.Join("srv", "twofold")
	t.Run("Defaults live in the data directory", func(t *testing.T) {
		c := Config{DataDir: dir}
		if got, want := c.KeyFile(), filepath.Join(dir, "master.key"); got != want {
			t.Errorf("KeyFile() = %q, want %q", got, want)
		}
		cert, key, generated := c.CertFiles()
		if want := filepath.Join(dir, "tls.crt"); cert != want {
			t.Errorf("CertFiles() cert = %q, want %q", cert, want)
		}
		if want := filepath.Join(dir, "tls.key"); key != want {
			t.Errorf("CertFiles() key = %q, want %q", key, want)
		}
		if !generated {
			t.Errorf("CertFiles() generated = false, want true")
		}
		if got, want := c.OutboxDir(), filepath.Join(dir, "outbox"); got != want {
			t.Errorf("OutboxDir() = %q, want %q", got, want)
		}
	})
	t.Run("Files the operator names are used as given", func(t *testing.T) {
		c := Config{DataDir: dir, MasterKeyFile: "/etc/mk", TLSCert: "/etc/c.pem", TLSKey: "/etc/k.pem"}
		if got, want := c.KeyFile(), "/etc/mk"; got != want {
			t.Errorf("KeyFile() = %q, want %q", got, want)
		}
		cert, key, generated := c.CertFiles()
		if cert != "/etc/c.pem" || key != "/etc/k.pem" || generated {
			t.Errorf("CertFiles() = %q, %q, %v, want %q, %q, false", cert, key, generated, "/etc/c.pem", "/etc/k.pem")
		}
	})
}

func TestSlogLevel(t *testing.T) {
	tests := []struct {
		level string
		want  slog.Level
	}{
		{"debug", slog.LevelDebug},
		{"info", slog.LevelInfo},
		{"warn", slog.LevelWarn},
		{"error", slog.LevelError},
		{"", slog.LevelInfo},
	}
	for _, tt := range tests {
		if got := (Config{LogLevel: tt.level}).SlogLevel(); got != tt.want {
			t.Errorf("Config{LogLevel: %q}.SlogLevel() = %v, want %v", tt.level, got, tt.want)
		}
	}
}

func TestSender(t *testing.T) {
	for _, tt := range []struct{ from, public, want string }{
		{"", "https://mfa.example.com/twofold", "Twofold <twofold@mfa.example.com>"},
		{"", "https://localhost:8443", "Twofold <twofold@localhost>"},
		{"Acme MFA <mfa@acme.example>", "https://mfa.example.com", "Acme MFA <mfa@acme.example>"},
	} {
		if got := (Config{MailFrom: tt.from, PublicURL: tt.public}).Sender(); got != tt.want {
			t.Errorf("Sender() with mail_from %q and public_url %q = %q, want %q", tt.from, tt.public, got, tt.want)
		}
	}
}

func TestMailFromMustBeAnAddress(t *testing.T) {
	_, err := Load(nil, func(k string) string {
		if k == "TWOFOLD_MAIL_FROM" {
			return "not an address"
		}
		return ""
	})
	if err == nil || !strings.Contains(err.Error(), "TWOFOLD_MAIL_FROM") {
		t.Fatalf("Load with a bad mail_from: %v, want an error naming TWOFOLD_MAIL_FROM", err)
	}
}

func TestLoginRateAndTrustedProxies(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want func(*Config)
	}{
		{"off turns the login rate off", []string{"--login-rate=off"}, func(c *Config) { c.LoginRate = 0 }},
		{"a number sets it", []string{"--login-rate=120"}, func(c *Config) { c.LoginRate = 120 }},
		{"proxies are addresses and ranges", []string{"--trusted-proxies= 10.0.0.5, 192.0.2.0/24 ,2001:db8::/32"}, func(c *Config) {
			c.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("10.0.0.5/32"), netip.MustParsePrefix("192.0.2.0/24"), netip.MustParsePrefix("2001:db8::/32")}
		}},
		{"a range is masked to its network", []string{"--trusted-proxies=10.1.2.3/8"}, func(c *Config) {
			c.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := load(t, nil, tt.args...)
			if err != nil {
				t.Fatal(err)
			}
			if want := with(tt.want); !reflect.DeepEqual(got, want) {
				t.Errorf("Load:\n got  %+v\n want %+v", got, want)
			}
		})
	}
}
