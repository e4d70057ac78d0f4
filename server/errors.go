package server

import (
	"context"
	"errors"
	"net/http"
	"strings"

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
	msg := redact.Text(strings.Join(strings.Fields(err.Error()), " "))
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
