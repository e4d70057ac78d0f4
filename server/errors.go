package server

import (
	"context"
	"errors"
	"net/http"

	"imagebeam/codec"
	"imagebeam/config"
	"imagebeam/internal/redact"
	"imagebeam/transfer"
)

// Errors of the server itself.
var (
	// ErrQueueFull means the device already has QueueLimit transfers waiting.
	ErrQueueFull = errors.New("server: the device's queue is full")
	// ErrShuttingDown means the server takes no new transfers.
	ErrShuttingDown = errors.New("server: the server is shutting down")
)

// statuses maps the pipeline's and the transfer engine's sentinels to the
// status a client gets. The first match wins.
var statuses = []struct {
	err    error
	status int
}{
	{ErrQueueFull, http.StatusTooManyRequests},
	{ErrShuttingDown, http.StatusServiceUnavailable},
	// ?device= names no device.
	{config.ErrUnknownDevice, http.StatusNotFound},
	// Cancelled (a fetch too): only Shutdown cancels a transfer.
	{transfer.ErrCanceled, http.StatusServiceUnavailable},
	{context.Canceled, http.StatusServiceUnavailable},
	// The image URL failed (codec), or the device reported the image
	// incomplete (transfer): the upstream party failed.
	{codec.ErrFetch, http.StatusBadGateway},
	{transfer.ErrIncomplete, http.StatusBadGateway},
	// A url= that is neither http(s) nor a readable file never reaches
	// the pipeline (handlers check the scheme); if it does, it is bad input.
	{codec.ErrOpen, http.StatusBadRequest},
	// Not an image, or not one the pipeline reads.
	{codec.ErrEmpty, http.StatusUnsupportedMediaType},
	{codec.ErrNotImage, http.StatusUnsupportedMediaType},
	{codec.ErrHEIC, http.StatusUnsupportedMediaType},
	{codec.ErrUnsupported, http.StatusUnsupportedMediaType},
	{codec.ErrTruncated, http.StatusUnsupportedMediaType},
	{codec.ErrCorrupt, http.StatusUnsupportedMediaType},
	// Too large: for the input cap, the pixel cap, the byte budget, the
	// memory budget or the protocol (32768 chunks).
	{codec.ErrTooLarge, http.StatusUnprocessableEntity},
	{codec.ErrTooManyPixels, http.StatusUnprocessableEntity},
	{codec.ErrBudget, http.StatusUnprocessableEntity},
	{codec.ErrMemoryBudget, http.StatusUnprocessableEntity},
	{transfer.ErrTooLarge, http.StatusUnprocessableEntity},
	// The broker.
	{transfer.ErrBrokerUnreachable, http.StatusServiceUnavailable},
	{transfer.ErrNotAuthorized, http.StatusServiceUnavailable},
	{transfer.ErrLinkDown, http.StatusServiceUnavailable},
	{transfer.ErrDeviceBusy, http.StatusServiceUnavailable},
	// The device.
	{transfer.ErrNoAnswer, http.StatusGatewayTimeout},
	// The server's own settings.
	{codec.ErrBadOptions, http.StatusInternalServerError},
	{config.ErrSettings, http.StatusInternalServerError},
	{transfer.ErrSettings, http.StatusInternalServerError},
}

// statusFor returns the status and the one sentence a client gets for err.
func statusFor(err error) (int, string) {
	if err == nil {
		return http.StatusOK, ""
	}
	msg := redact.Line(err)
	if errors.Is(err, transfer.ErrCanceled) || errors.Is(err, context.Canceled) {
		msg = "the server shut down before the transfer finished; the device may hold a partial image"
	}
	for _, s := range statuses {
		if errors.Is(err, s.err) {
			return s.status, msg
		}
	}
	return http.StatusInternalServerError, msg
}

// Sentences a remote caller gets for an image URL that failed. Which of
// "connection refused", "reset", "answered 401" or "sent text/html" it was
// would tell anyone who can reach serve which ports of which hosts are
// open: they all get one sentence, and the server's log keeps the detail.
const (
	msgURLFailed = "the image URL could not be fetched, or what it sent is not an image"
	msgURLPolicy = "the image URL points to an address this server does not fetch from (link-local, multicast, a cloud metadata service, or a range closed by --fetch-deny)"
)

// publicError is statusFor, but for a transfer whose image came from a URL
// the fetch's own failures become one sentence that reveals nothing of the
// network behind the server.
func publicError(source string, err error) (int, string) {
	if source == "url" {
		switch {
		case errors.Is(err, codec.ErrFetchPolicy):
			return http.StatusForbidden, msgURLPolicy
		case errors.Is(err, codec.ErrFetch), errors.Is(err, codec.ErrNotImage), errors.Is(err, codec.ErrEmpty),
			errors.Is(err, codec.ErrTooLarge):
			return http.StatusBadGateway, msgURLFailed
		}
	}
	return statusFor(err)
}
