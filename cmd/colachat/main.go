// Command colachat is the Cola Chat server: REST API, Socket.IO endpoint and web UI in one
// binary. `colachat` alone serves on :8080 with an embedded SQLite file.
//
// Usage:
//
//	colachat [serve] [flags]   serve (the default)
//	colachat migrate [flags]   apply database migrations and exit
//	colachat bench [flags]     run the load generator against a server
//	colachat version           print the version
//
// Every flag can be set by a COLACHAT_* environment variable; `colachat serve -h` lists them.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"

	"colachat/internal/app"
	"colachat/internal/bench"
	"colachat/internal/config"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	context.AfterFunc(ctx, stop) // during the graceful stop, a second signal ends the process
	err := run(ctx, os.Args[1:], os.LookupEnv, os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "colachat:", err)
	}
	os.Exit(code(err))
}

// usageError is a mistake in how colachat was invoked or configured: exit code 2.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

// code is the process exit code for run's result.
func code(err error) int {
	var u usageError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &u):
		return 2
	default:
		return 1
	}
}

const usage = `Usage: colachat [command] [flags]

Commands:
  serve     serve the chat (default)
  migrate   apply database migrations and exit
  bench     run the load generator (colachat bench -h)
  version   print the version

Run "colachat serve -h" for the flags; each has a COLACHAT_* environment variable.
`

func run(ctx context.Context, args []string, lookupEnv func(string) (string, bool), stdout, stderr io.Writer) error {
	command := "serve"
	if len(args) > 0 && len(args[0]) > 0 && args[0][0] != '-' {
		command, args = args[0], args[1:]
	}
	switch command {
	case "serve", "migrate":
		cfg, err := config.Parse(command, args, lookupEnv, stdout)
		if errors.Is(err, config.ErrHelp) {
			return nil
		}
		if err != nil {
			return usageError{err}
		}
		if err := cfg.Validate(); err != nil {
			return usageError{err}
		}
		log := cfg.Logger(stderr, isTerminal(stderr))
		if command == "migrate" {
			return app.Migrate(ctx, cfg, log)
		}
		return app.Run(ctx, cfg, log, stdout)
	case "bench":
		return bench.Run(ctx, args, stdout, stderr)
	case "version":
		fmt.Fprintln(stdout, "colachat", version())
		return nil
	case "help":
		fmt.Fprint(stdout, usage)
		return nil
	default:
		fmt.Fprint(stderr, usage)
		return usageError{fmt.Errorf("unknown command %q", command)}
	}
}

// version is the module version and VCS revision the binary was built from, when known.
func version() string {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "(unknown)"
	}
	v := info.Main.Version
	for _, s := range info.Settings {
		if s.Key == "vcs.revision" && len(s.Value) >= 12 {
			v += " " + s.Value[:12]
		}
	}
	return v + " " + info.GoVersion
}

// isTerminal reports whether w is a character device (an interactive terminal).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
