package migrations

import (
	"strings"
	"testing"
	"testing/fstest"
)

func TestLoadOrdersByVersionNumber(t *testing.T) {
	fsys := fstest.MapFS{
		"m/10_ten.sql":   {Data: []byte("ten")},
		"m/0002_two.sql": {Data: []byte("two")},
		"m/1_one.sql":    {Data: []byte("one")},
	}
	ms, err := Load(fsys, "m")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, m := range ms {
		got = append(got, m.SQL)
	}
	if strings.Join(got, ",") != "one,two,ten" {
		t.Errorf("got order %v, want one,two,ten (as numbers, not as names)", got)
	}
	if ms[2].Version != 10 || ms[2].Name != "10_ten.sql" {
		t.Errorf("got %+v, want version 10 named 10_ten.sql", ms[2])
	}
}

func TestLoadRefuses(t *testing.T) {
	for name, fsys := range map[string]fstest.MapFS{
		"no prefix":      {"m/init.sql": {}},
		"zero version":   {"m/0000_zero.sql": {}},
		"not sql":        {"m/0001_one.txt": {}},
		"shared version": {"m/0001_a.sql": {}, "m/1_b.sql": {}},
	} {
		if _, err := Load(fsys, "m"); err == nil {
			t.Errorf("%s: got no error", name)
		}
	}
}
