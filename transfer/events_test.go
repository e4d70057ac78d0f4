package transfer

import (
	"encoding/json"
	"errors"
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

// allEvents has one value of every event type.
var allEvents = []Event{
	Waiting{}, Connected{}, FrameSent{}, Acked{}, Retry{Detail: "x"}, Malformed{}, Stale{}, LinkDown{}, Progress{}, Done{}, Failed{Err: errors.New("x")},
}

func jsonKeys(t *testing.T, b []byte) []string {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("%s: %v", b, err)
	}
	var keys []string
	for k, v := range m {
		keys = append(keys, k)
		if sub, ok := v.(map[string]any); ok {
			for sk := range sub {
				keys = append(keys, k+"."+sk)
			}
		}
	}
	slices.Sort(keys)
	return keys
}

// TestEventsDocMatchesCode keeps docs/EVENTS.md true: each event's example
// there has exactly the fields the code marshals.
func TestEventsDocMatchesCode(t *testing.T) {
	doc, err := os.ReadFile("../docs/EVENTS.md")
	if err != nil {
		t.Fatal(err)
	}
	examples := map[string][]byte{}
	for _, line := range strings.Split(string(doc), "\n") {
		if strings.HasPrefix(line, `{"type":"`) {
			var head struct{ Type string }
			if err := json.Unmarshal([]byte(line), &head); err != nil {
				t.Fatalf("example is not JSON: %s", line)
			}
			examples[head.Type] = []byte(line)
		}
	}
	for _, e := range allEvents {
		b, err := json.Marshal(e)
		if err != nil {
			t.Fatal(err)
		}
		ex, ok := examples[e.Kind()]
		if !ok {
			t.Errorf("docs/EVENTS.md has no example of %q", e.Kind())
			continue
		}
		if got, want := jsonKeys(t, ex), jsonKeys(t, b); !reflect.DeepEqual(got, want) {
			t.Errorf("%s: the doc's example has fields %v, the code marshals %v", e.Kind(), got, want)
		}
	}
}

func TestEventJSONStartsWithType(t *testing.T) {
	for _, e := range allEvents {
		b, _ := json.Marshal(e)
		if !strings.HasPrefix(string(b), `{"type":"`+e.Kind()+`"`) {
			t.Errorf("%T marshals to %s", e, b)
		}
	}
	b, _ := json.Marshal(Acked{Time: time.Unix(0, 0).UTC(), Function: FuncFinish})
	if !strings.Contains(string(b), `"function":"FINISH"`) {
		t.Errorf("functions are not named in JSON: %s", b)
	}
}
