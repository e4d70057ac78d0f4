package codec

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"imagebeam/internal/human"
	"imagebeam/internal/redact"
)

var (
	errTooManyRedirects = errors.New("too many redirects")
	errDowngrade        = errors.New("a redirect from https to http")
)

// fetch downloads rawURL within lo's timeouts and size cap and checks that
// the body is an image, holding its bytes in l's input share. lo is
// normalised.
func fetch(ctx context.Context, rawURL string, lo LoadOptions, l *lease) ([]byte, error) {
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("%w: %q is not an http or https URL", ErrFetch, redact.URL(rawURL))
	}
	host := u.Host
	client := lo.HTTPClient
	if client == nil {
		tr := newTransport(lo)
		defer tr.CloseIdleConnections()
		client = &http.Client{Transport: tr}
	}
	c := *client
	c.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if lo.MaxRedirects < 0 || len(via) > lo.MaxRedirects {
			return errTooManyRedirects
		}
		if via[len(via)-1].URL.Scheme == "https" && req.URL.Scheme != "https" {
			return errDowngrade // what TLS protected would travel in clear
		}
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, lo.FetchTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrFetch, err)
	}
	req.Header.Set("Accept", "image/*")
	resp, err := c.Do(req)
	if err != nil {
		return nil, fetchError(ctx, host, err, lo)
	}
	defer resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return nil, fmt.Errorf("%w: %s answered %s", ErrFetch, host, resp.Status)
	}
	if resp.ContentLength > lo.MaxInputBytes {
		return nil, fmt.Errorf("%w: %s is sending %s, over the %s limit", ErrTooLarge, host,
			human.Bytes(resp.ContentLength), human.Bytes(lo.MaxInputBytes))
	}
	data, err := readInput(ctx, resp.Body, resp.ContentLength, lo.MaxInputBytes, l)
	switch {
	case errors.Is(err, errOverCap):
		return nil, fmt.Errorf("%w: the download from %s is over the %s limit", ErrTooLarge, host,
			human.Bytes(inputCap(resp.ContentLength, lo.MaxInputBytes, l)))
	case errors.Is(err, ErrMemoryBudget):
		return nil, err
	case err != nil:
		return nil, fetchError(ctx, host, err, lo)
	}
	if _, err := sniff(data); err != nil && (errors.Is(err, ErrNotImage) || errors.Is(err, ErrEmpty)) {
		ct := resp.Header.Get("Content-Type")
		if ct == "" {
			ct = http.DetectContentType(data)
		}
		if len(data) == 0 {
			ct += ", empty"
		}
		return nil, fmt.Errorf("%w: %s sent %s, not an image", ErrNotImage, host, ct)
	}
	return data, nil
}

// newTransport dials through lo's FetchPolicy: its check runs on every
// address dialled, after DNS resolution, redirects included. A request
// sent through a proxy dials the proxy, so its own host is checked first.
func newTransport(lo LoadOptions) *http.Transport {
	policy := FetchPolicy{}
	if lo.FetchPolicy != nil {
		policy = *lo.FetchPolicy
	}
	d := &net.Dialer{Timeout: lo.ConnectTimeout, KeepAlive: 30 * time.Second, Control: policy.control}
	return &http.Transport{
		Proxy: func(req *http.Request) (*url.URL, error) {
			proxy, err := http.ProxyFromEnvironment(req)
			if proxy != nil && err == nil {
				if err := policy.checkHost(req.Context(), req.URL.Hostname()); err != nil {
					return nil, err
				}
			}
			return proxy, err
		},
		DialContext:           d.DialContext,
		TLSHandshakeTimeout:   lo.ConnectTimeout,
		ResponseHeaderTimeout: lo.FetchTimeout,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          2,
		IdleConnTimeout:       30 * time.Second,
	}
}

// fetchError turns a client error into one sentence naming the host.
func fetchError(ctx context.Context, host string, err error, lo LoadOptions) error {
	var opErr *net.OpError
	switch {
	case policyError(err) != nil:
		return policyError(err)
	case errors.Is(err, errDowngrade):
		return fmt.Errorf("%w: %s redirected from https to http, which is refused", ErrFetch, host)
	case errors.Is(err, errTooManyRedirects):
		return fmt.Errorf("%w: %s redirected more than %d times (a redirect loop?)", ErrFetch, host, max(lo.MaxRedirects, 0))
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		return fmt.Errorf("%w: %s did not send the whole image within %s: %w", ErrFetch, host, lo.FetchTimeout, context.DeadlineExceeded)
	case errors.Is(ctx.Err(), context.Canceled):
		return fmt.Errorf("%w: fetching from %s was cancelled: %w", ErrFetch, host, context.Canceled)
	case errors.As(err, &opErr) && opErr.Op == "dial":
		return fmt.Errorf("%w: cannot connect to %s (%v)", ErrFetch, host, opErr.Err)
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	return fmt.Errorf("%w: %s: %s", ErrFetch, host, strings.TrimSpace(err.Error()))
}
