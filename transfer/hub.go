package transfer

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"imagebeam/internal/redact"
)

// Hub is one MQTT connection to one broker that any number of transfers
// share, each to its own device. A transfer attaches a device's topics
// (HubLink): the hub subscribes to the device's feedback topic, awaits the
// broker's SUBACK, routes that topic's messages to the transfer, and drops
// the subscription when the transfer detaches, so a bench of 200 devices
// holds only the subscriptions of the transfers running. After a reconnect
// it subscribes again to every attached topic, in one SUBSCRIBE.
//
// The hub connects on first use and then reconnects by itself; each
// HubLink reports the connection's state combined with its own
// subscription's, so the sender (Run) waits out a broker restart without
// spending retries. An MQTTLink (Dial) is a hub of its own with one link.
type Hub struct {
	cfg    BrokerConfig // with defaults
	tlsCfg *tls.Config
	conn   connector

	// connecting is held while a connection attempt runs, so that
	// concurrent attaches make one attempt, and can stop waiting for it.
	connecting chan struct{}
	// subMu orders SUBSCRIBE and UNSUBSCRIBE as the topic table changes:
	// it is held from the table's change until paho has the packet, so
	// what the broker last heard for a topic matches the table.
	subMu sync.Mutex

	mu      sync.RWMutex
	state   LinkState // of the connection: connecting, up, reconnecting or closed
	lastErr error
	gen     int // counts connections; results of an older one are stale
	topics  map[string]*topicSub
	watch   chan struct{} // closed and replaced at every change of state

	links    atomic.Int32 // attached links
	unrouted atomic.Int64 // messages for a topic nobody is attached to
	subacks  atomic.Int64 // SUBSCRIBE packets the broker answered
}

// subState is one feedback topic's subscription on the current connection.
type subState int

const (
	subPending subState = iota // SUBSCRIBE sent, or to be sent on the next connection
	subUp                      // the broker granted it
	subRefused                 // the broker refused it: final for its links
)

// topicSub is one subscribed topic and the links attached to it. Two
// links on one topic (two devices that answer on the same topic) both get
// every message, as two connections would.
type topicSub struct {
	name  string
	qos   byte
	state subState
	err   error // why it is not up: refused, or no SUBACK
	links []*HubLink
}

// NewHub checks cfg and returns a hub that connects on first use. role
// goes into the MQTT client ID ("send", "serve", "gui", "simulate").
func NewHub(cfg BrokerConfig, role string) (*Hub, error) {
	cfg = cfg.withDefaults(role)
	if err := ValidateBrokerURL(cfg.URL); err != nil {
		return nil, err
	}
	tlsCfg, err := cfg.tlsConfig()
	if err != nil {
		return nil, err
	}
	return &Hub{
		cfg:        cfg,
		tlsCfg:     tlsCfg,
		conn:       connector{addr: redact.URL(cfg.URL), password: cfg.Password},
		connecting: make(chan struct{}, 1),
		state:      StateConnecting,
		topics:     map[string]*topicSub{},
		watch:      make(chan struct{}),
	}, nil
}

// Addr is the broker URL without its login: safe to print.
func (h *Hub) Addr() string { return h.conn.addr }

// URL is the broker URL as configured (it may hold a login: never print it).
func (h *Hub) URL() string { return h.cfg.URL }

// HubStats is what a hub has done, for tests, logs and soak runs.
type HubStats struct {
	State         LinkState
	Subscriptions int   // topics subscribed (or being subscribed) now
	Links         int   // attached links
	Unrouted      int64 // messages that arrived for no attached link (late answers)
	SUBACKs       int64 // SUBSCRIBE packets answered
}

// Connect connects the hub if it is not connected yet, as Attach does
// first. Once connected the hub reconnects by itself, and Connect returns
// nil at once: a window's connection indicator calls it to bring the
// connection up before any transfer, then follows Watch.
func (h *Hub) Connect(ctx context.Context) error { return h.connect(ctx) }

// Watch reports the connection's state, why it is not up (nil when not
// known) and a channel closed at the state's next change.
func (h *Hub) Watch() (LinkState, <-chan struct{}, error) {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return h.state, h.watch, h.lastErr
}

// Stats returns the hub's counters.
func (h *Hub) Stats() HubStats {
	h.mu.RLock()
	defer h.mu.RUnlock()
	st := HubStats{State: h.state, Subscriptions: len(h.topics), Unrouted: h.unrouted.Load(), SUBACKs: h.subacks.Load()}
	for _, ts := range h.topics {
		st.Links += len(ts.links)
	}
	return st
}

// Attach subscribes to sub (awaiting the SUBACK) and returns a link that
// reads sub's messages and publishes to pub with qos. It connects the hub
// first if it is not connected. It takes no device lock: Send does.
func (h *Hub) Attach(ctx context.Context, sub, pub string, qos byte) (*HubLink, error) {
	l, err := h.attach(ctx, sub, pub, qos)
	if err != nil {
		return nil, err
	}
	if err := l.waitUp(ctx, max(h.cfg.ConnectTimeout, h.cfg.ConnectWait)); err != nil {
		l.Close()
		return nil, err
	}
	return l, nil
}

// attach is Attach without the wait for the link to come up.
func (h *Hub) attach(ctx context.Context, sub, pub string, qos byte) (*HubLink, error) {
	if qos > 2 {
		return nil, fmt.Errorf("transfer: QoS %d is not 0, 1 or 2", qos)
	}
	for _, t := range []string{sub, pub} {
		if err := CheckTopic(t); err != nil {
			return nil, err
		}
	}
	if err := h.connect(ctx); err != nil {
		return nil, err
	}
	l := &HubLink{h: h, sub: sub, pub: pub, qos: qos, in: make(chan []byte, incomingBuffer), changed: make(chan struct{})}
	h.subMu.Lock()
	h.mu.Lock()
	if h.state == StateClosed {
		h.mu.Unlock()
		h.subMu.Unlock()
		return nil, ErrLinkClosed
	}
	ts := h.topics[sub]
	issue := false
	if ts == nil {
		ts = &topicSub{name: sub, qos: qos}
		h.topics[sub] = ts
		issue = h.state == StateUp
	}
	ts.links = append(ts.links, l)
	l.ts = ts
	h.links.Add(1)
	gen := h.gen
	h.mu.Unlock()
	var tok mqtt.Token
	if client := h.conn.get(); issue && client != nil {
		tok = client.Subscribe(sub, ts.qos, nil)
	}
	h.subMu.Unlock()
	if tok != nil {
		// In the background: the caller's waitUp is what bounds the wait,
		// and it wakes when the answer is recorded.
		go h.awaitSubscribe(tok, gen, []*topicSub{ts})
	}
	return l, nil
}

// connect makes the hub's first connection, once: later ones paho makes
// by itself. A failed attempt leaves the hub unconnected, and the next
// Attach tries again (a broker that was down, a login fixed meanwhile).
func (h *Hub) connect(ctx context.Context) error {
	select {
	case h.connecting <- struct{}{}:
	case <-ctx.Done():
		return fmt.Errorf("%w while connecting to %s", ErrCanceled, h.Addr())
	}
	defer func() { <-h.connecting }()
	h.mu.RLock()
	closed := h.state == StateClosed
	h.mu.RUnlock()
	if closed {
		return ErrLinkClosed
	}
	if h.conn.get() != nil {
		return nil
	}
	// onMessage never blocks, so paho may call it in order on its own
	// goroutine: unordered, paho starts a goroutine for every message.
	opts := brokerOptions(h.cfg, h.tlsCfg).
		SetOrderMatters(true).
		SetCustomOpenConnectionFn(func(uri *url.URL, o mqtt.ClientOptions) (net.Conn, error) {
			return openConn(uri, o, func() bool { return h.links.Load() > 1 })
		}).
		SetDefaultPublishHandler(h.onMessage).
		SetOnConnectHandler(h.onConnect).
		SetConnectionLostHandler(h.onLost).
		SetReconnectingHandler(func(c mqtt.Client, _ *mqtt.ClientOptions) {
			if h.conn.current(c) {
				h.setState(StateReconnecting, nil)
			}
		})
	if err := h.conn.connect(ctx, opts, h.cfg); err != nil {
		return err
	}
	h.mu.RLock()
	closed = h.state == StateClosed
	h.mu.RUnlock()
	if closed { // Close ran during the attempt
		if c := h.conn.get(); c != nil {
			c.Disconnect(0)
		}
		return ErrLinkClosed
	}
	return nil
}

// onConnect runs in its own goroutine after every (re)connection: the
// broker forgot the subscriptions (clean session), so every attached
// topic is subscribed again, in one SUBSCRIBE.
func (h *Hub) onConnect(c mqtt.Client) {
	if !h.conn.current(c) {
		return
	}
	h.subMu.Lock()
	h.mu.Lock()
	if h.state == StateClosed {
		h.mu.Unlock()
		h.subMu.Unlock()
		return
	}
	h.gen++
	gen := h.gen
	h.state, h.lastErr = StateUp, nil
	filters := map[string]byte{}
	var subs []*topicSub
	for name, ts := range h.topics {
		if ts.state != subRefused {
			ts.state, ts.err = subPending, nil
			filters[name] = ts.qos
			subs = append(subs, ts)
		}
	}
	h.notifyAll()
	h.mu.Unlock()
	var tok mqtt.Token
	if len(filters) > 0 {
		tok = c.SubscribeMultiple(filters, nil)
	}
	h.subMu.Unlock()
	if tok != nil {
		h.awaitSubscribe(tok, gen, subs)
	}
}

// awaitSubscribe waits for the SUBACK of a SUBSCRIBE made on connection
// gen and records, topic by topic, whether the broker granted it. A result
// that comes after a reconnect, or for a topic detached meanwhile, is
// stale and ignored: the next connection subscribes again.
func (h *Hub) awaitSubscribe(tok mqtt.Token, gen int, subs []*topicSub) {
	t := time.NewTimer(h.cfg.ConnectTimeout)
	defer t.Stop()
	var why error
	select {
	case <-tok.Done():
		if err := tok.Error(); err != nil {
			// The connection went away under the SUBSCRIBE: paho reconnects
			// and onConnect subscribes again.
			why = fmt.Errorf("transfer: subscribing on %s failed: %s", h.Addr(), h.conn.scrub(err))
		}
	case <-t.C:
		why = fmt.Errorf("transfer: no SUBACK from %s within %s", h.Addr(), h.cfg.ConnectTimeout)
	}
	var codes map[string]byte
	if st, ok := tok.(*mqtt.SubscribeToken); ok && why == nil {
		codes = st.Result()
		h.subacks.Add(1)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.gen != gen || h.state == StateClosed {
		return
	}
	for _, ts := range subs {
		if h.topics[ts.name] != ts || ts.state != subPending {
			continue
		}
		code, ok := codes[ts.name]
		switch {
		case why != nil:
			ts.err = why
		case !ok:
			ts.err = fmt.Errorf("transfer: %s did not answer the subscription to %q", h.Addr(), ts.name)
		case code >= 0x80:
			ts.state = subRefused
			ts.err = fmt.Errorf("%w: %s refused the subscription to %q (not allowed for this login?)", ErrNotAuthorized, h.Addr(), ts.name)
		default:
			ts.state, ts.err = subUp, nil
		}
		for _, l := range ts.links {
			l.notify()
		}
	}
}

func (h *Hub) onLost(c mqtt.Client, err error) {
	if !h.conn.current(c) {
		return
	}
	h.setState(StateReconnecting, fmt.Errorf("transfer: lost the connection to %s: %s", h.Addr(), h.conn.scrub(err)))
}

// onMessage routes a message to the links attached to its topic. It never
// blocks (paho calls it for every message): a link that lags loses the
// message, and counts it.
func (h *Hub) onMessage(_ mqtt.Client, m mqtt.Message) {
	h.mu.RLock()
	defer h.mu.RUnlock()
	ts := h.topics[m.Topic()]
	if ts == nil {
		h.unrouted.Add(1)
		return
	}
	for _, l := range ts.links {
		select {
		case l.in <- m.Payload():
		default:
			l.dropped.Add(1)
		}
	}
}

// setState records the connection's state and wakes every link.
func (h *Hub) setState(s LinkState, err error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.state == StateClosed {
		return
	}
	h.state, h.lastErr = s, err
	h.notifyAll()
}

// notifyAll wakes Watch's and every link's waiters; h.mu is held for
// writing.
func (h *Hub) notifyAll() {
	close(h.watch)
	h.watch = make(chan struct{})
	for _, ts := range h.topics {
		for _, l := range ts.links {
			l.notify()
		}
	}
}

// Close disconnects; every attached link reports StateClosed. It is safe
// to call more than once.
func (h *Hub) Close() {
	h.mu.Lock()
	if h.state == StateClosed {
		h.mu.Unlock()
		return
	}
	h.state = StateClosed
	h.notifyAll()
	h.mu.Unlock()
	if c := h.conn.get(); c != nil {
		c.Disconnect(100)
	}
}

// HubLink is one device's view of a Hub: it publishes to the device's
// topic, receives the messages of its feedback topic, and reports the
// connection's state as far as it concerns this device. It implements
// Link (for the sender) and simdevice.Link. Close detaches it.
type HubLink struct {
	h   *Hub
	ts  *topicSub
	sub string
	pub string
	qos byte
	in  chan []byte

	// guarded by h.mu
	closed  bool
	changed chan struct{} // closed and replaced on every change that concerns this link

	dropped atomic.Int64
}

// notify wakes the link's waiters; h.mu is held for writing.
func (l *HubLink) notify() {
	close(l.changed)
	l.changed = make(chan struct{})
}

// State reports the link's state: closed, refused (its subscription),
// up (connected and subscribed), or the connection's state while it is
// down or the subscription is being renewed.
func (l *HubLink) State() (LinkState, <-chan struct{}, error) {
	h := l.h
	h.mu.RLock()
	defer h.mu.RUnlock()
	switch {
	case l.closed || h.state == StateClosed:
		return StateClosed, l.changed, ErrLinkClosed
	case l.ts.state == subRefused:
		return StateRefused, l.changed, l.ts.err
	case h.state == StateUp && l.ts.state == subUp:
		return StateUp, l.changed, nil
	case h.state == StateUp:
		return StateReconnecting, l.changed, l.ts.err
	}
	return h.state, l.changed, h.lastErr
}

// waitUp waits until the link is up, for at most d.
func (l *HubLink) waitUp(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	for {
		s, ch, err := l.State()
		switch s {
		case StateUp:
			return nil
		case StateRefused, StateClosed:
			return err
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return fmt.Errorf("%w while connecting to %s", ErrCanceled, l.h.Addr())
		case <-t.C:
			if err != nil {
				return fmt.Errorf("%w: %w", ErrBrokerUnreachable, err)
			}
			return fmt.Errorf("%w: %s did not confirm the subscription to %q within %s", ErrBrokerUnreachable, l.h.Addr(), l.sub, d)
		}
	}
}

// Incoming delivers the messages of the link's feedback topic.
func (l *HubLink) Incoming() <-chan []byte { return l.in }

// Dropped counts messages dropped because the reader lagged.
func (l *HubLink) Dropped() int64 { return l.dropped.Load() }

// Addr is the broker URL without its login.
func (l *HubLink) Addr() string { return l.h.Addr() }

// Publish sends payload to the link's publish topic and waits until the
// client has handed it to the broker (QoS 0) or the broker acknowledged it
// (QoS 1 and 2). That never means the device has it.
func (l *HubLink) Publish(ctx context.Context, payload []byte) error {
	s, changed, _ := l.State()
	if s != StateUp {
		return ErrNotConnected
	}
	client := l.h.conn.get()
	if client == nil {
		return ErrNotConnected
	}
	tok := client.Publish(l.pub, l.qos, false, payload)
	select {
	case <-tok.Done():
		if err := tok.Error(); err != nil {
			return l.publishFailed(ctx, err, changed)
		}
		return nil
	case <-changed:
		// The connection dropped while paho held the message; its token
		// may never complete. The caller waits for the link and resends.
		return ErrNotConnected
	case <-ctx.Done():
		return ctx.Err()
	}
}

// lostGrace is how long a failed publish waits for the connection-lost
// news that may follow it.
const lostGrace = 2 * time.Second

// publishFailed words a publish that paho failed. When the connection is
// dropping, paho fails the publishes it holds before it reports the loss
// (onLost): such a failure is the connection's, and ErrNotConnected lets
// the sender wait for the link and resend without spending a retry. So
// it waits a moment for the link's state to change; a failure on a
// connection that stays up is the frame's (ErrPublish).
func (l *HubLink) publishFailed(ctx context.Context, err error, changed <-chan struct{}) error {
	t := time.NewTimer(lostGrace)
	defer t.Stop()
	select {
	case <-changed:
		if s, _, _ := l.State(); s != StateUp {
			return ErrNotConnected
		}
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
	}
	return fmt.Errorf("%w: %s", ErrPublish, l.h.conn.scrub(err))
}

// Close detaches the link: the last link of a topic unsubscribes from it
// (and waits, briefly, for the broker's UNSUBACK). Safe to call twice.
func (l *HubLink) Close() {
	h := l.h
	h.subMu.Lock()
	h.mu.Lock()
	if l.closed {
		h.mu.Unlock()
		h.subMu.Unlock()
		return
	}
	l.closed = true
	l.notify()
	h.links.Add(-1)
	ts := l.ts
	for i, o := range ts.links {
		if o == l {
			ts.links = append(ts.links[:i], ts.links[i+1:]...)
			break
		}
	}
	unsubscribe := false
	if len(ts.links) == 0 && h.topics[ts.name] == ts {
		delete(h.topics, ts.name)
		unsubscribe = ts.state != subRefused && h.state == StateUp
	}
	h.mu.Unlock()
	var tok mqtt.Token
	if c := h.conn.get(); unsubscribe && c != nil {
		tok = c.Unsubscribe(ts.name)
	}
	h.subMu.Unlock()
	if tok != nil {
		t := time.NewTimer(h.cfg.ConnectTimeout)
		defer t.Stop()
		select {
		case <-tok.Done():
		case <-t.C:
		}
	}
}

// shared hubs: Send uses one hub per broker profile and role while
// transfers overlap, and closes it when the last one ends.
var shared = struct {
	mu   sync.Mutex
	hubs map[hubKey]*sharedHub
}{hubs: map[hubKey]*sharedHub{}}

type hubKey struct {
	cfg  BrokerConfig
	role string
}

type sharedHub struct {
	hub  *Hub
	refs int
}

// AcquireHub returns the process's shared hub for cfg and role, made on
// first use, and a release function; the hub closes when its last user
// releases it. transfer.Send uses it, so that transfers that overlap in
// one process (the window's, a multi-device send's) share one connection.
func AcquireHub(cfg BrokerConfig, role string) (*Hub, func(), error) {
	key := hubKey{cfg, role}
	shared.mu.Lock()
	defer shared.mu.Unlock()
	sh := shared.hubs[key]
	if sh == nil {
		hub, err := NewHub(cfg, role)
		if err != nil {
			return nil, nil, err
		}
		sh = &sharedHub{hub: hub}
		shared.hubs[key] = sh
	}
	sh.refs++
	var once sync.Once
	release := func() {
		once.Do(func() {
			shared.mu.Lock()
			sh.refs--
			last := sh.refs == 0
			if last {
				delete(shared.hubs, key)
			}
			shared.mu.Unlock()
			if last {
				sh.hub.Close()
			}
		})
	}
	return sh.hub, release, nil
}
