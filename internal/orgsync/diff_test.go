package orgsync

import (
	"reflect"
	"testing"
	"time"

	"github.com/activator-dev/activator/internal/store"
)

func TestDiff(t *testing.T) {
	gone := time.Now()
	o := func(id, name string, st int) store.Org { return store.Org{OrgID: id, Name: name, Status: st} }
	tests := []struct {
		name       string
		prev, seen []store.Org
		want       []store.Event
	}{
		{name: "first sync", seen: []store.Org{o("20", "B", 0), o("3", "A", 1)},
			want: []store.Event{{OrgID: "3", Kind: "new", New: "A"}, {OrgID: "20", Kind: "new", New: "B"}}},
		{name: "nothing changed", prev: []store.Org{o("3", "A", 1)}, seen: []store.Org{o("3", "A", 1)}},
		{name: "renamed keeps OrgId", prev: []store.Org{o("392", "Lifespan", 0)}, seen: []store.Org{o("392", "Brown University Health", 0)},
			want: []store.Event{{OrgID: "392", Kind: "renamed", Old: "Lifespan", New: "Brown University Health"}}},
		{name: "status changed", prev: []store.Org{o("3", "A", 0)}, seen: []store.Org{o("3", "A", 3)},
			want: []store.Event{{OrgID: "3", Kind: "status", Old: "0", New: "3"}}},
		{name: "gone once", prev: []store.Org{o("3", "A", 0), {OrgID: "4", Name: "B", GoneSince: &gone}}, seen: nil,
			want: []store.Event{{OrgID: "3", Kind: "gone", Old: "A"}}},
		{name: "returned, renamed and enabled", prev: []store.Org{{OrgID: "4", Name: "B", GoneSince: &gone}}, seen: []store.Org{o("4", "C", 1)},
			want: []store.Event{{OrgID: "4", Kind: "returned", New: "C"}, {OrgID: "4", Kind: "renamed", Old: "B", New: "C"}, {OrgID: "4", Kind: "status", Old: "0", New: "1"}}},
		{name: "new org arrives enabled", prev: []store.Org{o("3", "A", 1)}, seen: []store.Org{o("3", "A", 1), o("32586", "eleHealth", 1)},
			want: []store.Event{{OrgID: "32586", Kind: "new", New: "eleHealth"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Diff(tt.prev, tt.seen)
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("Diff =\n %+v\nwant\n %+v", got, tt.want)
			}
		})
	}
}
