package config

import (
	"fmt"
	"strconv"
	"strings"
)

// Group is a named set of saved devices that is sent to as one: "send
// --group NAME", serve's group=NAME, the window's ticked group. Members
// name saved devices (case ignored, as everywhere).
type Group struct {
	Name    string   `json:"name"`
	Devices []string `json:"devices"`
}

// validateGroups checks that every group has a name no other group has
// (case ignored) and names each member once. A member that is not a saved
// device is not an error here (deleting a device must not make the file
// unreadable): ResolveGroup reports it when the group is used.
func (s *Settings) validateGroups() error {
	for i, g := range s.Groups {
		if strings.TrimSpace(g.Name) == "" {
			return fmt.Errorf("%w: a group has no name", ErrSettings)
		}
		if groupIndex(s.Groups[:i], g.Name) >= 0 {
			return fmt.Errorf("%w: two groups are named %q", ErrSettings, g.Name)
		}
		for j, m := range g.Devices {
			if strings.TrimSpace(m) == "" {
				return fmt.Errorf("%w: group %q has a member without a name", ErrSettings, g.Name)
			}
			for _, o := range g.Devices[:j] {
				if strings.EqualFold(o, m) {
					return fmt.Errorf("%w: group %q names %q twice", ErrSettings, g.Name, m)
				}
			}
		}
	}
	return nil
}

func groupIndex(groups []Group, name string) int {
	for i, g := range groups {
		if strings.EqualFold(g.Name, name) {
			return i
		}
	}
	return -1
}

// ErrUnknownGroup means that no group has the name asked for.
var ErrUnknownGroup = fmt.Errorf("%w: no group is named", ErrUnknownDevice)

// Group returns the group named name, case ignored.
func (s *Settings) Group(name string) (Group, bool) {
	if i := groupIndex(s.Groups, name); i >= 0 {
		return s.Groups[i], true
	}
	return Group{}, false
}

// ResolveGroup returns the saved devices of the group named name, in the
// group's order. An unknown group, or a member that is no saved device,
// gives one sentence (ErrUnknownGroup or ErrUnknownDevice) that names it
// and what there is.
func (s *Settings) ResolveGroup(name string) ([]Device, error) {
	g, ok := s.Group(name)
	if !ok {
		if len(s.Groups) == 0 {
			return nil, fmt.Errorf("%w %q: no groups are saved yet; add one to the settings file (\"groups\")", ErrUnknownGroup, name)
		}
		names := make([]string, len(s.Groups))
		for i, g := range s.Groups {
			names[i] = strconv.Quote(g.Name)
		}
		return nil, fmt.Errorf("%w %q; saved: %s", ErrUnknownGroup, name, strings.Join(names, ", "))
	}
	out := make([]Device, 0, len(g.Devices))
	for _, m := range g.Devices {
		d, err := s.Resolve(m)
		if err != nil {
			return nil, fmt.Errorf("group %q: %w", g.Name, err)
		}
		out = append(out, d)
	}
	return out, nil
}

// SetGroup adds g, or replaces the group of the same name (case ignored).
func (s *Settings) SetGroup(g Group) {
	if i := groupIndex(s.Groups, g.Name); i >= 0 {
		s.Groups[i] = g
		return
	}
	s.Groups = append(s.Groups, g)
}

// SetDevice adds d, or replaces the saved device of the same name (case
// ignored).
func (s *Settings) SetDevice(d Device) {
	if i := index(s.Devices, d.Name); i >= 0 {
		s.Devices[i] = d
		return
	}
	s.Devices = append(s.Devices, d)
}
