// Package cli runs ImageBeam's headless commands (send, simulate, broker,
// demo, version) and decides when the window opens instead.
package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"imagebeam/broker"
	"imagebeam/codec"
	"imagebeam/config"
	"imagebeam/internal/buildinfo"
	"imagebeam/internal/redact"
	"imagebeam/simdevice"
	"imagebeam/transfer"
)

// Exit statuses, the same for every command.
const (
	ExitOK          = 0   // success
	ExitFailed      = 1   // the broker or the device failed
	ExitUsage       = 2   // bad usage or bad input
	ExitInterrupted = 130 // interrupted (Ctrl-C), after a clean cancel
)

// Env is what a command talks to. Tests give their own writers.
type Env struct {
	Stdin          io.Reader
	Stdout, Stderr io.Writer
	// Window opens the window with these files or URLs loaded and returns
	// the exit status; nil in a build without the window.
	Window func(files []string) int
}

type command struct {
	name    string
	summary string
	run     func(ctx context.Context, env Env, args []string) error
}

var commands = []command{
	{"send", "send an image to a device", runSend},
	{"convert", "write the JPEG a device would get, without sending it", runConvert},
	{"simulate", "run a simulated device (no hardware needed)", runSimulate},
	{"broker", "run the embedded MQTT broker", runBroker},
	{"demo", "broker, simulated device and a send, all in one process", runDemo},
	{"serve", "the old service's HTTP endpoint (GET /image?url=…), made safe", runServe},
	{"version", "print the version, commit and build date", runVersion},
}

// Main runs the command line and returns the exit status.
func Main(args []string, env Env) int {
	if env.Stdin == nil {
		env.Stdin = os.Stdin
	}
	if len(args) == 0 {
		if env.Window != nil {
			return env.Window(nil)
		}
		usage(env.Stdout)
		return ExitOK
	}
	switch args[0] {
	case "help", "-h", "-help", "--help":
		usage(env.Stdout)
		return ExitOK
	case "-version", "--version":
		args = []string{"version"}
	}
	for _, c := range commands {
		if c.name == args[0] {
			return runCommand(c, env, args[1:])
		}
	}
	if isFileOrURL(args[0]) {
		if env.Window == nil {
			fmt.Fprintf(env.Stderr, "imagebeam: this build has no window; to send %s use: imagebeam send %s\n", args[0], args[0])
			return ExitUsage
		}
		return env.Window(args)
	}
	fmt.Fprintf(env.Stderr, "imagebeam: unknown command %q (not a file either); run 'imagebeam help' for the commands\n", args[0])
	return ExitUsage
}

func runCommand(c command, env Env, args []string) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := c.run(ctx, env, args)
	code := ExitCode(err)
	if ctx.Err() != nil && err != nil {
		code = ExitInterrupted
	}
	if err != nil && !errors.Is(err, flag.ErrHelp) && !errors.Is(err, errReported) {
		fmt.Fprintf(env.Stderr, "imagebeam %s: %s\n", c.name, oneLine(err))
	}
	if errors.Is(err, flag.ErrHelp) {
		return ExitOK
	}
	return code
}

// errReported marks an error the command has already printed.
var errReported = errors.New("reported")

// usageError is bad usage: a wrong flag, a missing argument.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error { return usageError{fmt.Sprintf(format, args...)} }

// ExitCode maps an error to the exit status every command shares.
func ExitCode(err error) int {
	var ue usageError
	var pe *fs.PathError
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return ExitOK
	case errors.As(err, &ue), errors.As(err, &pe),
		errors.Is(err, transfer.ErrTooLarge), errors.Is(err, transfer.ErrSettings),
		errors.Is(err, transfer.ErrBrokerURL), errors.Is(err, transfer.ErrTLSFiles),
		errors.Is(err, config.ErrSettings), errors.Is(err, config.ErrUnknownDevice), errors.Is(err, simdevice.ErrBadFaults),
		errors.Is(err, broker.ErrBadListen), errors.Is(err, broker.ErrAuthRequired),
		errors.Is(err, errBadInput), isCodecError(err):
		return ExitUsage
	}
	return ExitFailed
}

// errBadInput marks input the user must fix (an unreadable image, say).
var errBadInput = errors.New("bad input")

// oneLine is err as one line, without any login a URL in it carries.
func oneLine(err error) string {
	return redact.Line(err)
}

func usage(w io.Writer) {
	fmt.Fprintf(w, "ImageBeam pushes images to lab devices over MQTT.\n\nUsage:\n  imagebeam                 open the window\n  imagebeam FILE…           open the window with these images loaded\n  imagebeam COMMAND [flags]\n\nCommands:\n")
	for _, c := range commands {
		fmt.Fprintf(w, "  %-9s %s\n", c.name, c.summary)
	}
	fmt.Fprintf(w, "\nRun 'imagebeam COMMAND -h' for a command's flags.\nExit status: 0 success, 1 broker or device failed, 2 bad usage or input, 130 interrupted.\n")
}

func isFileOrURL(arg string) bool {
	if codec.IsURL(arg) {
		return true
	}
	fi, err := os.Stat(arg)
	return err == nil && !fi.IsDir()
}

func runVersion(_ context.Context, env Env, args []string) error {
	fs := newFlags("version", "", "print the version, commit and build date")
	if _, err := parse(fs, env, args, 0); err != nil {
		return err
	}
	fmt.Fprintln(env.Stdout, buildinfo.String())
	return nil
}

// newFlags makes a command's flag set; usage text goes where Env says.
func newFlags(name, argsHelp, summary string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.Usage = func() {
		w := fs.Output()
		fmt.Fprintf(w, "Usage: imagebeam %s [flags] %s\n\n%s\n\nFlags:\n", name, argsHelp, summary)
		fs.PrintDefaults()
	}
	return fs
}

// parse parses flags given before, between or after the positional
// arguments, and checks their count (-1: any).
func parse(fs *flag.FlagSet, env Env, args []string, want int) ([]string, error) {
	// The flag package would print the whole usage on any mistake; a
	// mistake gets one line instead, and -h the usage on stdout.
	fs.SetOutput(io.Discard)
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				fs.SetOutput(env.Stdout)
				fs.Usage()
				return nil, err
			}
			return nil, usagef("%v (see 'imagebeam %s -h')", err, fs.Name())
		}
		rest := fs.Args()
		if endedByDoubleDash(fs, args, rest) {
			// The flag package consumed "--": what follows is positional,
			// and parsing it again would take "-x" for a flag.
			pos = append(pos, rest...)
			break
		}
		if len(rest) == 0 {
			break
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
	if want >= 0 && len(pos) != want {
		if want == 0 {
			return nil, usagef("unexpected argument %q", pos[0])
		}
		if len(pos) < want {
			return nil, usagef("missing argument; see 'imagebeam %s -h'", fs.Name())
		}
		return nil, usagef("too many arguments (%s); see 'imagebeam %s -h'", strings.Join(pos, " "), fs.Name())
	}
	return pos, nil
}

// endedByDoubleDash reports whether fs.Parse(args), which left rest,
// stopped at the terminator "--" rather than at a positional argument or
// the end: "--" was the last argument it consumed, and not as the value of
// the flag before it (--name --).
func endedByDoubleDash(fs *flag.FlagSet, args, rest []string) bool {
	i := len(args) - len(rest) - 1
	if i < 0 || args[i] != "--" {
		return false
	}
	if i > 0 && strings.HasPrefix(args[i-1], "-") && !strings.Contains(args[i-1], "=") {
		if f := fs.Lookup(strings.TrimLeft(args[i-1], "-")); f != nil {
			b, isBool := f.Value.(interface{ IsBoolFlag() bool })
			return isBool && b.IsBoolFlag()
		}
	}
	return true
}

// override sets *dst to v when the flag name was given on the command
// line, so flags win over a saved profile only where the user typed them.
func override[T any](set map[string]bool, name string, dst *T, v T) {
	if set[name] {
		*dst = v
	}
}

// setFlags returns the names of the flags given on the command line.
func setFlags(fs *flag.FlagSet) map[string]bool {
	m := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { m[f.Name] = true })
	return m
}

// brokerFlags are the connection flags shared by send and simulate.
type brokerFlags struct {
	url, username, password   string
	caFile, certFile, keyFile string
	insecure                  bool
}

func (b *brokerFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&b.url, "broker", transfer.DefaultBrokerURL, "broker `URL`: tcp://, ssl://, ws:// or wss://")
	fs.StringVar(&b.username, "username", "", "broker login `name`")
	fs.StringVar(&b.password, "password", "", "broker `password` (better: set IMAGEBEAM_PASSWORD, which ps cannot show)")
	fs.StringVar(&b.caFile, "ca-file", "", "PEM `file` of the CA that signs the broker's certificate")
	fs.StringVar(&b.certFile, "cert-file", "", "client certificate PEM `file`")
	fs.StringVar(&b.keyFile, "key-file", "", "client key PEM `file`")
	fs.BoolVar(&b.insecure, "insecure", false, "do not verify the broker's TLS certificate (testing only)")
}

// config merges the flags over the saved broker profile: a flag given on
// the command line wins.
func (b *brokerFlags) config(set map[string]bool, saved config.Broker) transfer.BrokerConfig {
	cfg := saved.Transfer()
	override(set, "broker", &cfg.URL, b.url)
	override(set, "username", &cfg.Username, b.username)
	override(set, "password", &cfg.Password, b.password)
	override(set, "ca-file", &cfg.CAFile, b.caFile)
	override(set, "cert-file", &cfg.CertFile, b.certFile)
	override(set, "key-file", &cfg.KeyFile, b.keyFile)
	override(set, "insecure", &cfg.Insecure, b.insecure)
	return cfg
}

// loadSettings reads the shared settings file, and warns on stderr when it
// holds a password that other users can read.
func loadSettings(env Env) (*config.Settings, error) {
	path, err := config.Path()
	if err != nil {
		return config.Default(), nil
	}
	s, err := config.Load(path)
	if err == nil {
		if w := s.ExposureWarning(path); w != "" {
			fmt.Fprintln(env.Stderr, "warning: "+w)
		}
	}
	return s, err
}
