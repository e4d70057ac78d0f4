// Package buildinfo holds the version, commit and build date stamped into
// the binary at build time (see the Makefile's -ldflags).
package buildinfo

import "runtime/debug"

// Stamped by -ldflags "-X imagebeam/internal/buildinfo.Version=…".
var (
	Version = "0.1.0-dev"
	Commit  = ""
	Date    = ""
)

// AppID is ImageBeam's reverse-DNS application ID. Preferences, installers
// and desktop files hang off it, so it never changes.
const AppID = "org.imagebeam.ImageBeam"

// String is the one-line version: "ImageBeam 0.1.0 (commit abc1234, built 2026-11-26)".
func String() string {
	version, commit, date := Stamp()
	return "ImageBeam " + version + " (commit " + commit + ", built " + date + ")"
}

// Stamp is the version, the commit (12 hex digits) and the build date,
// "unknown" for what the build did not record: String's parts, for a
// sentence of another language.
func Stamp() (version, commit, date string) {
	commit, date = Commit, Date
	if commit == "" {
		if bi, ok := debug.ReadBuildInfo(); ok {
			for _, s := range bi.Settings {
				switch s.Key {
				case "vcs.revision":
					commit = s.Value
				case "vcs.time":
					if date == "" {
						date = s.Value
					}
				}
			}
		}
	}
	if len(commit) > 12 {
		commit = commit[:12]
	}
	if commit == "" {
		commit = "unknown"
	}
	if date == "" {
		date = "unknown"
	}
	return Version, commit, date
}
