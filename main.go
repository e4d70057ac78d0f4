// Command imagebeam pushes images to lab devices over MQTT: a window by
// default, headless commands for scripts (see imagebeam help).
package main

import (
	"os"

	"imagebeam/cli"
	"imagebeam/gui/desktop"
)

func main() {
	os.Exit(cli.Main(os.Args[1:], cli.Env{Stdout: os.Stdout, Stderr: os.Stderr, Window: desktop.Run}))
}
