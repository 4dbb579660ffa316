package gb28181

import (
	"errors"
	"slices"
	"strings"
	"sync"
	"time"
)

var errTooManyDevices = errors.New("gb28181: too many registered devices")

// position is what was last reported to the sink for a channel.
type position struct {
	name     string
	lat, lng float64
}

// device is a registration.
type device struct {
	id         string
	transport  string
	addr       string // source host:port
	host       string // source host, to check MESSAGEs against
	registered time.Time
	regExpires time.Time
	lastSeen   time.Time
	channels   map[string]position
}

// registry holds the registered devices.
type registry struct {
	mu               sync.Mutex
	devices          map[string]*device
	max              int
	maxChannels      int
	keepaliveTimeout time.Duration
}

func newRegistry(max, maxChannels int, keepaliveTimeout time.Duration) *registry {
	return &registry{devices: make(map[string]*device), max: max, maxChannels: maxChannels, keepaliveTimeout: keepaliveTimeout}
}

// expires is when d is dropped unless refreshed.
func (r *registry) expires(d *device) time.Time {
	if r.keepaliveTimeout > 0 {
		if k := d.lastSeen.Add(r.keepaliveTimeout); k.Before(d.regExpires) {
			return k
		}
	}
	return d.regExpires
}

// register adds or refreshes a registration. It reports whether the device
// is new, or came back from another address or transport (its catalog should
// then be queried).
func (r *registry) register(id, transport, addr, host string, now time.Time, lifetime time.Duration) (fresh bool, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	d, ok := r.devices[id]
	if ok && !now.Before(r.expires(d)) {
		ok = false // expired but not yet swept
	}
	if !ok {
		if _, present := r.devices[id]; !present && len(r.devices) >= r.max {
			return false, errTooManyDevices
		}
		d = &device{id: id, registered: now, channels: make(map[string]position)}
		r.devices[id] = d
		fresh = true
	}
	if d.transport != transport || d.addr != addr {
		fresh = true
	}
	d.transport, d.addr, d.host = transport, addr, host
	d.regExpires = now.Add(lifetime)
	d.lastSeen = now
	if fresh {
		d.registered = now
	}
	return fresh, nil
}

// unregister drops a registration; it reports whether there was one.
func (r *registry) unregister(id string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	_, ok := r.devices[id]
	delete(r.devices, id)
	return ok
}

// target is how to reach a registered device.
type target struct {
	id, transport, addr string
}

// accept checks that id is registered, unexpired, and that host is where it
// registered from; if so it refreshes the device's liveness.
func (r *registry) accept(id, host string, now time.Time) (target, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	d, ok := r.devices[id]
	if !ok || !now.Before(r.expires(d)) || !strings.EqualFold(d.host, host) {
		return target{}, false
	}
	d.lastSeen = now
	return target{d.id, d.transport, d.addr}, true
}

// lookup returns how to reach a registered device.
func (r *registry) lookup(id string) (target, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	d, ok := r.devices[id]
	if !ok {
		return target{}, false
	}
	return target{d.id, d.transport, d.addr}, true
}

// changed reports whether a channel's name or position differs from what
// was last reported for it.
func (r *registry) changed(id string, ch string, p position) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	d, ok := r.devices[id]
	if !ok {
		return true
	}
	old, seen := d.channels[ch]
	return !seen || old != p
}

// reported remembers what was reported for a channel.
func (r *registry) reported(id string, ch string, p position) {
	r.mu.Lock()
	defer r.mu.Unlock()
	d, ok := r.devices[id]
	if !ok {
		return
	}
	if _, seen := d.channels[ch]; !seen && len(d.channels) >= r.maxChannels {
		return
	}
	d.channels[ch] = p
}

// sweep drops the devices that expired by now and returns their ids.
func (r *registry) sweep(now time.Time) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var gone []string
	for id, d := range r.devices {
		if !now.Before(r.expires(d)) {
			delete(r.devices, id)
			gone = append(gone, id)
		}
	}
	slices.Sort(gone)
	return gone
}

// list returns the registered devices sorted by id.
func (r *registry) list() []Device {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]Device, 0, len(r.devices))
	for _, d := range r.devices {
		out = append(out, Device{
			ID:         d.id,
			Transport:  d.transport,
			Addr:       d.addr,
			Registered: d.registered,
			LastSeen:   d.lastSeen,
			Expires:    r.expires(d),
			Channels:   len(d.channels),
		})
	}
	slices.SortFunc(out, func(a, b Device) int { return strings.Compare(a.ID, b.ID) })
	return out
}
