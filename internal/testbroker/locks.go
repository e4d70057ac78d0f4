package testbroker

import (
	"os"
	"testing"

	"imagebeam/transfer"
)

// RunWithTempLocks runs a package's tests with the device lock files in a
// temporary directory, so they stay out of the user's cache directory, and
// exits with the tests' status. Call it from TestMain.
func RunWithTempLocks(m *testing.M) {
	dir, err := os.MkdirTemp("", "imagebeam-test-locks-")
	if err != nil {
		panic(err)
	}
	transfer.LockDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}
