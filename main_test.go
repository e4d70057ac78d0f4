package main

import (
	"bytes"
	"image"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestMain lets the test binary stand in for imagebeam: with
// IMAGEBEAM_TEST_MAIN set it runs main (the same packages, so the same
// package initialization, Fyne's included) with the arguments after "--".
func TestMain(m *testing.M) {
	if os.Getenv("IMAGEBEAM_TEST_MAIN") != "" {
		for i, a := range os.Args {
			if a == "--" {
				os.Args = append([]string{"imagebeam"}, os.Args[i+1:]...)
				break
			}
		}
		main()
		return
	}
	os.Exit(m.Run())
}

// With the C.UTF-8 locale of Debian servers and containers, and LANGUAGE
// unset, the headless commands print nothing about the locale: Fyne,
// linked in for the window, used to log "Error parsing user locale C"
// three lines at a time before every command.
func TestHeadlessCommandsPrintNoLocaleError(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "in.png")
	var b bytes.Buffer
	if err := png.Encode(&b, image.NewGray(image.Rect(0, 0, 8, 8))); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(in, b.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		env  []string
		args []string
	}{
		{"version, LANG=C.UTF-8", []string{"LANG=C.UTF-8"}, []string{"version"}},
		{"convert, LANG=C.UTF-8", []string{"LANG=C.UTF-8"}, []string{"convert", in, filepath.Join(dir, "out.jpg")}},
		{"convert, LC_ALL=C.UTF-8", []string{"LC_ALL=C.UTF-8", "LANG=zh_CN.UTF-8"}, []string{"convert", in, filepath.Join(dir, "out2.jpg")}},
		{"bad usage, LANG=C.utf8", []string{"LANG=C.utf8"}, []string{"convert"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			cmd := exec.Command(os.Args[0], append([]string{"--"}, c.args...)...)
			cmd.Env = append(cleanLocaleEnv(), append(c.env, "IMAGEBEAM_TEST_MAIN=1", "IMAGEBEAM_CONFIG="+filepath.Join(dir, "settings.json"))...)
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			_ = cmd.Run() // bad usage exits 2: only what it prints matters here
			if s := stderr.String(); strings.Contains(strings.ToLower(s), "locale") || strings.Contains(s, "Fyne error") {
				t.Errorf("imagebeam %s printed on stderr:\n%s", strings.Join(c.args, " "), s)
			}
		})
	}
}

// cleanLocaleEnv is the test's environment without any locale variable.
func cleanLocaleEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		if name == "LANG" || name == "LANGUAGE" || strings.HasPrefix(name, "LC_") {
			continue
		}
		env = append(env, kv)
	}
	return env
}
