package gui

import (
	"context"
	"errors"
	"io/fs"
	"strings"

	"imagebeam/broker"
	"imagebeam/codec"
	"imagebeam/config"
	"imagebeam/holdings"
	"imagebeam/transfer"
)

// How the window words errors.
//
// The lower layers' errors are English sentences around a sentinel error
// (transfer.ErrNoAnswer, codec.ErrHEIC, …) that the CLI, the server and
// the logs print as they are. The window shows the sentinel's sentence
// from the translation file instead (errorText), and keeps the English
// text as the detail (errorDetail): shown below the sentence where there
// is room, and what Copy and the saved event log carry, so a bug report
// reads the same whatever language the window speaks. The window's own
// errors are userErrors: a key and its arguments, rendered in the
// window's language on screen and in English by Error.

// errorKinds maps the sentinels to their sentences, the most specific
// first (ErrFetchPolicy wraps ErrFetch; a fetch that timed out wraps
// context.DeadlineExceeded).
var errorKinds = []struct {
	err error
	key string
}{
	{transfer.ErrCanceled, "error.transfer.cancelled"},
	{transfer.ErrNoAnswer, "error.transfer.no_answer"},
	{transfer.ErrIncomplete, "error.transfer.incomplete"},
	{transfer.ErrNotAuthorized, "error.transfer.not_authorized"},
	{transfer.ErrBrokerUnreachable, "error.transfer.broker_unreachable"},
	{transfer.ErrBrokerURL, "error.transfer.broker_url"},
	{transfer.ErrTLSFiles, "error.transfer.tls_files"},
	{transfer.ErrLinkDown, "error.transfer.link_down"},
	{transfer.ErrLinkClosed, "error.transfer.link_down"},
	{transfer.ErrNotConnected, "error.transfer.link_down"},
	{transfer.ErrPublish, "error.transfer.publish"},
	{transfer.ErrDeviceBusy, "error.transfer.device_busy"},
	{transfer.ErrTooLarge, "error.transfer.too_large"},
	{transfer.ErrSettings, "error.transfer.settings"},
	{codec.ErrEmpty, "error.codec.empty"},
	{codec.ErrHEIC, "error.codec.heic"},
	{codec.ErrNotImage, "error.codec.not_image"},
	{codec.ErrUnsupported, "error.codec.unsupported"},
	{codec.ErrTruncated, "error.codec.truncated"},
	{codec.ErrCorrupt, "error.codec.corrupt"},
	{codec.ErrTooManyPixels, "error.codec.too_many_pixels"},
	{codec.ErrMemoryBudget, "error.codec.memory_budget"},
	{codec.ErrTooLarge, "error.codec.too_large"},
	{codec.ErrFetchPolicy, "error.codec.fetch_policy"},
	{codec.ErrFetch, "error.codec.fetch"},
	{codec.ErrBudget, "error.codec.byte_budget"},
	{codec.ErrBadOptions, "error.codec.options"},
	{codec.ErrOpen, "error.codec.open"},
	{config.ErrUnknownDevice, "error.config.unknown_device"},
	{holdings.ErrStore, "error.holdings.store"},
	{config.ErrSettings, "error.config.settings"},
	{broker.ErrAddrInUse, "error.broker.addr_in_use"},
	{broker.ErrAuthRequired, "error.broker.auth_required"},
	{broker.ErrBadListen, "error.broker.listen"},
	{broker.ErrBadOptions, "error.broker.options"},
	{fs.ErrNotExist, "error.file.not_found"},
	{fs.ErrPermission, "error.file.permission"},
	{context.DeadlineExceeded, "error.timeout"},
}

// userError is an error the window words itself: a sentence of the
// translation files and its arguments, and maybe the error it explains,
// whose sentence fills {{.Reason}}.
type userError struct {
	key  string
	args args
	err  error
}

// newError is the window's error with sentence key.
func newError(key string, a ...args) error {
	e := &userError{key: key}
	if len(a) > 0 {
		e.args = a[0]
	}
	return e
}

// wrapError is the window's error with sentence key, which says what went
// wrong doing what; err's sentence fills its {{.Reason}}.
func wrapError(key string, a args, err error) error {
	return &userError{key: key, args: a, err: err}
}

// Error is the English sentence, with the wrapped error's own English
// text as its reason: what logs and bug reports carry.
func (e *userError) Error() string {
	a := args{}
	for k, v := range e.args {
		a[k] = v
	}
	if e.err != nil {
		a["Reason"] = e.err.Error()
	}
	return english.t(e.key, a)
}

func (e *userError) Unwrap() error { return e.err }

// text is the sentence in w's language.
func (e *userError) text(w *words) string {
	a := args{}
	for k, v := range e.args {
		a[k] = v
	}
	if e.err != nil {
		a["Reason"] = w.errorText(e.err)
	}
	return w.t(e.key, a)
}

// errorKey is the key of err's sentence: its userError's, else its
// sentinel's, else "".
func errorKey(err error) string {
	var ue *userError
	if errors.As(err, &ue) {
		return ue.key
	}
	for _, k := range errorKinds {
		if errors.Is(err, k.err) {
			return k.key
		}
	}
	return ""
}

// errorText is err in one sentence in the window's language.
func errorText(err error) string { return ui.errorText(err) }

func (w *words) errorText(err error) string {
	if err == nil {
		return ""
	}
	var ue *userError
	if errors.As(err, &ue) {
		return ue.text(w)
	}
	if key := errorKey(err); key != "" {
		return w.t(key)
	}
	return w.t("error.other", args{"Detail": errorDetail(err)})
}

// errorDetail is err's English text without the package prefixes that
// help a developer but read oddly in a window ("config: unusable
// settings: "), or "" when the window's sentence already says all of it.
func errorDetail(err error) string {
	if err == nil {
		return ""
	}
	var ue *userError
	if errors.As(err, &ue) {
		return errorDetail(ue.err) // its sentence is the window's own
	}
	s := err.Error()
	for _, k := range errorKinds {
		if s == k.err.Error() {
			return "" // the bare sentinel: its sentence is all there is
		}
	}
	for _, p := range []string{"config: unusable settings: ", "transfer: invalid settings: ", "config: ", "transfer: ", "codec: ", "broker: "} {
		s = strings.ReplaceAll(s, p, "")
	}
	return s
}

// errorWithDetail is err's sentence, and its English detail on a line of
// its own: for the places with room for both.
func errorWithDetail(err error) string {
	text := errorText(err)
	if d := errorDetail(err); d != "" {
		text += "\n" + tr("error.details", args{"Detail": d})
	}
	return text
}

// shownError is err as an error dialog shows it.
type shownError struct{ err error }

func (e shownError) Error() string { return errorWithDetail(e.err) }
func (e shownError) Unwrap() error { return e.err }
