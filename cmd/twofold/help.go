package main

import (
	"fmt"
	"strings"
	"text/template"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// Which of the server's settings a command's --help lists after its own
// flags: every command that opens the installation needs to be told where
// it is; commands that mail need the mail settings too; serve needs all.
var (
	storageSettings = []string{"config", "data-dir", "database-url", "master-key-file", "log-level"}
	mailSettings    = []string{"public-url", "smtp-url", "mail-from"}
)

// settingsKey is the annotation that widens the settings a command's
// help lists: settingsMail or settingsAll.
const (
	settingsKey  = "twofold-settings"
	settingsMail = "mail"
	settingsAll  = "all"
)

// settingsUsage lists the settings that matter to cmd, or "" for a group
// of commands, which opens nothing.
func settingsUsage(cmd *cobra.Command) string {
	if cmd.HasAvailableSubCommands() {
		return ""
	}
	inherited := cmd.InheritedFlags()
	names := storageSettings
	switch cmd.Annotations[settingsKey] {
	case settingsAll:
		return inherited.FlagUsages()
	case settingsMail:
		names = append(names[:len(names):len(names)], mailSettings...)
	}
	fs := pflag.NewFlagSet(cmd.Name(), pflag.ContinueOnError)
	for _, name := range names {
		if f := inherited.Lookup(name); f != nil {
			fs.AddFlag(f)
		}
	}
	return fs.FlagUsages()
}

// usageTemplate is cobra's usage with the command's own flags first and,
// instead of every global flag, only the settings that matter to it.
var usageTemplate = template.Must(template.New("usage").Funcs(template.FuncMap{
	"trim":     func(s string) string { return strings.TrimRight(s, " \t\n") },
	"rpad":     func(s string, n int) string { return fmt.Sprintf("%-*s", n, s) },
	"own":      func(c *cobra.Command) string { return c.LocalNonPersistentFlags().FlagUsages() },
	"settings": settingsUsage,
}).Parse(`Usage:{{if .Runnable}}
  {{.UseLine}}{{end}}{{if .HasAvailableSubCommands}}
  {{.CommandPath}} [command]{{end}}{{if .HasExample}}

Examples:
{{.Example}}{{end}}{{if .HasAvailableSubCommands}}

Available Commands:{{range .Commands}}{{if (or .IsAvailableCommand (eq .Name "help"))}}
  {{rpad .Name .NamePadding }} {{.Short}}{{end}}{{end}}{{end}}{{with own .}}

Flags:
{{trim .}}{{end}}{{with settings .}}

Settings (each also a TWOFOLD_* environment variable or a key of the --config file):
{{trim .}}{{end}}{{if .HasAvailableSubCommands}}

Use "{{.CommandPath}} [command] --help" for more information about a command.{{end}}{{if not .HasParent}}
The server's settings: "twofold serve --help".{{end}}
`))

// usage writes cmd's usage with usageTemplate.
func usage(cmd *cobra.Command) error {
	return usageTemplate.Execute(cmd.OutOrStderr(), cmd)
}

// refuseUnknown makes every group of commands (user, token, …), and the
// root, fail on a subcommand it does not have, with a hint, instead of
// printing its help and succeeding: a script with a typo must notice.
// Without a subcommand a group prints its help and fails too.
func refuseUnknown(cmd *cobra.Command) {
	for _, sub := range cmd.Commands() {
		refuseUnknown(sub)
	}
	if !cmd.HasSubCommands() || cmd.Run != nil || cmd.RunE != nil {
		return
	}
	cmd.Args = cobra.ArbitraryArgs
	// cobra sets this only on the path our RunE replaces.
	cmd.SuggestionsMinimumDistance = 2
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		if len(args) == 0 {
			cmd.SetOut(cmd.ErrOrStderr())
			if err := cmd.Help(); err != nil {
				return err
			}
			return fmt.Errorf("%s needs a command (see above)", cmd.CommandPath())
		}
		hint := fmt.Sprintf("run %q for its commands", cmd.CommandPath()+" --help")
		if s := cmd.SuggestionsFor(args[0]); len(s) > 0 {
			hint = fmt.Sprintf("did you mean %q? Or %s", cmd.CommandPath()+" "+s[0], hint)
		}
		return fmt.Errorf("%s has no command %q; %s", cmd.CommandPath(), args[0], hint)
	}
}
